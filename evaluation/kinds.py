"""What evaluation does per data kind (common/kinds.py): one record each, the only place evaluation branches on
the kind.

  evaluator(config)    the trainer's --eval_every evaluator (training/evaluator.py's protocol), built before the
                       run starts so that a data set without a judge fails at once: images are scored by the
                       data set's judge (evaluation/plugin.py), points by the exact toy metrics
                       (evaluation/toy_plugin.py), text by the n-gram JSD (evaluation/text_plugin.py)
  evaluate(flag, path, options)
                       `python -m evaluation.evaluate` on a run directory, ONNX model or SavedModel: returns
                       (result dict, the table to print); None where this kind is scored elsewhere, `refusal` says
                       where

config: a training.config.TrainConfig (read by attribute: dataset, run_dir, eval_samples, data_dir, manual_dir,
judges_dir and the text settings). options: the evaluate command's settings (evaluation/evaluate.py).
"""

import dataclasses
from typing import Callable, Optional

from common import kinds


@dataclasses.dataclass(frozen=True)
class EvaluationKind:
  name: str
  evaluator: Callable
  evaluate: Optional[Callable] = None
  refusal: str = ''


def _judge_evaluator(config):
  from evaluation import plugin
  return plugin.JudgeEvaluator(config.dataset, config.run_dir, config.eval_samples, config.data_dir,
                               config.manual_dir, config.judges_dir, alpha_background=config.alpha_background)


def _toy_evaluator(config):
  from evaluation import toy_plugin
  return toy_plugin.ToyEvaluator(config.dataset, config.eval_samples)


def _text_evaluator(config):
  from evaluation import text_plugin
  return text_plugin.TextEvaluator(config.dataset, config, config.eval_samples)


def _evaluate_images(flag: str, path: str, options):
  from evaluation import image_evaluate, scores, sources
  if options.dataset:  # a data set without a judge fails before the model loads
    from evaluation.judge import check_dataset
    check_dataset(options.dataset, options.judges_dir)
  source = sources.SOURCES[flag](path)
  result = image_evaluate.evaluate_source(source, options.dataset, options.num_samples, options.seed,
                                          options.data_dir, options.manual_dir, options.judges_dir,
                                          options.copy_check, options.fid)
  table = scores.format_table(result)
  if 'per_class' in result:
    from evaluation import per_class
    table += '\n' + per_class.format_per_class(result['per_class'])
  from evaluation import reading  # under every table: it reads them all
  result['reading'] = reading.read(result)  # --json keeps the sentences too
  paragraph = reading.format_reading(result)
  return result, table + ('\n' + paragraph if paragraph else '')


def _evaluate_text(flag: str, path: str, options):
  from evaluation import text_evaluate
  result = text_evaluate.evaluate_text(flag, path, options.num_samples or 640, options.seed)
  return result, text_evaluate.format_text_table(result)


KINDS = {kind.name: kind for kind in (
    EvaluationKind(kinds.IMAGE, _judge_evaluator, _evaluate_images),
    EvaluationKind(kinds.POINTS, _toy_evaluator,
                   refusal='toy 2-D generators are scored exactly during training (--eval_every) and by python -m '
                           'benchmarks.toy_compare, not by a judge'),
    EvaluationKind(kinds.TEXT, _text_evaluator, _evaluate_text),
)}


def evaluator_errors() -> tuple:
  """The one-line errors building an evaluator raises for unusable settings (a data set without a judge, too few
  samples, a text file without a held-out part): the trainer reports them as usage errors."""
  from evaluation.images import EvaluationError
  from evaluation.judge import JudgeError
  from evaluation.text_plugin import TextReferenceError
  return JudgeError, EvaluationError, TextReferenceError


def of_source(flag: str, path: str) -> EvaluationKind:
  """The record for what --run_dir / --model / --saved_model names, read without TensorFlow; EvaluationError for a
  kind this version does not score offline."""
  from evaluation import sources
  from evaluation.images import EvaluationError
  name = sources.kind_of(flag, path)
  if name not in KINDS:
    raise EvaluationError(f'{path} holds a generator of kind {name!r}; this version evaluates '
                          f'{", ".join(KINDS)}')
  if KINDS[name].evaluate is None:
    raise EvaluationError(KINDS[name].refusal)
  return KINDS[name]


def make_evaluator(config):
  """The --eval_every evaluator for the config's data set; raises one of `evaluator_errors()`."""
  return KINDS[kinds.of_dataset(config.dataset)].evaluator(config)
