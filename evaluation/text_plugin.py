"""The trainer's evaluator for text (training.evaluator.Evaluator): the n-gram JSD (evaluation/text_metrics.py) of N
argmax-decoded generated lines against the held-out reference, beside the baseline of N real held-out lines."""

from typing import Optional

import numpy as np

from evaluation import text_metrics
from common.artifacts import SAMPLE_SEED


class TextReferenceError(ValueError):
  """Not enough held-out text for N baseline lines and a reference: one line for the user."""


def reference_split(heldout, num_lines: int) -> tuple:
  """(baseline, reference): the first N held-out lines, and the rest (disjoint). TextReferenceError when fewer
  than N lines would remain for the reference."""
  if len(heldout) < 2 * num_lines:
    raise TextReferenceError(f'{num_lines} lines per evaluation need {2 * num_lines} held-out lines (N for the '
                             f'real baseline, at least N for the reference); the file holds {len(heldout)}: pass '
                             f'--eval_samples <= {len(heldout) // 2}')
  return tuple(heldout[:num_lines]), tuple(heldout[num_lines:])


def decode_samples(generator, corpus, num_lines: int, latent_dim: int, seed: int = SAMPLE_SEED) -> list:
  """N lines: argmax of the generator's probabilities for latents rows 0..N-1 of `seed`."""
  from common.latents import latents
  z = latents(seed, num_lines, latent_dim)
  probs = np.concatenate([np.asarray(generator(z[i:i + 256], training=False)) for i in range(0, num_lines, 256)])
  return corpus.decode(probs.argmax(axis=-1))


class TextEvaluator:
  console = ('jsd4', 'jsd1')  # the trainer's line per score (training/console.py): 4-gram JSD first

  def __init__(self, dataset: str, config, num_lines: int = text_metrics.DEFAULT_LINES):
    """Raises TextReferenceError / DatasetError (one line) before any training."""
    from data.text_data import corpus_of
    self.corpus = corpus_of(dataset, config.seq_len, config.max_vocab, config.text_unit)
    self.num_lines = num_lines
    self.baseline, self.reference = reference_split(self.corpus.heldout, num_lines)
    self._floor: Optional[dict] = None

  def __call__(self, generator, step: int, metadata: dict) -> dict:
    del step
    lines = decode_samples(generator, self.corpus, self.num_lines, metadata['latent_dim'])
    return text_metrics.ngram_jsd(lines, self.reference)

  def rewind(self, step: int) -> str:
    del step  # keeps nothing from the steps it scored
    return ''

  @property
  def floor(self) -> dict:
    if self._floor is None:
      self._floor = text_metrics.ngram_jsd(self.baseline, self.reference)
    return dict(self._floor)
