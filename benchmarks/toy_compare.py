r"""The four losses on a 2-D toy distribution, side by side in one run (the WGAN-GP paper's Figures 1a and 2).

  python -m benchmarks.toy_compare --dataset=toy:25gaussians              # 2,000 generator steps per loss
  python -m benchmarks.toy_compare --dataset=toy:swissroll --steps=500 --losses=wgan_gp,wgan

Every loss trains what toy data brings (training/data_kinds.py POINTS, through training/launch.py as
`python -m training.main --dataset=toy:NAME` does: the MLP of 3 x 512 ReLU, 2-D noise, batch 256, no EMA) for the
same number of generator steps, each with its family's own optimizer, n_critic and critic rules (WGAN: RMSProp
5e-5, clipping 0.01, 5 critic steps; DCGAN/LSGAN: Adam 2e-4/0.5/0.999, 1 critic step), except that WGAN-GP uses
the original gan_toy.py's λ = 0.1 and Adam β1 = 0.5, as the toy kind brings them. Then N points of each
generator (latents rows 0..N-1 of evaluation's LATENT_SEED) are scored exactly (evaluation/toy_metrics.py): modes
covered, the high-quality fraction, the Earth-Mover distance to N real points, each beside two independent real
sets of N.

Writes into --out: toy_compare.png (one scatter of real and generated points over the critic's contours per loss)
and toy_compare.json; prints a markdown table with each loss's training seconds (wall time in this process,
graph tracing included: the same for every row).
"""

import dataclasses
import datetime
import json
import os
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from common import cli

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_string('dataset', 'toy:25gaussians', 'toy:8gaussians, toy:25gaussians or toy:swissroll.')
  flags.DEFINE_list('losses', ['wgan_gp', 'wgan', 'lsgan', 'dcgan'], 'Losses, each trained for --steps.')
  flags.DEFINE_integer('steps', 2000, 'Generator steps per loss (the original ran 100,000).', lower_bound=1,
                       upper_bound=200_000)
  flags.DEFINE_integer('num_points', 1000, 'Generated and real points per score (the exact EMD is O(n³)).',
                       lower_bound=10, upper_bound=5000)
  flags.DEFINE_integer('seed', 0, 'Training seed of every loss.', lower_bound=0)
  flags.DEFINE_string('out', None, 'Output folder (default: runs/toy_compare-<time>).')


class BenchmarkError(Exception):
  pass


