"""`python -m export.to_onnx` / `export.to_savedmodel` as a user runs them: success, newest-run default, and
every bad input ending in one `error:` line, the right exit code and no file changed."""

import json
import os
import shutil

import pytest
from PIL import Image

from tests import warm
from tests.conftest import REPO_ROOT, make_tiny_run_dir

pytestmark = pytest.mark.slow  # the export CLIs in subprocesses


def run_module(module, *args, cwd=REPO_ROOT, timeout=300):
  """`python -m module *args` in `cwd` (in a warm interpreter: tests/warm.py)."""
  return warm.run(module, *args, cwd=cwd, timeout=timeout)


def assert_one_line_error(proc, code, *fragments):
  assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
  assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
  assert len(errors) == 1, proc.stderr[-2000:]
  for fragment in fragments:
    assert fragment in errors[0], errors[0]


def contents(path):
  """{file: (bytes, mtime_ns)} of every file under `path`: "nothing was changed" means this is equal."""
  return {os.path.join(d, f): (open(os.path.join(d, f), 'rb').read(), os.stat(os.path.join(d, f)).st_mtime_ns)
          for d, _, fs in os.walk(path) for f in fs}


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
  make_tiny_run_dir(tmp_path / 'other-run', seed=1)
  cases = [
      ([f'--run_dir={tmp_path / "missing"}'], 1, 'does not exist'),
      ([f'--run_dir={tmp_path / "no_generator"}'], 1, 'holds no trained generator'),
      ([f'--run_dir={tmp_path / "other_version"}'], 1, 'another version'),
      ([f'--run_dir={run_dir}', f'--models_dir={tmp_path / "a_file" / "models"}'], 1, 'cannot write'),
      ([f'--run_dir={run_dir}', '--name=../escape'], 2, '--name'),
      ([f'--run_dir={run_dir}', '--no_such_flag'], 2, 'no_such_flag'),
      ([f'--run_dir={run_dir}', 'extra'], 2, 'unexpected arguments'),
      ([f'--runs_root={tmp_path / "no_runs"}'], 1, 'no --run_dir given'),
  ]
  if module == 'export.to_savedmodel':  # the folder holds the ONNX model of another run
    cases += [([f'--run_dir={tmp_path / "other-run"}', '--name=digits'], 1, 'would mix two generators')]
  if module == 'export.to_onnx':
    cases += [([f'--run_dir={run_dir}', '--name=digits'], 1,
               "already holds the onnx format (model.onnx, model_fp16.onnx); pass --overwrite"),
              ([f'--run_dir={run_dir}', '--opset=12'], 2, 'opset'),
              ([f'--run_dir={run_dir}', '--opset=19'], 2, 'opset')]
  for args, code, fragment in cases:
    proc = run_module(module, f'--models_dir={models_dir}', *args)
    assert_one_line_error(proc, code, fragment)
  assert contents(models_dir) == before  # byte-identical, and no temp folder left
  assert not os.path.exists(tmp_path / 'a_file' / 'models')


