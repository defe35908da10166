"""Sample-quality metrics on a judge's outputs: pure NumPy/SciPy functions of features and class probabilities.

The judge maps an image to penultimate-layer features (N, D) and class probabilities (N, K). Everything here
takes those arrays, so the same functions score a run directory, an ONNX model or held-out real data (the floor
printed beside every result).

  frechet_distance             FCD: Fréchet distance of Gaussians fitted to the features (FID's formula)
  kernel_distance              KCD: unbiased squared MMD with KID's cubic kernel, with a standard error
  precision_recall             improved precision (fidelity) and recall (diversity) from k-NN manifolds
  copy_check                   memorisation: samples' nearest training images vs held-out real images'
  nearest_neighbour_distances  each query's distance to its nearest base point (copy_check's building block)
  classifier_score             the Inception Score's formula on the judge's probabilities
  class_coverage               classes the samples reach, and KL of their class histogram to uniform
"""

from typing import NamedTuple, Optional

import numpy as np
import scipy.special


class MetricsError(ValueError):
  """Inputs a metric cannot score (too few samples, wrong shapes); the message is one line for the user."""


def _features(feats, name: str) -> np.ndarray:
  feats = np.asarray(feats, np.float64)
  if feats.ndim != 2 or not feats.size:
    raise MetricsError(f'{name}: expected features of shape (N, D), got {feats.shape}')
  if not np.all(np.isfinite(feats)):
    raise MetricsError(f'{name}: features hold NaN or infinite values')
  return feats


def _feature_sets(**named) -> list:
  """Each named (N, D) feature array as float64, checked, and all with one D."""
  sets = [_features(feats, name) for name, feats in named.items()]
  dims = [s.shape[1] for s in sets]
  if len(set(dims)) > 1:
    raise MetricsError('feature dimensions differ: ' + ' vs '.join(map(str, dims)))
  return sets


# --- Fréchet distance -------------------------------------------------------------------------------------------

def min_samples_for_covariance(feature_dim: int) -> int:
  """A (D, D) sample covariance has full rank only from D + 1 samples on; fewer make FCD meaningless."""
  return feature_dim + 1


def _symmetric_sqrt(sigma: np.ndarray) -> np.ndarray:
  """Σ^{1/2} of a symmetric PSD matrix from its eigendecomposition; rounding's tiny negative eigenvalues -> 0."""
  eigenvalues, eigenvectors = np.linalg.eigh(sigma)
  return (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))) @ eigenvectors.T


