"""The toy samplers against the constants of igul222/improved_wgan_training gan_toy.py (see data/toy_data.py)."""

import numpy as np
import pytest
import sklearn.datasets

from data import toy_data

MIXTURES = ['8gaussians', '25gaussians']


@pytest.mark.parametrize('name', list(toy_data.TOY_DATASETS))
class TestEverySampler:

  def test_shape_dtype_finite(self, name):
    points = toy_data.TOY_DATASETS[name].sample(np.random.default_rng(0), 300)
    assert points.shape == (300, 2) and points.dtype == np.float32
    assert np.all(np.isfinite(points))

  def test_same_seed_same_points_other_seed_other_points(self, name):
    sample = toy_data.TOY_DATASETS[name].sample
    a = sample(np.random.default_rng(7), 100)
    np.testing.assert_array_equal(a, sample(np.random.default_rng(7), 100))
    assert not np.array_equal(a, sample(np.random.default_rng(8), 100))

  def test_zero_points_and_bad_counts(self, name):
    sample = toy_data.TOY_DATASETS[name].sample
    assert sample(np.random.default_rng(0), 0).shape == (0, 2)
    for bad in (-1, 2.5, True):
      with pytest.raises(ValueError):
        sample(np.random.default_rng(0), bad)


def test_eight_gaussians_constants_after_division():
  spec = toy_data.TOY_DATASETS['8gaussians']
  r = 2.0 / 1.414  # scale 2, divided by 1.414 (gan_toy.py lines 204, 225)
  d = r / np.sqrt(2.0)
  expected = [(r, 0), (-r, 0), (0, r), (0, -r), (d, d), (d, -d), (-d, d), (-d, -d)]
  np.testing.assert_allclose(spec.centres, expected, rtol=1e-12)
  assert spec.std == pytest.approx(0.02 / 1.414, rel=1e-12)
  assert spec.num_modes == 8


def test_twenty_five_gaussians_constants_after_division():
  spec = toy_data.TOY_DATASETS['25gaussians']
  grid = [(2 * x / 2.828, 2 * y / 2.828) for x in range(-2, 3) for y in range(-2, 3)]  # lines 178-186
  np.testing.assert_allclose(spec.centres, grid, rtol=1e-12)
  assert spec.std == pytest.approx(0.05 / 2.828, rel=1e-12)
  assert spec.num_modes == 25


def test_centres_are_read_only():
  with pytest.raises(ValueError):
    toy_data.TOY_DATASETS['25gaussians'].centres[0, 0] = 5.0


@pytest.mark.parametrize('name', MIXTURES)
def test_empirical_modes_match_stated_centres_and_std(name):
  """Assign 100000 points to their nearest centre: equal weights, per-mode means at the centres, per-coordinate
  standard deviations at spec.std, each within 5 standard errors."""
  spec = toy_data.TOY_DATASETS[name]
  n, k = 100_000, spec.num_modes
  points = spec.sample(np.random.default_rng(1), n).astype(np.float64)
  nearest = np.argmin(((points[:, None, :] - spec.centres[None]) ** 2).sum(-1), axis=1)  # (n,)
  counts = np.bincount(nearest, minlength=k)
  p = 1.0 / k
  assert np.all(np.abs(counts - n * p) < 5 * np.sqrt(n * p * (1 - p))), counts
  for mode in range(k):
    own = points[nearest == mode]  # (count, 2)
    mean_error = np.abs(own.mean(axis=0) - spec.centres[mode])
    assert np.all(mean_error < 5 * spec.std / np.sqrt(len(own))), (mode, mean_error)
    relative_std_error = np.abs(own.std(axis=0, ddof=1) / spec.std - 1)
    assert np.all(relative_std_error < 5 / np.sqrt(2 * len(own))), (mode, relative_std_error)


def test_swissroll_is_sklearns_roll_columns_0_and_2_over_7_5():
  """The same seed the sampler draws from its rng, given to make_swiss_roll directly (gan_toy.py 194-199)."""
  points = toy_data.TOY_DATASETS['swissroll'].sample(np.random.default_rng(3), 500)
  seed = int(np.random.default_rng(3).integers(0, 2**32))
  roll = sklearn.datasets.make_swiss_roll(n_samples=500, noise=0.25, random_state=seed)[0]
  np.testing.assert_array_equal(points, roll.astype(np.float32)[:, [0, 2]] / np.float32(7.5))


def test_swissroll_lies_in_the_spirals_annulus():
  """Columns 0 and 2 are t·(cos t, sin t) with t in [1.5π, 4.5π], so the radius is t / 7.5 up to the noise
  (0.25 / 7.5 per coordinate); column 1 (uniform height in [0, 21]) would reach radius 3.4 and near 0."""
  points = toy_data.TOY_DATASETS['swissroll'].sample(np.random.default_rng(4), 5000).astype(np.float64)
  radius = np.hypot(points[:, 0], points[:, 1])
  margin = 5 * 0.25 / 7.5
  assert radius.min() > 1.5 * np.pi / 7.5 - margin and radius.max() < 4.5 * np.pi / 7.5 + margin


def test_swissroll_has_no_modes():
  spec = toy_data.TOY_DATASETS['swissroll']
  assert spec.centres is None and spec.std is None and spec.num_modes is None


def test_get_names_the_choices():
  assert toy_data.get('25gaussians') is toy_data.TOY_DATASETS['25gaussians']
  with pytest.raises(ValueError, match='8gaussians, 25gaussians, swissroll'):
    toy_data.get('ring')
