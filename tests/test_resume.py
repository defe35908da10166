"""Crash safety of `python -m training.main`, proven by doing the damage: a stop and resume that ends bit-identical
to an uninterrupted run, config.json recording what a resume changed, a full disk on the checkpoint path, a
second signal, and the settings' one source (flags generated from TrainConfig)."""

import errno
import json
import re
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from tests.test_training_cli import SMOKE, assert_one_line_error, run_cli

_ENV = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}


def checkpoint_values(prefix) -> dict:
  import tensorflow as tf
  reader = tf.train.load_checkpoint(str(prefix))
  # save_counter counts the saves of this process's Checkpoint object (bookkeeping, not training state).
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if not name.startswith(('_CHECKPOINTABLE_OBJECT_GRAPH', 'save_counter'))}


@pytest.mark.slow
@pytest.mark.parametrize('extra', [[], ['--augment=color,translation,cutout']], ids=['plain', 'diffaugment'])
def test_stop_and_resume_is_bit_identical_with_deterministic(tmp_path, extra):
  """Six steps straight vs three, a resume, three more: every checkpointed variable (both networks, both
  optimizers, the EMA generator, BatchNorm statistics, step) is bit-identical, because the data order continues
  at the exact batch and every random number (DiffAugment's transforms too) is a function of (seed, batch index)."""
  common = [*SMOKE, '--deterministic', '--flip', '--ckpt_every=1000', '--sample_every=1000', *extra]
  straight, split = tmp_path / 'straight', tmp_path / 'split'
  for proc in (run_cli(*common, '--steps=6', f'--run_dir={straight}'),
               run_cli(*common, '--steps=3', f'--run_dir={split}'),
               run_cli(f'--run_dir={split}', '--resume', '--steps=6')):
    assert proc.returncode == 0, proc.stderr[-2000:]
  a, b = checkpoint_values(straight / 'checkpoints' / 'ckpt-6'), checkpoint_values(split / 'checkpoints' / 'ckpt-6')
  assert a.keys() == b.keys() and len(a) > 20
  different = [name for name in a if not np.array_equal(a[name], b[name])]
  assert not different, different[:5]
  # The metrics of the resumed stretch are those of the uninterrupted run, row for row.
  rows = lambda run: [line.split(',')[:5] for line in (run / 'metrics.csv').read_text().splitlines()]  # noqa: E731
  assert rows(straight) == rows(split)


@pytest.mark.slow
def test_resume_records_what_changed_and_where_the_run_came_from(tmp_path):
  run_dir = tmp_path / 'run'
  assert run_cli(*SMOKE, '--steps=2', f'--run_dir={run_dir}').returncode == 0
  first = json.loads((run_dir / 'config.json').read_text())
  origin = first['provenance']
  assert origin['dataset_checksum'].startswith('sha256:') and origin['packages']['tensorflow']
  assert len(origin['git_commit'] or '') == 40 and isinstance(origin['git_dirty'], bool)
  assert first['history'] == []
  generator_json = json.loads((run_dir / 'generator' / 'generator.json').read_text())
  assert generator_json['provenance']['dataset_checksum'] == origin['dataset_checksum']

  proc = run_cli(f'--run_dir={run_dir}', '--resume', '--steps=4', '--log_every=2')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "--steps 2 -> 4" in proc.stdout
  config = json.loads((run_dir / 'config.json').read_text())
  assert config['steps'] == 4 and config['log_every'] == 2 and config['provenance'] == origin
  assert config['history'][0]['resumed_at_step'] == 2
  assert config['history'][0]['changed'] == {'steps': [2, 4], 'log_every': [1, 2]}
  # The recorded --steps=4 is what a plain --resume (the usual restart after a preemption) now continues to.
  assert_one_line_error(run_cli(f'--run_dir={run_dir}', '--resume'), 1, 'already at step 4')
  proc = run_cli(f'--run_dir={run_dir}', '--resume', '--steps=5')
  assert proc.returncode == 0 and len(json.loads((run_dir / 'config.json').read_text())['history']) == 2


@pytest.mark.slow
def test_resume_drops_metric_rows_of_the_discarded_stretch(tmp_path):
  """A run killed after its last checkpoint has metric rows the resumed run writes again: they are dropped, not
  doubled."""
  run_dir = tmp_path / 'run'
  assert run_cli(*SMOKE, '--steps=4', '--ckpt_every=2', f'--run_dir={run_dir}').returncode == 0
  # As if killed at step 4 before its checkpoint: remove ckpt-4 (and the final save's files).
  for name in os.listdir(run_dir / 'checkpoints'):
    if name.startswith('ckpt-4'):
      os.remove(run_dir / 'checkpoints' / name)
  proc = run_cli(f'--run_dir={run_dir}', '--resume')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert 'at step 2' in proc.stdout and 'dropped 2 metric row(s) after step 2' in proc.stdout
  steps = [int(line.split(',')[0]) for line in (run_dir / 'metrics.csv').read_text().splitlines()[1:]]
  assert steps == [1, 2, 3, 4]


