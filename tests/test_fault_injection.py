"""Crash safety, proven by doing the damage: benchmarks/fault_injection.py in short form (real training processes
killed with SIGKILL and resumed), a truncated checkpoint, and a manifest write cut short."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # real training processes killed and resumed

CKPT_EVERY = 3
STEPS = 30


def _env():
  return {**os.environ, 'PYTHONPATH': str(REPO_ROOT), 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}


@pytest.fixture(scope='module')
def fault_injection(tmp_path_factory):
  """One short benchmark: 3 kills (seeded: two aimed at training, one at a checkpoint write) of a 30-step run
  checkpointing every 3 steps, and the uninterrupted run beside it. Returns (figures, work folder)."""
  work = tmp_path_factory.mktemp('fault_injection')
  out = work / 'figures.json'
  proc = subprocess.run([sys.executable, '-m', 'benchmarks.fault_injection', '--kills=3', f'--steps={STEPS}',
                         f'--ckpt_every={CKPT_EVERY}', '--max_delay=0.6', f'--work_dir={work / "runs"}',
                         f'--json={out}'], cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
  with open(out) as f:
    return json.load(f), work / 'runs'


def test_killed_runs_resume_from_the_last_complete_checkpoint(fault_injection):
  figures, _ = fault_injection
  summary, kills = figures['summary'], figures['kills']
  assert summary['finished'], summary['error']
  assert len(kills) == 3
  for kill in kills:
    assert kill['resumed_step'] == kill['complete'], kill  # the newest checkpoint matching its manifest
    assert kill['agrees'], kill
    assert kill['corrupt'] == 0, kill['ignored']
    assert 0 <= kill['steps_lost'] <= CKPT_EVERY, kill
  # --deterministic: the killed and resumed run ends where the uninterrupted one does, bit for bit.
  assert summary['bit_identical'], summary['weights']['differ']
  assert summary['weights']['variables'] > 20  # both networks, both optimizers' slots, EMA, step, latents
  assert summary['metrics'] == {'rows': STEPS, 'each_step_once': True, 'identical': True}


def test_a_truncated_checkpoint_is_ignored_and_the_previous_one_resumed(fault_injection):
  _, runs = fault_injection
  run_dir = runs / 'reference'  # finished: ckpt-24, ckpt-27, ckpt-30
  data = run_dir / 'checkpoints' / f'ckpt-{STEPS}.data-00000-of-00001'
  with open(data, 'r+b') as f:
    f.truncate(os.path.getsize(data) // 2)
  from tests import warm
  proc = warm.run('training.main', f'--run_dir={run_dir}', '--resume', f'--steps={STEPS + CKPT_EVERY}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert f'ignoring checkpoint ckpt-{STEPS}: ckpt-{STEPS}.data-00000-of-00001 does not match its manifest' in proc.stdout
  assert f'resumed from {run_dir / "checkpoints" / f"ckpt-{STEPS - CKPT_EVERY}"} at step {STEPS - CKPT_EVERY}' \
      in proc.stdout
  assert f'done: {STEPS + CKPT_EVERY} steps' in proc.stdout
  from training import checkpoints
  for step in (STEPS, STEPS + CKPT_EVERY):  # the truncated one was written again
    assert checkpoints.verify(str(run_dir / 'checkpoints' / f'ckpt-{step}')) is None


def test_a_manifest_write_cut_short_does_not_spoil_the_checkpoint_written_again(tmp_path):
  """A kill inside write_manifest leaves ckpt-N.sha256.tmp and no ckpt-N.sha256; the resumed run that writes
  ckpt-N again must leave a checkpoint that verifies."""
  import tensorflow as tf
  from training import checkpoints
  checkpoint = tf.train.Checkpoint(step=tf.Variable(0, dtype=tf.int64))
  ckpts = checkpoints.Checkpoints(checkpoint, str(tmp_path), max_to_keep=3, log=lambda line: None)
  ckpts.save(1)
  prefix = str(tmp_path / 'ckpt-2')
  ckpts.save(2)
  os.replace(prefix + '.sha256', prefix + '.sha256.tmp')  # the kill landed between json.dump and os.replace
  ignored = []
  resumed = checkpoints.Checkpoints(checkpoint, str(tmp_path), max_to_keep=3, log=ignored.append)
  assert resumed.restore_latest_good() == str(tmp_path / 'ckpt-1')
  assert ignored == ['ignoring checkpoint ckpt-2: no manifest (the write did not finish)']
  resumed.save(2)
  assert checkpoints.verify(prefix) is None
