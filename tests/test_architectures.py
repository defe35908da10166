"""The architecture registry's geometry: 4·2^n and native 7·2^n sizes (28 for MNIST-like data, unpadded), both
CUDA-clean when exported, with the existing power-of-two models unchanged."""

import numpy as np
import pytest

from training import architectures
from training.architectures import ARCHITECTURES

LATENT_DIM = 8


@pytest.mark.parametrize('image_size', architectures.IMAGE_SIZES)
def test_every_size_builds_generator_and_critic_of_that_size(image_size):
  generator = ARCHITECTURES['dcgan'].build_generator(LATENT_DIM, image_size, 1, 2)
  critic = ARCHITECTURES['dcgan'].build_critic(image_size, 1, 2)
  images = generator(np.zeros((2, LATENT_DIM), np.float32), training=False)
  assert images.shape == (2, image_size, image_size, 1)
  assert critic(images).shape == (2, 1)


def test_the_28_pixel_model_is_7_14_28_and_the_32_pixel_one_keeps_its_shape():
  g28 = ARCHITECTURES['dcgan'].build_generator(128, 28, 1, 32)
  g32 = ARCHITECTURES['dcgan'].build_generator(128, 32, 1, 32)
  bn_shapes = lambda g: [tuple(layer.output.shape[1:]) for layer in g.layers if layer.name.endswith('_bn')]
  assert bn_shapes(g28) == [(7, 7, 128), (14, 14, 64)]
  assert bn_shapes(g32) == [(4, 4, 256), (8, 8, 128), (16, 16, 64)]
  assert g32.count_params() == 1_182_465  # the parameter count this model had before 28 existed


@pytest.mark.parametrize('image_size', [12, 24, 30, 48, 256])
def test_other_sizes_are_refused_with_the_list(image_size):
  with pytest.raises(ValueError, match=r'--image_size must be one of 16, 28, 32, 56, 64, 112, 128'):
    architectures.validate_image_size(image_size)


@pytest.mark.slow
def test_the_28_pixel_generator_exports_cuda_clean_with_parity():
  from export import cuda_clean, onnx_export
  generator = ARCHITECTURES['dcgan'].build_generator(LATENT_DIM, 28, 1, 4)
  model = onnx_export.convert(generator, LATENT_DIM)
  assert cuda_clean.cuda_fallback_nodes(model) == []  # kernel 4 stride 2: symmetric pads 1/1 at 7->14->28
  session = onnx_export.cpu_session(model.SerializeToString())
  diffs = onnx_export.parity(generator, session, LATENT_DIM)
  assert max(diffs.values()) < 1e-5, diffs


def test_28_pixel_mnist_is_read_unpadded(shared_data, tfds_data_dir):
  from data import datasets
  native, _ = datasets.load_images('mnist', 28, data_dir=tfds_data_dir, manual_dir=shared_data / 'mnist')
  padded, _ = datasets.load_images('mnist', 32, data_dir=tfds_data_dir, manual_dir=shared_data / 'mnist')
  native, padded = next(iter(native.batch(8))).numpy(), next(iter(padded.batch(8))).numpy()
  assert native.shape == (8, 28, 28, 1)
  np.testing.assert_array_equal(np.pad(native, [(0, 0), (2, 2), (2, 2), (0, 0)], constant_values=-1.0), padded)
