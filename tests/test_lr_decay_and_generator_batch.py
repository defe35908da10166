"""--lr_decay_steps (linear learning-rate decay to 0, from the generator step) and --g_batch_ratio (the generator
update's batch in multiples of the critic's): gan_cifar_resnet.py's ITERS decay and GEN_BS_MULTIPLE."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT, tiny_config
from training import steps
from training.config import ConfigError


def test_both_rates_decay_linearly_to_zero_with_the_generator_step(tmp_path):
  from training.optimizers import make as _optimizers
  config = tiny_config(tmp_path, g_learning_rate=2e-4, d_learning_rate=4e-4, lr_decay_steps=10)
  step = tf.Variable(0, dtype=tf.int64)
  g_opt, d_opt = _optimizers(config, step)
  for k, factor in ((0, 1.0), (3, 0.7), (10, 0.0), (25, 0.0)):
    step.assign(k)
    g_opt.iterations.assign(1000)  # the optimizers' own counts do not matter: the generator step does
    d_opt.iterations.assign(5000)
    np.testing.assert_allclose(float(g_opt.learning_rate), 2e-4 * factor, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(float(d_opt.learning_rate), 4e-4 * factor, rtol=1e-6, atol=1e-12)
  constant = _optimizers(tiny_config(tmp_path, g_learning_rate=2e-4), step)[0]
  step.assign(10 ** 6)
  np.testing.assert_allclose(float(constant.learning_rate), 2e-4, rtol=1e-6)


def _weights(run_dir, step):
  """{variable path: value} of the generator and critic in the run's checkpoint of `step`."""
  path = os.path.join(run_dir, 'checkpoints', f'ckpt-{step}')
  # Keras 3 checkpoints the networks' weights under their optimizers' tracked variables.
  names = [n for n, _ in tf.train.list_variables(path)
           if n.startswith(('g_optimizer/_trainable_variables/', 'd_optimizer/_trainable_variables/'))]
  return {n: tf.train.load_variable(path, n) for n in names}


@pytest.mark.slow
def test_a_resumed_run_continues_the_decay_schedule(tmp_path):
  """--deterministic: 2 steps, then a resume to 3, end bit-identical to 3 steps straight with decay over 4."""
  from training import trainer
  settings = dict(steps=3, ckpt_every=1, keep_checkpoints=3, ema_decay=0.0, lr_decay_steps=4, deterministic=True)
  trainer.train(tiny_config(tmp_path / 'straight', **settings), log=lambda *_: None)
  trainer.train(tiny_config(tmp_path / 'resumed', **{**settings, 'steps': 2}), log=lambda *_: None)
  trainer.train(tiny_config(tmp_path / 'resumed', **settings), resume=True, log=lambda *_: None)
  straight, resumed = _weights(str(tmp_path / 'straight'), 3), _weights(str(tmp_path / 'resumed'), 3)
  assert straight.keys() == resumed.keys()
  assert all(np.array_equal(straight[k], resumed[k]) for k in straight)


@pytest.mark.slow
def test_a_run_past_its_decay_steps_stops_changing_weights(tmp_path):
  """Decay over 1 step: the second generator step (and its critic steps) run at rate 0, so its checkpoint
  equals the first's; without decay they differ."""
  from training import trainer
  for decay, same in ((1, True), (0, False)):
    run_dir = tmp_path / f'decay{decay}'
    trainer.train(tiny_config(run_dir, steps=2, ckpt_every=1, keep_checkpoints=2, ema_decay=0.0,
                              lr_decay_steps=decay), log=lambda *_: None)
    first, second = _weights(str(run_dir), 1), _weights(str(run_dir), 2)
    assert first.keys() == second.keys() and len(first) > 4
    equal = [np.array_equal(first[k], second[k]) for k in first]
    assert all(equal) == same, (decay, equal)


