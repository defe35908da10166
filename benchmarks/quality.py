r"""Sample quality against wall time on any data set with a judge: recipes (or losses) side by side, each for the
same budget.

  python -m benchmarks.quality --manual_dir=../shared/data/fashion_mnist              # the four losses, 3 min each
  python -m benchmarks.quality --minutes=1 --losses=wgan_gp,dcgan
  git show <old commit>:training/presets/fashion_mnist.flags > /tmp/old.flags
  python -m benchmarks.quality --minutes=20 --presets=new=training/presets/fashion_mnist.flags,old=/tmp/old.flags
  python -m benchmarks.quality --dataset=folder:../shared/data/emoji --minutes=20 \
    --presets=diffaug=training/presets/emoji.flags --presets=plain=training/presets/emoji.flags+--augment= \
    --presets=matlab=training/presets/matlab_dcgan.flags

--dataset (default fashion_mnist) names the data every run trains on and the judge that scores it: a name of
evaluation.judge.JUDGES (digits, mnist, fashion_mnist) or folder:PATH, whose judge `python -m
evaluation.train_judge --dataset=folder:PATH` trains (--judges_dir: where it is). It is passed to the trainer
after each row's flags, so a preset written for one folder runs on another; the folder's own settings
(--alpha_background, ...) come from the presets. A folder's path is made absolute, for the trainer (run from the
repository root) and the judge alike.

--presets rows, LABEL=FLAGFILE[+--flag=value...]: the label names the row and its run directory (letters, digits,
'_', '.', '-'); each '+--flag=value' is added after the flagfile, so one preset gives rows with and without a
setting: `plain=training/presets/emoji.flags+--augment=`. Rows are separated by commas or given as repeated
--presets; a comma inside a flag's value stays with its row (`+--augment=color,translation,cutout`): a
comma-separated item that does not start with `LABEL=` continues the item before it. Without --presets, each of
--losses runs the data set's own preset (digits, mnist, fashion_mnist; training/presets/emoji.flags for a folder).

Each run trains in a process of its own, checkpointing every --ckpt_every steps, until SIGTERM at the deadline
(the trainer saves a last checkpoint and exits cleanly); then, on Fashion-MNIST, the keras-io WGAN-GP recipe for
the same budget (it reads Fashion-MNIST's 28x28x1 only: off, with a printed line, on other data). Every
checkpoint's generator (the EMA generator when the run has one: what it exports) is judged by the data set's judge
(evaluation/plugin.py) on the same latents. A checkpoint's wall time is its file's modification time minus the
process start, so TensorFlow's start-up and graph tracing count, the same for every run. A TFDS dataset is
prepared before the first clock starts. Runs with --loss=dcgan (the MathWorks rows) keep their generator and
discriminator score plot, <out>/<label>/score_plot.png; the output lists each one.

Writes into --out: quality.csv (every checkpoint), quality.png (FCD, KID and classes covered against wall time,
with the floor: held-out real images scored against the same test-split reference) and one run directory per
run; prints a markdown table of each run at each quarter of the budget (the last checkpoint saved by then)
beside the floor, with FCD / floor, precision, recall and KID ± its standard error, and a table of speeds
(generator steps/s, real images read/s).

A stop from outside (SIGTERM) rather than a wall-time flag of the trainer: the budget then covers all a user
waits for, start-up included, identically for every run, and the trainer already stops cleanly on SIGTERM.
"""

import csv
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags, logging

