"""One launch path (STYLE 30): every command that trains, training/main.py and the benchmarks alike, goes

  settings -> the data kind's defaults -> absolute paths -> resolve -> train

through `launch`, so that none silently skips a step (a benchmark that resolved its own TrainConfig would train a
toy data set with image settings). `prepare_config` is the same path up to resolve, for a caller that wants the
config of a run without training it (a benchmark checking every cell before the first one trains).

Settings are {name: TrainConfig value}, those given only: a setting left out takes its data kind's default
(training/data_kinds.py `defaults`), else the loss family's (resolve), else its field's. Training and evaluation
meet here only through `evaluator_factory`, which the caller passes (training imports nothing from evaluation/).
"""

import dataclasses

from common import kinds
from training import data_kinds, run_dir as rundir
from training.config import ConfigError, TrainConfig, resolve, resume_changes


def with_kind_defaults(given: dict) -> tuple:
  """(TrainConfig, {setting: value} taken from the kind): the settings given (a flagfile's included) over the data
  kind's defaults over the fields' defaults. The loss family's fill in later (resolve)."""
  dataset = given.get('dataset', TrainConfig.dataset)
  loss = given.get('loss', TrainConfig.loss)
  taken = {name: value for name, value in data_kinds.kind_of(dataset).defaults_for(loss).items()
           if name not in given}
  return TrainConfig(**{**taken, **given}), taken


def _flag_text(value) -> str:
  return ','.join(f'{v:g}' for v in value) if isinstance(value, tuple) else f'{value:g}' if isinstance(
      value, float) else str(value)


def prepare_config(settings: dict, *, log=print) -> TrainConfig:
  """The resolved config of a new run: the kind's defaults for the settings not given (`log` gets the start-up line
  naming them), a default run directory (runs/<loss>-<dataset>-<time>), a folder's or text file's path made
  absolute (what config.json records, so that resuming and evaluating work from any directory). Raises
  ConfigError."""
  dataset = settings.get('dataset', TrainConfig.dataset)
  if kinds.missing_path(dataset):
    raise ConfigError(kinds.missing_path(dataset))
  config, taken = with_kind_defaults(settings)
  if taken:  # which values came from the data kind (settings given always win)
    log(f'{config.dataset} brings its kind\'s defaults for the flags not given: '
        f'{" ".join(f"--{name}={_flag_text(value)}" for name, value in taken.items())}')
  if not config.run_dir:
    config = dataclasses.replace(config, run_dir=rundir.default_name(config.loss, config.dataset))
  return resolve(dataclasses.replace(config, dataset=kinds.with_absolute_path(config.dataset)))


def resumed_config(settings: dict) -> TrainConfig:
  """The resolved config of the run in settings['run_dir']: its config.json with the changes `settings` make (only
  the resumable settings may differ). Raises ConfigError."""
  run_dir = settings.get('run_dir')
  if not run_dir:
    raise ConfigError('--resume needs --run_dir')
  saved = TrainConfig.from_json(rundir.read_config_text(run_dir))
  changes = resume_changes(saved, {name: value for name, value in settings.items() if name != 'run_dir'})
  return resolve(dataclasses.replace(saved, run_dir=run_dir, **{name: new for name, (_, new) in changes.items()}))


def launch(settings: dict, *, resume: bool = False, evaluator_factory=None, log=print) -> str:
  """Trains a new run from `settings` (or resumes the one in settings['run_dir']); returns its run directory.

  evaluator_factory: config -> the evaluator of --eval_every (training/evaluator.py), built before the run
  directory exists so that an unusable one is a usage error before any training; None: a run without one.
  """
  from training import strategies, trainer
  config = resumed_config(settings) if resume else prepare_config(settings, log=log)
  if config.cpu_replicas:
    strategies.split_cpu(config.cpu_replicas)  # before TensorFlow executes any op
  evaluator = evaluator_factory(config) if evaluator_factory and config.eval_every else None
  return trainer.train(config, resume=resume, log=log, evaluator=evaluator)
