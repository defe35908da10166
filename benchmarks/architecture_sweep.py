r"""The WGAN-GP paper's random-architecture study (Gulrajani et al. 2017, Sec. 5.1, Tables 1-2), scaled to a CPU.

  python -m benchmarks.architecture_sweep                                  # 20 architectures x 2 losses on MNIST
  python -m benchmarks.architecture_sweep --num_archs=8 --steps=300 --out=runs/sweep   # a shorter one; rerun to resume

Architecture i is drawn from a generator seeded with (--seed, i), so a sweep of N is the first N of a longer one:
one nonlinearity, depth and base width shared by generator and critic, and the two normalisation flags drawn
separately (Table 1): nonlinearity {relu, leakyrelu, softplus(2x+2)/2-1, tanh}, depth {4, 8, 12, 20} convolution
layers per network (--arch=dcgan_family: the two strided ones of 28x28 plus stride-1 3x3 layers), generator
BatchNorm {yes, no}, critic normalisation {BatchNorm for the GAN / LayerNorm for WGAN-GP, none}, base width from
--widths (the paper's {32, 64, 128}, divided by 4 by default so that a sweep fits a CPU).

Each architecture trains with DCGAN (Adam 2e-4, .5, .999, one critic step) and with WGAN-GP (Adam 1e-4, 0, .9,
five critic steps, lambda 10) from the same seed for --steps generator steps, without EMA. Success is the
classifier score (the Inception Score's formula on the dataset's judge, evaluation/metrics.py) of --num_samples
samples above a threshold; the table counts, per threshold, the architectures where only the GAN, only WGAN-GP,
both or neither succeeded (the paper's Table 2). A run that stops with NaN/Inf losses scores 1 (no success).

Every (architecture, loss) row goes to <out>/sweep.csv as soon as it is scored; rerunning the same command skips
the rows already there (a run cut short is trained again from its start) and --num_archs may grow. The sweep's
settings are kept in <out>/sweep.json: resuming with other settings is refused.
"""

import os
import shutil
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from benchmarks import resumable
from common import cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NONLINEARITIES = ('relu', 'leakyrelu', 'softplus', 'tanh')  # Table 1, in its order
DEPTHS = (4, 8, 12, 20)
LOSSES = ('dcgan', 'wgan_gp')  # the paper's "GAN" and "WGAN-GP" columns
COLUMNS = ('arch', 'nonlinearity', 'depth', 'width', 'generator_norm', 'critic_norm', 'loss', 'steps', 'batch_size',
           'seconds', 'status', 'classifier_score')

FLAGS = flags.FLAGS


def _define_flags():
  """Flags exist only when this file runs as a program: importing it (the tests do) defines none, so it never
  collides with training.main's flags of the same names."""
  flags.DEFINE_integer('num_archs', 20, 'Architectures to draw (the paper: 200).', lower_bound=1, upper_bound=1000)
  flags.DEFINE_integer('steps', 500, 'Generator steps per architecture and loss (the paper: 100,000 at 32x32).',
                       lower_bound=1, upper_bound=1_000_000)
  flags.DEFINE_list('widths', ['8', '16', '32'], "Base widths to draw from (the paper's 32, 64, 128 / 4).")
  flags.DEFINE_integer('batch_size', 64, 'Batch size of every run.', lower_bound=1)
  flags.DEFINE_string('dataset', 'mnist', 'A dataset with a judge and 28x28 images: mnist or fashion_mnist.')
  flags.DEFINE_list('thresholds', ['2', '4', '6', '8'], 'Classifier-score thresholds of the table (Table 2: 2-8).')
  flags.DEFINE_integer('num_samples', 1000, 'Samples per classifier score.', lower_bound=10)
  flags.DEFINE_integer('seed', 0, 'Seed of the architecture draws and of every run.', lower_bound=0)
  flags.DEFINE_string('out', os.path.join('runs', 'architecture_sweep'), 'Output folder; an existing sweep there '
                      'resumes.')
  flags.DEFINE_string('manual_dir', None, 'Folder with the original archives (default: ../shared/data/<dataset>).')
  flags.DEFINE_string('data_dir', None, 'TFDS data_dir (default: <out>/tfds, prepared offline once).')


class SweepError(Exception):
  """A sweep that cannot go on (settings differ from the sweep being resumed, ...): one line for the user."""


def draw_architecture(seed: int, index: int, widths) -> dict:
  """Architecture `index` of the sweep seeded `seed`: a function of (seed, index) alone."""
  import numpy as np
  rng = np.random.default_rng([seed, index])
  return {'arch': index,
          'nonlinearity': NONLINEARITIES[rng.integers(len(NONLINEARITIES))],
          'depth': int(DEPTHS[rng.integers(len(DEPTHS))]),
          'width': int(widths[rng.integers(len(widths))]),
          'generator_norm': bool(rng.integers(2)),
          'critic_normalised': bool(rng.integers(2))}


