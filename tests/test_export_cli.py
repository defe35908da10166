"""`python -m export.to_onnx` / `export.to_savedmodel` as a user runs them: success, newest-run default, and
every bad input ending in one `error:` line, the right exit code and no file changed."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import REPO_ROOT, make_tiny_run_dir


def run_module(module, *args, cwd=REPO_ROOT, timeout=300):
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': '',
         'PYTHONPATH': str(REPO_ROOT)}
  return subprocess.run([sys.executable, '-m', module, *args], cwd=cwd, env=env, capture_output=True, text=True,
                        timeout=timeout)


def assert_one_line_error(proc, code, *fragments):
  assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
  assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
  assert len(errors) == 1, proc.stderr[-2000:]
  for fragment in fragments:
    assert fragment in errors[0], errors[0]


def contents(path):
  return {os.path.join(d, f): open(os.path.join(d, f), 'rb').read() for d, _, fs in os.walk(path) for f in fs}


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """A run exported by to_onnx --fp16: (workspace, run_dir, models_dir, the command's output)."""
  root = tmp_path_factory.mktemp('cli')
  make_tiny_run_dir(root / 'runs' / 'wgan_gp-digits-1', loss='wgan_gp')
  proc = run_module('export.to_onnx', f'--run_dir={root / "runs" / "wgan_gp-digits-1"}',
                    f'--models_dir={root / "models"}', '--name=digits', '--fp16')
  assert proc.returncode == 0, proc.stderr[-3000:]
  return root, root / 'runs' / 'wgan_gp-digits-1', root / 'models', proc


def test_to_onnx_success(exported):
  _, _, models_dir, proc = exported
  folder = models_dir / 'digits'
  assert sorted(os.listdir(folder)) == ['metadata.json', 'model.onnx', 'model_fp16.onnx', 'sample.png']
  for fragment in ('parity vs TF on CPUExecutionProvider', 'float16 parity', 'CUDA EP check: clean',
                   f'exported {folder}/', str(folder / 'model.onnx')):
    assert fragment in proc.stdout, proc.stdout
  metadata = json.loads((folder / 'metadata.json').read_text())
  assert metadata['name'] == 'digits' and metadata['loss'] == 'wgan_gp' and metadata['latent_dim'] == 8
  assert Image.open(folder / 'sample.png').format == 'PNG'


def test_to_savedmodel_exports_the_newest_run(exported, tmp_path):
  root, _, _, _ = exported
  make_tiny_run_dir(tmp_path / 'runs' / 'lsgan-digits-2', loss='lsgan', step=5)  # newer than ...
  os.utime(tmp_path / 'runs' / 'lsgan-digits-2' / 'generator' / 'generator.json', (1e9, 1e9))  # ... made older
  make_tiny_run_dir(tmp_path / 'runs' / 'dcgan-digits-1', loss='dcgan', step=4)
  (tmp_path / 'runs' / 'empty-run').mkdir()
  proc = run_module('export.to_savedmodel', f'--models_dir={tmp_path / "models"}', cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'newest run under runs/: runs/dcgan-digits-1' in proc.stdout, proc.stdout
  folder = tmp_path / 'models' / 'dcgan-digits-step4'
  assert (folder / 'saved_model' / '1' / 'saved_model.pb').is_file()
  assert json.loads((folder / 'metadata.json').read_text())['formats'] == ['savedmodel']


def _other_version_run(path):
  make_tiny_run_dir(path)
  meta_path = path / 'generator' / 'generator.json'
  meta = json.loads(meta_path.read_text())
  meta['format_version'] = 99
  meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize('module', ['export.to_onnx', 'export.to_savedmodel'])
def test_bad_input(exported, tmp_path, module):
  root, run_dir, models_dir, _ = exported
  before = contents(models_dir)
  (tmp_path / 'no_generator').mkdir()
  _other_version_run(tmp_path / 'other_version')
  (tmp_path / 'a_file').write_text('not a folder')
  cases = [
      ([f'--run_dir={tmp_path / "missing"}'], 1, 'does not exist'),
      ([f'--run_dir={tmp_path / "no_generator"}'], 1, 'holds no trained generator'),
      ([f'--run_dir={tmp_path / "other_version"}'], 1, 'another version'),
      ([f'--run_dir={run_dir}', f'--models_dir={tmp_path / "a_file" / "models"}'], 1, 'cannot write'),
      ([f'--run_dir={run_dir}', '--name=digits'], 1, 'already exists'),
      ([f'--run_dir={run_dir}', '--name=../escape'], 2, '--name'),
      ([f'--run_dir={run_dir}', '--no_such_flag'], 2, 'no_such_flag'),
      ([f'--run_dir={run_dir}', 'extra'], 2, 'unexpected arguments'),
      ([f'--runs_root={tmp_path / "no_runs"}'], 1, 'no --run_dir given'),
  ]
  if module == 'export.to_onnx':
    cases += [([f'--run_dir={run_dir}', '--opset=12'], 2, 'opset'),
              ([f'--run_dir={run_dir}', '--opset=19'], 2, 'opset')]
  for args, code, fragment in cases:
    proc = run_module(module, f'--models_dir={models_dir}', *args)
    assert_one_line_error(proc, code, fragment)
  assert contents(models_dir) == before  # byte-identical, and no temp folder left
  assert not os.path.exists(tmp_path / 'a_file' / 'models')


def test_gpu_latency_refuses_a_cpu_session(exported):
  _, _, models_dir, _ = exported
  proc = run_module('benchmarks.gpu_latency', f'--model={models_dir / "digits" / "model.onnx"}',
                    '--batches=1', '--iters=1')
  if proc.returncode in (0, 1) and 'providers: ' in proc.stdout:
    pytest.skip('this host has a working CUDA EP')
  assert_one_line_error(proc, 2, 'not CUDAExecutionProvider')
