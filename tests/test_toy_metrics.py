"""Toy metrics: hand-checkable numbers, true samples score as real data, a collapsed or shifted sampler does not."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from evaluation import toy_metrics
from data import toy_data

MIXTURES = ['8gaussians', '25gaussians']


def _collapsed(spec, rng, n):
  """A sampler that found one mode only: every point from the first mode's Gaussian."""
  return spec.centres[0] + spec.std * rng.standard_normal((n, 2))


# --- hand-computed values ----------------------------------------------------------------------------------------

def test_emd_hand_computed_optimum_beats_greedy():
  """Matching (0,0)->(1,0) then (1,0)->(0,3) costs 1 + √10; the optimum (0,0)->(0,3), (1,0)->(1,0) costs 3 + 0."""
  a = [(0.0, 0.0), (1.0, 0.0)]
  b = [(1.0, 0.0), (0.0, 3.0)]
  assert toy_metrics.emd(a, b) == pytest.approx(1.5, abs=1e-12)
  assert toy_metrics.emd(b, a) == pytest.approx(1.5, abs=1e-12)


def test_emd_of_a_set_with_itself_is_exactly_zero_in_any_order():
  a = np.random.default_rng(0).standard_normal((300, 2))
  assert toy_metrics.emd(a, a) == 0.0
  assert toy_metrics.emd(a, a[::-1]) == 0.0


def test_emd_of_a_translate_is_the_translation_length():
  """W1(P, P shifted by v) = ‖v‖: the matching x -> x + v reaches the dual bound of f(x) = v·x / ‖v‖."""
  a = np.random.default_rng(1).standard_normal((200, 2))
  assert toy_metrics.emd(a, a + [0.3, 0.4]) == pytest.approx(0.5, abs=1e-9)


def test_modes_covered_threshold_is_a_fraction_of_all_samples():
  spec = toy_data.TOY_DATASETS['25gaussians']
  points = np.repeat(spec.centres[[0]], 100, axis=0)  # (100, 2), all on mode 0
  points[-1] = spec.centres[1]  # 1% on mode 1
  assert toy_metrics.modes_covered(points, spec.centres, spec.std) == 2
  assert toy_metrics.modes_covered(points, spec.centres, spec.std, min_fraction=0.02) == 1
  np.testing.assert_allclose(toy_metrics.mode_fractions(points, spec.centres, spec.std)[:3], [0.99, 0.01, 0.0])


def test_high_quality_boundary_is_three_sigma_euclidean():
  centres, std = np.zeros((1, 2)), 0.1
  direction = np.array([0.6, 0.8])  # unit vector: the distance is Euclidean, not per coordinate
  points = [2.9 * std * direction, 3.1 * std * direction, [0.29, 0.0], [0.25, 0.25]]
  # In: 2.9σ twice. Out: 3.1σ, and (0.25, 0.25), 3.54σ away although each coordinate alone is within 2.5σ.
  assert toy_metrics.high_quality_fraction(points, centres, std) == 0.5


# --- samples from the true distribution score as real data ------------------------------------------------------

@pytest.mark.parametrize('name', MIXTURES)
def test_true_samples_cover_every_mode_and_are_high_quality(name):
  spec = toy_data.TOY_DATASETS[name]
  points = spec.sample(np.random.default_rng(2), 20_000)
  assert toy_metrics.modes_covered(points, spec.centres, spec.std) == spec.num_modes
  hq = toy_metrics.high_quality_fraction(points, spec.centres, spec.std)
  # 1 − exp(−9/2) = 0.9889 of a 2-D Gaussian lies within 3σ; the binomial standard error at 20000 is 0.0007.
  assert toy_metrics.HIGH_QUALITY_EXPECTED == pytest.approx(0.98889, abs=1e-5)
  assert hq == pytest.approx(toy_metrics.HIGH_QUALITY_EXPECTED, abs=0.004)


@pytest.mark.parametrize('name', list(toy_data.TOY_DATASETS))
def test_toy_scores_of_true_samples_match_their_real_baseline(name):
  spec = toy_data.TOY_DATASETS[name]
  rng = np.random.default_rng(3)
  scores = toy_metrics.toy_scores(spec.sample(rng, 1000), spec, rng)
  scale = np.sqrt(np.mean(np.sum(spec.sample(np.random.default_rng(4), 1000).astype(np.float64) ** 2, axis=1)))
  # EMD ≈ 0 on the data's scale (RMS radius 1.0 to 1.4), and of the order of two real sets' distance.
  assert scores['emd'] < 0.1 * scale and scores['emd_real'] < 0.1 * scale
  assert scores['emd'] < 2 * scores['emd_real']
  if spec.centres is None:
    assert set(scores) == {'n', 'emd', 'emd_real'}
  else:
    assert scores['modes'] == scores['modes_real'] == scores['num_modes'] == spec.num_modes
    assert scores['hq'] > 0.98 and scores['hq_real'] > 0.98


