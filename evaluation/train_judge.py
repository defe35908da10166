r"""`python -m evaluation.train_judge`: trains a dataset's judge on its judge_split, writes it to judges/.

  python -m evaluation.train_judge --dataset=digits
  python -m evaluation.train_judge --dataset=mnist --manual_dir=../shared/data/mnist
  python -m evaluation.train_judge --dataset=fashion_mnist --manual_dir=../shared/data/fashion_mnist
  python -m evaluation.train_judge --dataset=folder:PATH [--group_by=RULE] [--image_size=32]

Writes evaluation/judges/<dataset>.weights.h5 and <dataset>.json (see evaluation/judge.py for the splits and
the record); a labelled folder's judge goes to ./judges/<base>-<hash8>.* (see evaluation/folder_judge.py), after
printing its split's images per class per part (evaluation/split_report.py). Bad input ends in one `error: ...`
line on stderr: exit 2 for usage errors (unknown flag or dataset, unreadable data), 1 otherwise.
"""

import os

from absl import flags

from common import cli
from evaluation import judge

FLAGS = flags.FLAGS
_RECIPE_FLAGS = ('dataset', 'manual_dir', 'group_by', 'image_size', 'alpha_background', 'epochs', 'seed')  # data_dir and judges_dir are local paths, no recipe


def _define_flags():
  # Called only when this file runs as a program: importing the module (a test) must not register a second
  # --dataset next to training.main's or evaluation.evaluate's.
  flags.DEFINE_string('dataset', None, f'Dataset whose judge to train: {", ".join(judge.JUDGES)}.')
  flags.DEFINE_string('data_dir', None, 'TFDS data directory (default: ~/tensorflow_datasets).')
  flags.DEFINE_string('manual_dir', None, 'Directory with the original archives of a TFDS dataset, read offline.')
  flags.DEFINE_integer('epochs', None, 'Training epochs (default: the dataset\'s entry in evaluation.judge.JUDGES).',
                       lower_bound=1)
  flags.DEFINE_integer('seed', 0, 'Seed of weights, shuffling and augmentation.')
  flags.DEFINE_string('judges_dir', None, 'Where to write the judge (default: evaluation/judges/ for digits, '
                      'mnist and fashion_mnist; ./judges/ for a folder).')
  # A folder's judge only (evaluation/folder_judge.py):
  flags.DEFINE_string('group_by', 'content', 'folder: group key of the judge/floor/reference split: content, '
                      'name_after:SEP or strip:REGEX (data/folder_split.py; which fits which file names: '
                      'docs/evaluation.md, "Choosing --group_by"). The images per class per part are printed '
                      'before training, with a warning for a class whose floor and reference parts differ by more '
                      'than 1.5x.')
  flags.DEFINE_integer('image_size', None, 'folder: side of the judge\'s input images (default 32).', lower_bound=8)
  flags.DEFINE_string('alpha_background', 'white', 'folder: what transparent pixels are composited over: white, '
                      'black, R,G,B or none.')


def recipe(values: dict) -> str:
  """The command line that reproduces a judge, from the flags given: {'dataset': 'mnist', ...} -> 'python -m
  evaluation.train_judge --dataset=mnist ...', values as typed (manual_dir stays relative)."""
  return ' '.join([judge.TRAIN_COMMAND] + [f'--{name}={values[name]}' for name in _RECIPE_FLAGS if name in values])


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  if not FLAGS.dataset:
    raise cli.UsageError(f'--dataset is required ({", ".join(judge.JUDGES)} or folder:PATH)')
  from data import quiet_start
  quiet_start.load_tensorflow()  # without a CPU host's CUDA probe errors (common/gpu.py)
  command = recipe({name: FLAGS[name].value for name in _RECIPE_FLAGS if FLAGS[name].present})
  if FLAGS.dataset.startswith('folder:'):
    from data import datasets, folder_split
    from evaluation import folder_judge
    try:
      folder_judge.train_folder_judge(
          FLAGS.dataset, FLAGS.group_by, FLAGS.image_size or folder_judge.DEFAULT_IMAGE_SIZE, FLAGS.alpha_background,
          FLAGS.epochs or folder_judge.DEFAULT_EPOCHS, FLAGS.seed, FLAGS.judges_dir, command)
    except (datasets.DatasetError, folder_split.SplitError) as e:
      raise cli.UsageError(str(e)) from None
    return 0
  judge.judge_spec(FLAGS.dataset)  # before TensorFlow loads: a typo costs no start-up
  from data import datasets
  try:
    judge.train_judge(FLAGS.dataset, FLAGS.data_dir, FLAGS.manual_dir, FLAGS.epochs, FLAGS.seed,
                      FLAGS.judges_dir or judge.JUDGES_DIR, command)
  except datasets.DatasetError as e:  # unreadable data; its module imports TensorFlow, hence caught here
    raise cli.UsageError(str(e)) from None
  return 0


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # entry point only: TF's C++ start-up chatter
  _define_flags()
  cli.run(main, errors={judge.JudgeError: 2, OSError: 1})  # OSError: judges_dir not writable, disk full
