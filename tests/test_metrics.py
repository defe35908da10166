"""The sample-quality metrics on arrays whose answers a person can check by hand (no model, no data)."""

import itertools
import math

import numpy as np
import pytest

from training import metrics
from training.metrics import MetricsError


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
  # Dead ReLU units of the judge: zero rows and columns in both covariances must not break sqrtm.
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
  """MMD²_u written out pair by pair, with k(x, y) = (xᵀy/D + 1)³."""
  k = lambda u, v: (u @ v / len(u) + 1.0) ** 3
  m = len(x)
  within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
  cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m ** 2
  return within - 2.0 * cross


def test_kernel_distance_matches_the_pairwise_formula():
  rng = np.random.default_rng(5)
  x, y = rng.normal(size=(7, 3)), rng.normal(0.5, 1.0, size=(7, 3))
  kid = metrics.kernel_distance(x, y, subsets=1, subset_size=7)
  assert kid.mean == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)
  assert kid.std == 0.0


def test_kernel_distance_is_unbiased_on_equal_distributions():
  # 400 independent pairs of 10-sample sets: the estimates average to 0 within 3 standard errors, whereas the
  # biased estimator (diagonals kept) would sit at about +2·(E k(x,x) − E k(x,y))/m, dozens of errors away.
  rng = np.random.default_rng(6)
  estimates = [metrics.kernel_distance(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), subsets=1,
                                       subset_size=10).mean for _ in range(400)]
  standard_error = np.std(estimates) / math.sqrt(len(estimates))
  assert abs(np.mean(estimates)) < 3 * standard_error


def test_kernel_distance_is_near_zero_for_equal_and_positive_for_shifted_distributions():
  rng = np.random.default_rng(7)
  a, b = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
  same = metrics.kernel_distance(a, b, subsets=20, subset_size=500)
  shifted = metrics.kernel_distance(a, b + 0.5, subsets=20, subset_size=500)
  assert abs(same.mean) < 0.01 < shifted.mean
  assert shifted.mean > 10 * same.std


def test_kernel_distance_gives_the_same_numbers_without_the_full_kernel_matrices(monkeypatch):
  rng = np.random.default_rng(8)
  a, b = rng.normal(size=(120, 8)), rng.normal(0.2, 1.0, size=(90, 8))
  full = metrics.kernel_distance(a, b, subsets=5, subset_size=50)
  monkeypatch.setattr(metrics, '_MAX_GRAM_ENTRIES', 0)
  per_subset = metrics.kernel_distance(a, b, subsets=5, subset_size=50)
  np.testing.assert_allclose(per_subset, full, rtol=1e-10)


def test_kernel_distance_rejects_bad_input():
  with pytest.raises(MetricsError, match='at least 2 samples per set'):
    metrics.kernel_distance(np.zeros((1, 4)), np.zeros((10, 4)))
  with pytest.raises(MetricsError, match='feature dimensions differ'):
    metrics.kernel_distance(np.zeros((10, 4)), np.zeros((10, 3)))


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
