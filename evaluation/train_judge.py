r"""`python -m evaluation.train_judge`: trains a dataset's judge on its judge_split, writes it to judges/.

  python -m evaluation.train_judge --dataset=digits
  python -m evaluation.train_judge --dataset=mnist --manual_dir=../shared/data/mnist
  python -m evaluation.train_judge --dataset=fashion_mnist --manual_dir=../shared/data/fashion_mnist

Writes evaluation/judges/<dataset>.weights.h5 and <dataset>.json (see evaluation/judge.py for the splits and
the record). Bad input ends in one `error: ...` line on stderr: exit 2 for usage errors (unknown flag or dataset,
unreadable data), 1 otherwise.
"""

import os

from absl import flags

from common import cli
from evaluation import judge

FLAGS = flags.FLAGS
_RECIPE_FLAGS = ('dataset', 'manual_dir', 'epochs', 'seed')  # data_dir and judges_dir are local paths, no recipe


def _define_flags():
  # Called only when this file runs as a program: importing the module (a test) must not register a second
  # --dataset next to training.main's or evaluation.evaluate's.
  flags.DEFINE_string('dataset', None, f'Dataset whose judge to train: {", ".join(judge.JUDGES)}.')
  flags.DEFINE_string('data_dir', None, 'TFDS data directory (default: ~/tensorflow_datasets).')
  flags.DEFINE_string('manual_dir', None, 'Directory with the original archives of a TFDS dataset, read offline.')
  flags.DEFINE_integer('epochs', None, 'Training epochs (default: the dataset\'s entry in evaluation.judge.JUDGES).',
                       lower_bound=1)
  flags.DEFINE_integer('seed', 0, 'Seed of weights, shuffling and augmentation.')
  flags.DEFINE_string('judges_dir', judge.JUDGES_DIR, 'Where to write <dataset>.weights.h5 and <dataset>.json.')


def recipe(values: dict) -> str:
  """The command line that reproduces a judge, from the flags given: {'dataset': 'mnist', ...} -> 'python -m
  evaluation.train_judge --dataset=mnist ...', values as typed (manual_dir stays relative)."""
  return ' '.join([judge.TRAIN_COMMAND] + [f'--{name}={values[name]}' for name in _RECIPE_FLAGS if name in values])


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  if not FLAGS.dataset:
    raise cli.UsageError(f'--dataset is required ({", ".join(judge.JUDGES)})')
  judge.judge_spec(FLAGS.dataset)  # before TensorFlow loads: a typo costs no start-up
  from data import datasets
  command = recipe({name: FLAGS[name].value for name in _RECIPE_FLAGS if FLAGS[name].present})
  try:
    judge.train_judge(FLAGS.dataset, FLAGS.data_dir, FLAGS.manual_dir, FLAGS.epochs, FLAGS.seed,
                      FLAGS.judges_dir, command)
  except datasets.DatasetError as e:  # unreadable data; its module imports TensorFlow, hence caught here
    raise cli.UsageError(str(e)) from None
  return 0


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # entry point only: TF's C++ start-up chatter
  _define_flags()
  cli.run(main, errors={judge.JudgeError: 2, OSError: 1})  # OSError: judges_dir not writable, disk full