def _mount_tmpfs(path, size) -> bool:
  os.makedirs(path, exist_ok=True)
  try:
    return subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(path)],
                          capture_output=True).returncode == 0
  except OSError:
    return False


def _fill(path):
  """Writes zeros into `path` until the file system reports ENOSPC."""
  with open(path, 'wb') as f:
    try:
      while True:
        f.write(b'\0' * (1 << 16))
        f.flush()
    except OSError as e:
      assert e.errno == errno.ENOSPC
      return


def _read_only(mount):
  """The checkpoint folder becomes a read-only bind mount of itself (the whole tmpfs cannot be remounted
  read-only while the run holds its TensorBoard file open)."""
  folder = str(mount / 'run' / 'checkpoints')
  for args in (['--bind', folder, folder], ['-o', 'remount,ro,bind', folder]):
    assert subprocess.run(['mount', *args], capture_output=True).returncode == 0


@pytest.mark.parametrize('damage, code, words', [
    (lambda mount: _fill(mount / 'filler'), errno.ENOSPC, 'No space left on device'),
    (_read_only, errno.EROFS, 'Read-only file system'),
], ids=['disk-full', 'read-only'])
@pytest.mark.slow
def test_disk_full_or_read_only_on_the_checkpoint_path(tmp_path, damage, code, words):
  """ENOSPC (or EROFS) while writing a checkpoint: one line, exit 1, the previous checkpoint intact and
  resumable. With root (and a kernel that allows it) the run directory sits on a real 64 MB tmpfs that is filled
  (or remounted read-only) mid-run; otherwise the checkpoint write is patched to fail as the OS would."""
  mount = tmp_path / 'tmpfs'
  mounted = _mount_tmpfs(mount, '64m')
  run_dir = (mount if mounted else tmp_path) / 'run'
  try:
    args = [*SMOKE, '--width=8', '--steps=100000', '--ckpt_every=20', '--log_every=1000000',
            '--sample_every=1000000', f'--run_dir={run_dir}']
    if mounted:
      proc = subprocess.Popen([sys.executable, '-m', 'training.main', *args], cwd=REPO_ROOT, env=_ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      deadline = time.monotonic() + 180
      while not (run_dir / 'checkpoints' / 'ckpt-20.sha256').exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
        time.sleep(0.05)
      damage(mount)
      out, err = proc.communicate(timeout=120)
      returncode = proc.returncode
    else:
      patch = ('import errno, sys, tensorflow as tf; from training import main; save = tf.train.CheckpointManager.save\n'
               'def full(self, *a, **k):\n'
               f'  if k.get("checkpoint_number") == 40: raise OSError({code}, {words!r})\n'
               '  return save(self, *a, **k)\n'
               'tf.train.CheckpointManager.save = full\n'
               'sys.argv = ["main", *sys.argv[1:]]; main.define_flags(); main.cli.run(main.main, main._errors())\n')
      done = subprocess.run([sys.executable, '-c', patch, *args], cwd=REPO_ROOT, env=_ENV, capture_output=True,
                            text=True, timeout=300)
      out, err, returncode = done.stdout, done.stderr, done.returncode
    assert returncode == 1 and 'Traceback' not in err, err[-2000:]
    errors = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(errors) == 1 and words in errors[0], err[-2000:]
    assert 'last good checkpoint kept' in errors[0] and 'ckpt-' in errors[0]
    kept = errors[0].split('last good checkpoint kept: ')[1].strip()
    from training.checkpoints import verify
    assert verify(kept) is None  # the previous checkpoint is complete and matches its manifest
    if mounted:
      subprocess.run(['umount', str(run_dir / 'checkpoints')], capture_output=True)  # the read-only bind, if any
      if os.path.exists(mount / 'filler'):
        os.remove(mount / 'filler')
    resumed = run_cli(f'--run_dir={run_dir}', '--resume', f'--steps={int(kept.rsplit("-", 1)[1]) + 1}')
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f'resumed from {kept}' in resumed.stdout
  finally:
    if mounted:
      subprocess.run(['umount', str(run_dir / 'checkpoints')], capture_output=True)
      subprocess.run(['umount', '-l', str(mount)], capture_output=True)


@pytest.mark.slow
def test_a_second_signal_exits_at_once(tmp_path):
  run_dir = tmp_path / 'run'
  proc = subprocess.Popen([sys.executable, '-m', 'training.main', *SMOKE, '--steps=100000', '--ckpt_every=100000',
                           '--sample_every=5', f'--run_dir={run_dir}'], cwd=REPO_ROOT, env=_ENV,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.monotonic() + 180
    while not (run_dir / 'samples' / 'step_0000005.png').exists():
      assert proc.poll() is None and time.monotonic() < deadline, 'training did not start'
      time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    line = proc.stderr.readline()
    while 'stopping after this step' not in line:
      assert line, 'no acknowledgement of the first signal'
      line = proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
  finally:
    proc.kill()
  assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, err[-2000:])
  assert 'second SIGTERM: exiting now' in err and 'Traceback' not in err


def test_flags_are_generated_from_the_config_fields():
  from absl import flags
  from training import config, main
  if 'seed' not in flags.FLAGS:
    main.define_flags()
  for field in config.fields():
    flag = flags.FLAGS[field.name]
    assert flag.default == (list(f'{v:g}' for v in field.default) if isinstance(field.default, tuple)
                            else field.default), field.name
    assert field.metadata['help'] in flag.help
    assert config.range_text(field) in flag.help
    assert ('may change on --resume' in flag.help) == field.metadata['resumable']
  assert flags.FLAGS['loss'].parser.enum_values == list(config.losses.LOSSES)


@pytest.mark.parametrize('settings, message', [
    (dict(loss='wgan', gp_weight=10.0), 'penalises a BatchNorm critic'),
    (dict(loss='wgan', gp_weight=10.0, critic_norm='layer'), 'do not combine'),
    (dict(loss='wgan_gp', clip_value=0.01), 'do not combine'),
    (dict(loss='dcgan', gp_weight=1.0, critic_norm='batch'), 'penalises a BatchNorm critic'),
    (dict(batch_size=0), '--batch_size must be >= 1, got 0'),
    (dict(beta_2=1.0), '--beta_2 must be in [0, 1), got 1.0'),
    (dict(num_samples=300), '--num_samples must be in [1, 256], got 300'),
    (dict(loss='wgan_gpp'), 'did you mean wgan_gp?'),
])
def test_conflicting_and_out_of_range_settings(settings, message):
  from training.config import ConfigError, TrainConfig, resolve
  with pytest.raises(ConfigError, match=re.escape(message)):
    resolve(TrainConfig(**settings))


@pytest.mark.parametrize('settings', [
    dict(loss='wgan', gp_weight=10.0, critic_norm='layer', clip_value=0.0),  # WGAN-GP spelled out
    dict(loss='lsgan', gp_weight=1.0, critic_norm='layer'),  # a penalty on a LayerNorm critic is legitimate
    dict(loss='dcgan', gp_weight=1.0, critic_norm='none'),
])
def test_legitimate_penalty_combinations(settings):
  """Accepted, and the critic update of the resolved config adds gp_weight x the penalty to the critic's loss: the
  same update with --gp_weight=0, from the same weights on the same batch, reports a loss lower by exactly that."""
  import dataclasses
  import keras
  import tensorflow as tf
  from training import steps
  from training.architectures import ARCHITECTURES
  from training.config import TrainConfig, resolve

  def critic_update(config) -> dict:
    keras.utils.set_random_seed(0)
    arch = ARCHITECTURES[config.arch]
    generator = arch.build_generator(config.latent_dim, config.image_size, config.channels, config.width)
    critic = arch.build_critic(config.image_size, config.channels, config.width, config.critic_norm,
                               config.critic_input_dropout)
    _, extra_critic_step = steps.make_step_functions(config, tf.distribute.get_strategy(), generator, critic,
                                                     keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    b, size = config.batch_size, config.image_size
    batch = {'real': tf.random.stateless_uniform([b, size, size, 1], [0, 1], -1, 1),
             'z': tf.random.stateless_normal([b, config.latent_dim], [0, 2]),
             'z_gen': tf.random.stateless_normal([b, config.latent_dim], [0, 3]),
             'alpha': tf.random.stateless_uniform([b], [0, 4]), 'uniform': tf.random.stateless_uniform([b], [0, 5])}
    metrics = extra_critic_step(iter(tf.data.Dataset.from_tensors(batch).repeat()))
    return {name: float(value) for name, value in metrics.items()}

  small = dict(dataset='digits', image_size=16, latent_dim=8, width=4, batch_size=4, jit=False)
  config = dataclasses.replace(resolve(TrainConfig(**small, **settings)), channels=1)
  assert not config.clip_value  # a penalty on a clipped critic is refused; these resolve to no clipping
  penalised = critic_update(config)
  plain = critic_update(dataclasses.replace(config, gp_weight=0.0))
  assert penalised['gradient_penalty'] > 0 and plain['gradient_penalty'] == 0
  assert penalised['d_loss'] - plain['d_loss'] == pytest.approx(config.gp_weight * penalised['gradient_penalty'],
                                                                rel=1e-4)


def test_resume_sets_aside_a_best_generator_of_the_discarded_stretch(tmp_path):
  """best/ from step 10 and a resume at step 5: best/ moves to best.discarded-step10/ (nothing deleted); a best/
  from before the resumed step stays."""
  from evaluation.plugin import rewind_best
  best = tmp_path / 'best'
  best.mkdir()
  (best / 'scores.json').write_text(json.dumps({'step': 4, 'fcd': 1.0}))
  assert rewind_best(str(tmp_path), 5) == '' and best.is_dir()
  (best / 'scores.json').write_text(json.dumps({'step': 10, 'fcd': 1.0}))
  line = rewind_best(str(tmp_path), 5)
  assert line == 'best/ held step 10, after the resumed step 5: moved to best.discarded-step10/'
  assert not best.exists() and (tmp_path / 'best.discarded-step10' / 'scores.json').is_file()
