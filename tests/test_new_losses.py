"""The hinge and ns_r1 families (issue 29): spectral normalisation of the critic (training/spectral_norm.py), the R1
penalty on real images and the global lazy-penalty rule (training/steps.py), and both families end to end: train,
resume bit-identically, 2 mirrored replicas against one device (XLA and mixed precision too), export with parity.
The loss values themselves are pinned in tests/test_losses.py."""

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT, tiny_config
from training import data_kinds, spectral_norm, steps
from training.architectures import ARCHITECTURES
from training.config import ConfigError, TrainConfig


def quiet(*_):
  pass


IMAGE_ARCHS = [name for name, arch in ARCHITECTURES.items() if arch.kind == 'image']


def _critic(tmp_path, **overrides):
  """A tiny image critic as the trainer builds it (data_kinds), 16x16x1, from seed 0 (its power iteration's pace
  depends on the weights: not on which tests ran before it in this process)."""
  keras.utils.set_random_seed(0)
  config = tiny_config(tmp_path, channels=1, data_classes=tuple('0123456789'), **overrides)
  return data_kinds.kind_of(config.dataset).build_critic(ARCHITECTURES[config.arch], config, 'float32'), config


def _normalised_layers(critic):
  return [layer for layer in critic.layers if isinstance(layer, (spectral_norm.SpectralConv2D,
                                                                 spectral_norm.SpectralDense))]


# --- Spectral normalisation ------------------------------------------------------------------------------------

@pytest.mark.parametrize('arch, conditioning', [(name, 'none') for name in IMAGE_ARCHS] + [('dcgan', 'projection'),
                                                                                            ('resnet', 'acgan')])
def test_every_kernel_of_every_image_critic_has_spectral_norm_one(tmp_path, arch, conditioning):
  """After a few training-mode calls (one power iteration each) every Conv2D and Dense kernel, the conditioning
  head's included, viewed as (k·k·C_in, C_out) and divided by the layer's σ, has its largest singular value
  (numpy's SVD) within 5% of 1; no other layer of the critic has weights."""
  critic, config = _critic(tmp_path, loss='hinge', arch=arch, conditioning=conditioning)
  assert config.critic_norm == 'spectral'  # the hinge family's default
  normalised = _normalised_layers(critic)
  assert normalised and all(not layer.weights for layer in critic.layers if layer not in normalised)
  if conditioning == 'projection':
    assert 'class_embedding' in {layer.name for layer in normalised}  # Miyato & Koyama 2018 normalise it too
  images = tf.random.normal([4, 16, 16, 1])
  inputs = [images, tf.one_hot([1, 2, 3, 4], 10)] if conditioning == 'projection' else images
  for _ in range(20):
    critic(inputs, training=True)
  for layer in normalised:
    matrix = layer.kernel.numpy().reshape(-1, layer.kernel.shape[-1])  # (k·k·C_in, C_out)
    # σ by hand: one power iteration from the layer's u, as Miyato et al.'s Algorithm 1 writes it.
    u = layer.sn_u.numpy()
    v = matrix @ u / np.linalg.norm(matrix @ u)
    u_next = matrix.T @ v / np.linalg.norm(matrix.T @ v)
    sigma = v @ matrix @ u_next
    top = np.linalg.svd(matrix / sigma, compute_uv=False)[0]
    assert abs(top - 1) < 0.05, (layer.name, top)
    used, _ = spectral_norm.normalised_kernel(tf.constant(layer.kernel.numpy()), tf.constant(u))
    np.testing.assert_allclose(used.numpy(), layer.kernel.numpy() / sigma, rtol=1e-4, atol=1e-7)


def test_gradient_flows_through_sigma_not_through_u():
  """Miyato et al. 2018, Eq. 12: with σ = vᵀ W u' (v, u' constants), ∂f(W/σ)/∂W = G/σ − (⟨G, W⟩/σ²) v u'ᵀ for
  G = ∂f/∂W_SN. Keras' SpectralNormalization trains W_SN itself and gets G alone."""
  layer = spectral_norm.SpectralDense(3, use_bias=False)
  x = tf.random.normal([5, 4], seed=1)
  layer.build((None, 4))
  u = layer.sn_u.numpy()
  with tf.GradientTape() as tape:
    y = layer(x, training=False)
    f = tf.reduce_sum(tf.square(y))
  got = tape.gradient(f, layer.kernel).numpy()
  w = layer.kernel.numpy()
  v = w @ u / np.linalg.norm(w @ u)
  u_next = w.T @ v / np.linalg.norm(w.T @ v)
  sigma = v @ w @ u_next
  g = x.numpy().T @ (2 * y.numpy())  # ∂f/∂W_SN for f = Σ (x W_SN)²
  expected = g / sigma - (np.sum(g * w) / sigma ** 2) * np.outer(v, u_next)
  np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
  assert not np.allclose(got, g / sigma, rtol=1e-3)  # the term through σ is there


