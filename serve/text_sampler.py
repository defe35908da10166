"""Lines of text from a text generator's per-position probabilities: argmax, or sampling at a temperature.

Sampling draws from softmax(log p / T) at every position with the uniforms of `common.latents.uniforms` for
(seed, line, position), by inverse CDF: line i of a seed depends only on (model, seed, i, T), like image i of a
seed in the Sample tab. T = 0 is the argmax (the model's `ids` output, what evaluation scores); T = 1 samples
the model's own distribution; higher T flattens it.
"""

import numpy as np

from common import latents as common_latents
from serve.sampler import as_int  # the app's one integer check (rejects floats with a fraction, bools, text)

MAX_TEMPERATURE = 5.0
MAX_LINES = 64


def validate_temperature(value) -> float:
  try:
    if isinstance(value, bool):
      raise TypeError
    t = float(value)
  except (TypeError, ValueError):
    raise ValueError(f'temperature must be a number from 0 to {MAX_TEMPERATURE:g}, got {value!r}') from None
  if not 0 <= t <= MAX_TEMPERATURE:
    raise ValueError(f'temperature must be a number from 0 to {MAX_TEMPERATURE:g}, got {value!r}')
  return t


def validate_lines(value) -> int:
  return as_int(value, 'count (number of lines)', 1, MAX_LINES)


def sample_ids(probs: np.ndarray, seed: int, temperature: float) -> np.ndarray:
  """probs (N, L, V) -> ids (N, L) int64: the argmax at T = 0, else one draw from softmax(log p / T) per position."""
  if temperature == 0:
    return probs.argmax(axis=-1)
  n, length, vocab = probs.shape
  logits = np.log(np.maximum(probs.astype(np.float64), 1e-30)) / temperature
  weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
  cdf = np.cumsum(weights, axis=-1)
  u = common_latents.uniforms(seed, n, length).reshape(n, length, 1) * cdf[..., -1:]  # (N, L, 1)
  return np.minimum((cdf < u).sum(axis=-1), vocab - 1)

