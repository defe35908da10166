r"""The WGAN-GP paper's architecture comparison (Gulrajani et al. 2017, Sec. 5.2, Figure 2), scaled to a CPU.

  python -m benchmarks.architecture_gallery                               # 7 architectures x 4 losses, Fashion-MNIST
  python -m benchmarks.architecture_gallery --steps=50 --rows=baseline,mlp --losses=dcgan,wgan_gp --out=runs/g

The paper trains the DCGAN baseline and six variants of it with each of DCGAN, LSGAN, WGAN (weight clipping) and
WGAN-GP on 64x64 LSUN bedrooms (gan_64x64.py) and finds that only WGAN-GP trains every one of them. Here each
(architecture, loss) cell trains for the same --steps generator steps from the same seed, with each loss family's
own optimizer, critic steps and critic normalisation (BatchNorm for DCGAN, LSGAN and WGAN; LayerNorm for WGAN-GP,
whose penalty is per example), without EMA, as in the paper. The rows (ROWS below):

  baseline   DCGAN: BatchNorm in both networks, ReLU in the generator, LeakyReLU(0.2) in the critic
  crippled   the generator without BatchNorm and with a constant filter count (width everywhere)
  mlp        the generator a 4-layer ReLU MLP of 8·width units (the paper: 512), the critic the baseline's
  no_norm    no normalisation in either network
  gated      gated multiplicative nonlinearities sigmoid(a)·tanh(b) everywhere, BatchNorm kept
  tanh       tanh everywhere, BatchNorm kept
  resnet     the ResNet generator and critic of --arch=resnet (the paper: 101 layers of bottleneck blocks; here its
             CIFAR-10 design at 32x32, 7 convolutions in the generator and 8 in the critic, what a CPU affords)

Each finished cell is scored on the data set's judge (FCD against held-out real images, beside the floor of real
images at the same N, and the classes covered) and goes to <out>/gallery.csv at once; rerunning the same command
skips the cells already there (a cell cut short trains again), and --rows/--losses may grow. The picture
<out>/gallery.png lays the cells out as the paper's Figure 2 (rows architectures, columns losses) from the same
latents; <out>/gallery.md holds the table. The settings are kept in <out>/gallery.json: a rerun with others is
refused.
"""

import os
import shutil
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from benchmarks import resumable
from common import cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, title, settings over the loss family's): the paper's Figure 2 rows, in its order.
ROWS = (
    ('baseline', 'DCGAN baseline', dict(arch='dcgan_family', nonlinearity='dcgan')),
    ('crippled', 'G: no BN, constant filters', dict(arch='dcgan_family', nonlinearity='dcgan',
                                                    generator_norm='none', generator_filters='constant')),
    ('mlp', 'G: 4-layer ReLU MLP', dict(arch='mlp_image')),
    ('no_norm', 'no normalisation', dict(arch='dcgan_family', nonlinearity='dcgan', generator_norm='none',
                                         critic_norm='none')),
    ('gated', 'gated multiplicative', dict(arch='dcgan_family', nonlinearity='gated')),
    ('tanh', 'tanh everywhere', dict(arch='dcgan_family', nonlinearity='tanh')),
    ('resnet', 'ResNet G and D', dict(arch='resnet')),
)
ROW_NAMES = tuple(name for name, _, _ in ROWS)
LOSSES = ('dcgan', 'lsgan', 'wgan', 'wgan_gp')  # the paper's columns
COLUMNS = ('row', 'loss', 'arch', 'critic_norm', 'steps', 'seconds', 'status', 'fcd', 'floor_fcd', 'kid',
           'classes_covered', 'num_classes')
GRID_SAMPLES = 16  # per cell, 4 x 4
DIVERGED = 'diverged'

FLAGS = flags.FLAGS