def test_u_advances_in_training_only_and_lives_in_the_checkpoint(tmp_path):
  critic, _ = _critic(tmp_path / 'a', loss='hinge')
  first = _normalised_layers(critic)[0]
  images = tf.random.normal([2, 16, 16, 1])
  before = first.sn_u.numpy()
  critic(images, training=False)
  np.testing.assert_array_equal(first.sn_u.numpy(), before)
  critic(images, training=True)
  assert not np.array_equal(first.sn_u.numpy(), before)
  path = tf.train.Checkpoint(critic=critic).save(str(tmp_path / 'ckpt'))
  saved = [name for name, _ in tf.train.list_variables(path) if 'sn_u' in name]
  assert len(saved) == len(_normalised_layers(critic))
  other, _ = _critic(tmp_path / 'b', loss='hinge', seed=1)
  tf.train.Checkpoint(critic=other).restore(path).assert_existing_objects_matched()
  np.testing.assert_array_equal(_normalised_layers(other)[0].sn_u.numpy(), first.sn_u.numpy())
  np.testing.assert_array_equal(other(images, training=False), critic(images, training=False))


@pytest.mark.parametrize('settings, message', [
    (dict(loss='wgan_gp', critic_norm='spectral'), 'choose one of layer, none'),  # the four families stay as they were
    (dict(loss='hinge', dataset='toy:8gaussians', arch='mlp', critic_norm='spectral'), 'choose one of none'),
    (dict(loss='hinge', r1_gamma=1.0), '--r1_gamma applies to --loss=ns_r1 only (got --loss=hinge)'),
    (dict(loss='dcgan', r1_every=4), '--r1_every applies to --loss=ns_r1 only'),
    (dict(loss='ns_r1', gp_weight=10.0), 'has its own penalty, R1 on real images'),
    (dict(loss='ns_r1', critic_norm='batch'), 'not allowed with --loss=ns_r1'),
    (dict(loss='ns_r1', r1_gamma=-1.0), '--r1_gamma must be >= 0'),
    (dict(loss='ns_r1', r1_every=0), '--r1_every must be >= 1'),
])
def test_settings_refused(settings, message):
  from training.config import resolve
  with pytest.raises(ConfigError, match=re.escape(message)):
    resolve(TrainConfig(**settings))


# --- R1 and the lazy penalty in a critic update ----------------------------------------------------------------

def _steps(config):
  """(train_step, extra_critic_step, batches) for `config`, with weights that never move (learning rate 0) and
  seeded alike for every config. batches(indices) iterates attach_randomness's batches of those indices on one
  fixed real batch; with fixed=True, batch 0's numbers (z, α, ...) under each index, so only the index changes."""
  config = dataclasses.replace(config, channels=1)
  keras.utils.set_random_seed(0)
  arch = ARCHITECTURES[config.arch]
  kind = data_kinds.kind_of(config.dataset)
  generator, critic = kind.build_generator(arch, config, 'float32'), kind.build_critic(arch, config, 'float32')
  optimizers = [keras.optimizers.SGD(0.0) for _ in range(2)]
  train_step, extra = steps.make_step_functions(config, tf.distribute.get_strategy(), generator, critic, *optimizers)
  real = tf.random.stateless_uniform([config.batch_size, 16, 16, 1], [0, 9], -1.0, 1.0)  # (B, H, W, C)
  attach = steps.attach_randomness(config)
  first = attach(tf.constant(0, tf.int64), real)

  def under_index(j):
    return dict(first, index=tf.fill([config.batch_size], j))

  def drawn(j):
    return attach(j, real)

  def batches(indices, fixed=False):
    return iter(tf.data.Dataset.from_tensor_slices(tf.constant(list(indices), tf.int64)).map(
        under_index if fixed else drawn))
  return train_step, extra, batches


def _run(step, iterator, calls):
  return [{k: float(v) for k, v in step(iterator).items()} for _ in range(calls)]


