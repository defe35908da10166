"""The trainer's evaluator for the 2-D toy distributions (training.evaluator.Evaluator): modes covered, the
fraction of high-quality samples and the exact Earth-Mover distance (evaluation/toy_metrics.py) of N generated
points every --eval_every steps, each beside the same metric for two independent real sets of N (the floor)."""

from typing import Optional

import numpy as np

from evaluation import toy_metrics
from common.artifacts import SAMPLE_SEED

MAX_POINTS = toy_metrics.MAX_EMD_POINTS  # the exact assignment is O(n³)


class ToyEvaluator:
  """Scores the points of latents rows 0..N-1 of SAMPLE_SEED; the real sets are fixed for the run (seeded), so
  scores of different steps compare on the same reference."""

  console = ('emd', 'modes', 'hq')  # the trainer's line per score (training/console.py): EMD first

  def __init__(self, dataset: str, num_samples: int = 1000, seed: int = SAMPLE_SEED):
    """Raises EvaluationError for N outside 2..MAX_POINTS (one line)."""
    from evaluation.images import EvaluationError
    from data.toy_data import spec_of
    if not 2 <= num_samples <= MAX_POINTS:
      raise EvaluationError(f'{num_samples} points per evaluation: the exact Earth-Mover distance takes 2 to '
                            f'{MAX_POINTS} (its assignment costs n³)')
    self.spec, self.num_samples, self.seed = spec_of(dataset), num_samples, seed
    self._floor: dict = {}
    self._latents: Optional[np.ndarray] = None

  def __call__(self, generator, step: int, metadata: dict) -> dict:
    from common.latents import latents
    if self._latents is None:
      self._latents = latents(self.seed, self.num_samples, metadata['latent_dim'])
    points = np.asarray(generator(self._latents, training=False))  # (N, 2)
    scores = toy_metrics.toy_scores(points, self.spec, np.random.default_rng(self.seed))
    self._floor = {k: scores[f'{k}_real'] for k in ('emd', 'modes', 'hq') if f'{k}_real' in scores}
    return {k: float(v) for k, v in scores.items() if not k.endswith('_real') and k != 'n'}

  def rewind(self, step: int) -> str:
    del step  # keeps nothing from the steps it scored
    return ''

  @property
  def floor(self) -> dict:
    return dict(self._floor)
