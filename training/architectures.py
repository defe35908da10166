"""Generator and critic architectures, registered by name.

Every generator here must export to an ONNX graph that ONNX Runtime's CUDA EP runs entirely. The CUDA EP
cannot run ConvTranspose with asymmetric padding (measured on an H100: 41 ms vs 0.33 ms per batch of 64), so
transposed convolutions use kernel 4 with stride 2 and "same" padding: total padding k - s = 2 splits 1 / 1.
A kernel 5 / stride 2 "same" layer would pad (1, 2) and fall back to the CPU. `tests/test_export.py` checks
this property for every entry of `ARCHITECTURES`. The exception is `dcgan5`, the MathWorks example as published:
it keeps its kernel-5 layers, and the export rewrites them to symmetric pads + Slice (export/cuda_clean.py).

Models are functional (tf2onnx's `from_keras` fails on Sequential models).
"""

import dataclasses
import math
from typing import Callable, Optional

import keras
from keras import layers

from common import kinds
from common.signature import GeneratorSignature
from training.text_architectures import resnet1d_critic, resnet1d_generator

# What every image architecture shares (training/image_layers.py): its output name, sizes and BatchNorm.
from training.image_layers import IMAGE_OUTPUT, IMAGE_SIZES, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, validate_image_size
from training.image_layers import (batch_norm as _batch_norm, generator_model, geometry as _geometry,
                                   latent_input)
from training.resnet_architectures import resnet_critic, resnet_generator

POINTS_OUTPUT = GeneratorSignature.output_name_of(kinds.POINTS)  # 'points'
_KERNEL, _STRIDE = 4, 2  # symmetric "same" padding for the transposed convolutions, see module docstring


def _projection_channels(base: int, n_up: int, width: int) -> int:
  # A 7x7 start holds 3x the positions of a 4x4 one: with two doublings (28) it starts at the channels the
  # 32-pixel model has at 8x8 (4·width), so the 28 model is the 32 model without its first level.
  return 8 * width if base == 4 or n_up >= 3 else 4 * width


def _up_block(x, filters: int, kernel: int, stride: int, padding: str, name: str, dtype_policy: str):
  """Transposed convolution (no bias: BatchNorm follows) -> BatchNorm -> ReLU, the generators' building block."""
  x = layers.Conv2DTranspose(filters, kernel, stride, padding=padding, use_bias=False, dtype=dtype_policy,
                             name=name)(x)
  x = _batch_norm(f'{name}_bn')(x)
  return layers.ReLU(name=f'{name}_relu')(x)