def test_r1_reads_the_real_batch_only(tmp_path):
  """The same real batch with other fakes (other z): R1's value and its gradient with respect to the critic's
  weights are unchanged; the gradient penalty, which interpolates towards the fakes, does change."""
  def penalty_and_grads(loss, z_seed):
    config = tiny_config(tmp_path, loss=loss, channels=1)
    keras.utils.set_random_seed(0)
    arch = ARCHITECTURES[config.arch]
    critic = arch.build_critic(16, 1, 4, config.critic_norm)
    real = tf.random.stateless_uniform([4, 16, 16, 1], [0, 1], -1.0, 1.0)
    fake = tf.random.stateless_uniform([4, 16, 16, 1], [z_seed, 2], -1.0, 1.0)
    penalty = steps.penalty_of(config)
    with tf.GradientTape() as tape:
      value = tf.reduce_mean(penalty.per_example(lambda x, training: critic(x, training=training), real, fake,
                                                 {'alpha': tf.fill([4], 0.5)}))
    grads = tape.gradient(value, critic.trainable_variables)  # None for the biases, which do not move ∇_x D
    return float(value), [0 if g is None else g.numpy() for g in grads]
  (a, grads_a), (b, grads_b) = penalty_and_grads('ns_r1', 1), penalty_and_grads('ns_r1', 2)
  assert a == b and a > 0
  for x, y in zip(grads_a, grads_b):
    np.testing.assert_array_equal(x, y)
  assert penalty_and_grads('wgan_gp', 1)[0] != penalty_and_grads('wgan_gp', 2)[0]


@pytest.mark.parametrize('settings, plain, every_step', [
    (dict(loss='ns_r1', r1_every=3), dict(r1_gamma=0.0), dict(r1_every=1, r1_gamma=0.3)),
    (dict(loss='wgan_gp', n_critic=1, gp_every=3), dict(gp_weight=0.0, gp_every=1), dict(gp_every=1, gp_weight=30.0)),
], ids=['r1', 'gradient_penalty'])
def test_global_lazy_rule_at_one_critic_update_penalises_every_kth(tmp_path, settings, plain, every_step):
  """n_critic = 1, k = 3, generator steps on batches j = 0..6: the critic loss carries k·weight·penalty exactly at
  j = 0, 3, 6 (the old rule penalised every update at n_critic = 1, or none), and the logged penalty is the last
  one computed. Against the same steps without the penalty, and with 3x the penalty on every update, from the same
  weights on the same batches: the critic's gradient through the tf.cond is the one or the other."""
  config = tiny_config(tmp_path, batch_size=4, **settings)
  penalty = steps.penalty_of(config)
  assert config.lazy_rule == 'global' and penalty.every == 3
  train_step, _, batches = _steps(config)
  penalised = _run(train_step, batches(range(7)), 7)
  train_step, _, batches = _steps(dataclasses.replace(config, **plain))
  unpenalised = _run(train_step, batches(range(7)), 7)
  train_step, _, batches = _steps(dataclasses.replace(config, **every_step))
  tripled = _run(train_step, batches(range(7)), 7)
  for j, (a, b, c) in enumerate(zip(penalised, unpenalised, tripled)):
    added = a['d_loss'] - b['d_loss']
    if j % 3 == 0:
      assert a[penalty.metric] > 0 and added == pytest.approx(3 * penalty.weight * a[penalty.metric], rel=1e-4)
      assert a['d_grad_norm'] == pytest.approx(c['d_grad_norm'], rel=1e-5) != b['d_grad_norm']
    else:
      assert added == pytest.approx(0.0, abs=1e-6), j
      assert a[penalty.metric] == penalised[j - j % 3][penalty.metric]  # the last one computed
      assert a['d_grad_norm'] == pytest.approx(b['d_grad_norm'], rel=1e-6)


@pytest.mark.parametrize('settings, lazy', [
    (dict(loss='ns_r1'), dict(r1_every=4)),
    (dict(loss='wgan_gp', n_critic=1), dict(gp_every=4)),
], ids=['r1', 'gradient_penalty'])
def test_lazy_and_every_step_penalties_have_the_same_average_strength(tmp_path, settings, lazy):
  """Four critic updates on one fixed batch (index 0..3, nothing else changes, the weights held still): the critic
  losses of the lazy form (k = 4: 4x the penalty once) sum to those of the penalty on every update."""
  totals = []
  for every in (dict.fromkeys(lazy, 1), lazy):
    _, extra, batches = _steps(tiny_config(tmp_path, batch_size=4, **settings, **every))
    totals.append(sum(m['d_loss'] for m in _run(extra, batches(range(4), fixed=True), 4)))
  assert totals[1] == pytest.approx(totals[0], rel=1e-5)