def trace_sqrt_product(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
  """Tr (Σ_a Σ_b)^{1/2} for symmetric PSD Σ_a, Σ_b, as tensorflow/gan's `trace_sqrt_product`.

  Σ_a Σ_b is similar to the symmetric PSD matrix M = Σ_a^{1/2} Σ_b Σ_a^{1/2} (conjugate by Σ_a^{1/2}), so both
  have the same non-negative eigenvalues λ_i and Tr (Σ_a Σ_b)^{1/2} = Σ_i √λ_i(M). Two symmetric eigensolves
  replace scipy's sqrtm of a non-symmetric product: no complex parts to drop, no blow-up near singularity.
  """
  sqrt_a = _symmetric_sqrt(sigma_a)
  product = sqrt_a @ sigma_b @ sqrt_a
  eigenvalues = np.linalg.eigvalsh((product + product.T) / 2.0)  # symmetrised against rounding
  return float(np.sqrt(np.maximum(eigenvalues, 0.0)).sum())


def frechet_distance(feats_a, feats_b) -> float:
  """Fréchet distance between Gaussians fitted to two feature sets (Dowson & Landau 1982; FID, Heusel et al.
  2017, Sec. "Fréchet Inception Distance"):

    d² = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})

  feats_a: (N_a, D), feats_b: (N_b, D) features of the two sets; each needs N ≥ D + 1 samples so that its
  covariance has full rank (MetricsError otherwise). The trace of the square root is computed symmetrically
  (trace_sqrt_product). The estimate is biased upwards at small N (two samples of one distribution give
  d² > 0): compare numbers taken with the same N, such as a result and its floor.
  """
  a, b = _feature_sets(feats_a=feats_a, feats_b=feats_b)
  need = min_samples_for_covariance(a.shape[1])
  if min(len(a), len(b)) < need:
    raise MetricsError(f'FCD needs at least {need} samples per set for a {a.shape[1]}-dimensional covariance, '
                       f'got {len(a)} and {len(b)}')
  diff = a.mean(axis=0) - b.mean(axis=0)  # (D,)
  # A feature constant in both sets (a ReLU unit that never fires) adds a zero row and column to both
  # covariances and nothing to the trace terms; leaving it out saves work and the rounding of its √0.
  varying = (a.std(axis=0) > 0) | (b.std(axis=0) > 0)
  if not varying.any():
    return float(diff @ diff)
  a, b = a[:, varying], b[:, varying]
  sigma_a = np.atleast_2d(np.cov(a, rowvar=False))  # (D', D'), unbiased (N - 1)
  sigma_b = np.atleast_2d(np.cov(b, rowvar=False))
  distance = diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * trace_sqrt_product(sigma_a, sigma_b)
  return float(max(distance, 0.0))  # rounding can leave -1e-12 for identical sets


# --- Kernel distance --------------------------------------------------------------------------------------------

class KernelDistance(NamedTuple):
  mean: float  # unbiased squared MMD, averaged over disjoint blocks
  stderr: float  # standard error of that mean: std(ddof=1) of the block estimates / √blocks
  blocks: int  # how many block pairs were used (fewer than asked when the sets are small)


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


def _unbiased_mmd2(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
  """MMD²_u of an m-set and an n-set from their kernel matrices (m, m), (n, n), (m, n); leaving the diagonals
  k(x_i, x_i) out of the within-set means is what makes the estimate unbiased."""
  m, n = len(k_xx), len(k_yy)
  within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
  within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
  return float(within_x + within_y - 2.0 * k_xy.sum() / (m * n))


MIN_KID_SAMPLES = 4  # per set: two blocks of two, the least for a within-block mean and a standard error


def kernel_distance(feats_a, feats_b, degree: int = 3, gamma: Optional[float] = None, coef0: float = 1.0,
                    blocks: int = 10, seed: int = 0) -> KernelDistance:
  """Kernel distance: the unbiased squared MMD (Gretton et al. 2012, Lemma 6) with the cubic polynomial kernel
  of the Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"), for an m-set x, n-set y:

    k(x, y) = (xᵀy / D + 1)³
    MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n−1)) Σ_{i≠j} k(y_i, y_j) − 2/(mn) Σ_{i,j} k(x_i, y_j)

  feats_a: (N_a, D), feats_b: (N_b, D). Each set is shuffled with np.random.default_rng(seed) (a's
  permutation drawn first, then b's) and cut by np.array_split into `blocks` disjoint parts; block i of a is
  scored against block i of b, and the result is the mean of those estimates with its standard error
  std(ddof=1) / √blocks. Why blocks: they bound the cost (blocks of 1,000 are 1000×1000 kernels), and because
  they share no sample the block estimates are independent, so the spread is a real standard error (the KID
  paper's overlapping random subsets give a spread that is not one). Averaging several unbiased estimates keeps
  the mean unbiased: two samples of one distribution score 0 ± stderr, small negative values included.
  Sets smaller than 2·blocks get fewer blocks (at least 2); fewer than 4 samples a side is a MetricsError.
  """
  a, b = _feature_sets(feats_a=feats_a, feats_b=feats_b)
  if min(len(a), len(b)) < MIN_KID_SAMPLES:
    raise MetricsError(f'KID needs at least {MIN_KID_SAMPLES} samples per set, got {len(a)} and {len(b)}')
  if blocks < 2:
    raise MetricsError(f'KID needs blocks >= 2 for a standard error, got {blocks}')
  blocks = min(blocks, len(a) // 2, len(b) // 2)  # each block needs two samples for its within-set mean
  rng = np.random.default_rng(seed)
  parts_a = np.array_split(a[rng.permutation(len(a))], blocks)
  parts_b = np.array_split(b[rng.permutation(len(b))], blocks)
  kernel = lambda u, v: polynomial_kernel(u, v, degree, gamma, coef0)
  estimates = np.array([_unbiased_mmd2(kernel(x, x), kernel(y, y), kernel(x, y))
                        for x, y in zip(parts_a, parts_b)])  # (blocks,)
  return KernelDistance(float(estimates.mean()), float(estimates.std(ddof=1) / np.sqrt(blocks)), blocks)


# --- Nearest neighbours: precision/recall and the copy check ----------------------------------------------------

# Rows of a distance matrix are computed this many entries at a time (32 MB in float32): memory stays bounded
# for any N, and each chunk is still one large matrix product.
_CHUNK_ENTRIES = 8_000_000


def _squared_distance_chunks(queries: np.ndarray, base: np.ndarray):
  """Yields (start, d²) with d² the (rows, N_base) squared distances of queries[start:start + rows] to base,
  from ‖q‖² + ‖b‖² − 2 qᵀb (one matrix product), clipped at 0.

  In float32: the matrix product is most of the cost of every neighbour search here, and float32 halves it
  (measured: copy_check 2-4x faster on one core, same numbers). Its rounding, about 1e-7 of ‖q‖² + ‖b‖², can
  only change which of two nearly equidistant points is picked or the side of a ball's boundary a point within
  that margin falls on; the distances reported (nearest neighbour, k-th neighbour radius) are then recomputed
  in float64 from the difference vectors, so an exact copy is at distance 0.
  """
  queries, base = queries.astype(np.float32), base.astype(np.float32)
  base_sq = np.einsum('ij,ij->i', base, base)  # (N_base,)
  rows = max(1, _CHUNK_ENTRIES // len(base))
  for start in range(0, len(queries), rows):
    chunk = queries[start:start + rows]  # (rows, D)
    d2 = chunk @ base.T  # (rows, N_base)
    d2 *= -2.0
    d2 += np.einsum('ij,ij->i', chunk, chunk)[:, None]
    d2 += base_sq
    yield start, np.maximum(d2, 0.0, out=d2)


def _exact_squared_distances(queries: np.ndarray, base: np.ndarray, nearest: np.ndarray) -> np.ndarray:
  """(N_q,) ‖q_i − b_{nearest_i}‖² in float64, from the difference (no cancellation: exact copies give 0)."""
  diff = queries - base[nearest]  # (N_q, D)
  return np.einsum('ij,ij->i', diff, diff)


def _kth_neighbour_radii2(points: np.ndarray, k: int) -> np.ndarray:
  """(N,) squared distance of each point to its k-th nearest neighbour among the others."""
  kth = np.empty(len(points), np.int64)
  for start, d2 in _squared_distance_chunks(points, points):
    rows = np.arange(len(d2))
    d2[rows, start + rows] = -1.0  # itself: sorted first whatever rounding made of its distance
    kth[start:start + len(d2)] = np.argpartition(d2, k, axis=1)[:, k]
  return _exact_squared_distances(points, points, kth)


class PrecisionRecall(NamedTuple):
  precision: float  # fraction of fake points inside the real manifold: fidelity
  recall: float  # fraction of real points inside the fake manifold: diversity, the modes reached


def precision_recall(real_features, fake_features, k: int = 3) -> PrecisionRecall:
  """Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for
  Assessing Generative Models", Sec. 2). The manifold of a set Φ is the union of balls around its points,
  each with radius its distance NN_k(φ) to its k-th nearest neighbour within Φ (itself excluded):

    f(x, Φ) = 1 if ‖x − φ‖ ≤ ‖φ − NN_k(φ)‖ for some φ ∈ Φ, else 0
    precision = mean over fakes of f(fake, Φ_real),   recall = mean over reals of f(real, Φ_fake)

  real_features: (N_r, D), fake_features: (N_f, D), each with more than k points. Precision near 1 says the
  samples look real; recall below precision says they miss part of the data (mode dropping). The paper uses
  k = 3 and equal set sizes; both numbers depend on k and N, so compare them at the same k and N.
  """
  real, fake = _feature_sets(real_features=real_features, fake_features=fake_features)
  if k < 1 or min(len(real), len(fake)) <= k:
    raise MetricsError(f'precision/recall with k={k} needs k >= 1 and more than k points per set, '
                       f'got {len(real)} and {len(fake)}')
  real_radii2, fake_radii2 = _kth_neighbour_radii2(real, k), _kth_neighbour_radii2(fake, k)
  real_radii2, fake_radii2 = real_radii2.astype(np.float32), fake_radii2.astype(np.float32)  # as the chunks
  fake_inside = np.zeros(len(fake), bool)  # (N_f,) inside the real manifold
  real_inside = np.zeros(len(real), bool)  # (N_r,) inside the fake manifold
  for start, d2 in _squared_distance_chunks(fake, real):  # d2: (rows of fake, N_r)
    fake_inside[start:start + len(d2)] = (d2 <= real_radii2).any(axis=1)
    real_inside |= (d2 <= fake_radii2[start:start + len(d2), None]).any(axis=0)
  return PrecisionRecall(float(fake_inside.mean()), float(real_inside.mean()))


def nearest_neighbour_distances(queries, base) -> np.ndarray:
  """(N_q,) Euclidean distance of each query (N_q, D) to its nearest point of base (N_b, D)."""
  queries, base = _feature_sets(queries=queries, base=base)
  nearest = np.empty(len(queries), np.int64)
  for start, d2 in _squared_distance_chunks(queries, base):
    nearest[start:start + len(d2)] = d2.argmin(axis=1)
  return np.sqrt(_exact_squared_distances(queries, base, nearest))


class CopyCheck(NamedTuple):
  sample_median: float  # median distance of a sample to its nearest training image
  heldout_median: float  # the same for held-out real images the generator never saw
  ratio: float  # sample_median / heldout_median: ≈ 1 for new images, << 1 for copies
  near_copies: float  # fraction of samples nearer a training image than 99% of held-out images are


NEAR_COPY_PERCENTILE = 1.0  # of held-out NN distances: the share of unseen real images counted as near copies


def copy_check(sample_features, heldout_features, train_features) -> CopyCheck:
  """The memorisation check: do samples sit closer to the generator's training images than unseen real images
  do? FCD, KID and precision cannot tell, since a generator that returns its training images scores as well
  as real data on all of them.

  sample_features: (N_s, D) of generated images; heldout_features: (N_h, D) of real images the generator was
  not trained on; train_features: (N_t, D) of its training images. With d(x) the distance of x to its nearest
  training image:

    ratio       = median d(sample) / median d(heldout)
    near_copies = fraction of samples with d(sample) < the 1st percentile of d(heldout)

  How to read them: new images from the data distribution give ratio ≈ 1 and near_copies ≈ 0.01 (by the
  definition of the percentile). A ratio well below 1 means samples crowd the training images; near_copies
  well above 0.01 means some samples are nearer copies of training images than almost any real unseen image
  is; → 1 for a generator that copies. A ratio above 1 is no copying, only samples off the data (see precision).
  """
  samples, heldout, train = _feature_sets(sample_features=sample_features, heldout_features=heldout_features,
                                          train_features=train_features)
  sample_nn, heldout_nn = nearest_neighbour_distances(samples, train), nearest_neighbour_distances(heldout, train)
  heldout_median = float(np.median(heldout_nn))
  if heldout_median == 0.0:
    raise MetricsError('copy check: most held-out features equal a training feature, so they are not held out')
  threshold = np.percentile(heldout_nn, NEAR_COPY_PERCENTILE)
  sample_median = float(np.median(sample_nn))
  return CopyCheck(sample_median, heldout_median, sample_median / heldout_median,
                   float(np.mean(sample_nn < threshold)))


# --- Classifier score and coverage ------------------------------------------------------------------------------

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
