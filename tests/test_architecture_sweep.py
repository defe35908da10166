"""The random-architecture study (benchmarks/architecture_sweep.py, --arch=dcgan_family): seeded draws over the
paper's Table 1, the Table 2 count, the family's layers, and a seeded subset covering the extremes (depth 20,
width 128, every nonlinearity) that builds, trains one step with both losses and exports CUDA-clean with parity."""

import dataclasses
import json
import os

import numpy as np
import pytest

from benchmarks import architecture_sweep as sweep
from training import architectures
from training.architectures import ARCHITECTURES
from training.config import ConfigError, TrainConfig, resolve

FAMILY = ARCHITECTURES['dcgan_family']
PAPER_WIDTHS = (32, 64, 128)


def test_draws_are_a_function_of_seed_and_index_and_cover_table_1():
  first = [sweep.draw_architecture(0, i, PAPER_WIDTHS) for i in range(200)]
  assert first[:20] == [sweep.draw_architecture(0, i, PAPER_WIDTHS) for i in range(20)]  # a sweep of 20 = its head
  assert [sweep.draw_architecture(1, i, PAPER_WIDTHS) for i in range(20)] != first[:20]
  for key, values in (('nonlinearity', sweep.NONLINEARITIES), ('depth', sweep.DEPTHS), ('width', PAPER_WIDTHS),
                      ('generator_norm', (False, True)), ('critic_normalised', (False, True))):
    assert {a[key] for a in first} == set(values), key
  # Drawn separately: all four combinations of the two normalisation flags occur.
  assert len({(a['generator_norm'], a['critic_normalised']) for a in first}) == 4


def test_table_2_counts_each_outcome_per_threshold():
  scores = {0: (9.0, 9.0), 1: (9.0, 3.0), 2: (3.0, 7.0), 3: (1.5, 1.0), 4: (5.0, None)}  # arch: (GAN, WGAN-GP)
  rows = [{'arch': a, 'loss': loss, 'classifier_score': s} for a, pair in scores.items()
          for loss, s in zip(sweep.LOSSES, pair) if s is not None]
  lines = sweep.table2(rows, [2, 4, 8]).splitlines()
  assert lines[2:5] == ['| 2 | 0 | 0 | 3 | 1 |',  # arch 3 fails both; 4 lacks its WGAN-GP row
                        '| 4 | 1 | 1 | 1 | 1 |',
                        '| 8 | 1 | 0 | 1 | 2 |']
  assert lines[-1] == '4 architectures, each trained with both losses.'


def test_depth_counts_the_convolutions_of_each_network():
  """depth 20 at 28x28: 2 strided + 18 stride-1 layers, 9 at 7x7 and 9 at 14x14, in generator and critic."""
  generator = FAMILY.build_generator(8, 28, 1, 4, nonlinearity='tanh', depth=20, generator_norm='none')
  critic = FAMILY.build_critic(28, 1, 4, 'layer', nonlinearity='tanh', depth=20)
  for model in (generator, critic):
    convs = [layer for layer in model.layers if type(layer).__name__ in ('Conv2D', 'Conv2DTranspose')]
    assert len(convs) == 20, model.name
    sides = [layer.output.shape[1] for layer in convs if layer.strides == (1, 1)]
    assert sorted(sides) == [7] * 9 + [14] * 9, model.name
  assert not any('bn' in layer.name for layer in generator.layers)
  assert sum('_ln' in layer.name for layer in critic.layers) == 19  # all but the first layer
  assert generator.output_shape == (None, 28, 28, 1) and critic.output_shape == (None, 1)
  minimal = FAMILY.build_generator(8, 32, 1, 4)  # depth 0: the strided layers only, like dcgan
  assert sum(type(layer).__name__ == 'Conv2DTranspose' for layer in minimal.layers) == 3


