"""Sample-quality metrics on a judge's outputs: pure NumPy/SciPy functions of features and class probabilities.

The judge (training/classifier.py) maps an image to penultimate-layer features (N, D) and class probabilities
(N, K). Everything here takes those arrays, so the same functions score a run directory, an ONNX model or two
splits of the real data (the reference floor printed beside every result).

  frechet_distance   FCD: Fréchet distance of Gaussians fitted to the features (FID's formula)
  kernel_distance    KCD: unbiased squared MMD with a cubic polynomial kernel (KID's estimator)
  classifier_score   the Inception Score's formula on the judge's probabilities
  class_coverage     classes the samples reach, and KL of their class histogram to uniform (mode collapse)
"""

import warnings
from typing import NamedTuple, Optional

import numpy as np
import scipy.linalg
import scipy.special

# sqrtm of a product of two PSD matrices is real in exact arithmetic; rounding leaves imaginary parts of order
# 1e-8 relative to the trace. Larger ones mean the covariances are numerically singular: an error, not a score.
_MAX_IMAGINARY = 1e-3
_SINGULAR_OFFSET = 1e-6  # added to both diagonals when sqrtm of the product is not finite (as pytorch-fid does)


class MetricsError(ValueError):
  """Inputs a metric cannot score (too few samples, wrong shapes); the message is one line for the user."""


def _features(feats, name: str) -> np.ndarray:
  feats = np.asarray(feats, np.float64)
  if feats.ndim != 2 or not feats.size:
    raise MetricsError(f'{name}: expected features of shape (N, D), got {feats.shape}')
  if not np.all(np.isfinite(feats)):
    raise MetricsError(f'{name}: features hold NaN or infinite values')
  return feats


def min_samples_for_covariance(feature_dim: int) -> int:
  """A (D, D) sample covariance has full rank only from D + 1 samples on; fewer make FCD meaningless."""
  return feature_dim + 1


def frechet_distance(feats_a, feats_b) -> float:
  """Fréchet distance between Gaussians fitted to two feature sets (Dowson & Landau 1982; FID, Heusel et al.
  2017, Sec. "Fréchet Inception Distance"):

    d² = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})

  feats_a: (N_a, D), feats_b: (N_b, D) features of the two sets; each needs N ≥ D + 1 samples so that its
  covariance has full rank (MetricsError otherwise). (Σ_a Σ_b)^{1/2} is scipy.linalg.sqrtm's; its imaginary
  part, rounding noise for PSD inputs, is dropped when below 1e-3 on the diagonal and is an error above. The
  estimate is biased upwards at small N (two samples of one distribution give d² > 0): compare numbers taken
  with the same N, such as a result and its train-vs-test floor.
  """
  a, b = _features(feats_a, 'feats_a'), _features(feats_b, 'feats_b')
  if a.shape[1] != b.shape[1]:
    raise MetricsError(f'feature dimensions differ: {a.shape[1]} vs {b.shape[1]}')
  need = min_samples_for_covariance(a.shape[1])
  if min(len(a), len(b)) < need:
    raise MetricsError(f'FCD needs at least {need} samples per set for a {a.shape[1]}-dimensional covariance, '
                       f'got {len(a)} and {len(b)}')
  diff = a.mean(axis=0) - b.mean(axis=0)  # (D,)
  # A feature constant in both sets (a ReLU unit that never fires) adds a zero row and column to both
  # covariances and nothing to the trace terms; leaving it out keeps the product away from exact singularity.
  varying = (a.std(axis=0) > 0) | (b.std(axis=0) > 0)
  if not varying.any():
    return float(diff @ diff)
  a, b = a[:, varying], b[:, varying]
  sigma_a = np.atleast_2d(np.cov(a, rowvar=False))  # (D', D'), unbiased (N - 1)
  sigma_b = np.atleast_2d(np.cov(b, rowvar=False))
  with warnings.catch_warnings():
    # sqrtm warns on near-singular products; the result is checked below (finite, real), which is what matters.
    warnings.simplefilter('ignore', scipy.linalg.LinAlgWarning)
    covmean = scipy.linalg.sqrtm(sigma_a @ sigma_b)
    if not np.all(np.isfinite(covmean)):
      offset = np.eye(len(sigma_a)) * _SINGULAR_OFFSET
      covmean = scipy.linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
  if np.iscomplexobj(covmean):
    if np.abs(np.diagonal(covmean).imag).max() > _MAX_IMAGINARY:
      raise MetricsError('FCD: the covariance product has no real square root (numerically singular features)')
    covmean = covmean.real
  distance = diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * np.trace(covmean)
  return float(max(distance, 0.0))  # rounding can leave -1e-12 for identical sets


