"""benchmarks/flops.py: FLOP counts pinned to hand-computed multiply-accumulates (MACs x 2) of tiny layers, and
the step's parts checked against the real training step's graph. Tracing only: nothing is trained."""

import dataclasses
import types

import keras
import pytest
import tensorflow as tf

from benchmarks import flops
from training.config import TrainConfig, resolve

BATCH = 2


def _model(input_shape, layer):
  inputs = keras.Input(input_shape)
  return keras.Model(inputs, layer(inputs))


def _spec(model):
  return tf.TensorSpec([BATCH, *model.input.shape[1:]], tf.float32)


def test_dense_by_hand():
  # 3 inputs x 4 units = 12 MACs per example: 24 FLOPs; the bias is not counted.
  model = _model((3,), keras.layers.Dense(4, name='dense'))
  assert flops.layer_flops(model) == {'dense': 24}
  assert flops.graph_flops(lambda x: model(x), _spec(model)) == BATCH * 24


def test_dense_weight_gradient_by_hand():
  # dL/dW = x^T (dL/dy): (3, B) @ (B, 4) = 12 B MACs, as many as the forward pass. dL/dx is not asked for.
  # The loss is returned: for a linear layer the gradient does not need the forward pass, which would be pruned.
  model = _model((3,), keras.layers.Dense(4))

  def forward_backward(x):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(model(x))
    return loss, tape.gradient(loss, model.trainable_variables)

  assert flops.graph_flops(forward_backward, _spec(model)) == 2 * BATCH * 24


def test_conv2d_transpose_by_hand():
  # 2x2x3 -> 4x4x5, kernel 4, stride 2: each of the 2*2*3 input values scatters a 4x4x5 patch:
  # 2*2*3 * 4*4*5 = 960 MACs per example, 1920 FLOPs.
  model = _model((2, 2, 3), keras.layers.Conv2DTranspose(5, 4, 2, padding='same', name='up'))
  assert model.output.shape[1:] == (4, 4, 5)
  assert flops.layer_flops(model) == {'up': 1920}
  assert flops.graph_flops(lambda x: model(x), _spec(model)) == BATCH * 1920


def test_conv2d_by_hand():
  # 4x4x2 -> 4x4x3, kernel 3, stride 1: 4*4*3 outputs x 3*3*2 taps = 864 MACs per example.
  model = _model((4, 4, 2), keras.layers.Conv2D(3, 3, padding='same', name='conv'))
  assert flops.layer_flops(model) == {'conv': 1728}
  assert flops.graph_flops(lambda x: model(x), _spec(model)) == BATCH * 1728


def test_dead_ops_are_not_counted():
  # TensorFlow prunes what no output or stateful op needs; so does the count.
  w = tf.ones([3, 3])

  def f(x):
    tf.matmul(x, w)  # never read
    return x * 2.0

  assert flops.graph_flops(f, tf.TensorSpec([BATCH, 3])) == 0


def _tiny_config(**overrides):
  config = resolve(TrainConfig(**{**dict(loss='wgan_gp', dataset='digits', image_size=16, latent_dim=8, width=4,
                                         batch_size=4), **overrides}))
  return dataclasses.replace(config, channels=1)


@pytest.fixture(scope='module')
def tiny_step():
  return flops.step_flops(_tiny_config())


def test_graph_forward_equals_layer_count(tiny_step):
  _, _, (generator, critic) = flops.step_parts(_tiny_config())
  assert tiny_step.generator_forward == 4 * sum(flops.layer_flops(generator).values())
  assert tiny_step.critic_forward == 4 * sum(flops.layer_flops(critic).values())


def test_part_factors(tiny_step):
  # Critic losses: D forward on 2B plus its backward (weights, and inputs below the first layer): 4-6 forwards.
  assert 4 * tiny_step.critic_forward < tiny_step.critic_losses <= 6 * tiny_step.critic_forward
  # The penalty: D forward, grad_x D, and the backward of both to D's weights: more than a plain fwd+bwd of B.
  assert tiny_step.gradient_penalty > 3 * tiny_step.critic_forward
  assert tiny_step.per_generator_step == (5 * tiny_step.critic_update + 5 * tiny_step.gradient_penalty
                                         + tiny_step.generator_update)
  assert sum(tiny_step.shares().values()) == pytest.approx(1.0)


def test_no_penalty_counts_zero():
  step = flops.step_flops(_tiny_config(gp_weight=0.0))
  assert step.gradient_penalty == 0 and step.penalised_updates == 0