def test_the_generator_latents_are_ratio_times_the_batch_with_the_batch_axis_first(tmp_path):
  config = tiny_config(tmp_path, batch_size=4, latent_dim=3, g_batch_ratio=2, augment='color,cutout')
  real = tf.zeros([4, 16, 16, 1])
  batch = steps.attach_randomness(config)(tf.constant(7, tf.int64), real)
  assert batch['z'].shape == (4, 3) and batch['z_gen'].shape == (4, 2, 3)
  assert all(v.shape[:2] == (4, 2) for v in batch['augment_gen'].values())
  assert all(v.shape[0] == 4 for v in batch['augment_fake'].values())
  # The 2B latents are one stateless draw, rows kept in order: (B, r, latent) reshaped back gives the draw.
  single = steps.attach_randomness(tiny_config(tmp_path, batch_size=8, latent_dim=3))
  np.testing.assert_array_equal(tf.reshape(batch['z_gen'], [8, 3]),
                                single(tf.constant(7, tf.int64), tf.zeros([8, 16, 16, 1]))['z_gen'])


def test_the_generator_loss_averages_over_the_larger_batch():
  """A critic that scores every image 3: the WGAN generator loss -mean D(G(z)) is -3 whatever the batch, so a
  loss summed over r·B examples and divided by B (not r·B) would read -9 at r = 3."""
  import keras
  from training.config import TrainConfig, resolve
  config = resolve(TrainConfig(dataset='digits', image_size=16, latent_dim=4, width=4, batch_size=4, loss='wgan',
                               clip_value=0.0, n_critic=1, g_batch_ratio=3, strategy='one_device'))
  z = keras.Input((4,))
  generator = keras.Model(z, keras.layers.Reshape((16, 16, 1))(keras.layers.Dense(256, activation='tanh')(z)))
  images = keras.Input((16, 16, 1))
  constant = keras.layers.Dense(1, kernel_initializer='zeros', bias_initializer=keras.initializers.Constant(3.0))
  critic = keras.Model(images, constant(keras.layers.Flatten()(images)))
  strategy = tf.distribute.get_strategy()
  data = tf.data.Dataset.from_tensors(tf.zeros([4, 16, 16, 1])).repeat().enumerate()
  iterator = iter(data.map(steps.attach_randomness(config)))
  train_step, _ = steps.make_step_functions(config, strategy, generator, critic, keras.optimizers.SGD(0.0),
                                            keras.optimizers.SGD(0.0))
  metrics = train_step(iterator)
  np.testing.assert_allclose(float(metrics['g_loss']), -3.0, rtol=1e-6)


@pytest.mark.parametrize('flag, message', [
    ('lr_decay_steps=-1', r'^--lr_decay_steps must be >= 0, got -1$'),
    ('g_batch_ratio=0', r'^--g_batch_ratio must be in \[1, 16\], got 0$'),
])
def test_out_of_range_settings_are_one_line_errors(tmp_path, flag, message):
  name, value = flag.split('=')
  with pytest.raises(ConfigError, match=message):
    tiny_config(tmp_path, **{name: int(value)})


_SCRIPT = r'''
import csv, json, os, sys
from training import strategies
strategies.split_cpu(2)  # before any op
from tests.conftest import tiny_config
from training import trainer
out = {}
for strategy in ('one_device', 'mirrored'):
  run_dir = os.path.join(sys.argv[1], strategy)
  trainer.train(tiny_config(run_dir, strategy=strategy, steps=3, batch_size=16, g_batch_ratio=2, lr_decay_steps=4,
                            augment='translation'), log=lambda *_: None)
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    out[strategy] = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
print('RESULT ' + json.dumps(out))
'''


@pytest.mark.slow
def test_two_mirrored_replicas_match_one_device_with_both_settings(tmp_path):
  env = {**os.environ, 'PYTHONPATH': str(REPO_ROOT), 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}
  proc = subprocess.run([sys.executable, '-c', _SCRIPT, str(tmp_path)], cwd=REPO_ROOT, env=env, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout.split('RESULT ', 1)[1])
  assert len(result['one_device']) == len(result['mirrored']) == 3
  for a, b in zip(result['one_device'], result['mirrored']):
    for key in ('d_loss', 'g_loss', 'gradient_penalty', 'wasserstein'):
      np.testing.assert_allclose(a[key], b[key], rtol=2e-3, atol=2e-4, err_msg=f'{key} at step {a["step"]}')
