"""The sample-quality metrics on arrays whose answers a person can check by hand (no model, no data)."""

import itertools
import math

import numpy as np
import pytest
import scipy.linalg

from evaluation import metrics
from evaluation.metrics import MetricsError


def whitened(n, d, seed=0):
  """(n, d) samples with mean exactly 0 and sample covariance exactly I (unbiased, n - 1)."""
  x = np.random.default_rng(seed).normal(size=(n, d))
  x -= x.mean(axis=0)
  root = np.linalg.cholesky(np.cov(x, rowvar=False))
  return x @ np.linalg.inv(root).T


# --- Fréchet distance -------------------------------------------------------------------------------------------

def test_frechet_distance_of_a_set_with_itself_is_zero():
  x = np.random.default_rng(0).normal(size=(300, 16))
  assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_for_known_gaussians():
  # Means 1 and 0, covariances 4I and 0.25I: d² = D·1² + D·(2 − 0.5)² = 3.25·D.
  z = whitened(200, 8)
  assert metrics.frechet_distance(2.0 * z + 1.0, 0.5 * z) == pytest.approx(3.25 * 8, rel=1e-9)


def test_trace_sqrt_product_matches_the_closed_form_for_commuting_covariances():
  # Diagonal Σ_a = diag(1, 4, 9), Σ_b = diag(4, 1, 0): Tr (Σ_a Σ_b)^{1/2} = 2 + 2 + 0 = 4.
  assert metrics.trace_sqrt_product(np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 0.0])) == pytest.approx(4.0)


def test_frechet_distance_matches_the_former_sqrtm_computation():
  # The old formula: scipy's sqrtm of the non-symmetric product Σ_a Σ_b, its real part.
  rng = np.random.default_rng(11)
  a, b = rng.normal(size=(500, 24)), rng.gamma(2.0, size=(400, 24)) @ rng.normal(size=(24, 24)) / 5
  sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  diff = a.mean(axis=0) - b.mean(axis=0)
  old = diff @ diff + np.trace(sigma_a + sigma_b) - 2 * np.trace(scipy.linalg.sqrtm(sigma_a @ sigma_b).real)
  assert metrics.frechet_distance(a, b) == pytest.approx(old, rel=1e-9)


def test_frechet_distance_is_symmetric():
  rng = np.random.default_rng(1)
  a, b = rng.normal(size=(400, 16)), rng.gamma(2.0, size=(300, 16))
  assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-9)


def test_frechet_distance_grows_monotonically_with_added_noise():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(500, 16))
  noise = rng.normal(size=x.shape)
  distances = [metrics.frechet_distance(x, x + sigma * noise) for sigma in (0.0, 0.1, 0.3, 1.0, 3.0)]
  assert distances[0] == pytest.approx(0.0, abs=1e-8)
  assert all(later > earlier for earlier, later in zip(distances, distances[1:])), distances


def test_frechet_distance_ignores_features_constant_in_both_sets():
  # Dead ReLU units of the judge: zero rows and columns in both covariances change nothing.
  rng = np.random.default_rng(3)
  a, b = np.maximum(rng.normal(size=(200, 12)), 0), np.maximum(rng.normal(size=(200, 12)), 0)
  a[:, :4], b[:, :4] = 0.0, 0.0
  assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(a[:, 4:], b[:, 4:]), rel=1e-9)


def test_frechet_distance_refuses_too_few_samples_for_the_covariance():
  rng = np.random.default_rng(4)
  with pytest.raises(MetricsError, match=r'at least 17 samples per set for a 16-dimensional covariance'):
    metrics.frechet_distance(rng.normal(size=(16, 16)), rng.normal(size=(100, 16)))


@pytest.mark.parametrize('a, b, message', [
    (np.zeros((50, 4)), np.zeros((50, 5)), 'feature dimensions differ: 4 vs 5'),
    (np.zeros((50,)), np.zeros((50, 5)), r'shape \(N, D\)'),
    (np.full((50, 4), np.nan), np.zeros((50, 4)), 'NaN'),
])
def test_frechet_distance_rejects_bad_input(a, b, message):
  with pytest.raises(MetricsError, match=message):
    metrics.frechet_distance(a, b)