def dcgan_generator(latent_dim: int, image_size: int, channels: int, width: int,
                    dtype_policy: str = 'float32') -> keras.Model:
  """DCGAN generator (Radford et al. 2016, Fig. 1): z -> 4x4x(8·width) -> strided transposed convs -> tanh.

  image_size 28 (56, 112) starts at 7x7x(4·width) instead: 7 -> 14 -> 28, the same kernel-4 stride-2 layers.

  Output: (B, image_size, image_size, channels) in [-1, 1], float32.
  """
  base, n_up = _geometry(image_size)
  projection = _projection_channels(base, n_up, width)
  inputs, z = latent_input(latent_dim)
  x = layers.Dense(base * base * projection, use_bias=False, dtype=dtype_policy, name='project')(z)
  x = layers.Reshape((base, base, projection), name='reshape')(x)
  x = _batch_norm('project_bn')(x)
  x = layers.ReLU(name='project_relu')(x)
  for i in range(n_up - 1):
    x = _up_block(x, max(width, projection // 2 ** (i + 1)), _KERNEL, _STRIDE, 'same', f'up{i}', dtype_policy)
  x = layers.Conv2DTranspose(channels, _KERNEL, _STRIDE, padding='same', dtype=dtype_policy, name='to_image')(x)
  images = layers.Activation('tanh', dtype='float32', name=IMAGE_OUTPUT)(x)  # (B, H, W, C) in [-1, 1]
  return generator_model(inputs, images)


def dcgan_critic(image_size: int, channels: int, width: int, norm: str = 'layer', input_dropout: float = 0.0,
                 dtype_policy: str = 'float32') -> keras.Model:
  """DCGAN discriminator / critic: strided convs + LeakyReLU(0.2) down to 4x4 (7x7), then one linear logit.

  norm: 'batch' (DCGAN, LSGAN, WGAN), 'layer' (WGAN-GP: per-example, so the penalty stays per-example) or
  'none'. No normalisation on the first layer (Radford et al. 2016, Sec. 3).
  """
  _, n_down = _geometry(image_size)  # down to the base side: 4x4, or 7x7 for 28-pixel images
  images = keras.Input((image_size, image_size, channels), name='images')
  x = images
  if input_dropout > 0:
    x = layers.Dropout(input_dropout, name='input_dropout')(x)
  for i in range(n_down):
    filters = min(8 * width, width * 2 ** i)
    x = layers.Conv2D(filters, _KERNEL, _STRIDE, padding='same', use_bias=(i == 0 or norm == 'none'),
                      dtype=dtype_policy, name=f'down{i}')(x)
    if i > 0 and norm == 'batch':
      x = _batch_norm(f'down{i}_bn')(x)
    elif i > 0 and norm == 'layer':
      x = layers.LayerNormalization(axis=[1, 2, 3], dtype=dtype_policy, name=f'down{i}_ln')(x)
    x = layers.LeakyReLU(0.2, dtype=dtype_policy, name=f'down{i}_lrelu')(x)
  x = layers.Flatten(name='flatten')(x)
  logits = layers.Dense(1, dtype='float32', name='logits')(x)  # (B, 1), unbounded
  return keras.Model(images, logits, name='critic')


# --- dcgan5: the MathWorks example's DCGAN, kernel 5 -----------------------------------------------------------
# MATLAB "Train Generative Adversarial Network (GAN)" (Deep Learning Toolbox), 64x64x3 flowers, numFilters = 64:
#   G: projectAndReshape(4x4x512, bias) -> tconv(5, 256)            -> BN, ReLU     4 -> 8 (stride 1, no cropping)
#      -> tconv(5, 128, stride 2, "same") -> BN, ReLU -> tconv(5, 64, ...) -> BN, ReLU -> tconv(5, 3, ...) -> tanh
#   D: dropout(0.5) -> conv(5, 64, stride 2, "same") -> LeakyReLU(0.2)
#      -> [conv(5, 128 / 256 / 512, stride 2, "same") -> BN -> LeakyReLU(0.2)] x 3 -> conv(4, 1) (valid) -> sigmoid
# The sigmoid lives in the loss here (logits out). Biases in front of a BatchNorm are left out: its β absorbs them.
# The stride-2 kernel-5 "same" transposed convolutions pad (1, 2); the export rewrites them to symmetric pads + a
# Slice (export/cuda_clean.py) so ONNX Runtime's CUDA EP runs them.
_KERNEL5 = 5
_VALID_GROWTH = _KERNEL5 - 1  # a stride-1 "valid" transposed convolution adds k - 1 pixels: 4 -> 8 in the example


def _dcgan5_geometry(image_size: int) -> tuple:
  """(projection side, number of stride-2 transposed convolutions): image_size = (side + 4) · 2^n.

  The example's 64 = (4 + 4) · 2^3. Sizes 4·2^k grow 4 -> 8 like it (16, 32, 64, 128); sizes 7·2^k project to 3,
  whose stride-1 layer lands on 7 (3 -> 7 -> 14 -> 28), the native MNIST-like geometry."""
  base, _ = _geometry(image_size)
  grown = 2 * base if base == 4 else base  # the stride-1 layer's output side
  return grown - _VALID_GROWTH, int(math.log2(image_size // grown))


def dcgan5_generator(latent_dim: int, image_size: int, channels: int, width: int,
                     dtype_policy: str = 'float32') -> keras.Model:
  """The MathWorks example's generator: z -> side x side x (8·width) (a biased projection, no BN: as published)
  -> stride-1 valid kernel-5 transposed conv to (side + 4) with 4·width filters, BN, ReLU -> stride-2 "same"
  kernel-5 transposed convs halving the filters (at least `width`), BN, ReLU -> `channels`, tanh.

  width 64 at 64x64 is the example: 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3.
  Output: (B, image_size, image_size, channels) in [-1, 1], float32.
  """
  side, n_up = _dcgan5_geometry(image_size)
  projection = 8 * width
  inputs, z = latent_input(latent_dim)
  x = layers.Dense(side * side * projection, dtype=dtype_policy, name='project')(z)
  x = layers.Reshape((side, side, projection), name='reshape')(x)  # (B, side, side, 8·width)
  x = _up_block(x, 4 * width, _KERNEL5, 1, 'valid', 'grow', dtype_policy)  # (B, side + 4, side + 4, 4·width)
  for i in range(n_up - 1):
    x = _up_block(x, max(width, 4 * width // 2 ** (i + 1)), _KERNEL5, _STRIDE, 'same', f'up{i}', dtype_policy)
  x = layers.Conv2DTranspose(channels, _KERNEL5, _STRIDE, padding='same', dtype=dtype_policy, name='to_image')(x)
  images = layers.Activation('tanh', dtype='float32', name=IMAGE_OUTPUT)(x)  # (B, H, W, C) in [-1, 1]
  return generator_model(inputs, images)


def dcgan5_critic(image_size: int, channels: int, width: int, norm: str = 'batch', input_dropout: float = 0.0,
                  dtype_policy: str = 'float32') -> keras.Model:
  """The MathWorks example's discriminator: [input dropout] -> stride-2 "same" kernel-5 convs with width · 2^i
  filters (at most 8·width) and LeakyReLU(0.2), normalised from the second on, down to 4x4 -> one convolution
  over the whole 4x4 map (kernel 4, valid) to a logit (B, 1).

  norm: 'batch' (the example), 'layer' (for a gradient penalty) or 'none'. The example's input dropout (0.5)
  comes from --critic_input_dropout.
  """
  validate_image_size(image_size)
  images = keras.Input((image_size, image_size, channels), name='images')
  x = layers.Dropout(input_dropout, name='input_dropout')(images) if input_dropout > 0 else images
  side, i = image_size, 0
  while side > 4:  # 64 -> 32 -> 16 -> 8 -> 4; 28 -> 14 -> 7 -> 4 ("same" rounds up)
    x = layers.Conv2D(min(8 * width, width * 2 ** i), _KERNEL5, _STRIDE, padding='same',
                      use_bias=(i == 0 or norm == 'none'), dtype=dtype_policy, name=f'down{i}')(x)
    if i > 0 and norm == 'batch':
      x = _batch_norm(f'down{i}_bn')(x)
    elif i > 0 and norm == 'layer':
      x = layers.LayerNormalization(axis=[1, 2, 3], dtype=dtype_policy, name=f'down{i}_ln')(x)
    x = layers.LeakyReLU(0.2, dtype=dtype_policy, name=f'down{i}_lrelu')(x)
    side, i = -(-side // _STRIDE), i + 1
  x = layers.Conv2D(1, side, padding='valid', dtype='float32', name='to_logit')(x)  # (B, 1, 1, 1)
  logits = layers.Reshape((1,), name='logits')(x)  # (B, 1), unbounded
  return keras.Model(images, logits, name='critic')


# --- dcgan_family: the WGAN-GP paper's random-architecture study (Gulrajani et al. 2017, Sec. 5.1, Table 1) -----
# The DCGAN above with the study's knobs: one nonlinearity for generator and critic, a depth (convolution layers
# per network: the strided ones plus extra stride-1 3x3 convolutions spread over the lower resolutions), BatchNorm
# in the generator or not, and the critic normalisation from --critic_norm (BatchNorm for the GAN, LayerNorm for
# WGAN-GP, or none). Stride-1 3x3 "same" convolutions pad 1 / 1: CUDA-clean like the kernel-4 stride-2 layers.

def shifted_softplus(x):
  """softplus(2x + 2) / 2 - 1, the paper's smooth ReLU: about x for large x, floor -1 for very negative x."""
  from keras import ops
  return ops.softplus(2.0 * x + 2.0) / 2.0 - 1.0


class GatedUnit(layers.Layer):
  """sigmoid(a) * tanh(b) of the two halves (a, b) of the channel axis: PixelCNN's gated multiplicative unit, the
  "gated multiplicative nonlinearities everywhere" row of the WGAN-GP paper's Figure 2 (gan_64x64.py). The layer in
  front of it makes twice the channels (`CHANNEL_FACTOR`)."""

  def call(self, x):
    from keras import ops
    a, b = ops.split(x, 2, axis=-1)
    return ops.sigmoid(a) * ops.tanh(b)


# Each nonlinearity as (generator's layer, critic's layer) factories; 'dcgan' is the DCGAN paper's pair (Radford et
# al. 2016: ReLU in the generator, LeakyReLU(0.2) in the discriminator), every other name is one nonlinearity used
# everywhere, as the WGAN-GP paper's study draws them.
_relu = lambda name, policy: layers.ReLU(dtype=policy, name=name)  # noqa: E731
_leaky = lambda name, policy: layers.LeakyReLU(0.2, dtype=policy, name=name)  # noqa: E731
_softplus = lambda name, policy: layers.Activation(shifted_softplus, dtype=policy, name=name)  # noqa: E731
_tanh = lambda name, policy: layers.Activation('tanh', dtype=policy, name=name)  # noqa: E731
_gated = lambda name, policy: GatedUnit(dtype=policy, name=name)  # noqa: E731
NONLINEARITIES = {
    'relu': (_relu, _relu),
    'leakyrelu': (_leaky, _leaky),
    'softplus': (_softplus, _softplus),
    'tanh': (_tanh, _tanh),
    'gated': (_gated, _gated),
    'dcgan': (_relu, _leaky),
}
CHANNEL_FACTOR = {'gated': 2}  # channels the layer before the nonlinearity makes, per channel it passes on
_GENERATOR, _CRITIC = 0, 1
GENERATOR_NORMS = ('batch', 'none')
# halving: the DCGAN's 8·width projection halved per level; constant: width filters everywhere (the generator of
# the WGAN paper's Figure 6, "no BN and a constant number of filters", the WGAN-GP paper's Figure 2 row 2).
GENERATOR_FILTERS = ('halving', 'constant')


def family_min_depth(image_size: int) -> int:
  """The strided (transposed) convolutions alone: 2 at 28x28 (7 -> 14 -> 28), 3 at 32x32, 4 at 64x64."""
  return _geometry(image_size)[1]


def _extra_layers(image_size: int, depth: int) -> list:
  """Stride-1 layers per resolution level, lowest resolution first: depth 0 is the minimum; the extra layers are
  dealt round-robin from the smallest level (the cheapest), so depth 20 at 28x28 puts 9 at 7x7 and 9 at 14x14."""
  levels = family_min_depth(image_size)
  depth = depth or levels
  if depth < levels:
    raise ValueError(f'--depth={depth} is below the {levels} strided convolutions a {image_size}x{image_size} '
                     f'dcgan_family network needs; pass --depth >= {levels} (or 0 for the minimum)')
  extra = depth - levels
  return [extra // levels + (i < extra % levels) for i in range(levels)]


def _family_block(x, filters: int, name: str, nonlinearity: str, norm: str, policy: str, role: int,
                  conv=layers.Conv2D, kernel: int = 3, stride: int = 1):
  factor = CHANNEL_FACTOR.get(nonlinearity, 1)
  x = conv(factor * filters, kernel, stride, padding='same', use_bias=norm == 'none', dtype=policy, name=name)(x)
  if norm == 'batch':
    x = _batch_norm(f'{name}_bn')(x)
  elif norm == 'layer':
    x = layers.LayerNormalization(axis=[1, 2, 3], dtype=policy, name=f'{name}_ln')(x)
  return NONLINEARITIES[nonlinearity][role](f'{name}_act', policy)(x)


def family_generator(latent_dim: int, image_size: int, channels: int, width: int, dtype_policy: str = 'float32',
                     nonlinearity: str = 'relu', depth: int = 0, generator_norm: str = 'batch',
                     generator_filters: str = 'halving') -> keras.Model:
  """dcgan_generator with the study's knobs: z -> projection [BN] act -> per level: extra stride-1 3x3 convs
  [BN] act, then a kernel-4 stride-2 transposed conv [BN] act ... -> tanh. Output (B, S, S, C) in [-1, 1].
  generator_filters='constant': `width` filters in every layer, the projection included."""
  base, n_up = _geometry(image_size)
  extra = _extra_layers(image_size, depth)
  constant = generator_filters == 'constant'
  projection = width if constant else _projection_channels(base, n_up, width)
  factor = CHANNEL_FACTOR.get(nonlinearity, 1)
  inputs, z = latent_input(latent_dim)
  x = layers.Dense(base * base * projection * factor, use_bias=generator_norm == 'none', dtype=dtype_policy,
                   name='project')(z)
  x = layers.Reshape((base, base, projection * factor), name='reshape')(x)
  if generator_norm == 'batch':
    x = _batch_norm('project_bn')(x)
  x = NONLINEARITIES[nonlinearity][_GENERATOR]('project_act', dtype_policy)(x)
  filters = projection
  for level in range(n_up):
    for j in range(extra[level]):
      x = _family_block(x, filters, f'level{level}_conv{j}', nonlinearity, generator_norm, dtype_policy, _GENERATOR)
    if level < n_up - 1:
      filters = width if constant else max(width, projection // 2 ** (level + 1))
      x = _family_block(x, filters, f'up{level}', nonlinearity, generator_norm, dtype_policy, _GENERATOR,
                        conv=layers.Conv2DTranspose, kernel=_KERNEL, stride=_STRIDE)
  x = layers.Conv2DTranspose(channels, _KERNEL, _STRIDE, padding='same', dtype=dtype_policy, name='to_image')(x)
  images = layers.Activation('tanh', dtype='float32', name=IMAGE_OUTPUT)(x)  # (B, H, W, C) in [-1, 1]
  return generator_model(inputs, images)


def family_critic(image_size: int, channels: int, width: int, norm: str = 'layer', input_dropout: float = 0.0,
                  dtype_policy: str = 'float32', nonlinearity: str = 'relu', depth: int = 0) -> keras.Model:
  """dcgan_critic with the study's knobs: per level a kernel-4 stride-2 conv [norm] act, then that level's extra
  stride-1 3x3 convs [norm] act (mirroring the generator, highest resolution first) -> one linear logit (B, 1).
  No normalisation on the first layer (Radford et al. 2016)."""
  _, n_down = _geometry(image_size)
  extra = _extra_layers(image_size, depth)[::-1]  # highest resolution first
  images = keras.Input((image_size, image_size, channels), name='images')
  x = layers.Dropout(input_dropout, name='input_dropout')(images) if input_dropout > 0 else images
  for level in range(n_down):
    filters = min(8 * width, width * 2 ** level)
    x = _family_block(x, filters, f'down{level}', nonlinearity, 'none' if level == 0 else norm, dtype_policy,
                      _CRITIC, kernel=_KERNEL, stride=_STRIDE)
    for j in range(extra[level]):
      x = _family_block(x, filters, f'level{level}_conv{j}', nonlinearity, norm, dtype_policy, _CRITIC)
  x = layers.Flatten(name='flatten')(x)
  logits = layers.Dense(1, dtype='float32', name='logits')(x)  # (B, 1), unbounded
  return keras.Model(images, logits, name='critic')


def mlp_generator(latent_dim: int, dims: int, width: int, depth: int = 3, dtype_policy: str = 'float32') -> keras.Model:
  """The WGAN-GP paper's toy generator (gan_toy.py): z -> depth x (Dense(width), ReLU) -> Dense(dims), He-uniform
  initialisation, no output non-linearity (the toy data is not bounded to [-1, 1]). Output: (B, dims) float32."""
  z = keras.Input((latent_dim,), name='z')
  x = z
  for i in range(depth):
    x = layers.Dense(width, activation='relu', kernel_initializer='he_uniform', dtype=dtype_policy, name=f'hidden{i}')(x)
  points = layers.Dense(dims, kernel_initializer='he_uniform', dtype='float32', name=POINTS_OUTPUT)(x)  # (B, dims)
  return keras.Model(z, points, name='generator')


def mlp_critic(dims: int, width: int, norm: str = 'none', input_dropout: float = 0.0, depth: int = 3,
               dtype_policy: str = 'float32') -> keras.Model:
  """The toy critic: (B, dims) -> depth x (Dense(width), ReLU) -> Dense(1); no normalisation (the paper's toy
  critic has none; `norm` exists for the registry's interface and must be 'none'). depth=12 is the deep critic
  of the paper's Figure 1b."""
  if norm != 'none':
    raise ValueError(f'the mlp critic has no normalisation layers, got norm={norm!r}')
  points = keras.Input((dims,), name='points')
  x = layers.Dropout(input_dropout, name='input_dropout')(points) if input_dropout > 0 else points
  for i in range(depth):
    x = layers.Dense(width, activation='relu', kernel_initializer='he_uniform', dtype=dtype_policy, name=f'hidden{i}')(x)
  logits = layers.Dense(1, kernel_initializer='he_uniform', dtype='float32', name='logits')(x)  # (B, 1)
  return keras.Model(points, logits, name='critic')


def mlp_image_generator(latent_dim: int, image_size: int, channels: int, width: int,
                        dtype_policy: str = 'float32') -> keras.Model:
  """The "512-dim 4-layer ReLU MLP G" of the WGAN-GP paper's Figure 2 (FCGenerator in gan_64x64.py): z -> 4 x
  (Dense(8·width), ReLU; He initialisation) -> Dense(S·S·C) -> tanh, reshaped to (B, S, S, C). 8·width units: the
  paper's 512 at its DIM 64. No convolution: every pixel is a separate output unit. Its critic is the DCGAN's."""
  validate_image_size(image_size)
  inputs, x = latent_input(latent_dim)
  for i in range(4):
    x = layers.Dense(8 * width, activation='relu', kernel_initializer='he_uniform', dtype=dtype_policy,
                     name=f'hidden{i}')(x)
  x = layers.Dense(image_size * image_size * channels, dtype=dtype_policy, name='to_pixels')(x)
  x = layers.Reshape((image_size, image_size, channels), name='reshape')(x)
  images = layers.Activation('tanh', dtype='float32', name=IMAGE_OUTPUT)(x)  # (B, H, W, C) in [-1, 1]
  return generator_model(inputs, images)


@dataclasses.dataclass(frozen=True)
class Architecture:
  """An architecture for one data kind (training/data_kinds.py), which knows how to call its builders:
  image: build_generator(latent_dim, image_size, channels, width, dtype_policy),
         build_critic(image_size, channels, width, norm, input_dropout, dtype_policy);
  points: build_generator(latent_dim, dims, width, dtype_policy=...), build_critic(dims, width, norm, input_dropout,
         dtype_policy=...);
  text: build_generator(latent_dim, seq_len, vocab_size, width, dtype_policy), build_critic(seq_len, vocab_size,
         width, norm, input_dropout, dtype_policy).
  generator_options / critic_options: settings passed to the builders by name (the study's knobs).
  critic_norms: the critic normalisations it offers, narrowing the loss family's; default_critic_norm overrides
  the family's default when set (an MLP critic has no normalisation layers at all)."""
  name: str
  build_generator: Callable
  build_critic: Callable
  description: str
  kind: str = kinds.IMAGE  # the data kind it trains on (common/kinds.py)
  # spectral: the builder's 'none' critic, spectrally normalised after it is built (training/spectral_norm.py).
  critic_norms: tuple = ('batch', 'layer', 'none', 'spectral')
  default_critic_norm: Optional[str] = None
  # Settings (TrainConfig fields) the builders take as keyword arguments, recorded in generator.json's
  # `arch_options` so that the generator can be rebuilt; other architectures refuse them.
  generator_options: tuple = ()
  critic_options: tuple = ()
  # options -> whether its generator has BatchNorm: where the class label of a conditional run enters
  # (training/conditioning.py: conditional BatchNorm, else concatenated with z).
  generator_batch_norm: Callable = lambda options: True


ARCHITECTURES = {
    'dcgan': Architecture('dcgan', dcgan_generator, dcgan_critic,
                          'DCGAN: 4x4 projection, kernel-4 stride-2 (transposed) convolutions'),
    'dcgan5': Architecture('dcgan5', dcgan5_generator, dcgan5_critic,
                           'MathWorks DCGAN example: 4x4x(8·width) projection, kernel-5 (transposed) convolutions, '
                           'dropout on the critic input, a 4x4 convolution to the logit'),
    'dcgan_family': Architecture('dcgan_family', family_generator, family_critic,
                                 "DCGAN family of the WGAN-GP paper's architecture study (Table 1) and Figure 2: "
                                 '--nonlinearity, --depth, --generator_norm, --generator_filters, --critic_norm',
                                 generator_options=('nonlinearity', 'depth', 'generator_norm', 'generator_filters'),
                                 critic_options=('nonlinearity', 'depth'),
                                 generator_batch_norm=lambda options: options['generator_norm'] == 'batch'),
    'mlp_image': Architecture('mlp_image', mlp_image_generator, dcgan_critic,
                              "WGAN-GP paper's Figure 2 MLP generator: 4 ReLU layers of 8·width units to every pixel; "
                              'the DCGAN critic', generator_batch_norm=lambda options: False),
    'resnet': Architecture('resnet', resnet_generator, resnet_critic,
                           "WGAN-GP paper's image ResNets: its CIFAR-10 one at 32x32 (--width 128 as published), "
                           'its 64x64 one (GoodGenerator/GoodDiscriminator, --width 64); residual up/down blocks'),
    'resnet1d': Architecture('resnet1d', resnet1d_generator, resnet1d_critic,
                             "WGAN-GP language model: 5 residual Conv1D blocks (--width channels), softmax per "
                             'position', kind=kinds.TEXT, critic_norms=('none',), default_critic_norm='none'),
    'mlp': Architecture('mlp', mlp_generator, mlp_critic, 'WGAN-GP toy MLP: 3 x 512 ReLU layers (--width), 2-D data',
                        kind=kinds.POINTS, critic_norms=('none',), default_critic_norm='none'),
}


def arch_options(arch, config, role: str) -> dict:
  """{option: value} that `arch`'s generator (role 'generator') or critic ('critic') builder takes from `config`
  (a TrainConfig, or anything with those attributes)."""
  return {name: getattr(config, name) for name in getattr(arch, f'{role}_options')}