def run_settings(architecture: dict, loss: str, settings: dict, run_dir: str) -> dict:
  """The training settings of one (architecture, loss) row, for training/launch.py: the loss family's optimizer,
  n_critic and penalty (Table 2's settings: DCGAN Adam 2e-4/.5/.999, WGAN-GP Adam 1e-4/0/.9, 5 critic steps,
  lambda 10), the critic normalised with the family's own normalisation (BatchNorm / LayerNorm) or not at all."""
  from training.losses import LOSSES as FAMILIES
  return dict(
      dataset=settings['dataset'], image_size=28, arch='dcgan_family', loss=loss,
      nonlinearity=architecture['nonlinearity'], depth=architecture['depth'], width=architecture['width'],
      generator_norm='batch' if architecture['generator_norm'] else 'none',
      critic_norm=FAMILIES[loss].critic_norm if architecture['critic_normalised'] else 'none',
      steps=settings['steps'], batch_size=settings['batch_size'], seed=settings['seed'] + architecture['arch'],
      ema_decay=0.0, sample_every=settings['steps'], ckpt_every=settings['steps'], log_every=50, num_samples=16,
      data_dir=settings['data_dir'], manual_dir=settings['manual_dir'], run_dir=run_dir)


def run_config(architecture: dict, loss: str, settings: dict, run_dir: str):
  """The resolved TrainConfig of one (architecture, loss) row, as training/launch.py trains it."""
  from training import launch
  return launch.prepare_config(run_settings(architecture, loss, settings, run_dir), log=lambda line: None)


def score(run_dir: str, the_judge, num_samples: int) -> float:
  """Classifier score of the run's generator on the dataset's judge (loaded once per sweep; latents of evaluation's
  LATENT_SEED)."""
  import numpy as np
  from common.latents import latents
  from evaluation import images, metrics
  from common.artifacts import SAMPLE_SEED as LATENT_SEED
  from training import generator_io
  generator, metadata = generator_io.load(run_dir)
  z = latents(LATENT_SEED, num_samples, metadata['latent_dim'])
  samples = np.concatenate([generator(z[i:i + 250], training=False).numpy() for i in range(0, len(z), 250)])
  _, probs = the_judge.predict(images.to_judge_input(samples, the_judge.image_size, the_judge.channels))
  return metrics.classifier_score(probs)


def train_row(architecture: dict, loss: str, settings: dict, out: str, the_judge) -> dict:
  import keras
  from training import launch, trainer
  run_dir = os.path.join(out, f'arch{architecture["arch"]:03d}-{loss}')
  shutil.rmtree(run_dir, ignore_errors=True)  # a run cut short trains again from its start
  config = run_config(architecture, loss, settings, run_dir)
  started = time.monotonic()
  try:
    launch.launch(run_settings(architecture, loss, settings, run_dir), log=lambda line: None)
    status, value = 'ok', score(run_dir, the_judge, settings['num_samples'])
  except trainer.TrainingError as e:  # NaN/Inf losses: the architecture did not train
    status, value = 'diverged: ' + cli.first_line(e)[:120], 1.0
  keras.backend.clear_session()  # forty models in one process: free each one's graphs
  return {**{k: architecture[k] for k in ('arch', 'nonlinearity', 'depth', 'width')},
          'generator_norm': config.generator_norm, 'critic_norm': config.critic_norm, 'loss': loss,
          'steps': config.steps, 'batch_size': config.batch_size, 'seconds': round(time.monotonic() - started, 1),
          'status': status, 'classifier_score': round(value, 4)}


def read_rows(path: str) -> list:
  rows = resumable.read_rows(path)
  for row in rows:
    row['arch'], row['classifier_score'] = int(row['arch']), float(row['classifier_score'])
  return rows


def table2(rows, thresholds) -> str:
  """The paper's Table 2: per classifier-score threshold, how many architectures succeeded with only the GAN
  (dcgan), only WGAN-GP, both, or neither. Architectures missing one of the two rows are left out."""
  scores = {}
  for row in rows:
    scores.setdefault(row['arch'], {})[row['loss']] = float(row['classifier_score'])
  complete = [s for s in scores.values() if all(loss in s for loss in LOSSES)]
  lines = ['| min. score | only GAN | only WGAN-GP | both succeeded | both failed |', '|---|---|---|---|---|']
  for t in thresholds:
    gan = [s['dcgan'] > t for s in complete]
    wgan = [s['wgan_gp'] > t for s in complete]
    counts = (sum(g and not w for g, w in zip(gan, wgan)), sum(w and not g for g, w in zip(gan, wgan)),
              sum(g and w for g, w in zip(gan, wgan)), sum(not g and not w for g, w in zip(gan, wgan)))
    lines.append(f'| {t:g} | ' + ' | '.join(map(str, counts)) + ' |')
  return '\n'.join(lines) + f'\n\n{len(complete)} architectures, each trained with both losses.'