class KernelDistance(NamedTuple):
  mean: float  # unbiased squared MMD, averaged over subsets
  std: float  # its spread over the subsets (not a standard error)


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: Optional[float] = None,
                      coef0: float = 1.0) -> np.ndarray:
  """k(x, y) = (γ xᵀy + c)^degree with γ = 1/D by default: (N_x, D), (N_y, D) -> (N_x, N_y)."""
  gamma = 1.0 / x.shape[1] if gamma is None else gamma
  base = x @ y.T
  base *= gamma
  base += coef0
  if float(degree).is_integer() and degree >= 1:
    # In-place products: NumPy's float `**` calls pow() per element, ~15x slower and the bulk of KID's time.
    kernel = base.copy() if degree > 1 else base
    for _ in range(int(degree) - 1):
      kernel *= base
    return kernel
  return base ** degree


def _unbiased_mmd2(sum_xx, trace_xx, sum_yy, trace_yy, sum_xy, m: int):
  """MMD²_u of two size-m sets from their kernel sums; leaving the diagonals k(x_i, x_i) out of the within-set
  means is what makes the estimate unbiased. Works elementwise on arrays of per-subset sums."""
  return (sum_xx - trace_xx + sum_yy - trace_yy) / (m * (m - 1)) - 2.0 * sum_xy / (m * m)


# Up to this many entries per kernel matrix (5,000 samples a side: 200 MB in float64) the three matrices are
# computed once over all samples and each subset's sums read from them with 0/1 indicator vectors, sᵀKs.
# Otherwise each subset builds its own matrices: same draws, same numbers, ~20x slower at 2,000 samples.
_MAX_GRAM_ENTRIES = 25_000_000


def kernel_distance(feats_a, feats_b, degree: int = 3, gamma: Optional[float] = None, coef0: float = 1.0,
                    subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> KernelDistance:
  """Kernel distance: the unbiased squared MMD (Gretton et al. 2012, Lemma 6) with the cubic polynomial kernel
  that the Kernel Inception Distance uses (Bińkowski et al. 2018, "Demystifying MMD GANs"):

    k(x, y) = (xᵀy / D + 1)³
    MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/m² Σ_{i,j} k(x_i, y_j)

  feats_a: (N_a, D), feats_b: (N_b, D). As in the KID reference code, the estimate is averaged over `subsets`
  random subsets of m = min(subset_size, N_a, N_b) samples from each set (drawn with `seed`), which bounds the
  cost for large N. Unlike FCD it is unbiased: its mean is 0 for two samples of one distribution, so small
  negative values occur and are kept.
  """
  a, b = _features(feats_a, 'feats_a'), _features(feats_b, 'feats_b')
  if a.shape[1] != b.shape[1]:
    raise MetricsError(f'feature dimensions differ: {a.shape[1]} vs {b.shape[1]}')
  if min(len(a), len(b)) < 2:
    raise MetricsError(f'KID needs at least 2 samples per set, got {len(a)} and {len(b)}')
  if subsets < 1 or subset_size < 2:
    raise MetricsError(f'KID needs subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}')
  m = min(subset_size, len(a), len(b))
  rng = np.random.default_rng(seed)
  draws = [(rng.choice(len(a), m, replace=False), rng.choice(len(b), m, replace=False)) for _ in range(subsets)]
  kernel = lambda u, v: polynomial_kernel(u, v, degree, gamma, coef0)
  if max(len(a), len(b)) ** 2 <= _MAX_GRAM_ENTRIES:
    select_a, select_b = np.zeros((len(a), subsets)), np.zeros((len(b), subsets))  # column s: subset s's 0/1
    for s, (i, j) in enumerate(draws):
      select_a[i, s], select_b[j, s] = 1.0, 1.0
    k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)  # (N_a, N_a), (N_b, N_b), (N_a, N_b)
    quadratic = lambda left, k, right: np.einsum('is,is->s', left, k @ right)  # (S,): sᵀ K t per subset
    estimates = _unbiased_mmd2(quadratic(select_a, k_aa, select_a), np.diagonal(k_aa) @ select_a,
                               quadratic(select_b, k_bb, select_b), np.diagonal(k_bb) @ select_b,
                               quadratic(select_a, k_ab, select_b), m)
  else:
    estimates = []
    for i, j in draws:
      k_xx, k_yy = kernel(a[i], a[i]), kernel(b[j], b[j])  # (m, m)
      estimates.append(_unbiased_mmd2(k_xx.sum(), np.trace(k_xx), k_yy.sum(), np.trace(k_yy),
                                      kernel(a[i], b[j]).sum(), m))
  return KernelDistance(float(np.mean(estimates)), float(np.std(estimates)))