# --- Kernel distance --------------------------------------------------------------------------------------------

def brute_force_mmd2(x, y):
  """MMD²_u of an m-set and an n-set written out pair by pair, with k(x, y) = (xᵀy/D + 1)³."""
  k = lambda u, v: (u @ v / len(u) + 1.0) ** 3
  m, n = len(x), len(y)
  within_x = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
  within_y = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
  cross = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
  return within_x + within_y - 2.0 * cross


def test_kernel_distance_is_the_mean_of_the_pairwise_formula_over_two_blocks():
  # 9 and 7 samples, blocks=2: the documented split is a's permutation then b's, from default_rng(seed), cut by
  # array_split into blocks of 5 + 4 and 4 + 3 samples.
  rng = np.random.default_rng(5)
  x, y = rng.normal(size=(9, 3)), rng.normal(0.5, 1.0, size=(7, 3))
  shuffle = np.random.default_rng(42)
  x_blocks = np.array_split(x[shuffle.permutation(9)], 2)
  y_blocks = np.array_split(y[shuffle.permutation(7)], 2)
  per_block = [brute_force_mmd2(xb, yb) for xb, yb in zip(x_blocks, y_blocks)]
  kid = metrics.kernel_distance(x, y, blocks=2, seed=42)
  assert kid.blocks == 2
  assert kid.mean == pytest.approx(np.mean(per_block), rel=1e-10)
  assert kid.stderr == pytest.approx(abs(per_block[0] - per_block[1]) / 2, rel=1e-10)  # std(ddof=1)/√2


def test_kernel_distance_with_blocks_of_unequal_sizes_is_unbiased():
  # 400 draws of 12 vs 7 samples of one Gaussian, blocks=2 (6+6 against 4+3): the estimates average to 0 within
  # 3 standard errors. Dividing by m² or (m - 1)² instead would sit dozens of standard errors away.
  rng = np.random.default_rng(6)
  estimates = [metrics.kernel_distance(rng.normal(size=(12, 4)), rng.normal(size=(7, 4)), blocks=2,
                                       seed=s).mean for s in range(400)]
  standard_error = np.std(estimates, ddof=1) / math.sqrt(len(estimates))
  assert abs(np.mean(estimates)) < 3 * standard_error


def test_kernel_distance_floor_is_within_two_standard_errors_and_a_shift_is_far_away():
  # Two disjoint samples of one distribution, as the evaluation's floor (held-out real vs reference).
  rng = np.random.default_rng(7)
  a, b = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
  same = metrics.kernel_distance(a, b)
  shifted = metrics.kernel_distance(a, b + 0.5)
  assert same.blocks == shifted.blocks == 10
  assert abs(same.mean) < 2 * same.stderr
  assert shifted.mean > 20 * shifted.stderr and shifted.mean > 20 * same.stderr


def test_kernel_distance_reduces_the_blocks_for_small_sets():
  rng = np.random.default_rng(8)
  assert metrics.kernel_distance(rng.normal(size=(7, 4)), rng.normal(size=(40, 4))).blocks == 3
  assert metrics.kernel_distance(rng.normal(size=(4, 4)), rng.normal(size=(4, 4))).blocks == 2


def test_kernel_distance_rejects_bad_input():
  with pytest.raises(MetricsError, match='at least 4 samples per set, got 3 and 10'):
    metrics.kernel_distance(np.zeros((3, 4)), np.zeros((10, 4)))
  with pytest.raises(MetricsError, match='blocks >= 2'):
    metrics.kernel_distance(np.zeros((10, 4)), np.zeros((10, 4)), blocks=1)
  with pytest.raises(MetricsError, match='feature dimensions differ'):
    metrics.kernel_distance(np.zeros((10, 4)), np.zeros((10, 3)))


# --- Precision and recall ---------------------------------------------------------------------------------------

