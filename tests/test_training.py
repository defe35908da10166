"""End-to-end training runs with tiny models: every loss, both data sources, resume, mixed precision, XLA."""

import csv
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_config
from training import generator_io, losses, trainer
from training.config import ConfigError, TrainConfig, n_critic_at, resolve


def read_metrics(run_dir):
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def assert_complete_run_dir(run_dir, steps):
  for name in ('config.json', 'metrics.csv', 'loss_curve.png', 'samples.gif', 'generator/generator.json',
               'generator/generator.weights.h5', 'checkpoints/checkpoint'):
    assert os.path.isfile(os.path.join(run_dir, name)), name
  assert os.listdir(os.path.join(run_dir, 'tensorboard'))
  assert os.path.isfile(os.path.join(run_dir, 'samples', f'step_{steps:07d}.png'))
  rows = read_metrics(run_dir)
  assert [int(r['step']) for r in rows] == list(range(1, steps + 1))
  for row in rows:
    assert all(np.isfinite(v) for v in row.values()), row
  assert generator_io.read_metadata(run_dir)['step'] == steps


@pytest.mark.parametrize('loss', sorted(losses.LOSSES))
def test_every_loss_trains_on_digits(tmp_path, loss):
  config = tiny_config(tmp_path / loss, loss=loss)
  run_dir = trainer.train(config, log=lambda *_: None)
  assert_complete_run_dir(run_dir, 3)
  rows = read_metrics(run_dir)
  if loss == 'wgan_gp':
    assert all(r['gradient_penalty'] > 0 for r in rows)
  else:
    assert all(r['gradient_penalty'] == 0 for r in rows)
  generator, metadata = generator_io.load(run_dir)
  assert metadata['loss'] == loss and metadata['channels'] == 1
  images = generator(tf.zeros([2, 8]), training=False).numpy()
  assert images.shape == (2, 16, 16, 1) and np.all(np.abs(images) <= 1)


def test_wgan_clips_every_critic_weight(tmp_path):
  config = tiny_config(tmp_path / 'run', loss='wgan', d_learning_rate=0.05, steps=2)
  trainer.train(config, log=lambda *_: None)
  reader = tf.train.load_checkpoint(os.path.join(config.run_dir, 'checkpoints'))
  # the checkpoint stores the critic's trainable weights once, under the optimizer that updates them
  critic_vars = [k for k in reader.get_variable_to_shape_map() if k.startswith('d_optimizer/_trainable_variables/')]
  assert len(critic_vars) >= 4
  # with lr 0.05 the weights would leave [-0.01, 0.01] after one RMSProp step without the clip
  assert max(np.abs(reader.get_tensor(k)).max() for k in critic_vars) <= 0.01 + 1e-7


@pytest.mark.slow
@pytest.mark.parametrize('loss', sorted(losses.LOSSES))
def test_every_loss_trains_on_fashion_mnist_offline(tmp_path, loss, shared_data, tfds_data_dir):
  config = tiny_config(tmp_path / loss, loss=loss, dataset='fashion_mnist', steps=2,
                       manual_dir=str(shared_data / 'fashion_mnist'), data_dir=tfds_data_dir)
  run_dir = trainer.train(config, log=lambda *_: None)
  assert_complete_run_dir(run_dir, 2)


def test_dcgan_options_and_lsgan_pearson_labels(tmp_path):
  dcgan = tiny_config(tmp_path / 'dcgan', loss='dcgan', label_smoothing=0.1, label_flip=0.35,
                      critic_input_dropout=0.5, flip=True, steps=2)
  assert_complete_run_dir(trainer.train(dcgan, log=lambda *_: None), 2)
  lsgan = tiny_config(tmp_path / 'lsgan', loss='lsgan', lsgan_labels=(-1.0, 1.0, 0.0), steps=2)
  assert_complete_run_dir(trainer.train(lsgan, log=lambda *_: None), 2)


@pytest.mark.slow
def test_mixed_precision_and_jit(tmp_path):
  # jit_on_cpu: XLA itself is exercised here, though a CPU host trains without it by default (test_xla_on_cpu).
  for name, options in (('mixed', {'mixed_precision': True}), ('jit', {'jit': True, 'jit_on_cpu': True})):
    config = tiny_config(tmp_path / name, loss='wgan_gp', steps=2, **options)
    assert_complete_run_dir(trainer.train(config, log=lambda *_: None), 2)