def _define_flags():
  """Flags exist only when this file runs as a program (the tests import it)."""
  flags.DEFINE_integer('steps', 500, 'Generator steps per cell (the paper: 200,000 in gan_64x64.py).', lower_bound=1,
                       upper_bound=1_000_000)
  flags.DEFINE_list('rows', list(ROW_NAMES), f'Architectures, any of {",".join(ROW_NAMES)}.')
  flags.DEFINE_list('losses', list(LOSSES), f'Losses, any of {",".join(LOSSES)}.')
  flags.DEFINE_integer('width', 16, 'Base width of every network (the paper: DIM 64).', lower_bound=1)
  flags.DEFINE_integer('batch_size', 64, 'Batch size of every cell (the paper: 64).', lower_bound=1)
  flags.DEFINE_string('dataset', 'fashion_mnist', 'A data set with a judge: fashion_mnist, mnist, or folder:PATH '
                      'with a judge in --judges_dir.')
  flags.DEFINE_integer('image_size', 32, 'Image size of every cell (Fashion-MNIST is padded from 28).')
  flags.DEFINE_integer('num_samples', 1000, 'Samples per FCD (and floor images at the same N).', lower_bound=2)
  flags.DEFINE_integer('seed', 0, 'Seed of every cell.', lower_bound=0)
  flags.DEFINE_string('out', os.path.join('runs', 'architecture_gallery'), 'Output folder; a gallery there resumes.')
  flags.DEFINE_string('manual_dir', None, 'Folder with the original archives (default: ../shared/data/<dataset>).')
  flags.DEFINE_string('data_dir', None, 'TFDS data_dir (default: <out>/tfds, prepared offline once).')
  flags.DEFINE_string('judges_dir', None, "Where a folder's judge is (default: ./judges).")


class GalleryError(Exception):
  """A gallery that cannot go on (settings differ from the one being resumed, ...): one line for the user."""


def cell_settings(row: str, loss: str, settings: dict, run_dir: str) -> dict:
  """The training settings of one cell, for training/launch.py: the row's architecture over the loss family's
  defaults."""
  overrides = dict(next(o for name, _, o in ROWS if name == row))
  return dict(
      dataset=settings['dataset'], image_size=settings['image_size'], loss=loss, width=settings['width'],
      steps=settings['steps'], batch_size=settings['batch_size'], seed=settings['seed'], ema_decay=0.0,
      sample_every=settings['steps'], ckpt_every=settings['steps'], log_every=50, num_samples=GRID_SAMPLES,
      data_dir=settings['data_dir'], manual_dir=settings['manual_dir'], judges_dir=settings['judges_dir'],
      run_dir=run_dir, **overrides)


def cell_config(row: str, loss: str, settings: dict, run_dir: str):
  """The resolved TrainConfig of one cell, as training/launch.py trains it."""
  from training import launch
  return launch.prepare_config(cell_settings(row, loss, settings, run_dir), log=lambda line: None)


def train_cell(row: str, loss: str, settings: dict, out: str, evaluator, num_classes: int) -> dict:
  """Trains and scores one cell; a run that stops on NaN/Inf losses is a 'diverged' row with no scores."""
  import keras
  from training import generator_io, launch, trainer
  run_dir = os.path.join(out, f'{row}-{loss}')
  shutil.rmtree(run_dir, ignore_errors=True)  # a cell cut short trains again from its start
  config = cell_config(row, loss, settings, run_dir)
  started = time.monotonic()
  scores = {}
  try:
    launch.launch(cell_settings(row, loss, settings, run_dir), log=lambda line: None)
    status = 'ok'
    generator, metadata = generator_io.load(run_dir)
    scores = evaluator(generator, config.steps, metadata)
  except trainer.TrainingError as e:  # NaN/Inf losses
    status = f'{DIVERGED}: ' + cli.first_line(e)[:120]
  keras.backend.clear_session()  # many models in one process: free each one's graphs
  floor = evaluator.floor
  return {'row': row, 'loss': loss, 'arch': config.arch, 'critic_norm': config.critic_norm, 'steps': config.steps,
          'seconds': round(time.monotonic() - started, 1), 'status': status,
          'fcd': round(scores['fcd'], 3) if scores else '', 'floor_fcd': round(floor['fcd'], 3),
          'kid': round(scores['kid'], 5) if scores else '',
          'classes_covered': int(scores['classes_covered']) if scores else '',
          'num_classes': num_classes}