from benchmarks import quality_report
from common import cli, kinds

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_string('dataset', 'fashion_mnist', 'What every run trains on and the judge that scores it: digits, '
                      'mnist, fashion_mnist or folder:PATH (its judge from evaluation.train_judge).')
  flags.DEFINE_string('judges_dir', None, "Where the data set's judge is (default: evaluation's own default).")
  flags.DEFINE_string('manual_dir', None, 'Original archives of a TFDS dataset (default: ../shared/data/<dataset> '
                      'for mnist and fashion_mnist).')
  flags.DEFINE_string('data_dir', None, 'TFDS data_dir (default: a temporary one, prepared offline).')
  flags.DEFINE_float('minutes', 3.0, 'Wall-time budget of each loss, in minutes, from process start to SIGTERM.')
  flags.DEFINE_list('losses', ['wgan_gp', 'wgan', 'lsgan', 'dcgan'], "Losses to compare, each with the data set's "
                    'preset (ignored with --presets).')
  flags.DEFINE_multi_string('presets', [], 'Recipes to compare instead of losses: LABEL=FLAGFILE[+--flag=value...] '
                            'rows, comma-separated or repeated, e.g. new=training/presets/fashion_mnist.flags,'
                            'old=/tmp/old_fashion_mnist.flags (each with its own loss; see the module docstring).')
  flags.DEFINE_bool('keras_io', True, 'Also train the keras-io WGAN-GP recipe (benchmarks/keras_io_recipe.py) for '
                    'the same budget, as the baseline row (Fashion-MNIST only).')
  flags.DEFINE_integer('ckpt_every', 100, 'Generator steps between checkpoints: the points of the curves.')
  flags.DEFINE_integer('num_samples', 1000, 'Samples per evaluation (and real images per side of the floor).')
  flags.DEFINE_string('out', None, 'Where the runs, quality.csv and quality.png go (default: runs/quality-<time>).')
  flags.DEFINE_bool('score_only', False, 'Train nothing: judge again the runs an earlier call with the same --out '
                    'and rows trained (each run\'s start is in <out>/<label>.started).')


# The recipe each data set's loss comparison (--losses) trains; any folder gets the 64x64 colour recipe.
PRESETS = {'digits': 'training/presets/digits.flags', 'mnist': 'training/presets/mnist.flags',
           'fashion_mnist': 'training/presets/fashion_mnist.flags'}
FOLDER_PRESET = 'training/presets/emoji.flags'
KERAS_IO_DATASET = 'fashion_mnist'  # benchmarks/keras_io_recipe.py: its own Fashion-MNIST loader, 28x28x1 models
_ARCHIVES = ('mnist', 'fashion_mnist')  # TFDS data sets with archives in ../shared/data/<name>
_LABEL = re.compile(r'[\w.-]+')
_GRACE_S = 120  # after SIGTERM: the trainer finishes its step, checkpoints and writes its GIF and loss curve
_COLUMNS = ('loss', 'step', 'wall_s', 'fcd', 'kid', 'kid_stderr', 'precision', 'recall', 'classifier_score',
            'classes_covered', 'kl_to_uniform', 'agreement')  # agreement: conditional runs only (else empty)


def parse_presets(values: list) -> list:
  """(label, absolute flagfile, extra flags) of each row of --presets (LABEL=FLAGFILE[+--flag=value...], see the
  module docstring). Raises UsageError naming the rows that are wrong."""
  rows = []
  for item in (item for value in values for item in value.split(',') if item):
    if rows and not re.match(_LABEL.pattern + '=', item):
      rows[-1] += ',' + item  # a comma inside a flag's value: +--augment=color,translation
    else:
      rows.append(item)
  recipes, bad = [], []
  for row in rows:
    label, sep, rest = row.partition('=')
    flagfile, *extra = rest.split('+')
    if (not sep or not _LABEL.fullmatch(label) or not os.path.isfile(flagfile)
        or not all(flag.startswith('--') and len(flag) > 2 for flag in extra)):
      bad.append(row)
    recipes.append((label, os.path.abspath(flagfile), extra))
  if bad:
    raise cli.UsageError(f'--presets takes LABEL=FLAGFILE[+--flag=value...] rows of existing flagfiles; check '
                         f'{"; ".join(bad)}')
  labels = [label for label, _, _ in recipes]
  if len(set(labels)) < len(labels):  # each label is a run directory
    raise cli.UsageError(f'--presets labels must differ: {", ".join(labels)}')
  return recipes


def recipes(dataset: str, presets: list, losses: list) -> list:
  """(label, flagfile, extra flags) of every run: --presets as given, else the data set's preset with each loss."""
  if presets:
    return parse_presets(presets)
  preset = FOLDER_PRESET if dataset.startswith(kinds.FOLDER_PREFIX) else PRESETS.get(dataset)
  if preset is None:
    raise cli.UsageError(f'no preset for {dataset!r} to compare losses with: pass --presets=LABEL=FLAGFILE rows')
  return [(loss, os.path.join(_REPO, preset), [f'--loss={loss}']) for loss in losses]