def test_xla_on_cpu_only_when_forced():
  """--jit compiles on a GPU; on a CPU host, where XLA measured slower for every architecture, only with --jit_on_cpu;
  with several replicas never (training/strategies.py xla_applies)."""
  import tensorflow as tf
  from training import strategies
  one = tf.distribute.get_strategy()
  assert strategies.xla_applies(False, True, one) == (False, '')
  if tf.config.list_physical_devices('GPU'):
    assert strategies.xla_applies(True, False, one) == (True, '')
  else:
    used, why = strategies.xla_applies(True, False, one)
    assert not used and why.startswith('--jit: not applied on a CPU host') and '--jit_on_cpu' in why
  assert strategies.xla_applies(True, True, one) == (True, '')

  class TwoReplicas:
    num_replicas_in_sync = 2
  used, why = strategies.xla_applies(True, True, TwoReplicas())
  assert not used and 'one replica only' in why


def test_native_bfloat16_is_read_from_cpuinfo(tmp_path):
  from training import strategies
  x86, arm, plain = tmp_path / 'x86', tmp_path / 'arm', tmp_path / 'plain'
  x86.write_text('processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n')
  arm.write_text('processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n')
  plain.write_text('processor\t: 0\nflags\t\t: fpu avx2 fma\nmodel name\t: bf16 in a name is no feature\n')
  assert strategies.native_bfloat16(str(x86)) == 'avx512_bf16'
  assert strategies.native_bfloat16(str(arm)) == 'bf16'
  assert strategies.native_bfloat16(str(plain)) == ''
  assert strategies.native_bfloat16(str(tmp_path / 'absent')) == ''
  assert strategies.mixed_precision_line('float32') == ''
  assert strategies.mixed_precision_line('mixed_float16') == 'mixed precision: mixed_float16'
  assert 'bfloat16 on the CPU' in strategies.mixed_precision_line('mixed_bfloat16')


def test_wgan_critic_schedule():
  config = resolve(TrainConfig(loss='wgan', wgan_critic_schedule=True))
  assert [n_critic_at(config, s) for s in (0, 24, 25, 499, 500, 501, 1000)] == [100, 100, 5, 5, 100, 5, 100]
  assert n_critic_at(resolve(TrainConfig(loss='wgan')), 0) == 5
  with pytest.raises(ConfigError, match='wgan'):
    resolve(TrainConfig(loss='dcgan', wgan_critic_schedule=True))


def test_defaults_come_from_the_loss_family():
  wgan = resolve(TrainConfig(loss='wgan'))
  assert (wgan.n_critic, wgan.d_learning_rate, wgan.clip_value, wgan.critic_norm) == (5, 5e-5, 0.01, 'batch')
  gp = resolve(TrainConfig(loss='wgan_gp', d_learning_rate=3e-4))
  assert (gp.n_critic, gp.d_learning_rate, gp.g_learning_rate, gp.gp_weight, gp.beta_1) == (5, 3e-4, 1e-4, 10.0, 0.0)
  with pytest.raises(ConfigError, match='critic_norm'):
    resolve(TrainConfig(loss='wgan_gp', critic_norm='batch'))
  with pytest.raises(ConfigError, match='power of two'):
    resolve(TrainConfig(image_size=24))


@pytest.mark.slow
def test_resume_restores_step_optimizer_and_fixed_latents(tmp_path):
  run_dir = tmp_path / 'run'
  config = tiny_config(run_dir, loss='wgan_gp', steps=4, ckpt_every=2)
  trainer.train(config, log=lambda *_: None)
  before = tf.train.load_checkpoint(str(run_dir / 'checkpoints'))
  fixed_before = before.get_tensor('fixed_latents/.ATTRIBUTES/VARIABLE_VALUE')

  messages = []
  trainer.train(tiny_config(run_dir, loss='wgan_gp', steps=6, ckpt_every=2), resume=True, log=messages.append)
  assert any('resumed from' in m and 'step 4' in m for m in messages)
  after = tf.train.load_checkpoint(str(run_dir / 'checkpoints'))
  assert after.get_tensor('step/.ATTRIBUTES/VARIABLE_VALUE') == 6
  np.testing.assert_array_equal(after.get_tensor('fixed_latents/.ATTRIBUTES/VARIABLE_VALUE'), fixed_before)
  # 6 generator steps of 5 critic steps each: both optimizers continued counting from the checkpoint
  iterations = {k: after.get_tensor(k) for k in after.get_variable_to_shape_map() if 'iterations' in k}
  assert sorted(int(v) for v in iterations.values()) == [6, 30], iterations
  assert [int(r['step']) for r in read_metrics(run_dir)] == [1, 2, 3, 4, 5, 6]
  assert generator_io.read_metadata(str(run_dir))['step'] == 6


def test_config_json_round_trip(tmp_path):
  config = tiny_config(tmp_path / 'run', loss='lsgan', lsgan_labels=(-1.0, 1.0, 0.0))
  assert TrainConfig.from_json(config.to_json()) == config
  with pytest.raises(ConfigError, match='does not know'):
    TrainConfig.from_json(json.dumps({'loss': 'dcgan', 'not_a_setting': 1}))