def cell_images(run_dir: str):
  """(GRID_SAMPLES, H, W, C) uint8 of a finished cell's generator on the gallery's shared latents."""
  from common.artifacts import SAMPLE_SEED
  from common.images import to_uint8
  from common.latents import latents
  from training import generator_io
  generator, metadata = generator_io.load(run_dir)
  return to_uint8(generator(latents(SAMPLE_SEED, GRID_SAMPLES, metadata['latent_dim']), training=False).numpy())


def plot(rows: list, out: str, settings: dict) -> str:
  """gallery.png: one 4x4 grid per cell, rows architectures and columns losses (the paper's Figure 2), each cell
  titled with its FCD / floor; empty cells were not run, 'diverged' ones stopped on NaN/Inf."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  from common.images import grid
  by_cell = {(r['row'], r['loss']): r for r in rows}
  row_names = [name for name in ROW_NAMES if any(name == r['row'] for r in rows)]
  losses = [loss for loss in LOSSES if any(loss == r['loss'] for r in rows)]
  fig, axes = plt.subplots(len(row_names), len(losses), figsize=(2.2 * len(losses), 2.35 * len(row_names)),
                           squeeze=False)
  titles = {name: title for name, title, _ in ROWS}
  for i, name in enumerate(row_names):
    for j, loss in enumerate(losses):
      ax = axes[i][j]
      ax.set_xticks([])
      ax.set_yticks([])
      cell = by_cell.get((name, loss))
      images = cell_images(os.path.join(out, f'{name}-{loss}')) if cell and cell['status'] == 'ok' else None
      if images is not None:
        tiled = grid(images, cols=4)
        ax.imshow(tiled[..., 0] if tiled.shape[-1] == 1 else tiled, cmap='gray', vmin=0, vmax=255)
        score = f'FCD {float(cell["fcd"]) / float(cell["floor_fcd"]):.1f}x floor'
      else:
        score = ''
        ax.text(0.5, 0.5, DIVERGED if cell else 'not run', ha='center', va='center', fontsize=9)
      ax.set_title(f'{loss}\n{score}' if i == 0 else score, fontsize=8)
      if j == 0:
        ax.set_ylabel(titles[name], fontsize=8)
  fig.suptitle(f'{settings["dataset"]} {settings["image_size"]}x{settings["image_size"]}, {settings["steps"]} '
               f'generator steps per cell, width {settings["width"]}', fontsize=10)
  fig.tight_layout(rect=(0, 0, 1, 0.98))  # the title above the first row's loss names
  path = os.path.join(out, 'gallery.png')
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path


def table(rows: list) -> str:
  """Markdown: per architecture, each loss's FCD as a multiple of the floor and the classes covered."""
  by_cell = {(r['row'], r['loss']): r for r in rows}
  losses = [loss for loss in LOSSES if any(loss == r['loss'] for r in rows)]
  lines = ['| architecture | ' + ' | '.join(losses) + ' |', '|---|' + '---|' * len(losses)]
  for name, title, _ in ROWS:
    if not any((name, loss) in by_cell for loss in losses):
      continue
    cells = []
    for loss in losses:
      r = by_cell.get((name, loss))
      if r is None:
        cells.append('')
      elif not r['status'].startswith('ok'):
        cells.append(DIVERGED)
      else:
        cells.append(f'{float(r["fcd"]):.1f} ({float(r["fcd"]) / float(r["floor_fcd"]):.1f}x), '
                     f'{r["classes_covered"]}/{r["num_classes"]}')
    lines.append(f'| {title} | ' + ' | '.join(cells) + ' |')
  floor = next((r['floor_fcd'] for r in rows), '')
  return '\n'.join(lines) + (f'\n\nFCD against held-out real images (the floor, held-out real images at the same N: '
                             f'{float(floor):.2f}), and classes covered.' if floor != '' else '')