def test_precision_recall_of_a_one_dimensional_example_by_hand():
  # k=1. Real 0, 1, 3, 7 have radii 1, 1, 2, 4: balls [-1, 1], [0, 2], [1, 5], [3, 11].
  # Fake 0.5, 2.5, 11, 13 have radii 2, 2, 2, 2: balls [-1.5, 2.5], [0.5, 4.5], [9, 13], [11, 15].
  # Fakes inside the real balls: 0.5, 2.5, 11 (on the boundary of 7's) -> 3/4. Reals in the fake balls:
  # 0, 1, 3 (not 7) -> 3/4.
  real, fake = np.array([[0.0], [1.0], [3.0], [7.0]]), np.array([[0.5], [2.5], [11.0], [13.0]])
  assert metrics.precision_recall(real, fake, k=1) == (0.75, 0.75)
  # With k=2 the real radii are 3, 2, 3, 6: fake 13 (6 from 7) joins -> precision 1.
  assert metrics.precision_recall(real, fake, k=2).precision == 1.0


def test_precision_recall_of_identical_and_of_far_apart_sets():
  x = np.random.default_rng(9).normal(size=(300, 8))
  assert metrics.precision_recall(x, x) == (1.0, 1.0)
  assert metrics.precision_recall(x, x + 100.0) == (0.0, 0.0)


def test_precision_recall_of_a_generator_that_drops_one_of_two_modes():
  # Real data: two well separated 2-D clusters of 500. Fakes: 1,000 from the first cluster only. Every fake
  # looks real (precision ≈ 1); only the first cluster's half of the real data is reached (recall ≈ 0.5).
  # Neither is exactly that: k-NN balls leave out a few tail points even between samples of one distribution
  # (about 2% in 2-D at this N, more in higher dimensions).
  rng = np.random.default_rng(10)
  centres = np.array([[0.0, 0.0], [20.0, 0.0]])
  real = np.concatenate([rng.normal(size=(500, 2)) + c for c in centres])
  fake = rng.normal(size=(1000, 2)) + centres[0]
  precision, recall = metrics.precision_recall(real, fake)
  assert precision > 0.95
  assert recall == pytest.approx(0.5, abs=0.03)


def test_precision_recall_gives_the_same_numbers_in_small_chunks(monkeypatch):
  rng = np.random.default_rng(12)
  real, fake = rng.normal(size=(200, 6)), rng.normal(0.3, 1.2, size=(150, 6))
  whole = metrics.precision_recall(real, fake)
  monkeypatch.setattr(metrics, '_CHUNK_ENTRIES', 1000)  # 5 and 6 rows at a time
  assert metrics.precision_recall(real, fake) == whole


def test_precision_recall_rejects_bad_input():
  with pytest.raises(MetricsError, match='more than k points per set, got 3 and 10'):
    metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)
  with pytest.raises(MetricsError, match='k >= 1'):
    metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 2)), k=0)


# --- Nearest neighbours and the copy check ----------------------------------------------------------------------

def test_nearest_neighbour_distances_by_hand(monkeypatch):
  base = np.array([[0.0, 0.0], [3.0, 4.0]])
  queries = np.array([[0.0, 1.0], [3.0, 0.0], [6.0, 8.0]])  # nearest: (0,0) at 1, (0,0) at 3, (3,4) at 5
  np.testing.assert_allclose(metrics.nearest_neighbour_distances(queries, base), [1.0, 3.0, 5.0])
  monkeypatch.setattr(metrics, '_CHUNK_ENTRIES', 1)  # one row at a time
  np.testing.assert_allclose(metrics.nearest_neighbour_distances(queries, base), [1.0, 3.0, 5.0])


def gaussian_sets(seed=13, d=16):
  rng = np.random.default_rng(seed)
  return rng.normal(size=(3000, d)), rng.normal(size=(2000, d)), rng.normal(size=(2000, d))  # train, held, new


def test_copy_check_flags_a_generator_that_returns_its_training_images():
  # Offset by 100 like non-negative judge features: ‖q‖² + ‖b‖² − 2qᵀb alone would leave rounding noise of
  # ~1e-2 in the squared distance of a copy; the recomputed distances are exactly 0.
  train, heldout, _ = (x + 100.0 for x in gaussian_sets())
  check = metrics.copy_check(train[:1000], heldout, train)
  assert check.sample_median == 0.0 and check.ratio == 0.0
  assert check.near_copies == 1.0


