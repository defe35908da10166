"""Exact sample-quality metrics for the 2-D toy distributions (data/toy_data.py): pure NumPy/SciPy.

On a Gaussian mixture with known centres c_k and per-coordinate standard deviation σ the usual mode-collapse
measures (VEEGAN, Srivastava et al. 2017, Sec. 5.1; PacGAN, Lin et al. 2018) need no judge network:

  modes_covered          modes k with at least `min_fraction` of the samples within 3σ of c_k
  high_quality_fraction  fraction of samples within 3σ of some c_k
  emd                    exact Earth-Mover (Wasserstein-1) distance between two equal-size point sets
  toy_scores             all that applies to a ToySpec, each beside the same metric for a second real set

"Within 3σ" is Euclidean: ‖x − c_k‖ ≤ 3σ. For a 2-D isotropic Gaussian ‖x − c‖/σ is Rayleigh-distributed, so a
perfect sampler puts P(‖x − c‖ ≤ 3σ) = 1 − exp(−9/2) ≈ 98.89% of its points there, not 100%: that is why every
number is printed beside its real-vs-real baseline. On the toy mixtures neighbouring modes are at least 40σ apart, so the 3σ discs
never overlap and a point is within 3σ of at most one centre.
"""

from typing import Optional

import numpy as np
import scipy.optimize
import scipy.spatial.distance

from evaluation.metrics import MetricsError

RADIUS_IN_STD = 3.0
# The assignment is O(n³) in time and its (n, n) float64 cost matrix O(n²) in memory (5000 points: 200 MB, a few
# seconds): a cap keeps a careless call from hanging the machine.
MAX_EMD_POINTS = 5000
# For a perfect sampler: the probability mass of a 2-D isotropic Gaussian within 3σ of its mean.
HIGH_QUALITY_EXPECTED = 1.0 - np.exp(-RADIUS_IN_STD**2 / 2.0)


def _points(points, name: str, dim: Optional[int] = None) -> np.ndarray:
  points = np.asarray(points, np.float64)
  if points.ndim != 2 or not len(points):
    raise MetricsError(f'{name}: expected points of shape (N, D) with N >= 1, got {points.shape}')
  if dim is not None and points.shape[1] != dim:
    raise MetricsError(f'{name}: points have {points.shape[1]} coordinates, the centres {dim}')
  if not np.all(np.isfinite(points)):
    raise MetricsError(f'{name}: points hold NaN or infinite values')
  return points


def _within(points, centres, std: float) -> np.ndarray:
  """(N, K) bool: point i lies within RADIUS_IN_STD·σ (Euclidean) of centre k."""
  centres = _points(centres, 'centres')
  points = _points(points, 'points', dim=centres.shape[1])
  if not np.isfinite(std) or std <= 0:
    raise MetricsError(f'std must be a positive number, got {std!r}')
  distances = scipy.spatial.distance.cdist(points, centres)  # (N, K) Euclidean
  return distances <= RADIUS_IN_STD * std


def mode_fractions(points, centres, std: float) -> np.ndarray:
  """(K,) fraction of the N points within 3σ of each centre: f_k = #{i : ‖x_i − c_k‖ ≤ 3σ} / N."""
  return _within(points, centres, std).mean(axis=0)


def modes_covered(points, centres, std: float, min_fraction: float = 0.01) -> int:
  """Number of modes the points cover: #{k : f_k ≥ min_fraction}, with f_k as in mode_fractions.

  points: (N, 2) samples; centres: (K, 2) mode centres; std: per-coordinate σ of every mode (the ToySpec's,
  after the dataset's division). A mode counts when at least min_fraction (default 1%) of ALL samples fall within
  3σ of its centre, so a generator cannot cover a mode with one stray point out of thousands.
  """
  if not 0.0 < min_fraction <= 1.0:
    raise MetricsError(f'min_fraction must lie in (0, 1], got {min_fraction!r}')
  return int(np.sum(mode_fractions(points, centres, std) >= min_fraction))