def _settings(out: str) -> dict:
  from common import kinds
  unknown = [r for r in FLAGS.rows if r not in ROW_NAMES] + [loss for loss in FLAGS.losses if loss not in LOSSES]
  if unknown or not FLAGS.rows or not FLAGS.losses:
    raise cli.UsageError(f'--rows takes any of {",".join(ROW_NAMES)} and --losses any of {",".join(LOSSES)}, got '
                         f'{",".join(unknown) or "none"}')
  dataset = kinds.with_absolute_path(FLAGS.dataset)
  if kinds.of_dataset(dataset) != kinds.IMAGE:
    raise cli.UsageError(f'--dataset must be image data with a judge, got {FLAGS.dataset!r}')
  manual_dir = FLAGS.manual_dir or os.path.join(_REPO, '..', 'shared', 'data', FLAGS.dataset)
  return {'dataset': dataset, 'image_size': FLAGS.image_size, 'steps': FLAGS.steps, 'width': FLAGS.width,
          'batch_size': FLAGS.batch_size, 'seed': FLAGS.seed, 'num_samples': FLAGS.num_samples,
          'manual_dir': os.path.abspath(manual_dir) if os.path.isdir(manual_dir) else None,
          'data_dir': os.path.abspath(FLAGS.data_dir or os.path.join(out, 'tfds')),
          'judges_dir': os.path.abspath(FLAGS.judges_dir) if FLAGS.judges_dir else None}


def main(argv):
  del argv
  from absl import logging
  logging.set_verbosity(logging.WARNING)  # TF's checkpoint INFO lines
  out = FLAGS.out
  settings = _settings(out)
  os.makedirs(out, exist_ok=True)
  fixed = ('dataset', 'image_size', 'steps', 'width', 'batch_size', 'seed', 'num_samples')
  changed = resumable.changed_settings(os.path.join(out, 'gallery.json'), settings, fixed)
  if changed:
    raise GalleryError(f'{out} holds a gallery with {" ".join(changed)}; pass those, or another --out')
  for row in FLAGS.rows:  # every cell's settings, before any training: a bad combination stops the gallery now
    for loss in FLAGS.losses:
      cell_config(row, loss, settings, os.path.join(out, f'{row}-{loss}'))
  from evaluation.plugin import JudgeEvaluator
  # Before any training: a data set without a judge, or too few samples for FCD, fails now.
  evaluator = JudgeEvaluator(settings['dataset'], None, settings['num_samples'], settings['data_dir'],
                             settings['manual_dir'], judges_dir=settings['judges_dir'])
  num_classes = evaluator.num_classes  # the evaluator's own judge, loaded once
  csv_path = os.path.join(out, 'gallery.csv')
  rows = resumable.read_rows(csv_path)
  done = {(r['row'], r['loss']) for r in rows}
  todo = [(row, loss) for row in FLAGS.rows for loss in FLAGS.losses if (row, loss) not in done]
  print(f'{len(FLAGS.rows)} architectures x {len(FLAGS.losses)} losses, {settings["steps"]} generator steps each '
        f'on {FLAGS.dataset} at {settings["image_size"]}x{settings["image_size"]}: {len(todo)} cells to go '
        f'({len(done)} in {csv_path})', flush=True)
  started = time.monotonic()
  for n, (row, loss) in enumerate(todo, 1):
    result = train_cell(row, loss, settings, out, evaluator, num_classes)
    resumable.append_row(csv_path, result, COLUMNS)
    rows.append({k: str(v) for k, v in result.items()})
    elapsed = time.monotonic() - started
    shown = (f'FCD {result["fcd"]} (floor {result["floor_fcd"]}), {result["classes_covered"]}/'
             f'{result["num_classes"]} classes' if result['status'] == 'ok' else result['status'])
    print(f'[{n}/{len(todo)}] {row} x {loss}: {shown} in {result["seconds"]:.0f} s; about '
          f'{elapsed / n * (len(todo) - n) / 60:.0f} min to go', flush=True)
  text = table(rows)
  with open(os.path.join(out, 'gallery.md'), 'w') as f:
    f.write(text + '\n')
  print(text)
  print(f'picture: {plot(rows, out, settings)}')
  return 0


def _errors() -> dict:
  from data.datasets import DatasetError
  from evaluation.images import EvaluationError
  from evaluation.judge import JudgeError
  from training.config import ConfigError
  from training.generator_io import RunDirError
  return {GalleryError: 1, JudgeError: 1, DatasetError: 1, RunDirError: 1, EvaluationError: 2, ConfigError: 2}


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors=_errors())
