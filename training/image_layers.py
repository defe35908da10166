"""What every image architecture shares (training/architectures.py's DCGANs, training/resnet_architectures.py):
the generator's output name, the image sizes and their geometry, and the BatchNorm they all use."""

import math

from keras import layers

from common import kinds
from common.signature import GeneratorSignature

# The generator's output layer is named for the signature's output: export names the ONNX output after it.
IMAGE_OUTPUT = GeneratorSignature.output_name_of(kinds.IMAGE)  # 'images'

MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 128
_BN_MOMENTUM = 0.9  # moving statistics that keep up with a short run; Keras' 0.99 lags for thousands of steps
# Image sizes are base · 2^n with n >= 2 doublings: base 4 gives 16, 32, 64, 128; base 7 gives 28, 56, 112, the
# native size of MNIST-like data (7 -> 14 -> 28), which then needs no padding to 32 (a 28-pixel model does about
# half the convolution work of the 32-pixel one: it is that model without its 4x4 level).
_BASES = (4, 7)
IMAGE_SIZES = tuple(sorted(b * 2 ** n for b in _BASES for n in range(2, 6)
                           if MIN_IMAGE_SIZE <= b * 2 ** n <= MAX_IMAGE_SIZE))


def validate_image_size(image_size: int) -> None:
  if image_size not in IMAGE_SIZES:
    raise ValueError(f'--image_size must be one of {", ".join(map(str, IMAGE_SIZES))} (4 or 7 times a power of two), '
                     f'got {image_size}')


def geometry(image_size: int) -> tuple:
  """(base side, number of doublings (stride-2 layers or up/down blocks) between base and image_size)."""
  validate_image_size(image_size)
  base = next(b for b in _BASES if image_size % b == 0 and (image_size // b) & (image_size // b - 1) == 0)
  return base, int(math.log2(image_size // base))


def batch_norm(name):
  # synchronized=True: under MirroredStrategy / MultiWorker the batch mean and variance are all-reduced over
  # the global batch, so every replica normalises with the same statistics and the moving averages agree.
  return layers.BatchNormalization(momentum=_BN_MOMENTUM, synchronized=True, name=name)
