"""common/latents.py: one seed → latent mapping, the same in NumPy and in TF ops, row i a function of (seed, i)."""

import numpy as np
import pytest
from scipy import stats

from common import latents


@pytest.mark.parametrize('seed', [0, 1, 7, 123_456, latents.MAX_SEED])
def test_numpy_and_tf_ops_give_the_same_float32_latents(seed):
  import tensorflow as tf
  expected = latents.latents(seed, 50, 33)
  sample = tf.function(lambda s, n: latents.tf_latents(s, n, 33),
                       input_signature=[tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int32)])
  np.testing.assert_array_equal(sample(tf.constant(seed, tf.int64), tf.constant(50)).numpy(), expected)


def test_row_i_depends_on_seed_and_i_only():
  np.testing.assert_array_equal(latents.latents(3, 16, 8), latents.latents(3, 64, 8)[:16])
  np.testing.assert_array_equal(latents.latents(3, 4, 8, start=10), latents.latents(3, 14, 8)[10:])
  assert not np.allclose(latents.latents(3, 1, 8), latents.latents(4, 1, 8))


def test_pinned_values_never_change():
  # Every stored grid, sample.png and evaluation depends on these numbers: changing the hash is a breaking change.
  np.testing.assert_allclose(latents.latents(0, 1, 4)[0], PINNED_SEED0_ROW0, rtol=0, atol=1e-6)


def test_latents_are_standard_normal_and_uncorrelated():
  z = latents.latents(5, 20_000, 16)  # (20000, 16)
  assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
  assert stats.kstest(z.ravel(), 'norm').pvalue > 0.01
  correlations = np.corrcoef(z, rowvar=False) - np.eye(16)
  assert np.abs(correlations).max() < 0.03  # 4.2 standard errors of a correlation at n = 20,000
  rows = np.corrcoef(latents.latents(5, 64, 4000))  # neighbouring rows are independent too: (64, 64)
  assert np.abs(rows - np.eye(64)).max() < 0.08  # 5 standard errors (1/sqrt(4000)) over 2,016 pairs


@pytest.mark.parametrize('seed', [-1, 2**32, 1.5, True, '3'])
def test_bad_seeds_are_refused(seed):
  with pytest.raises(latents.LatentError, match='seed must be an integer'):
    latents.latents(seed, 1, 4)


PINNED_SEED0_ROW0 = [-0.32804399728775024, 0.09524237364530563, -1.8187451362609863, 0.09309100359678268]


_TF_TRUNCATED = {}


def _tf_truncated(seed, num, latent_dim, threshold):
  import tensorflow as tf
  if latent_dim not in _TF_TRUNCATED:
    _TF_TRUNCATED[latent_dim] = tf.function(
        lambda s, n, t: latents.tf_truncated_latents(s, n, latent_dim, t),
        input_signature=[tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)])
  return _TF_TRUNCATED[latent_dim](tf.constant(seed, tf.int64), tf.constant(num), tf.constant(threshold)).numpy()


@pytest.mark.parametrize('threshold', [0.0, latents.MIN_TRUNCATION, 0.5, 1.0, 2.0])
def test_truncation_is_the_same_in_numpy_and_tf_ops(threshold):
  for seed in (0, 9, latents.MAX_SEED):
    np.testing.assert_array_equal(_tf_truncated(seed, 40, 17, threshold),
                                  latents.truncated_latents(seed, 40, 17, threshold))


def test_truncation_resamples_only_the_components_beyond_the_threshold():
  z = latents.latents(4, 2000, 32)
  t = 0.7
  truncated = latents.truncated_latents(4, 2000, 32, t)
  assert np.abs(truncated).max() <= t
  inside = np.abs(z) <= t
  np.testing.assert_array_equal(truncated[inside], z[inside])  # kept as drawn
  assert not np.any(truncated[~inside] == np.clip(z[~inside], -t, t))  # resampled, not clipped
  # A truncated standard normal: its KS distance to N(0, 1) conditioned on |z| <= t is small.
  cdf = lambda x: (stats.norm.cdf(x) - stats.norm.cdf(-t)) / (stats.norm.cdf(t) - stats.norm.cdf(-t))  # noqa: E731
  assert stats.kstest(truncated.ravel(), cdf).pvalue > 0.01
  np.testing.assert_array_equal(latents.truncated_latents(4, 16, 32, t), truncated[:16])  # row i: (seed, i) only
  np.testing.assert_array_equal(latents.truncated_latents(4, 5, 32, 0), latents.latents(4, 5, 32))  # 0: off


@pytest.mark.parametrize('threshold', [-1, 0.1, float('inf'), float('nan'), 'x'])
def test_bad_truncation_thresholds_are_refused(threshold):
  with pytest.raises(latents.LatentError, match='truncation threshold must be'):
    latents.truncated_latents(0, 1, 4, threshold)


def test_components_outside_after_every_attempt_are_clipped_alike_in_numpy_and_tf(monkeypatch):
  monkeypatch.setattr(latents, 'TRUNCATION_ATTEMPTS', 1)  # one redraw: many components stay outside 0.25
  cut = latents.truncated_latents(3, 30, 5, 0.25)
  assert np.sum(np.abs(cut) == np.float32(0.25)) > 20
  np.testing.assert_array_equal(_tf_truncated(3, 30, 5, 0.25), cut)  # latent_dim 5: traced with one attempt
