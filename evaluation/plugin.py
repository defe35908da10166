"""The trainer's evaluator (training.evaluator.Evaluator): the judge's scores on fixed latents every --eval_every
steps, and the best generator by FCD kept in <run_dir>/best/.

`training/main.py` builds it before the run directory exists, so that a dataset without a judge, or too few
--eval_samples for FCD's covariance, fails at once (exit code 2): the judge is loaded then, once. The data set is
resolved at the first call (evaluation.references.resolve: the judge's outputs on the real splits, the floor) and
kept for every call after it, so workers that never evaluate never pay for it, and a benchmark that scores many
runs with one evaluator pays once.
"""

import json
import os
from typing import Optional

import numpy as np

from common.artifacts import BEST_DIR
from common.labels import class_weights
from common.signature import label_classes_of
from evaluation import metrics
from evaluation.images import EvaluationError, to_judge_input
from common.artifacts import SAMPLE_SEED

BEST_SCORES_FILE = 'scores.json'


class JudgeEvaluator:
  """Scores a generator on latents rows 0..N-1 of SAMPLE_SEED (those of `python -m evaluation.evaluate`, so
  best/scores.json is what the CLI prints for <run_dir>/best at the same --num_samples), and keeps the best."""

  console = ('fcd', 'recall', 'agreement')  # the trainer's line per score (training/console.py): FCD first

  def __init__(self, dataset: str, run_dir: Optional[str], num_samples: int = 1000, data_dir=None, manual_dir=None,
               judges_dir=None, copy_check: bool = True, seed: int = SAMPLE_SEED, alpha_background=None):
    """run_dir: where best/ goes (None: keep no best, e.g. for a benchmark that only scores). Raises JudgeError
    (no judge for `dataset`, or one of a folder decoded over another alpha_background than the run's) or
    EvaluationError (too few samples), both one line."""
    from evaluation.folder_judge import check_background
    from evaluation.judge import load_judge
    judge = load_judge(dataset, judges_dir)
    check_background(judge, alpha_background, 'this run')
    need = metrics.min_samples_for_covariance(judge.feature_dim)
    if num_samples < need:
      raise EvaluationError(f'{num_samples} samples per evaluation are too few: FCD on the {judge.feature_dim}-'
                            f'dimensional judge features needs at least {need}')
    self.dataset, self.run_dir, self.num_samples, self.seed = dataset, run_dir, num_samples, seed
    self._paths = (data_dir, manual_dir)
    self._copy_check = copy_check
    self._judge = judge
    self._resolved = None  # evaluation.references.Reference, resolved at the first call and kept
    self._latents: Optional[np.ndarray] = None  # (N, latent_dim), drawn at the first call of each latent size

  def _reference(self):
    if self._resolved is None:  # the first call pays, once
      from evaluation import references
      data_dir, manual_dir = self._paths
      self._resolved = references.resolve(self.dataset, self.num_samples, judge=self._judge, data_dir=data_dir,
                                          manual_dir=manual_dir, copy_check=self._copy_check)
    return self._resolved

  @property
  def floor(self) -> dict:
    return dict(self._reference().floor)

  @property
  def num_classes(self) -> int:
    """The judge's class count (the benchmarks' tables): no second look-up of the judge."""
    return self._judge.num_classes

  def __call__(self, generator, step: int, metadata: dict) -> dict:
    from common.latents import latents
    ref = self._reference()
    if self._latents is None or self._latents.shape[1] != metadata['latent_dim']:  # a benchmark scores runs of
      self._latents = latents(self.seed, ref.num_samples, metadata['latent_dim'])  # several latent sizes in turn
    classes = len(label_classes_of(metadata))  # a benchmark's metadata holds latent_dim and label_classes only
    asked = None
    if classes:  # a conditional generator: sample i asked for the class of floor image i (the data's histogram)
      asked = ref.sample_classes(len(self._latents))

    def batch(i):
      z = self._latents[i:i + 250]
      return generator(z if not classes else [z, class_weights(asked[i:i + 250], classes)], training=False).numpy()

    samples = np.concatenate([batch(i) for i in range(0, len(self._latents), 250)])  # (N, H, W, C) in [-1, 1]
    features, probs = self._judge.predict(to_judge_input(samples, self._judge.image_size, self._judge.channels))
    scores = ref.scores(features, probs)
    if classes:  # how often the judge reads a sample as the class it was asked for (chance: 1/K)
      scores['agreement'] = float(np.mean(probs.argmax(axis=1) == asked))
    if self.run_dir:
      save_if_best(self.run_dir, step, scores, ref.num_samples, generator, metadata)
    return scores

  def rewind(self, step: int) -> str:
    return rewind_best(self.run_dir, step) if self.run_dir else ''


def rewind_best(run_dir: str, step: int) -> str:
  """Moves <run_dir>/best/ aside (to best.discarded-step<K>/, nothing deleted) when its generator comes from a
  step after `step`, which a resumed run has thrown away: it would otherwise outrank what the run trains again
  from the same point. Returns a line for the log, or ''."""
  best_dir = os.path.join(run_dir, BEST_DIR)
  try:
    with open(os.path.join(best_dir, BEST_SCORES_FILE)) as f:
      kept_step = int(json.load(f)['step'])
  except (OSError, ValueError, KeyError):
    return ''
  if kept_step <= step:
    return ''
  aside = f'{best_dir}.discarded-step{kept_step}'
  suffix = 1
  while os.path.exists(aside):
    aside, suffix = f'{best_dir}.discarded-step{kept_step}-{suffix}', suffix + 1
  os.rename(best_dir, aside)
  return f'best/ held step {kept_step}, after the resumed step {step}: moved to {os.path.basename(aside)}/'


def save_if_best(run_dir: str, step: int, scores: dict, num_samples: int, generator, metadata: dict) -> bool:
  """Keeps the generator with the lowest FCD so far in <run_dir>/best/ (a run directory of its own: evaluate and
  export read it with --run_dir=<run_dir>/best). Returns whether this one was kept."""
  from training import generator_io
  best_dir = os.path.join(run_dir, BEST_DIR)
  scores_path = os.path.join(best_dir, BEST_SCORES_FILE)
  if os.path.isfile(scores_path):
    with open(scores_path) as f:
      best = json.load(f)
    # FCD is biased by N: a best kept at another sample count (a resumed run with new --eval_samples) is not
    # comparable, and gives way.
    if best.get('num_samples') == num_samples and best['fcd'] <= scores['fcd']:
      return False
  generator_io.save(generator, metadata, best_dir)
  with open(scores_path + '.tmp', 'w') as f:
    f.write(json.dumps({'step': int(step), 'num_samples': int(num_samples), **scores}, indent=2) + '\n')
  os.replace(scores_path + '.tmp', scores_path)  # after the weights: scores never describe weights not there
  return True