def test_a_config_json_without_the_rule_resumes_with_the_old_one(tmp_path):
  """Runs recorded before the global rule have no lazy_rule in config.json: they resume penalising updates
  i % k == 0 of each generator step, weighted n_critic / (their count). n_critic = 3, k = 2: the old rule
  penalises the last update of every step (i = 2, weight 1.5λ); the global one updates j = 2 (2λ) of step 0 and
  none of step 1 (j = 3, 4, 5)."""
  config = tiny_config(tmp_path, loss='wgan_gp', n_critic=3, gp_every=2, batch_size=4)
  recorded = json.loads(config.to_json())
  assert recorded['lazy_rule'] == 'global'
  del recorded['lazy_rule']
  old = TrainConfig.from_json(json.dumps(recorded))
  assert old.lazy_rule == 'per_generator_step' and dataclasses.replace(old, lazy_rule='global') == config
  train_step, _, batches = _steps(dataclasses.replace(config, gp_weight=0.0, gp_every=1))  # either rule: no penalty
  without = _run(train_step, batches(range(6)), 2)  # two generator steps: j = 0..2, 3..5
  added = {}
  for name, rule in (('old', old), ('new', config)):
    train_step, _, batches = _steps(rule)
    added[name] = [a['d_loss'] - b['d_loss'] for a, b in zip(_run(train_step, batches(range(6)), 2), without)]
  assert all(a > 0 for a in added['old'])
  assert added['new'][0] > 0 and added['new'][1] == pytest.approx(0.0, abs=1e-6)


# --- End to end --------------------------------------------------------------------------------------------------

# Each family with the conditioning and augmentation it must work with; ns_r1's R1 every 2nd update, so that the
# resumed stretch starts on an update that skips it (its logged value comes from the checkpointed memory).
RUNS = {
    'hinge': dict(loss='hinge', conditioning='projection', augment='translation,cutout'),
    'ns_r1': dict(loss='ns_r1', conditioning='projection', augment='color,translation,cutout', r1_every=2),
}


def _checkpoint_values(prefix):
  reader = tf.train.load_checkpoint(prefix)
  return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
          if not n.startswith(('_CHECKPOINTABLE_OBJECT_GRAPH', 'save_counter'))}


@pytest.fixture(scope='module')
def resumed_runs(tmp_path_factory):
  """Per family: 3 steps straight, and 2 steps + a resume to 3, under --deterministic; the straight run exported."""
  from export.model_folder import export_model
  from training import trainer
  root = tmp_path_factory.mktemp('new-losses')
  out = {}
  for name, settings in RUNS.items():
    # Checkpoints and grids at the end of each call only; no EMA generator (EMA and resume: tests/test_resume.py).
    common = dict(settings, deterministic=True, ckpt_every=100, sample_every=100, batch_size=8, ema_decay=0.0)
    straight, split = root / f'{name}-straight', root / f'{name}-split'
    trainer.train(tiny_config(straight, steps=3, **common), log=quiet)
    trainer.train(tiny_config(split, steps=2, **common), log=quiet)
    trainer.train(tiny_config(split, steps=3, **common), resume=True, log=quiet)
    folder = export_model(str(straight), models_dir=str(root / 'models'), name=name, log=quiet)
    out[name] = (straight, split, folder)
  return out


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(RUNS))
def test_stop_and_resume_is_bit_identical(resumed_runs, name):
  straight, split, _ = resumed_runs[name]
  a = _checkpoint_values(str(straight / 'checkpoints' / 'ckpt-3'))
  b = _checkpoint_values(str(split / 'checkpoints' / 'ckpt-3'))
  assert a.keys() == b.keys() and len(a) > 20
  assert not [n for n in a if not np.array_equal(a[n], b[n])]
  if name == 'hinge':  # the power-iteration vectors of down0, down1, logits and the projection's class_embedding
    assert len([n for n in a if 'sn_u' in n]) == 4
  else:
    assert [n for n in a if 'penalty_memory' in n]
  rows = lambda run: list(csv.DictReader(open(run / 'metrics.csv')))  # noqa: E731
  timeless = lambda r: {k: v for k, v in r.items() if k != 'images_per_sec'}  # noqa: E731
  assert [timeless(r) for r in rows(straight)] == [timeless(r) for r in rows(split)]
  if name == 'ns_r1':
    r1 = [float(r['r1_penalty']) for r in rows(straight)]
    assert r1[0] > 0 and r1[1] == r1[0] and r1[2] > 0 and r1[2] != r1[0]  # j = 0 and 2 computed; 1 reports j = 0


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(RUNS))
def test_exports_with_parity_and_cuda_clean(resumed_runs, name):
  import onnx
  from export import cuda_clean
  _, _, folder = resumed_runs[name]
  with open(os.path.join(folder, 'metadata.json')) as f:
    metadata = json.load(f)
  assert metadata['loss'] == name and metadata['parity_max_abs_diff'] <= 1e-4
  assert cuda_clean.cuda_fallback_nodes(onnx.load(os.path.join(folder, 'model.onnx'))) == []