def run_settings(dataset: str, loss: str, steps: int, seed: int, run_dir: str) -> dict:
  """The training settings of one loss, for training/launch.py: the run's length and cadence only; the model,
  batch and gan_toy.py's WGAN-GP settings are what the toy kind brings."""
  return dict(dataset=dataset, loss=loss, steps=steps, seed=seed, run_dir=run_dir, sample_every=max(steps // 4, 1),
              ckpt_every=steps, log_every=100)


def train_and_score(loss: str, out: str, log=print) -> dict:
  """Trains one loss and scores its generator; returns the row (scores, seconds, paths)."""
  import numpy as np
  import tensorflow as tf
  from common.latents import latents
  from evaluation import toy_metrics
  from common.artifacts import SAMPLE_SEED as LATENT_SEED
  from data import toy_data
  from training import data_kinds, generator_io, launch
  from training.architectures import ARCHITECTURES
  settings = run_settings(FLAGS.dataset, loss, FLAGS.steps, FLAGS.seed, os.path.join(out, loss))
  config = launch.prepare_config(settings, log=lambda line: None)
  started = time.monotonic()
  launch.launch(settings, log=lambda line: None)
  seconds = time.monotonic() - started
  generator, _ = generator_io.load(config.run_dir)
  kind = data_kinds.POINTS
  critic = kind.build_critic(ARCHITECTURES[config.arch], dataclasses.replace(config, channels=2), 'float32')
  latest = tf.train.latest_checkpoint(os.path.join(config.run_dir, 'checkpoints'))
  tf.train.Checkpoint(critic=critic).restore(latest).expect_partial()
  points = np.asarray(generator(latents(LATENT_SEED, FLAGS.num_points, config.latent_dim), training=False))
  spec = toy_data.spec_of(FLAGS.dataset)
  scores = toy_metrics.toy_scores(points, spec, np.random.default_rng(LATENT_SEED))
  log(f'{loss}: {FLAGS.steps} steps in {seconds:.0f} s; ' + ', '.join(
      f'{k} {v:.4g}' for k, v in scores.items() if k != 'n'))
  return {'loss': loss, 'steps': FLAGS.steps, 'seconds': seconds, 'n_critic': config.n_critic,
          'gp_weight': config.gp_weight, 'clip_value': config.clip_value, **scores, 'points': points,
          'critic': critic, 'real': spec.sample(np.random.default_rng(LATENT_SEED + 1), FLAGS.num_points)}


def table(rows) -> str:
  modes = 'num_modes' in rows[0]
  head = '| loss | n_critic | steps | seconds | ' + ('modes | high quality | ' if modes else '') + 'EMD |'
  lines = [head, '|' + '---|' * (head.count('|') - 1)]
  for r in rows:
    cells = [r['loss'], r['n_critic'], r['steps'], f'{r["seconds"]:.0f}']
    if modes:
      cells += [f'{r["modes"]}/{r["num_modes"]}', f'{100 * r["hq"]:.1f}%']
    lines.append('| ' + ' | '.join(map(str, cells + [f'{r["emd"]:.3f}'])) + ' |')
  real = rows[0]
  cells = ['real vs real (the floor)', '', '', '']
  if modes:
    cells += [f'{real["modes_real"]}/{real["num_modes"]}', f'{100 * real["hq_real"]:.1f}%']
  lines.append('| ' + ' | '.join(cells + [f'{real["emd_real"]:.3f}']) + ' |')
  return '\n'.join(lines)


def figure(rows, path: str) -> str:
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  from data import toy_plots
  fig, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3.4), dpi=100, squeeze=False)
  for ax, r in zip(axes[0], rows):
    toy_plots.draw(ax, r['real'], r['points'], r['critic'], title=f'{r["loss"]}: EMD {r["emd"]:.3f}' + (
        f', {r["modes"]}/{r["num_modes"]} modes' if 'modes' in r else ''))
  fig.suptitle(f'{FLAGS.dataset}, {FLAGS.steps} generator steps each (orange real, green generated, critic '
               f'contours)', fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path


def main(argv):
  del argv
  from absl import logging
  logging.set_verbosity(logging.WARNING)  # TF's checkpoint INFO lines
  from common import kinds
  from data import toy_data
  from data.datasets import DatasetError
  from training.losses import LOSSES
  try:
    toy_data.spec_of(FLAGS.dataset if FLAGS.dataset.startswith(kinds.TOY_PREFIX) else 'toy:?')
  except DatasetError as e:
    raise cli.UsageError(f'--dataset: {e}') from None
  unknown = [loss for loss in FLAGS.losses if loss not in LOSSES]
  if unknown or not FLAGS.losses:
    raise cli.UsageError(f'--losses takes some of {", ".join(LOSSES)}, got {",".join(FLAGS.losses) or "nothing"}')
  out = FLAGS.out or os.path.join('runs', f'toy_compare-{datetime.datetime.now():%Y%m%d-%H%M%S}')
  if os.path.exists(out) and os.listdir(out):
    raise BenchmarkError(f'--out {out!r} already holds files; choose another (nothing was changed)')
  os.makedirs(out, exist_ok=True)
  print(f'{len(FLAGS.losses)} losses x {FLAGS.steps} steps on {FLAGS.dataset}; runs in {out}', flush=True)
  rows = [train_and_score(loss, out, log=lambda line: print(line, flush=True)) for loss in FLAGS.losses]
  print(f'figure: {figure(rows, os.path.join(out, "toy_compare.png"))}')
  with open(os.path.join(out, 'toy_compare.json'), 'w') as f:
    json.dump([{k: v for k, v in r.items() if k not in ('points', 'critic', 'real')} for r in rows], f, indent=2)
  print(table(rows))
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors={BenchmarkError: 1})