def test_lazy_penalty_counts_the_penalised_updates():
  # n_critic 5, gp_every 2, the global rule: critic updates j % 2 == 0 of the run, 2.5 per generator step on average;
  # 3 in the step of updates 0..4 (0, 2, 4), 2 in the next (6, 8). The rule of runs recorded before it: updates
  # i = 0, 2, 4 of every step.
  config = _tiny_config(gp_every=2)
  step = flops.step_flops(config)
  assert step.penalised_updates == 2.5
  assert flops.penalised_updates(config, 5, 0) == 3 and flops.penalised_updates(config, 5, 5) == 2
  old = dataclasses.replace(config, lazy_rule='per_generator_step')
  assert flops.penalised_updates(old, 5) == flops.penalised_updates(old, 5, 5) == 3
  assert step.per_generator_step == 5 * step.critic_update + 2.5 * step.gradient_penalty + step.generator_update


def test_r1_is_counted_as_the_penalty():
  # R1 on real images: D forward, grad_x D and its backward, like the gradient penalty; every 16th update.
  step = flops.step_flops(_tiny_config(loss='ns_r1'))
  assert step.gradient_penalty > 3 * step.critic_forward and step.penalised_updates == 1 / 16


@pytest.mark.parametrize('overrides', [{}, {'fuse_critic': False}, {'n_critic': 3, 'gp_every': 2},
                                       {'loss': 'ns_r1', 'n_critic': 2, 'critic_norm': 'spectral'}],
                         ids=['default', 'two_critic_calls', 'lazy_penalty', 'lazy_r1_spectral'])
def test_parts_add_up_to_the_training_step(overrides):
  """The parts, built here, against the graph of training/steps.py's train_step for the same config. A lazy
  penalty is a tf.cond per critic update: counted as computed on every update ('then') and on none ('else')."""
  from training import steps
  config = _tiny_config(**overrides)
  parts = flops.step_flops(config)
  _, _, (generator, critic) = flops.step_parts(config)
  optimizers = [keras.optimizers.Adam(1e-4) for _ in range(2)]
  optimizers[0].build(generator.trainable_variables)
  optimizers[1].build(critic.trainable_variables)
  train_step, _ = steps.make_step_functions(config, tf.distribute.get_strategy(), generator, critic, *optimizers)
  b, size, latent = config.batch_size, config.image_size, config.latent_dim
  batch = {'real': tf.zeros([b, size, size, 1]), 'z': tf.zeros([b, latent]), 'z_gen': tf.zeros([b, latent]),
           'alpha': tf.zeros([b]), 'uniform': tf.zeros([b]), 'index': tf.zeros([b], tf.int64)}
  iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
  n = config.n_critic
  penalty = steps.penalty_of(config)
  if penalty is None or not penalty.skipped_sometimes:
    assert flops.graph_flops(train_step, iterator) == pytest.approx(parts.per_generator_step, rel=1e-3)
    return
  with pytest.raises(ValueError, match='If'):  # a tf.cond is refused unless a branch is named
    flops.graph_flops(train_step, iterator)
  assert flops.graph_flops(train_step, iterator, branch='then') == pytest.approx(parts.generator_step(n, n), rel=1e-3)
  assert flops.graph_flops(train_step, iterator, branch='else') == pytest.approx(parts.generator_step(n, 0), rel=1e-3)


def test_matmul_gflops_is_the_median_timed_call(monkeypatch):
  """2 size^3 FLOPs over the median of the timed calls, the warm-up calls untimed: with a fake clock whose timed
  calls take 0.5, 0.1 and 0.4 s the figure is that of 0.4 s (a mean would give 0.33 s, a minimum 0.1 s)."""
  durations = iter([0.5, 0.1, 0.4])
  clock = {'now': 0.0, 'reads': 0}

  def perf_counter():
    clock['reads'] += 1
    if clock['reads'] % 2 == 0:  # the read that ends a timed call: the call took the next duration
      clock['now'] += next(durations)
    return clock['now']

  monkeypatch.setattr(flops, 'time', types.SimpleNamespace(perf_counter=perf_counter))
  gflops = flops.matmul_gflops(size=64, warmup=2, repeats=3)
  assert clock['reads'] == 6  # two reads per timed call, none for the warm-up calls
  assert gflops == pytest.approx(2 * 64 ** 3 / 0.4 / 1e9)