_MIRRORED = r'''
import csv, json, os, sys
from training import strategies
strategies.split_cpu(2)  # before any op
from tests.conftest import tiny_config
from training import trainer
out = {}
# Both families on the same spectrally normalised critic (one shape of model per process: TensorFlow's collective
# keys); ns_r1 with R1 every 2nd update: the power iteration inside the penalty's tf.cond branch on 2 replicas, and
# the XLA and mixed-precision runs.
RUNS = (('hinge', 'one_device', False, False), ('hinge', 'mirrored', False, False),
        ('ns_r1', 'one_device', False, False), ('ns_r1', 'mirrored', False, False), ('ns_r1', 'jit', True, False),
        ('ns_r1', 'mixed', False, True))
for loss, name, jit, mixed in RUNS:
  run_dir = os.path.join(sys.argv[1], f'{loss}-{name}')
  extra = dict(critic_norm='spectral', r1_every=2) if loss == 'ns_r1' else {}
  trainer.train(tiny_config(run_dir, loss=loss, strategy='mirrored' if name == 'mirrored' else 'one_device',
                            jit=jit, jit_on_cpu=jit, mixed_precision=mixed, steps=3, batch_size=8, ema_decay=0.0,
                            ckpt_every=100, sample_every=100, **extra), log=lambda *_: None)
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    out[f'{loss}-{name}'] = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
print('RESULT ' + json.dumps(out))
'''


@pytest.mark.slow
def test_two_mirrored_replicas_and_xla_match_one_device(tmp_path):
  env = {**os.environ, 'PYTHONPATH': str(REPO_ROOT), 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}
  proc = subprocess.run([sys.executable, '-c', _MIRRORED, str(tmp_path)], cwd=REPO_ROOT, env=env,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout.split('RESULT ', 1)[1])
  for loss, keys, others in (('hinge', (), ('mirrored',)), ('ns_r1', ('r1_penalty',), ('mirrored', 'jit'))):
    one = result[f'{loss}-one_device']
    for other in others:
      assert len(result[f'{loss}-{other}']) == len(one) == 3
      for a, b in zip(one, result[f'{loss}-{other}']):
        for key in ('d_loss', 'g_loss', 'd_real', 'd_fake') + keys:
          np.testing.assert_allclose(a[key], b[key], rtol=2e-3, atol=2e-4, err_msg=f'{loss} {other} {key}')
  # Mixed precision (bfloat16 on the CPU; σ and the penalty stay float32) trains, its losses finite.
  assert len(result['ns_r1-mixed']) == 3
  assert all(np.isfinite(r['d_loss']) and np.isfinite(r['g_loss']) for r in result['ns_r1-mixed'])


@pytest.mark.slow
def test_an_old_run_resumes_with_the_old_rule(tmp_path):
  """A run whose config.json predates lazy_rule (the key removed) resumes, keeps the old rule in its config.json,
  and its checkpoint holds no penalty memory (the old rule computes the penalty on every step)."""
  from training import trainer
  config = tiny_config(tmp_path / 'run', loss='wgan_gp', n_critic=3, gp_every=2, steps=1, batch_size=4,
                       ckpt_every=100, sample_every=100, ema_decay=0.0)
  trainer.train(config, log=quiet)
  path = tmp_path / 'run' / 'config.json'
  recorded = json.loads(path.read_text())
  del recorded['lazy_rule']
  path.write_text(json.dumps(recorded))
  resumed = dataclasses.replace(TrainConfig.from_json(path.read_text()), run_dir=str(tmp_path / 'run'), steps=2)
  trainer.train(resumed, resume=True, log=quiet)
  assert json.loads(path.read_text())['lazy_rule'] == 'per_generator_step'
  names = [n for n, _ in tf.train.list_variables(str(tmp_path / 'run' / 'checkpoints' / 'ckpt-2'))]
  assert not [n for n in names if 'penalty_memory' in n]