def test_the_shifted_softplus_is_the_papers():
  x = np.linspace(-6, 6, 25).astype(np.float32)
  expected = np.log1p(np.exp(2 * x + 2)) / 2 - 1
  np.testing.assert_allclose(np.asarray(architectures.shifted_softplus(x)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('overrides, message', [
    (dict(depth=8), '--depth applies to --arch=dcgan_family only, not --arch=dcgan'),
    (dict(generator_norm='none'), '--generator_norm applies to --arch=dcgan_family only'),
    (dict(arch='dcgan_family', depth=2), '--depth=2 is below the 3 strided convolutions of a 32x32 dcgan_family'),
    (dict(arch='dcgan_family', nonlinearity='gelu'), '--nonlinearity must be one of relu, leakyrelu, softplus, tanh'),
])
def test_family_options_are_checked(overrides, message):
  with pytest.raises(ConfigError, match=message.replace('.', r'\.')):
    resolve(TrainConfig(**overrides))


def _extremes(count=60):
  """Draws of seed 0 at the paper's widths covering every nonlinearity, depth 20 and width 128: for each
  nonlinearity its first draw, replaced by one with depth 20 or width 128 where that nonlinearity has one."""
  draws = [sweep.draw_architecture(0, i, PAPER_WIDTHS) for i in range(count)]
  chosen = {}
  for a in draws:
    best = chosen.get(a['nonlinearity'])
    rank = lambda d: (d['depth'] == 20) + (d['width'] == 128)
    if best is None or rank(a) > rank(best):
      chosen[a['nonlinearity']] = a
  return list(chosen.values())


def test_the_subset_covers_the_extremes():
  subset = _extremes()
  assert {a['nonlinearity'] for a in subset} == set(sweep.NONLINEARITIES)
  assert any(a['depth'] == 20 for a in subset) and any(a['width'] == 128 for a in subset)


@pytest.mark.slow  # training and export per architecture, on MNIST
@pytest.mark.parametrize('architecture', _extremes(), ids=lambda a: f'arch{a["arch"]}-{a["nonlinearity"]}')
def test_extreme_architectures_train_one_step_with_both_losses_and_export(tmp_path, architecture, shared_data,
                                                                           tfds_data_dir, monkeypatch):
  """The sweep's own run configuration (28x28 MNIST), at batch 2 for one step per loss (one critic update); then
  the generator of the WGAN-GP run goes through the real export: CUDA-clean (no node would leave ORT's CUDA EP) and
  at parity. The saved generator's BatchNorm statistics are re-estimated on 32 latents instead of 1,024: at depth 20
  and width 128 the full estimate is a 2.4 TFLOP forward pass (tests/test_ema.py tests the estimate itself)."""
  import functools
  import keras
  from export.model_folder import export_model
  from training import ema, generator_io, trainer
  monkeypatch.setattr(ema, 'recalibrate_batch_norm', functools.partial(ema.recalibrate_batch_norm, batches=2,
                                                                       batch_size=16))
  settings = dict(dataset='mnist', steps=1, batch_size=2, seed=0, data_dir=tfds_data_dir,
                  manual_dir=str(shared_data / 'mnist'))
  for loss in sweep.LOSSES:
    # One critic update per step keeps the deepest graphs' tracing time down; the losses, optimizers, penalty
    # and normalisations are the sweep's own.
    config = dataclasses.replace(sweep.run_config(architecture, loss, settings, str(tmp_path / loss)), n_critic=1)
    assert (config.depth, config.width, config.nonlinearity) == (architecture['depth'], architecture['width'],
                                                                 architecture['nonlinearity'])
    assert config.critic_norm == ({'dcgan': 'batch', 'wgan_gp': 'layer'}[loss] if architecture['critic_normalised']
                                  else 'none')
    trainer.train(config, log=lambda *_: None)
    keras.backend.clear_session()
  _, metadata = generator_io.load(str(tmp_path / 'wgan_gp'))
  assert metadata['arch_options'] == {'nonlinearity': architecture['nonlinearity'], 'depth': architecture['depth'],
                                      'generator_norm': 'batch' if architecture['generator_norm'] else 'none',
                                      'generator_filters': 'halving'}
  folder = export_model(str(tmp_path / 'wgan_gp'), models_dir=str(tmp_path / 'models'), log=lambda _: None)
  with open(os.path.join(folder, 'metadata.json')) as f:
    exported = json.load(f)
  assert exported['cuda_fallback_nodes'] == 0 and exported['parity_max_abs_diff'] <= 1e-4