def test_copy_check_of_new_images_from_the_data_distribution():
  # Unseen real-like samples: ratio ≈ 1; near copies ≈ 1% by the definition of the threshold (binomial s.e.
  # of 2,000 draws: 0.2%).
  train, heldout, new = gaussian_sets()
  check = metrics.copy_check(new, heldout, train)
  assert check.ratio == pytest.approx(1.0, abs=0.03)
  assert check.near_copies == pytest.approx(0.01, abs=0.006)
  assert metrics.copy_check(heldout, heldout, train).near_copies == pytest.approx(0.01, abs=0.001)


@pytest.mark.parametrize('samples, heldout, train, message', [
    (np.zeros((5, 3)), np.ones((5, 3)), np.ones((5, 3)), 'held-out features equal a training feature'),
    (np.zeros((5, 3)), np.zeros((5, 3)), np.ones((5, 4)), 'feature dimensions differ: 3 vs 3 vs 4'),
    (np.zeros((5, 3)), np.zeros((0, 3)), np.ones((5, 3)), r'heldout_features: expected features of shape'),
])
def test_copy_check_rejects_bad_input(samples, heldout, train, message):
  with pytest.raises(MetricsError, match=message):
    metrics.copy_check(samples, heldout, train)


# --- Classifier score and coverage ------------------------------------------------------------------------------

def test_classifier_score_is_the_number_of_classes_for_confident_uniform_predictions():
  probs = np.eye(10)[np.arange(1000) % 10]  # one-hot, 100 per class
  assert metrics.classifier_score(probs) == pytest.approx(10.0, rel=1e-12)


@pytest.mark.parametrize('probs', [np.eye(10)[np.zeros(100, int)],  # every sample the same class
                                   np.full((100, 10), 0.1)])  # no sample recognisable
def test_classifier_score_is_one_without_diversity_or_confidence(probs):
  assert metrics.classifier_score(probs) == pytest.approx(1.0, rel=1e-12)


def test_classifier_score_of_half_confident_predictions():
  # Two classes, half the samples certain of each: KL(p(y|x) ‖ [½, ½]) = log 2 for each sample -> score 2.
  assert metrics.classifier_score([[1, 0], [0, 1]] * 5) == pytest.approx(2.0, rel=1e-12)


def test_class_coverage_counts_classes_above_half_their_share():
  # 100 samples, 4 classes: a class is covered from 12.5 samples on.
  predicted = np.array([0] * 50 + [1] * 37 + [2] * 13 + [3] * 0)
  coverage = metrics.class_coverage(np.eye(4)[predicted], 4)
  assert coverage.classes_covered == 3
  hist = np.array([0.5, 0.37, 0.13])
  assert coverage.kl_to_uniform == pytest.approx(np.sum(hist * np.log(hist * 4)), rel=1e-12)
  assert metrics.class_coverage(predicted, 4) == coverage  # integer predictions give the same


def test_class_coverage_of_balanced_and_collapsed_samples():
  balanced = metrics.class_coverage(np.arange(1000) % 10, 10)
  assert balanced.classes_covered == 10 and balanced.kl_to_uniform == pytest.approx(0.0, abs=1e-12)
  collapsed = metrics.class_coverage(np.full(1000, 3), 10)
  assert collapsed.classes_covered == 1 and collapsed.kl_to_uniform == pytest.approx(math.log(10), rel=1e-12)


@pytest.mark.parametrize('probs, message', [
    (np.full((5, 3), 0.5), 'sum to 1'),
    (np.full((5, 4), 0.25), 'expected 3 classes'),
    (np.array([0, 1, 3]), r'lie in 0\.\.2'),
])
def test_class_coverage_rejects_bad_input(probs, message):
  with pytest.raises(MetricsError, match=message):
    metrics.class_coverage(probs, 3)