# --- broken samplers are caught ----------------------------------------------------------------------------------

@pytest.mark.parametrize('name', MIXTURES)
def test_collapsed_sampler_covers_one_mode_and_is_far_in_emd(name):
  spec = toy_data.TOY_DATASETS[name]
  rng = np.random.default_rng(5)
  scores = toy_metrics.toy_scores(_collapsed(spec, rng, 500), spec, rng)
  assert scores['modes'] == 1 and scores['modes_real'] == spec.num_modes
  assert scores['hq'] > 0.98  # every point is a good sample of its one mode: only modes and EMD see the collapse
  assert scores['emd'] > 10 * scores['emd_real']


def test_shifted_distribution_is_low_quality():
  """Every point moved by 6σ along x: right shape, wrong place."""
  spec = toy_data.TOY_DATASETS['25gaussians']
  rng = np.random.default_rng(6)
  scores = toy_metrics.toy_scores(spec.sample(rng, 1000) + [6 * spec.std, 0.0], spec, rng)
  assert scores['hq'] < 0.05 and scores['hq_real'] > 0.98
  assert scores['modes'] == 0
  assert scores['emd'] > 2 * scores['emd_real']


# --- toy_scores plumbing ---------------------------------------------------------------------------------------

def test_toy_scores_is_seeded_and_scores_the_first_n_points():
  spec = toy_data.TOY_DATASETS['8gaussians']
  points = spec.sample(np.random.default_rng(7), 400)
  first = toy_metrics.toy_scores(points, spec, np.random.default_rng(8), n=300)
  assert first == toy_metrics.toy_scores(points, spec, np.random.default_rng(8), n=300)
  assert first == toy_metrics.toy_scores(points[:300], spec, np.random.default_rng(8))
  assert first['n'] == 300


@pytest.mark.parametrize('n', [0, 401, 2.5, True])
def test_toy_scores_refuses_bad_n(n):
  spec = toy_data.TOY_DATASETS['8gaussians']
  with pytest.raises(ValueError, match='n must be'):
    toy_metrics.toy_scores(np.zeros((400, 2)), spec, np.random.default_rng(0), n=n)


def test_toy_scores_refuses_more_points_than_emd_takes_and_names_n():
  spec = toy_data.TOY_DATASETS['8gaussians']
  with pytest.raises(ValueError, match='pass n <= 5000'):
    toy_metrics.toy_scores(np.zeros((5001, 2)), spec, np.random.default_rng(0))


# --- refused inputs ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('a, b, message', [
    (np.zeros((10, 2)), np.zeros((11, 2)), 'equal size, got 10 and 11'),
    (np.zeros((5001, 2)), np.zeros((5001, 2)), 'more than 5000'),
    (np.zeros((10, 2)), np.zeros((10, 3)), 'coordinates'),
    (np.zeros((0, 2)), np.zeros((0, 2)), 'N >= 1'),
    (np.zeros(10), np.zeros(10), 'shape'),
    (np.full((10, 2), np.nan), np.zeros((10, 2)), 'NaN'),
])
def test_emd_refuses(a, b, message):
  with pytest.raises(ValueError, match=message):
    toy_metrics.emd(a, b)


def test_mode_metrics_refuse_bad_std_and_min_fraction():
  spec = toy_data.TOY_DATASETS['8gaussians']
  points = spec.sample(np.random.default_rng(0), 10)
  with pytest.raises(ValueError, match='std'):
    toy_metrics.high_quality_fraction(points, spec.centres, 0.0)
  with pytest.raises(ValueError, match='min_fraction'):
    toy_metrics.modes_covered(points, spec.centres, spec.std, min_fraction=0.0)
  with pytest.raises(ValueError, match='coordinates'):
    toy_metrics.modes_covered(np.zeros((10, 3)), spec.centres, spec.std)


def test_importing_the_toy_modules_loads_neither_tensorflow_nor_sklearn():
  code = ('import sys, data.toy_data, evaluation.toy_metrics; '
          'print(sorted(m for m in ("tensorflow", "sklearn") if m in sys.modules))')
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                       cwd=pathlib.Path(__file__).resolve().parents[1]).stdout
  assert out.strip() == '[]'