def high_quality_fraction(points, centres, std: float) -> float:
  """Fraction of points within 3σ of some centre: #{i : min_k ‖x_i − c_k‖ ≤ 3σ} / N, in [0, 1].

  A perfect sampler scores HIGH_QUALITY_EXPECTED = 1 − exp(−9/2) ≈ 0.9889 (see the module docstring).
  """
  return float(_within(points, centres, std).any(axis=1).mean())


def emd(a, b) -> float:
  """Exact Earth-Mover distance between two equal-size point sets, in the points' units:

    EMD(a, b) = min over permutations π of (1/n) Σ_i ‖a_i − b_π(i)‖₂

  the Wasserstein-1 distance between the two empirical distributions (each point of mass 1/n); for equal
  sizes and uniform weights an optimal transport plan is a permutation (Birkhoff-von Neumann), found here
  exactly by scipy.optimize.linear_sum_assignment on the (n, n) Euclidean cost matrix. EMD(a, a) = 0, and it
  is invariant to the order of either set.

  a, b: (n, D) arrays with the same n ≤ MAX_EMD_POINTS; MetricsError (a ValueError) otherwise, before any
  cost matrix is built. Like every finite-sample distance it is biased upwards: two independent samples of one
  distribution are > 0 apart, so compare with emd(real_1, real_2) at the same n (toy_scores does).
  """
  a = _points(a, 'emd: first set')
  b = _points(b, 'emd: second set', dim=a.shape[1])
  if len(a) != len(b):
    raise MetricsError(f'emd needs two sets of equal size, got {len(a)} and {len(b)} points')
  if len(a) > MAX_EMD_POINTS:
    raise MetricsError(f'emd: {len(a)} points is more than {MAX_EMD_POINTS}; the exact assignment is O(n^3) '
                       f'in time and O(n^2) in memory, so score a subset')
  cost = scipy.spatial.distance.cdist(a, b)  # (n, n) Euclidean
  rows, cols = scipy.optimize.linear_sum_assignment(cost)
  return float(cost[rows, cols].mean())


def toy_scores(points, spec, rng: np.random.Generator, n: Optional[int] = None) -> dict:
  """Every metric that applies to the toy dataset `spec`, each beside its real-vs-real baseline.

  points: (N, 2) generated points; spec: a data.toy_data.ToySpec; rng seeds the two real sets;
  n: how many points to score (default all N; the first n otherwise: generated points are i.i.d., so any n of
  them are a fair sample). Two independent real sets real_1, real_2 of n points are drawn from spec.sample;
  real_2 stands in for a perfect generator, so each `<metric>_real` is what the metric reads at this n when
  nothing is wrong:

    emd         = EMD(points, real_1)      emd_real = EMD(real_2, real_1)          (n ≤ MAX_EMD_POINTS)
    modes       = modes_covered(points)    modes_real = modes_covered(real_2)      of num_modes
    hq          = high_quality_fraction(points)      hq_real = high_quality_fraction(real_2)

  For a dataset without modes (the Swiss roll) only n, emd and emd_real are returned.
  """
  points = _points(points, 'generated points')
  n = len(points) if n is None else n
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(points):
    raise MetricsError(f'n must be an integer in [1, {len(points)}] (the number of generated points), got {n!r}')
  n = int(n)
  if n > MAX_EMD_POINTS:
    raise MetricsError(f'toy scores: EMD takes at most {MAX_EMD_POINTS} points, got {n}; pass n <= {MAX_EMD_POINTS}')
  points = points[:n]
  real_1 = spec.sample(rng, n)
  real_2 = spec.sample(rng, n)
  scores = {'n': n, 'emd': emd(points, real_1), 'emd_real': emd(real_2, real_1)}
  if spec.centres is not None:
    scores.update(
        num_modes=len(spec.centres),
        modes=modes_covered(points, spec.centres, spec.std),
        modes_real=modes_covered(real_2, spec.centres, spec.std),
        hq=high_quality_fraction(points, spec.centres, spec.std),
        hq_real=high_quality_fraction(real_2, spec.centres, spec.std))
  return scores