def _probabilities(probs, num_classes: Optional[int] = None) -> np.ndarray:
  probs = np.asarray(probs, np.float64)
  if probs.ndim != 2 or not len(probs):
    raise MetricsError(f'expected class probabilities of shape (N, K), got {probs.shape}')
  if num_classes is not None and probs.shape[1] != num_classes:
    raise MetricsError(f'expected {num_classes} classes, got probabilities over {probs.shape[1]}')
  if not np.all(np.isfinite(probs)) or probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
    raise MetricsError('class probabilities must be finite, non-negative and sum to 1 per sample (a softmax)')
  return probs


def classifier_score(probs) -> float:
  """The Inception Score's formula on the judge's predictions (Salimans et al. 2016, Sec. 4):

    CS = exp( E_x KL( p(y|x) ‖ p(y) ) ),   p(y) = E_x p(y|x)

  probs: (N, K) softmax outputs for N samples. CS lies in [1, K]: K when every sample is classified with
  certainty and the classes are equally frequent, 1 when all samples get the same prediction. It is computed
  over the whole set (no splits), so it does not depend on a split size.
  """
  p_yx = _probabilities(probs)
  p_y = p_yx.mean(axis=0, keepdims=True)  # (1, K) marginal over the samples
  # 0·log 0 = 0: zero probabilities contribute nothing (xlogy), and p_y > 0 wherever p(y|x) > 0.
  kl = (scipy.special.xlogy(p_yx, p_yx) - scipy.special.xlogy(p_yx, p_y)).sum(axis=1)  # (N,)
  return float(np.exp(kl.mean()))


class Coverage(NamedTuple):
  classes_covered: int  # classes whose predicted share is at least half the uniform share 1/K
  kl_to_uniform: float  # KL(class histogram ‖ uniform) in nats: 0 balanced, log K all one class


# A class counts as produced when it takes at least half its fair share of the samples (n / 2K). The threshold
# scales with n and K alike, so it reads the same for 10 classes and 2,000 samples as for 100 and 50,000; a
# judge's usual confusions (Fashion-MNIST's shirt vs T-shirt) move shares by far less than half.
COVERAGE_SHARE = 0.5


def class_coverage(probs, num_classes: int) -> Coverage:
  """The mode-collapse signal: which of the `num_classes` classes the samples reach, by the judge's argmax.

  probs: (N, K) class probabilities (or (N,) integer class predictions). With h the histogram of predicted
  classes (h_k = count_k / N):
    classes_covered = #{k : count_k ≥ COVERAGE_SHARE · N / K}
    kl_to_uniform   = Σ_k h_k log(h_k K) = log K − H(h)
  A collapsed generator reaches few classes and has a large KL; real data reaches all K with KL near 0.
  """
  probs = np.asarray(probs)
  if probs.ndim == 1 and np.issubdtype(probs.dtype, np.integer):
    predicted = probs
    if len(predicted) and (predicted.min() < 0 or predicted.max() >= num_classes):
      raise MetricsError(f'class predictions must lie in 0..{num_classes - 1}')
  else:
    predicted = _probabilities(probs, num_classes).argmax(axis=1)
  if not len(predicted):
    raise MetricsError('class coverage needs at least one sample')
  counts = np.bincount(predicted, minlength=num_classes)  # (K,)
  hist = counts / counts.sum()
  covered = int(np.sum(counts >= COVERAGE_SHARE * len(predicted) / num_classes))
  kl = float(np.sum(scipy.special.xlogy(hist, hist * num_classes)))
  return Coverage(covered, max(kl, 0.0))
