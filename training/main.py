r"""Trains a GAN generator: `python -m training.main --loss=wgan_gp`.

Examples:
  python -m training.main --loss=wgan_gp                                    # embedded digits dataset
  python -m training.main --flagfile=training/presets/digits.flags          # the demo recipe
  python -m training.main --loss=wgan --dataset=fashion_mnist --manual_dir=../shared/data/fashion_mnist
  python -m training.main --loss=lsgan --dataset=folder:~/food-101/images/spaghetti_bolognese
  python -m training.main --run_dir=runs/wgan_gp-digits-20261123-101500 --resume            # after a preemption
  python -m training.main --run_dir=runs/wgan_gp-digits-20261123-101500 --resume --steps=4000

Every setting is a field of training/config.py's TrainConfig; the flags below are generated from those fields
(help, range, choices), so a setting is written in one place. The flags given go down training/launch.py's one
launch path (the data kind's defaults, absolute paths, resolve, train), the benchmarks' too; this file adds the
evaluation stage's evaluator, the one place that wires training and evaluation together.
"""

import functools
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # entry point only: TF's C++ start-up chatter
from data import quiet_start  # noqa: E402
quiet_start.load_tensorflow()  # entry point only, before training.config imports TensorFlow

from absl import flags, logging

from common import cli
from training import config as config_lib, launch
from training.config import ConfigError, TrainConfig

FLAGS = flags.FLAGS
_DEFINE = {int: flags.DEFINE_integer, float: flags.DEFINE_float, bool: flags.DEFINE_bool, str: flags.DEFINE_string}


def define_flags() -> None:
  """One absl flag per TrainConfig setting, with the field's default, help, range and choices."""
  for field in config_lib.fields():
    kind, m = config_lib.field_type(field), field.metadata
    extra = [text for text in (config_lib.range_text(field), 'may change on --resume' if m['resumable'] else '')
             if text]
    help_text = m['help'] + (f' [{"; ".join(extra)}]' if extra else '')
    choices = config_lib.choices_of(field)
    if choices:
      flags.DEFINE_enum(field.name, field.default, choices, help_text)
    elif kind is tuple:
      flags.DEFINE_list(field.name, [f'{v:g}' for v in field.default], help_text)
    else:
      _DEFINE[kind](field.name, field.default, help_text)
  flags.DEFINE_bool('resume', False, 'Continue the run in --run_dir from its latest complete checkpoint, with the '
                    "settings of its config.json (those marked 'may change on --resume' can be given again).")


def _given_settings(only_present: bool) -> dict:
  """{name: value} of the settings on the command line (or all of them), as TrainConfig values."""
  values = {}
  for field in config_lib.fields():
    if only_present and not FLAGS[field.name].present:
      continue
    value = FLAGS[field.name].value
    if config_lib.field_type(field) is tuple:
      try:
        value = tuple(float(v) for v in value)
      except ValueError:
        raise cli.UsageError(f'--{field.name} takes numbers separated by commas, got {",".join(value)}') from None
    values[field.name] = value
  return values


def _make_evaluator(config: TrainConfig):
  """The evaluator for --eval_every, from the evaluation stage's table of kinds (evaluation/kinds.py): this file
  is the one place that wires training and evaluation together. Built before the run directory exists: a data
  set without a judge, or an unusable --eval_samples, is a usage error before any training."""
  from evaluation import kinds as evaluation_kinds
  try:
    return evaluation_kinds.make_evaluator(config)
  except evaluation_kinds.evaluator_errors() as e:
    raise ConfigError(f'--eval_every: {e}') from None


def main(argv):
  del argv  # stray arguments are refused by cli.run
  logging.set_verbosity(logging.WARNING)  # TF's Python INFO lines (checkpoint sharding, ...) drown the progress
  launch.launch(_given_settings(only_present=True), resume=FLAGS.resume, evaluator_factory=_make_evaluator,
                log=functools.partial(print, flush=True))
  return 0


def _errors() -> dict:
  """The one-line errors of this command and their exit codes (usage and data errors 2, the rest 1)."""
  from common.artifacts import RunDirError
  from data import datasets
  from training import strategies, trainer
  return {ConfigError: 2, strategies.StrategyError: 2, datasets.DatasetError: 2, RunDirError: 1,
          trainer.TrainingError: 1}


if __name__ == '__main__':
  define_flags()
  cli.run(main, errors=_errors())