def default_manual_dir(dataset: str):
  """Where a TFDS data set's archives are on these machines (../shared/data/<name>), else None."""
  return os.path.join(_REPO, '..', 'shared', 'data', dataset) if dataset in _ARCHIVES else None


STARTED_SUFFIX = '.started'


def started_at(run_dir: str) -> float:
  """The process start of a run trained by an earlier call (--score_only); a one-line error when there is none."""
  try:
    with open(run_dir + STARTED_SUFFIX) as f:
      return float(f.read())
  except (OSError, ValueError):
    raise cli.UsageError(f'--score_only: no trained run at {run_dir} (its {os.path.basename(run_dir)}'
                         f'{STARTED_SUFFIX} is missing or unreadable): run without --score_only first')


def train_for(label: str, flagfile: str, extra: list, run_dir: str, dataset: str, data_dir: str, manual_dir,
              seconds: float) -> float:
  """Trains one recipe until the deadline, then SIGTERM. Returns the process start as a time.time() stamp."""
  # --dataset after the row's flags: what is trained is what the judge scores, whatever the preset names.
  cmd = [sys.executable, '-m', 'training.main', f'--flagfile={flagfile}', *extra, f'--dataset={dataset}',
         '--steps=100000000', *([f'--manual_dir={manual_dir}'] if manual_dir else []), f'--data_dir={data_dir}',
         f'--ckpt_every={FLAGS.ckpt_every}', '--keep_checkpoints=100000', '--log_every=50', f'--run_dir={run_dir}']
  started = time.time()
  with open(run_dir + STARTED_SUFFIX, 'w') as f:  # what --score_only measures wall time from
    f.write(f'{started}\n')
  with open(run_dir + '.log', 'w') as log:
    proc = subprocess.Popen(cmd, cwd=_REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
      proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
      proc.send_signal(signal.SIGTERM)
      try:
        proc.wait(timeout=_GRACE_S)
      except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
  if proc.returncode:
    with open(run_dir + '.log') as f:
      tail = f.read()[-1500:]
    raise SystemExit(f'{label} exited with code {proc.returncode}:\n{tail}')
  return started


def keras_io_train_for(run_dir: str, data_dir: str, manual_dir: str, seconds: float) -> float:
  """The keras-io recipe for the same budget (start-up included), its generator saved 8 times along the way."""
  started = time.time()
  with open(run_dir + STARTED_SUFFIX, 'w') as f:
    f.write(f'{started}\n')
  cmd = [sys.executable, '-m', 'benchmarks.keras_io_recipe', str(started + seconds), run_dir, data_dir,
         manual_dir, str(seconds / 8)]
  with open(run_dir + '.log', 'w') as log:
    proc = subprocess.run(cmd, cwd=_REPO, stdout=log, stderr=subprocess.STDOUT)
  if proc.returncode:
    raise SystemExit(f'the keras-io recipe exited with code {proc.returncode}: see {run_dir}.log')
  return started


def keras_io_scores(run_dir: str, started: float, judge) -> list:
  """Judges every saved generator of the recipe. Its 28x28 images are padded to 32x32 with background by the
  evaluator (evaluation/images.py), the geometry our data pipeline gives the judge, not stretched by a resize."""
  import glob
  from benchmarks import keras_io_recipe
  generator = keras_io_recipe.generator()
  rows = []
  paths = sorted(glob.glob(os.path.join(run_dir, 'ckpt-*.weights.h5')), key=os.path.getmtime)
  for path in paths:
    generator.load_weights(path)
    step = int(os.path.basename(path).split('-')[1].split('.')[0])
    scores = judge(generator, step, {'latent_dim': keras_io_recipe.NOISE_DIM})
    if path == paths[-1]:  # the grid to look at beside ours (<run_dir>/samples/step_*.png)
      from PIL import Image
      from common.latents import latents
      from training import run_dir as rundir
      images = generator(latents(judge.seed, 64, keras_io_recipe.NOISE_DIM), training=False).numpy()  # (64, 28, 28, 1)
      tiles = rundir.grid(rundir.to_uint8(images))[..., 0]  # (H, W) uint8
      Image.fromarray(tiles).resize((tiles.shape[1] * 2, tiles.shape[0] * 2), Image.NEAREST).save(
          os.path.join(run_dir, f'samples_step_{step}.png'))
    rows.append({'loss': 'keras-io recipe', 'step': step, 'wall_s': os.path.getmtime(path) - started,
                 **{k: scores[k] for k in _COLUMNS[3:-1]}, 'agreement': ''})
  return sorted(rows, key=lambda r: r['step'])


def checkpoint_scores(loss: str, run_dir: str, started: float, judge) -> list:
  """Judges the generator of every checkpoint of a run; one row per checkpoint, by step."""
  import tensorflow as tf
  from training import data_kinds
  from training.architectures import ARCHITECTURES
  from training.config import TrainConfig
  with open(os.path.join(run_dir, 'config.json')) as f:
    text = f.read()
  config = json.loads(text)
  settings = TrainConfig.from_json(text)  # the run's generator as it trained it: arch options, label input
  generator = data_kinds.kind_of(settings.dataset).build_generator(ARCHITECTURES[settings.arch], settings, 'float32')
  conditional = settings.conditioning != 'none'
  metadata = {'latent_dim': settings.latent_dim, **({'label_classes': settings.data_classes} if conditional else {})}
  state = tf.train.get_checkpoint_state(os.path.join(run_dir, 'checkpoints'))
  # What the run exports: its EMA generator when it had one (saved with re-estimated BatchNorm statistics).
  key = 'ema_generator' if config.get('ema_decay') else 'generator'
  rows = []
  for path in (state.all_model_checkpoint_paths if state else []):
    tf.train.Checkpoint(**{key: generator}).restore(path).expect_partial()
    step = int(path.rsplit('-', 1)[1])
    scores = judge(generator, step, metadata)  # a conditional generator: sample i asked for class i mod K
    rows.append({'loss': loss, 'step': step, 'wall_s': os.path.getmtime(path + '.index') - started,
                 **{k: scores[k] for k in _COLUMNS[3:-1]}, 'agreement': scores.get('agreement', '')})
  return sorted(rows, key=lambda r: r['step'])


def run_speed(label: str, run_dir: str, rows: list) -> tuple:
  """(label, generator steps, wall seconds, real images read per second, critic updates per generator step) of a
  run, at its last checkpoint: start-up and tracing included, as a user waits for them."""
  with open(os.path.join(run_dir, 'config.json')) as f:
    config = json.load(f)
  if not rows:
    return label, 0, float('nan'), float('nan'), config['n_critic']
  last = rows[-1]
  # Each critic update reads a fresh real batch (Algorithm 1 of the WGAN-GP paper).
  examples_per_s = last['step'] * config['n_critic'] * config['batch_size'] / last['wall_s']
  return label, last['step'], last['wall_s'], examples_per_s, config['n_critic']


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  logging.set_verbosity(logging.WARNING)  # TFDS logs a line per split opened; the table is what matters
  from evaluation.plugin import JudgeEvaluator
  from data import datasets
  from training.score_plot import PLOT_FILE
  dataset = kinds.with_absolute_path(FLAGS.dataset)  # the trainer runs from the repository root
  manual_dir = FLAGS.manual_dir or default_manual_dir(dataset)
  runs = recipes(dataset, FLAGS.presets, FLAGS.losses)
  keras_io = FLAGS.keras_io and dataset == KERAS_IO_DATASET
  out_dir = FLAGS.out or os.path.join(_REPO, 'runs', 'quality-' + datetime.datetime.now().strftime('%Y%m%d-%H%M%S'))
  # --score_only: every row's run must be there before anything is loaded or written.
  starts = {label: started_at(os.path.join(out_dir, label)) for label, _, _ in runs} if FLAGS.score_only else {}
  if FLAGS.score_only and keras_io:
    starts['keras_io'] = started_at(os.path.join(out_dir, 'keras_io'))
  os.makedirs(out_dir, exist_ok=True)
  work = tempfile.mkdtemp(prefix='quality-tfds-')
  data_dir = FLAGS.data_dir or work
  # Before any training: a data set without a judge, or too few samples for FCD, fails now, not after the budget.
  judge = JudgeEvaluator(dataset, None, FLAGS.num_samples, data_dir, manual_dir, judges_dir=FLAGS.judges_dir)
  num_classes = judge.num_classes  # the evaluator's own judge, loaded once
  # Prepared here, before any clock starts: TFDS builds its files from the archives on first use (digits is
  # embedded and a folder is read as it is).
  if dataset not in datasets.BUILTIN_SOURCES and not any(map(dataset.startswith, datasets.PREFIX_SOURCES)):
    for split in ('train', 'test'):  # the judge's floor and reference are slices of these
      datasets.load_images(dataset, 32, split=split, data_dir=data_dir, manual_dir=manual_dir)
  print(f'machine: {os.cpu_count()} CPU cores; {dataset}; budget {FLAGS.minutes:g} min per run; '
        f'checkpoint every {FLAGS.ckpt_every} steps; {FLAGS.num_samples} samples per evaluation', flush=True)
  if FLAGS.keras_io and not keras_io:
    print(f'  keras-io baseline row: off (benchmarks/keras_io_recipe.py reads {KERAS_IO_DATASET} only)', flush=True)

  score_plots = []
  for label, flagfile, extra in runs:
    run_dir = os.path.join(out_dir, label)
    if FLAGS.score_only:
      if os.path.isfile(os.path.join(run_dir, PLOT_FILE)):
        score_plots.append(os.path.join(run_dir, PLOT_FILE))
      continue
    starts[label] = train_for(label, flagfile, extra, run_dir, dataset, data_dir, manual_dir, FLAGS.minutes * 60)
    shown = os.path.relpath(flagfile, _REPO) if flagfile.startswith(_REPO + os.sep) else flagfile
    print(f'  trained {label} ({" ".join([shown, *extra])}): log in {run_dir}.log', flush=True)
    if os.path.isfile(os.path.join(run_dir, PLOT_FILE)):  # --loss=dcgan: the MathWorks example's score plot
      score_plots.append(os.path.join(run_dir, PLOT_FILE))
  if keras_io:
    keras_io_dir = os.path.join(out_dir, 'keras_io')
    if FLAGS.score_only:
      keras_io_start = starts['keras_io']
    else:
      keras_io_start = keras_io_train_for(keras_io_dir, data_dir, manual_dir, FLAGS.minutes * 60)
      print(f'  trained the keras-io recipe: log in {keras_io_dir}.log', flush=True)

  rows = []
  speeds = []
  for label, _, _ in runs:
    loss_rows = checkpoint_scores(label, os.path.join(out_dir, label), starts[label], judge)
    if not loss_rows:
      print(f'  {label}: no checkpoint within the budget (raise --minutes or lower --ckpt_every)')
    rows += loss_rows
    speeds.append(run_speed(label, os.path.join(out_dir, label), loss_rows))
  if keras_io:
    keras_io_rows = keras_io_scores(keras_io_dir, keras_io_start, judge)
    rows += keras_io_rows
    if keras_io_rows:  # one real batch per step, reused by its 3 critic updates
      last = keras_io_rows[-1]
      speeds.append(('keras-io recipe', last['step'], last['wall_s'], last['step'] * 64 / last['wall_s'], 3))
  if not rows:
    raise SystemExit('no checkpoint to judge')

  with open(os.path.join(out_dir, 'quality.csv'), 'w', newline='') as f:
    writer = csv.DictWriter(f, _COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
  title = (f'{FLAGS.dataset}, {FLAGS.minutes:g} min per run on {os.cpu_count()} CPU cores, '
           f"{judge.num_samples} samples per point against the judge's reference images")
  quality_report.plot(rows, judge.floor, os.path.join(out_dir, 'quality.png'), title, num_classes)
  plots = ''.join(f'\ngenerator/discriminator scores: {path}' for path in score_plots)
  report = quality_report.table(rows, judge.floor, FLAGS.minutes * 60, num_classes)
  print(f'\n{title}\n{report}\n\n{quality_report.speed_table(speeds)}\n\n'
        f'wrote {out_dir}/quality.csv and quality.png{plots}')


def _errors() -> dict:
  """The one-line errors of this command, all exit code 2: no judge, too few samples, unreadable data."""
  from data import datasets
  from evaluation.images import EvaluationError
  from evaluation.judge import JudgeError
  return {JudgeError: 2, EvaluationError: 2, datasets.DatasetError: 2}


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors=_errors())