def _settings(out: str) -> dict:
  try:
    widths = sorted({int(w) for w in FLAGS.widths})
    thresholds = [float(t) for t in FLAGS.thresholds]
  except ValueError:
    raise cli.UsageError(f'--widths takes integers and --thresholds numbers, got {",".join(FLAGS.widths)} and '
                         f'{",".join(FLAGS.thresholds)}') from None
  if not widths or min(widths) < 1 or not thresholds:
    raise cli.UsageError('--widths takes positive integers and --thresholds at least one number')
  if FLAGS.dataset not in ('mnist', 'fashion_mnist'):
    raise cli.UsageError(f'--dataset must be mnist or fashion_mnist (28x28 with a judge), got {FLAGS.dataset!r}')
  manual_dir = FLAGS.manual_dir or os.path.join(_REPO, '..', 'shared', 'data', FLAGS.dataset)
  return {'dataset': FLAGS.dataset, 'steps': FLAGS.steps, 'batch_size': FLAGS.batch_size, 'widths': widths,
          'seed': FLAGS.seed, 'num_samples': FLAGS.num_samples, 'thresholds': thresholds,
          'manual_dir': os.path.abspath(manual_dir),
          'data_dir': os.path.abspath(FLAGS.data_dir or os.path.join(out, 'tfds'))}


def _check_resume(out: str, settings: dict) -> None:
  """The sweep's results must come from one set of settings: a resume with others is refused."""
  fixed = ('dataset', 'steps', 'batch_size', 'widths', 'seed', 'num_samples')
  changed = resumable.changed_settings(os.path.join(out, 'sweep.json'), settings, fixed)
  if changed:
    raise SweepError(f'{out} holds a sweep with {" ".join(changed)}; pass those, or another --out')


def main(argv):
  del argv
  from absl import logging
  logging.set_verbosity(logging.WARNING)  # TF's checkpoint INFO lines
  out = FLAGS.out
  settings = _settings(out)
  os.makedirs(out, exist_ok=True)
  _check_resume(out, settings)
  from evaluation import judge
  the_judge = judge.load_judge(settings['dataset'])  # before any training: a missing judge stops the sweep at once
  csv_path = os.path.join(out, 'sweep.csv')
  rows = read_rows(csv_path)
  done = {(row['arch'], row['loss']) for row in rows}
  todo = [(i, loss) for i in range(FLAGS.num_archs) for loss in LOSSES if (i, loss) not in done]
  print(f'{FLAGS.num_archs} architectures x {len(LOSSES)} losses, {settings["steps"]} steps each on '
        f'{settings["dataset"]}: {len(todo)} runs to go ({len(done)} in {csv_path})', flush=True)
  started = time.monotonic()
  for n, (i, loss) in enumerate(todo, 1):
    architecture = draw_architecture(settings['seed'], i, settings['widths'])
    row = train_row(architecture, loss, settings, out, the_judge)
    resumable.append_row(csv_path, row, COLUMNS)
    rows.append(row)
    elapsed = time.monotonic() - started
    print(f'[{n}/{len(todo)}] arch {i} ({row["nonlinearity"]}, depth {row["depth"]}, width {row["width"]}, '
          f'G norm {row["generator_norm"]}, D norm {row["critic_norm"]}) {loss}: classifier score '
          f'{row["classifier_score"]:.2f} in {row["seconds"]:.0f} s ({row["status"]}); about '
          f'{elapsed / n * (len(todo) - n) / 60:.0f} min to go', flush=True)
  rows = [row for row in rows if row['arch'] < FLAGS.num_archs]
  text = table2(rows, settings['thresholds'])
  with open(os.path.join(out, 'table2.md'), 'w') as f:
    f.write(text + '\n')
  print(text)
  return 0


def _errors() -> dict:
  from evaluation.judge import JudgeError
  from training.config import ConfigError
  from data.datasets import DatasetError
  from training.generator_io import RunDirError
  return {SweepError: 1, JudgeError: 1, DatasetError: 1, RunDirError: 1, ConfigError: 2}


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors=_errors())
