"""`python -m training.main` as a user runs it: bad input, NaN guard, SIGTERM and --resume, --help."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from tests import warm
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # `python -m training.main` in subprocesses, some training

SMOKE = ['--flagfile=training/presets/smoke.flags']


def run_cli(*args, timeout=300):
  """`python -m training.main *args` (in a warm interpreter: tests/warm.py)."""
  return warm.run('training.main', *args, timeout=timeout)


def assert_one_line_error(proc, code, *fragments):
  assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
  assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
  assert len(errors) == 1, proc.stderr[-2000:]
  for fragment in fragments:
    assert fragment in errors[0], errors[0]


def snapshot(path):
  return {os.path.join(d, f): os.path.getmtime(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs}


@pytest.mark.parametrize('args, code, fragment', [
    (['--loss=vanilla'], 2, 'loss'),
    (['--arch=resnet9'], 2, 'arch'),
    (['--image_size=24'], 2, 'power of two'),
    (['--dataset=no_such_dataset_xyz'], 2, 'no_such_dataset_xyz'),
    (['--strategy=mirrored', '--cpu_replicas=2', '--batch_size=15'], 2, 'replicas'),
    (['--loss=wgan_gp', '--critic_norm=batch'], 2, 'critic_norm'),
    (['--resume', '--run_dir='], 2, '--run_dir'),
])
def test_usage_errors(tmp_path, args, code, fragment):
  proc = run_cli(*SMOKE, f'--run_dir={tmp_path / "run"}', *args)
  assert_one_line_error(proc, code, fragment)
  assert not os.path.exists(tmp_path / 'run') or not os.listdir(tmp_path / 'run')


def test_folder_errors(tmp_path):
  empty = tmp_path / 'empty'
  empty.mkdir()
  assert_one_line_error(run_cli(*SMOKE, f'--dataset=folder:{empty}', f'--run_dir={tmp_path / "a"}'), 2, str(empty))
  corrupt = tmp_path / 'corrupt'
  corrupt.mkdir()
  (corrupt / 'a.jpg').write_bytes(b'not a jpeg')
  (corrupt / 'notes.txt').write_text('hello')
  assert_one_line_error(run_cli(*SMOKE, f'--dataset=folder:{corrupt}', f'--run_dir={tmp_path / "b"}'), 2)


def test_folder_dataset_trains_and_skips_bad_files(tmp_path):
  photos = tmp_path / 'photos' / 'class_a'
  photos.mkdir(parents=True)
  for i in range(20):
    Image.new('RGB', (40 + i, 30), (10 * i, 100, 200 - 5 * i)).save(photos / f'{i}.png')
  (photos / 'broken.jpg').write_bytes(b'\xff\xd8 truncated')
  # Fewer images than one batch: refused before the run directory is written, so the retry needs no clean-up.
  refused = run_cli(*SMOKE, f'--dataset=folder:{tmp_path / "photos"}', f'--run_dir={tmp_path / "run"}',
                    '--batch_size=32')
  assert_one_line_error(refused, 2, 'has 20 examples, fewer than one batch of 32: pass a smaller --batch_size')
  assert not (tmp_path / 'run').exists() or not os.listdir(tmp_path / 'run')
  proc = run_cli(*SMOKE, f'--dataset=folder:{tmp_path / "photos"}', f'--run_dir={tmp_path / "run"}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert '20 images in 1 classes (class_a 20) (1 unreadable skipped)' in proc.stdout  # a class folder: labelled
  assert os.path.isfile(tmp_path / 'run' / 'generator' / 'generator.json')


def test_existing_and_unwritable_run_dirs_are_left_alone(tmp_path):
  existing = tmp_path / 'existing'
  existing.mkdir()
  (existing / 'keep.txt').write_text('precious')
  before = snapshot(existing)
  assert_one_line_error(run_cli(*SMOKE, f'--run_dir={existing}'), 1, '--resume')
  assert snapshot(existing) == before and (existing / 'keep.txt').read_text() == 'precious'
  if os.geteuid() != 0:  # root writes anywhere
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o500)
    assert_one_line_error(run_cli(*SMOKE, f'--run_dir={locked / "run"}'), 1, 'cannot write')
  blocker = tmp_path / 'file'
  blocker.write_text('a file, not a directory')
  assert_one_line_error(run_cli(*SMOKE, f'--run_dir={blocker / "run"}'), 1, 'cannot write')


def test_what_a_refused_start_left_is_reusable_and_nothing_else(tmp_path):
  from training import run_dir as rundir
  left = tmp_path / 'left'
  (left / 'samples').mkdir(parents=True)
  (left / 'config.json').write_text('{"batch_size": 64}')
  assert rundir.left_by_a_refused_start(str(left))
  (left / 'samples').rmdir()
  assert rundir.left_by_a_refused_start(str(left))  # config.json alone
  for extra in ('samples/step_0000000.png', 'checkpoints/ckpt-1.index', 'metrics.csv', 'notes.txt'):
    kept = tmp_path / extra.replace('/', '_')
    (kept / 'samples').mkdir(parents=True)
    (kept / 'config.json').write_text('{}')
    (kept / extra).parent.mkdir(parents=True, exist_ok=True)
    (kept / extra).write_text('x')
    assert not rundir.left_by_a_refused_start(str(kept)), extra


def test_a_directory_left_by_a_refused_start_is_reused_without_resume(tmp_path):
  run_dir = tmp_path / 'run'
  (run_dir / 'samples').mkdir(parents=True)
  (run_dir / 'config.json').write_text('{"batch_size": 64, "dataset": "folder:/somewhere"}')
  proc = run_cli(*SMOKE, f'--run_dir={run_dir}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert f'{run_dir} holds only what a refused start left (config.json, an empty samples/, no checkpoint): ' \
         'starting this run there' in proc.stdout
  assert json.loads((run_dir / 'config.json').read_text())['dataset'] == 'digits'
  assert os.path.isfile(run_dir / 'generator' / 'generator.json')


def test_nan_losses_stop_and_keep_the_last_good_checkpoint(tmp_path):
  run_dir = tmp_path / 'run'
  # an absurd learning rate makes the least-squares losses overflow at step 3 (seeded, so always the same step)
  proc = run_cli(*SMOKE, '--loss=lsgan', '--d_learning_rate=1e5', '--g_learning_rate=1e5', '--steps=50',
                 '--ckpt_every=1', f'--run_dir={run_dir}')
  assert_one_line_error(proc, 1, 'at step', 'last good checkpoint kept')
  bad_step = int(proc.stderr.split('at step ')[1].split(' ')[0])
  checkpoints = sorted(int(f.split('-')[1].split('.')[0]) for f in os.listdir(run_dir / 'checkpoints')
                       if f.startswith('ckpt-') and f.endswith('.index'))
  assert bad_step > 1 and checkpoints and checkpoints[-1] == bad_step - 1


def test_sigterm_checkpoints_and_resume_continues(tmp_path):
  run_dir = tmp_path / 'run'
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}
  # --eval_every: a run that ended by itself would evaluate its last step; a stopped one skips that (within the
  # 30 s a preemption typically grants between SIGTERM and SIGKILL), saying each phase as it goes.
  proc = subprocess.Popen([sys.executable, '-m', 'training.main', *SMOKE, '--steps=100000', '--ckpt_every=100000',
                           '--sample_every=5', '--eval_every=100000', f'--run_dir={run_dir}'], cwd=REPO_ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  deadline = time.monotonic() + 180
  while not (run_dir / 'samples' / 'step_0000005.png').exists():
    assert proc.poll() is None and time.monotonic() < deadline, 'training did not start'
    time.sleep(0.5)
  proc.send_signal(signal.SIGTERM)
  signalled = time.monotonic()
  out, err = proc.communicate(timeout=120)
  assert time.monotonic() - signalled < 30, out
  assert proc.returncode == 0, err[-2000:]
  assert 'stopped at step' in out and 'by a signal' in out and '--resume' in out
  for phase in ('saving the checkpoint and generator of step', 'final evaluation skipped (stopped early); run it '
                'with: python -m evaluation.evaluate --run_dir=', 'writing samples.gif and the loss curve',
                f'export with: python -m export.to_onnx --run_dir={run_dir}'):
    assert phase in out, out
  assert not (run_dir / 'eval.csv').exists()
  stopped = int(out.split('stopped at step ')[1].split(' ')[0])
  assert stopped >= 5 and (run_dir / 'checkpoints' / f'ckpt-{stopped}.index').exists()

  resumed = run_cli(f'--run_dir={run_dir}', '--resume', f'--steps={stopped + 2}')
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert f'at step {stopped}' in resumed.stdout and f'done: {stopped + 2} steps' in resumed.stdout
  changed = run_cli(f'--run_dir={run_dir}', '--resume', '--loss=dcgan', f'--steps={stopped + 4}')
  assert_one_line_error(changed, 2, '--loss cannot change')


def test_max_minutes_stops_like_a_signal_with_a_checkpoint(tmp_path):
  run_dir = tmp_path / 'run'
  proc = run_cli(*SMOKE, '--steps=100000', '--ckpt_every=100000', '--max_minutes=0.1', f'--run_dir={run_dir}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  stopped = int(proc.stdout.split('stopped at step ')[1].split(' ')[0])
  assert f'stopped at step {stopped} by the --max_minutes budget' in proc.stdout
  assert (run_dir / 'checkpoints' / f'ckpt-{stopped}.index').exists()
  assert (run_dir / 'samples' / f'step_{stopped:07d}.png').exists() and (run_dir / 'samples.gif').exists()
  assert f'export with: python -m export.to_onnx --run_dir={run_dir}' in proc.stdout
  assert 'ETA' in proc.stderr and '(budget)' in proc.stderr  # the bar counts down to the budget, not the steps


def test_help_lists_the_registries():
  proc = subprocess.run([sys.executable, '-m', 'training.main', '--helpfull'], cwd=REPO_ROOT, capture_output=True,
                        text=True, timeout=120)
  for text in ('wgan_gp', 'lsgan', 'multi_worker', '--manual_dir', 'folder:PATH'):
    assert text in proc.stdout
