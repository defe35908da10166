"""The 2-D toy data kind end to end: its pipeline, config rules, a few training steps per loss with the MLP, the
paper's scatter-over-contours picture, the toy evaluator, and rebuilding the generator from its run directory."""

import json
import os

import numpy as np
import pytest

from data import toy_data
from training import data_kinds, generator_io, trainer
from training.config import ConfigError, TrainConfig, resolve

TOY = dict(dataset='toy:8gaussians', arch='mlp', latent_dim=2, width=16, batch_size=32, steps=2, sample_every=2,
           ckpt_every=2, log_every=1, num_samples=32)


def test_points_pipeline_is_a_function_of_seed_and_batch_index():
  config = resolve(TrainConfig(**TOY))
  spec, info = data_kinds.POINTS.open(config)
  take = lambda start, n: np.stack([b.numpy() for _, b in zip(range(n), data_kinds.POINTS.pipeline(  # noqa: E731
      spec, info, config, start))])
  whole = take(0, 6)
  assert whole.shape == (6, 32, 2) and whole.dtype == np.float32
  np.testing.assert_array_equal(whole[3:], take(3, 3))  # a resumed run continues the same sequence
  assert not np.array_equal(whole[0], whole[1])


@pytest.mark.parametrize('settings, message', [
    (dict(TOY, arch='dcgan'), '--arch=dcgan trains image data, --dataset=toy:8gaussians is points data; choose --arch=mlp'),
    (dict(arch='mlp'), '--arch=mlp trains points data, --dataset=digits is image data; choose --arch=dcgan'),
    (dict(TOY, critic_norm='layer'), '--critic_norm=layer is not allowed with --loss=wgan_gp and --arch=mlp; choose one of none'),
])
def test_data_kind_and_architecture_must_agree(settings, message):
  with pytest.raises(ConfigError, match=message.replace('(', r'\(').replace(')', r'\)')):
    resolve(TrainConfig(**settings))


def test_unknown_toy_dataset_suggests_the_closest():
  from data.datasets import DatasetError
  with pytest.raises(DatasetError, match=r"unknown toy dataset '25gaussian' \(did you mean 25gaussians\?\)"):
    toy_data.spec_of('toy:25gaussian')


@pytest.mark.slow
@pytest.mark.parametrize('loss', ['wgan_gp', 'wgan', 'lsgan', 'dcgan'])
def test_every_loss_trains_the_mlp_on_toy_points(tmp_path, loss):
  from evaluation.toy_plugin import ToyEvaluator
  config = resolve(TrainConfig(**TOY, loss=loss, run_dir=str(tmp_path / 'run'), eval_every=2, eval_samples=200))
  assert config.critic_norm == 'none'  # the MLP's own default, whatever the family's
  run_dir = trainer.train(config, log=lambda line: None, evaluator=ToyEvaluator(config.dataset, 200))
  assert os.path.isfile(os.path.join(run_dir, 'samples', 'step_0000002.png'))  # the scatter over contours
  rows = open(os.path.join(run_dir, 'eval.csv')).read().splitlines()
  assert rows[0] == 'step,emd,hq,modes,num_modes' and rows[1].startswith('2,')
  generator, metadata = generator_io.load(run_dir)
  assert metadata['kind'] == 'points' and metadata['dims'] == 2 and 'image_height' not in metadata
  assert generator(np.zeros((5, 2), np.float32)).shape == (5, 2)


def test_toy_evaluator_floor_is_real_against_real():
  from evaluation.toy_plugin import ToyEvaluator
  from data.toy_data import TOY_DATASETS
  evaluator = ToyEvaluator('toy:25gaussians', 500)

  class Perfect:  # a "generator" that returns true samples: it must score like the floor
    def __call__(self, z, training=False):
      return TOY_DATASETS['25gaussians'].sample(np.random.default_rng(7), len(z))

  scores = evaluator(Perfect(), 1, {'latent_dim': 2})
  assert scores['modes'] == 25 and evaluator.floor['modes'] == 25
  assert scores['emd'] < 2 * evaluator.floor['emd']
  collapsed = evaluator(lambda z, training=False: np.zeros((len(z), 2), np.float32) + [0.7072, 0.7072], 2,
                        {'latent_dim': 2})
  assert collapsed['modes'] == 1 and collapsed['emd'] > 5 * evaluator.floor['emd']


def _run(module, *args):
  from tests import warm
  return warm.run(module, *args, timeout=600)


@pytest.mark.slow
def test_toy_compare_trains_each_loss_and_writes_figure_and_table(tmp_path):
  proc = _run('benchmarks.toy_compare', '--steps=3', '--num_points=50', '--losses=wgan_gp,dcgan',
              f'--out={tmp_path / "tc"}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert '| wgan_gp | 5 | 3 |' in proc.stdout and '| dcgan | 1 | 3 |' in proc.stdout
  assert '| real vs real (the floor) |' in proc.stdout
  assert os.path.getsize(tmp_path / 'tc' / 'toy_compare.png') > 10_000
  rows = json.loads((tmp_path / 'tc' / 'toy_compare.json').read_text())
  assert [r['loss'] for r in rows] == ['wgan_gp', 'dcgan'] and rows[0]['num_modes'] == 25


@pytest.mark.slow
def test_gradient_norms_figure_vanishing_with_small_clipping(tmp_path):
  """Figure 1b in miniature: with c = 0.001 the gradient at the first layer of a 12-layer critic is orders of
  magnitude below the last layer's; with the penalty it is not."""
  out = tmp_path / 'gn.png'
  proc = _run('benchmarks.gradient_norms', '--steps=2', '--width=64', '--clip_values=0.001', f'--out={out}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  norms = json.loads(out.with_suffix('.json').read_text())['norms']
  clipped, penalty = norms['weight clipping c=0.001'], norms['gradient penalty']
  assert len(clipped) == 12 and clipped[0] < 1e-6 * clipped[-1]
  assert 0.01 < penalty[0] / penalty[-1] < 100
