"""The WGAN-GP paper's language-model metric: Jensen-Shannon divergence between character n-gram distributions.

As igul222/improved_wgan_training's language_helpers.NgramLanguageModel.js_with computes it: the n-grams of each
set of lines (within lines, never across), counted; p and q their relative frequencies; m = (p + q) / 2 over the
union of n-grams, and
  JSD(p, q) = ½ Σ_x p(x) log(p(x)/m(x)) + ½ Σ_x q(x) log(q(x)/m(x)),   in bits (divided by ln 2): 0 for equal
distributions, 1 for disjoint ones.
The value depends strongly on the number of lines (a sample of N lines misses rare n-grams), so it is reported
beside the baseline: N real held-out lines against the same reference (the paper: N = 640, n = 1..4).
"""

import collections

import numpy as np

NGRAM_ORDERS = (1, 2, 3, 4)
DEFAULT_LINES = 640  # the original's 10 batches of 64


def ngram_counts(lines, n: int) -> collections.Counter:
  """Counts of the character n-grams inside each line."""
  counts = collections.Counter()
  for line in lines:
    counts.update(line[i:i + n] for i in range(len(line) - n + 1))
  return counts


def jsd_bits(p_counts: collections.Counter, q_counts: collections.Counter) -> float:
  """JSD between two count tables, in bits; 1 when either is empty (nothing in common)."""
  p_total, q_total = sum(p_counts.values()), sum(q_counts.values())
  if not p_total or not q_total:
    return 1.0
  keys = list(set(p_counts) | set(q_counts))
  p = np.array([p_counts.get(k, 0) for k in keys], np.float64) / p_total
  q = np.array([q_counts.get(k, 0) for k in keys], np.float64) / q_total
  m = (p + q) / 2
  with np.errstate(divide='ignore', invalid='ignore'):
    kl_pm = np.where(p > 0, p * np.log(p / m), 0.0).sum()
    kl_qm = np.where(q > 0, q * np.log(q / m), 0.0).sum()
  return float(0.5 * (kl_pm + kl_qm) / np.log(2))


def ngram_jsd(lines, reference_lines, orders=NGRAM_ORDERS) -> dict:
  """{'jsd1': ..., 'jsd4': ...}: the JSD of `lines` against `reference_lines` for each n-gram order."""
  return {f'jsd{n}': jsd_bits(ngram_counts(lines, n), ngram_counts(reference_lines, n)) for n in orders}
