"""Unit tests of serve/sampler.py (latents from seeds, slerp/lerp) and of common/images.py as the app calls it
(uint8 conversion, grids, PNGs and GIFs).

The "generator" here is a fixed random linear map followed by tanh, so image-level checks (interpolation
endpoints equal the seeds' images) need no model file and run in milliseconds.
"""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from common import images as common_images
from serve import sampler

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

LATENT_DIM = 8


def toy_generator(latents):
  """(B, 8) -> (B, 4, 4, 1) in [-1, 1]: tanh of a fixed linear map (stands in for the ONNX generator)."""
  weights = np.random.default_rng(123).standard_normal((LATENT_DIM, 16)).astype(np.float32)
  return np.tanh(latents @ weights).reshape(-1, 4, 4, 1)


def images_of(latents):
  return common_images.to_uint8(toy_generator(latents), squeeze_gray=True)


class TestLatents:

  def test_same_seed_same_latents(self):
    np.testing.assert_array_equal(sampler.latent_from_seed(7, 4, LATENT_DIM),
                                  sampler.latent_from_seed(7, 4, LATENT_DIM))

  def test_different_seeds_differ(self):
    assert not np.allclose(sampler.latent_from_seed(1, 4, LATENT_DIM), sampler.latent_from_seed(2, 4, LATENT_DIM))

  def test_latents_are_common_latents(self):
    # the app's z is the project's one mapping (common/latents.py), so a seed means the same images everywhere
    from common import latents
    z = sampler.latent_from_seed(5, 3, LATENT_DIM)
    assert z.dtype == np.float32 and z.shape == (3, LATENT_DIM)
    np.testing.assert_array_equal(z, latents.latents(5, 3, LATENT_DIM))
    np.testing.assert_array_equal(sampler.latent_from_seed(sampler.MAX_SEED, 2, 3), latents.latents(2**32 - 1, 2, 3))

  def test_row_i_does_not_depend_on_count(self):
    np.testing.assert_array_equal(sampler.latent_from_seed(9, 2, LATENT_DIM),
                                  sampler.latent_from_seed(9, 5, LATENT_DIM)[:2])

  def test_scale_multiplies(self):
    # 0.5 is a power of two: halving a float32 is exact, so the scaled latents equal z / 2 bit for bit
    np.testing.assert_array_equal(sampler.latent_from_seed(3, 2, LATENT_DIM, 0.5),
                                  sampler.latent_from_seed(3, 2, LATENT_DIM) / 2)
    np.testing.assert_allclose(sampler.latent_from_seed(3, 2, LATENT_DIM, 0.7),
                               0.7 * sampler.latent_from_seed(3, 2, LATENT_DIM), rtol=1e-6)

  def test_seed_accepts_integral_float_and_string(self):
    np.testing.assert_array_equal(sampler.latent_from_seed(42.0, 1, LATENT_DIM),
                                  sampler.latent_from_seed('42', 1, LATENT_DIM))
    assert sampler.validate_seed(sampler.MAX_SEED) == 2**32 - 1

  def test_serve_imports_neither_tensorflow_nor_training(self):
    # a None entry in sys.modules makes `import tensorflow` raise ImportError: any import of it would fail here
    code = ('import sys; sys.modules["tensorflow"] = None\n'
            'from serve import models, sampler\n'
            'assert sampler.latent_from_seed(1, 2, 8).shape == (2, 8)\n'
            'assert not [m for m in sys.modules if m == "training" or m.startswith("training.")]\n')
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


class TestValidation:

  @pytest.mark.parametrize('seed', [-1, 2**32, 'abc', 1.5, None, True, ''])
  def test_bad_seed(self, seed):
    with pytest.raises(ValueError, match=r'seed must be an integer from 0 to 4294967295'):
      sampler.latent_from_seed(seed, 1, LATENT_DIM)

  @pytest.mark.parametrize('count', [0, 65, 10000, -3, 'many'])
  def test_bad_count(self, count):
    with pytest.raises(ValueError, match=r'count \(number of images\) must be an integer from 1 to 64'):
      sampler.latent_from_seed(0, count, LATENT_DIM)

  @pytest.mark.parametrize('steps', [1, 65, 100000, 0])
  def test_bad_steps(self, steps):
    with pytest.raises(ValueError, match=r'steps must be an integer from 2 to 64'):
      sampler.interpolation_latents(0, 1, steps, latent_dim=LATENT_DIM)

  @pytest.mark.parametrize('scale', [0, -1, 2.01, float('nan'), 'x'])
  def test_bad_scale(self, scale):
    with pytest.raises(ValueError, match=r'latent scale must be a number in \(0, 2\]'):
      sampler.latent_from_seed(0, 1, LATENT_DIM, scale)

  def test_bad_method(self):
    with pytest.raises(ValueError, match=r'method must be one of slerp, lerp'):
      sampler.interpolation_latents(0, 1, 4, 'cubic', latent_dim=LATENT_DIM)

  def test_limits_accepted(self):
    assert sampler.latent_from_seed(0, 64, LATENT_DIM, 2.0).shape == (64, LATENT_DIM)
    assert sampler.interpolation_latents(0, 1, 64, latent_dim=LATENT_DIM).shape == (64, LATENT_DIM)
    assert sampler.interpolation_latents(0, 1, 2, latent_dim=LATENT_DIM).shape == (2, LATENT_DIM)