def test_adding_a_format_needs_no_overwrite_replacing_one_does(exported, tmp_path):
  _, run_dir, models_dir, _ = exported
  models, folder = tmp_path / 'models', tmp_path / 'models' / 'digits'
  shutil.copytree(models_dir / 'digits', folder)  # model.onnx + model_fp16.onnx of run_dir
  onnx_files = {f: (folder / f).read_bytes() for f in ('model.onnx', 'model_fp16.onnx')}
  onnx_metadata = json.loads((folder / 'metadata.json').read_text())
  flags = [f'--run_dir={run_dir}', f'--models_dir={models}', '--name=digits']

  # onnx, then savedmodel of the same run and step: added, the ONNX files and their metadata kept
  proc = run_module('export.to_savedmodel', *flags)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'kept from before: onnx' in proc.stdout, proc.stdout
  assert {f: (folder / f).read_bytes() for f in onnx_files} == onnx_files
  metadata = json.loads((folder / 'metadata.json').read_text())
  assert metadata['formats'] == ['onnx', 'savedmodel']
  assert metadata['fp16_file'] == 'model_fp16.onnx' and metadata['savedmodel_signatures'][0] == 'serving_default'
  for key in ('onnx_opset', 'parity_max_abs_diff', 'fp16_parity_max_abs_diff', 'weights_sha256', 'run_name', 'step'):
    assert metadata[key] == onnx_metadata[key], key  # parity_max_abs_diff stays the ONNX model's

  # a second onnx without --overwrite: refused, nothing changed (bytes and mtimes)
  before = contents(folder)
  for module, fmt, files in (('export.to_onnx', 'onnx', 'model.onnx, model_fp16.onnx'),
                             ('export.to_savedmodel', 'savedmodel', 'saved_model')):
    proc = run_module(module, *flags)
    assert_one_line_error(proc, 1, f"'{folder}' already holds the {fmt} format ({files}); pass --overwrite to "
                          'replace it, or choose another --name (nothing was changed)')
  assert contents(folder) == before and sorted(os.listdir(models)) == ['digits']

  # with --overwrite: model.onnx replaced (without --fp16 its float16 twin goes), the SavedModel stays
  inode = os.stat(folder / 'model.onnx').st_ino
  proc = run_module('export.to_onnx', *flags, '--overwrite')
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'kept from before: savedmodel' in proc.stdout, proc.stdout
  assert os.stat(folder / 'model.onnx').st_ino != inode and not (folder / 'model_fp16.onnx').exists()
  assert before[str(folder / 'saved_model' / '1' / 'saved_model.pb')][0] == (
      folder / 'saved_model' / '1' / 'saved_model.pb').read_bytes()
  metadata = json.loads((folder / 'metadata.json').read_text())
  assert metadata['formats'] == ['onnx', 'savedmodel'] and 'fp16_file' not in metadata

  # another run (or another step of this one) into the folder: refused; with --overwrite its model replaces
  make_tiny_run_dir(tmp_path / 'runs' / 'lsgan-digits-2', loss='lsgan', step=7, seed=1)
  before = contents(folder)
  other = [f'--run_dir={tmp_path / "runs" / "lsgan-digits-2"}', f'--models_dir={models}', '--name=digits']
  proc = run_module('export.to_onnx', *other)
  assert_one_line_error(proc, 1, f"'{folder}' already holds the onnx format")
  proc = run_module('export.to_savedmodel', *other)
  assert_one_line_error(proc, 1, f"'{folder}' already holds the savedmodel format")
  assert contents(folder) == before
  (folder / 'saved_model').rename(tmp_path / 'saved_model')  # the folder now lacks the SavedModel
  before = contents(folder)
  proc = run_module('export.to_savedmodel', *other)
  assert_one_line_error(proc, 1, f"'{folder}' holds model.onnx exported from run wgan_gp-digits-1 step 3, this is "
                        'run lsgan-digits-2 step 7: the folder would mix two generators; pass --overwrite to '
                        'replace its model, or choose another --name (nothing was changed)')
  assert contents(folder) == before
  proc = run_module('export.to_savedmodel', *other, '--overwrite')
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'removing model.onnx' in proc.stdout and 'kept from before: nothing' in proc.stdout, proc.stdout
  metadata = json.loads((folder / 'metadata.json').read_text())
  assert metadata['formats'] == ['savedmodel'] and (metadata['run_name'], metadata['step']) == ('lsgan-digits-2', 7)
  assert sorted(os.listdir(folder)) == ['metadata.json', 'sample.png', 'saved_model']


def test_gpu_latency_refuses_a_cpu_session(exported):
  _, _, models_dir, _ = exported
  # run_module hides any GPU (CUDA_VISIBLE_DEVICES=''), so the session cannot be on the CUDA EP on any host
  proc = run_module('benchmarks.gpu_latency', f'--model={models_dir / "digits" / "model.onnx"}',
                    '--batches=1', '--iters=1')
  assert_one_line_error(proc, 2, 'not CUDAExecutionProvider')
