"""What every image architecture shares (training/architectures.py's DCGANs, training/resnet_architectures.py):
the generator's output name, the image sizes and their geometry, the BatchNorm they all use, and the two ends of a
generator (`latent_input`, `generator_model`) through which a class label enters when one is asked for
(training/conditioning.py): the builders themselves never branch on conditioning."""

import contextlib
import math

import keras
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
  """BatchNorm, or inside `labelled(..., 'batchnorm')` the conditional BatchNorm of Miyato & Koyama 2018 / BigGAN:
  the statistics are the batch's, shared by every class (so EMA re-estimation needs no per-class statistics),
  and the scale and shift are the class's (ClassAffine)."""
  # synchronized=True: under MirroredStrategy / MultiWorker the batch mean and variance are all-reduced over
  # the global batch, so every replica normalises with the same statistics and the moving averages agree.
  scope = _LABELLED[-1] if _LABELLED else None
  if scope is None or scope.entry != 'batchnorm':
    return layers.BatchNormalization(momentum=_BN_MOMENTUM, synchronized=True, name=name)
  if scope.labels is None:
    raise RuntimeError('a conditional generator builder must call latent_input before its first batch_norm')
  norm = layers.BatchNormalization(momentum=_BN_MOMENTUM, synchronized=True, center=False, scale=False, name=name)
  return lambda x: ClassAffine(name=f'{name}_class')([norm(x), scope.labels])


@keras.saving.register_keras_serializable(package='gan_pipeline')
class ClassAffine(layers.Layer):
  """[x (B, H, W, C), y (B, K) class weights] -> x · (1 + y W_γ) + y W_β: a per-class scale and shift after a
  BatchNorm without its own. y one-hot picks class k's row; a mixture of classes mixes their rows (the app's class
  morph). W_γ, W_β start at zero: at initialisation every class is the plain BatchNorm. Exported as MatMul, Add,
  Reshape and Mul: CUDA kernels, indexed by nothing, so no label value can read out of bounds."""

  def build(self, shapes):
    x_shape, y_shape = shapes
    self.gamma = self.add_weight(name='gamma', shape=(y_shape[-1], x_shape[-1]), initializer='zeros')
    self.beta = self.add_weight(name='beta', shape=(y_shape[-1], x_shape[-1]), initializer='zeros')

  def call(self, inputs):
    from keras import ops
    x, y = inputs
    y = ops.cast(y, x.dtype)
    scale = 1.0 + ops.matmul(y, ops.cast(self.gamma, x.dtype))  # (B, C)
    shift = ops.matmul(y, ops.cast(self.beta, x.dtype))
    shape = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
    return x * ops.reshape(scale, shape) + ops.reshape(shift, shape)

  def compute_output_shape(self, shapes):
    return shapes[0]


class _Labelled:
  def __init__(self, num_classes: int, entry: str):
    self.num_classes, self.entry, self.labels = num_classes, entry, None


_LABELLED = []  # the scope of the generator being built, if it is conditional


@contextlib.contextmanager
def labelled(num_classes: int, entry: str):
  """Builds the generators made inside it with a label input 'labels' float32 (B, num_classes) beside z. entry:
  'batchnorm' (every BatchNorm becomes conditional) or 'concat' (z and the labels concatenated, for generators
  without BatchNorm)."""
  _LABELLED.append(_Labelled(num_classes, entry))
  try:
    yield
  finally:
    _LABELLED.pop()


def latent_input(latent_dim: int) -> tuple:
  """(model inputs, the tensor the network starts from): z alone, or [z, labels] in a `labelled` scope with z, or
  z ⊕ labels for the 'concat' entry."""
  from common.signature import LABEL_INPUT
  z = keras.Input((latent_dim,), name='z')
  scope = _LABELLED[-1] if _LABELLED else None
  if scope is None:
    return z, z
  scope.labels = keras.Input((scope.num_classes,), name=LABEL_INPUT)
  start = layers.Concatenate(name='z_and_labels')([z, scope.labels]) if scope.entry == 'concat' else z
  return [z, scope.labels], start


def generator_model(inputs, images) -> keras.Model:
  return keras.Model(inputs, images, name='generator')