class TestInterpolation:

  @pytest.mark.parametrize('method', sampler.METHODS)
  def test_endpoints_are_the_seeds_latents_and_images(self, method):
    path = sampler.interpolation_latents(11, 22, 9, method, latent_dim=LATENT_DIM, scale=0.8)
    z_a = sampler.latent_from_seed(11, 1, LATENT_DIM, 0.8)
    z_b = sampler.latent_from_seed(22, 1, LATENT_DIM, 0.8)
    np.testing.assert_array_equal(path[0], z_a[0])
    np.testing.assert_array_equal(path[-1], z_b[0])
    frames = images_of(path)
    np.testing.assert_array_equal(frames[0], images_of(z_a)[0])  # frame 0 is image 0 of a sample of seed 11
    np.testing.assert_array_equal(frames[-1], images_of(z_b)[0])

  def test_lerp_midpoint_is_the_mean(self):
    a, b = np.array([1.0, 2.0, -4.0], np.float32), np.array([3.0, -2.0, 0.0], np.float32)
    np.testing.assert_allclose(sampler.lerp(a, b, 0.5), [2.0, 0.0, -2.0])
    path = sampler.interpolation_latents(3, 4, 3, 'lerp', latent_dim=LATENT_DIM)
    np.testing.assert_allclose(path[1], (path[0] + path[2]) / 2, rtol=1e-6, atol=1e-6)

  def test_slerp_of_orthogonal_unit_vectors(self):
    # 90 degrees apart: the midpoint is at 45 degrees on the unit circle, (1/sqrt2, 1/sqrt2)
    out = sampler.slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(out, [[1, 0], [2**-0.5, 2**-0.5], [0, 1]], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)

  def test_slerp_keeps_the_norm_lerp_shrinks_it(self):
    z = sampler.latent_from_seed(0, 2, 512)
    t = np.linspace(0, 1, 5)
    slerp_norms = np.linalg.norm(sampler.slerp(z[0], z[1], t), axis=1)
    lerp_norms = np.linalg.norm(sampler.lerp(z[0], z[1], t), axis=1)
    assert slerp_norms.min() > 0.95 * min(np.linalg.norm(z, axis=1))
    assert lerp_norms[2] < 0.8 * slerp_norms[2]  # near-orthogonal Gaussian latents: midpoint norm ~ 1/sqrt2

  def test_slerp_parallel_vectors(self):
    a = np.array([1.0, 2.0, 3.0], np.float32)
    out = sampler.slerp(a, 2 * a, np.array([0.0, 0.5, 1.0]))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [a, 1.5 * a, 2 * a], rtol=1e-6)
    np.testing.assert_allclose(sampler.slerp(a, a, 0.3), a, rtol=1e-6)

  def test_slerp_antiparallel_vectors(self):
    a = np.array([1.0, 2.0, 3.0], np.float32)
    out = sampler.slerp(a, -a, np.linspace(0, 1, 5))
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[-1], -a)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), np.linalg.norm(a), rtol=1e-5)  # never through 0

  def test_same_inputs_same_frames_different_seeds_differ(self):
    one = images_of(sampler.interpolation_latents(5, 6, 8, latent_dim=LATENT_DIM))
    two = images_of(sampler.interpolation_latents(5, 6, 8, latent_dim=LATENT_DIM))
    other = images_of(sampler.interpolation_latents(5, 7, 8, latent_dim=LATENT_DIM))
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, other)


class TestImages:

  def test_to_uint8_of_minus_one_zero_one(self):
    images = np.array([-1.0, 0.0, 1.0, -1.5, 1.5], np.float32).reshape(1, 1, 5, 1)
    out = common_images.to_uint8(images, squeeze_gray=True)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 5)  # grayscale drops the channel axis
    np.testing.assert_array_equal(out[0, 0], [0, 128, 255, 0, 255])

  def test_to_uint8_rgb_keeps_three_channels(self):
    out = common_images.to_uint8(np.zeros((2, 3, 4, 3), np.float32), squeeze_gray=True)
    assert out.shape == (2, 3, 4, 3)

  def test_to_uint8_rejects_other_channel_counts(self):
    with pytest.raises(ValueError, match='expected images shaped'):
      common_images.to_uint8(np.zeros((1, 4, 4, 2), np.float32), squeeze_gray=True)

  def test_grid_layout(self):
    images = np.stack([np.full((2, 3), i, np.uint8) for i in range(5)])
    out = common_images.grid(images, cols=3, pad=1, fill=255)
    assert out.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert out[0, 0] == 0 and out[0, 4] == 1 and out[3, 4] == 4 and out[3, 8] == 255  # last cell empty
    assert common_images.grid(images).shape == (2 * 2 + 2, 3 * 3 + 4)  # default: ceil(sqrt(5)) = 3 columns

  def test_png_is_lossless(self, tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = tmp_path / 'x.png'
    path.write_bytes(common_images.png_bytes(image))
    np.testing.assert_array_equal(np.asarray(Image.open(path)), image)

  def test_gif_loops_and_pingpongs(self, tmp_path):
    frames = np.stack([np.full((16, 16), 40 * i, np.uint8) for i in range(4)])
    path = common_images.write_gif(frames, str(tmp_path / 'a.gif'), frame_ms=80, pingpong=True, min_size=32)
    with Image.open(path) as gif:
      assert gif.format == 'GIF' and gif.n_frames == 6 and gif.info.get('loop') == 0  # 0 1 2 3 2 1
      assert gif.size == (32, 32)
