"""The WGAN-GP paper's image ResNets (Gulrajani et al. 2017, arXiv 1704.00028v3), read from
igul222/improved_wgan_training and written anew for Keras 3:

  32x32 (gan_cifar_resnet.py, Sec. 5.4, Table 3), `width` = the original's DIM (128), every block `width` wide:
    G: z -> Dense(4·4·w) -> 4x4xw -> 3 residual up-blocks -> BN, ReLU, conv3x3 -> tanh
    D: an optimised first block (conv, ReLU, conv, mean pool; shortcut mean pool, conv1x1), one down-block, two
       plain blocks -> ReLU -> mean over positions -> Dense(1)
  64x64 (gan_64x64.py `GoodGenerator` / `GoodDiscriminator`, Sec. 5.2), `width` = the original's DIM (64):
    G: z -> Dense(4·4·8w) -> 4x4x8w -> up-blocks to 8w, 4w, 2w, w -> BN, ReLU, conv3x3 -> tanh
    D: conv3x3 to w -> down-blocks to 2w, 4w, 8w, 8w (64 -> 4) -> flatten -> Dense(1)

A residual block is pre-activation: norm, ReLU, conv3x3, norm, ReLU, conv3x3, added to a shortcut (identity, or a
1x1 convolution where the shape changes). "Up" upsamples by nearest neighbour before its first convolution, as the
original's UpsampleConv does (four copies of the channels through depth_to_space); "down" mean-pools after its
second (ConvMeanPool), the shortcut before its 1x1 convolution (MeanPoolConv).

Other sizes follow the same two designs, by the number of doublings n from the 4x4 (or 7x7: 28, 56, 112) base:
n <= 3 (16, 28, 32, 56) the 32x32 design with n up-blocks and n - 2 down-blocks after the first; n >= 4 (64, 112,
128) the 64x64 design, channels halving to `width` over the last three blocks.

Normalisation: the generator's is BatchNorm (synchronised across replicas). The critic's is the run's
--critic_norm in every block: the CIFAR critic has none and the 64x64 one layer norm under WGAN-GP (a per-example
norm keeps the gradient penalty per example), BatchNorm for the losses without a penalty, as the originals do.

Exports stay on ONNX Runtime's CUDA EP: Concat + DepthToSpace for the upsampling, 3x3 "same" convolutions (pads
1 / 1) and AveragePool are all CUDA kernels (export/cuda_clean.py; tests/test_export.py checks every architecture).
"""

import keras
from keras import layers

from training.image_layers import IMAGE_OUTPUT, batch_norm, generator_model, geometry, latent_input

_KERNEL = 3


@keras.saving.register_keras_serializable(package='gan_pipeline')
class NearestUpsample2x(layers.Layer):
  """(B, H, W, C) -> (B, 2H, 2W, C), every pixel repeated 2x2: the original's UpsampleConv, four copies of the
  channels through depth_to_space. Exported as Concat + DepthToSpace, both CUDA kernels; Keras' UpSampling2D
  exports as a Shape/Tile/Reshape chain, and tf.image.resize as a Resize in a mode deprecated since opset 13."""

  def call(self, x):
    import tensorflow as tf
    return tf.nn.depth_to_space(tf.concat([x, x, x, x], axis=-1), 2)

  def compute_output_shape(self, shape):
    return (shape[0], *(None if side is None else 2 * side for side in shape[1:3]), shape[3])


def _critic_norm(norm: str, name: str, dtype_policy: str):
  if norm == 'batch':
    return batch_norm(name)
  if norm == 'layer':
    return layers.LayerNormalization(axis=[1, 2, 3], dtype=dtype_policy, name=name)
  return None


def _conv(filters: int, name: str, dtype_policy: str, kernel: int = _KERNEL, use_bias: bool = True):
  return layers.Conv2D(filters, kernel, padding='same', use_bias=use_bias, dtype=dtype_policy, name=name)


def _residual_block(x, filters: int, resample, name: str, dtype_policy: str, norm=None):
  """One pre-activation block. resample: 'up', 'down' or None; norm(name) -> a layer or None (the critic's
  'none'); the generator passes BatchNorm."""
  in_filters = x.shape[-1]
  shortcut = x
  if resample == 'up':
    shortcut = NearestUpsample2x(dtype=dtype_policy, name=f'{name}_shortcut_up')(shortcut)
  elif resample == 'down':
    shortcut = layers.AveragePooling2D(2, name=f'{name}_shortcut_pool')(shortcut)
  if resample or filters != in_filters:
    shortcut = _conv(filters, f'{name}_shortcut', dtype_policy, kernel=1)(shortcut)

  def normalised(h, suffix):
    layer = norm(f'{name}_{suffix}') if norm else None
    return layers.ReLU(name=f'{name}_{suffix}_relu')(layer(h) if layer else h)

  h = normalised(x, 'norm1')
  if resample == 'up':
    h = NearestUpsample2x(dtype=dtype_policy, name=f'{name}_up')(h)
    h = _conv(filters, f'{name}_conv1', dtype_policy)(h)
  else:
    h = _conv(in_filters, f'{name}_conv1', dtype_policy)(h)
  h = normalised(h, 'norm2')
  h = _conv(filters, f'{name}_conv2', dtype_policy)(h)
  if resample == 'down':
    h = layers.AveragePooling2D(2, name=f'{name}_pool')(h)
  return layers.Add(dtype=dtype_policy, name=f'{name}_add')([shortcut, h])


def _is_cifar_design(n_up: int) -> bool:
  return n_up <= 3


def _generator_channels(n_up: int, width: int) -> list:
  """Channels at the base and after each up-block."""
  if _is_cifar_design(n_up):
    return [width] * (n_up + 1)
  return [8 * width] + [width * 2 ** min(3, n_up - 1 - i) for i in range(n_up)]


def resnet_generator(latent_dim: int, image_size: int, channels: int, width: int,
                     dtype_policy: str = 'float32') -> keras.Model:
  """z (B, latent_dim) -> images (B, S, S, channels) in [-1, 1], float32 (module docstring for the design)."""
  base, n_up = geometry(image_size)
  widths = _generator_channels(n_up, width)
  inputs, z = latent_input(latent_dim)
  x = layers.Dense(base * base * widths[0], dtype=dtype_policy, name='project')(z)
  x = layers.Reshape((base, base, widths[0]), name='reshape')(x)
  for i, filters in enumerate(widths[1:]):
    x = _residual_block(x, filters, 'up', f'up{i}', dtype_policy, norm=batch_norm)
  x = batch_norm('out_bn')(x)
  x = layers.ReLU(name='out_relu')(x)
  x = _conv(channels, 'to_image', dtype_policy)(x)
  images = layers.Activation('tanh', dtype='float32', name=IMAGE_OUTPUT)(x)
  return generator_model(inputs, images)


def resnet_critic(image_size: int, channels: int, width: int, norm: str = 'layer', input_dropout: float = 0.0,
                  dtype_policy: str = 'float32') -> keras.Model:
  """images (B, S, S, channels) -> logits (B, 1). norm: 'batch', 'layer' or 'none' in every residual block."""
  _, n_down = geometry(image_size)
  block_norm = (lambda name: _critic_norm(norm, name, dtype_policy)) if norm != 'none' else None
  images = keras.Input((image_size, image_size, channels), name='images')
  x = layers.Dropout(input_dropout, name='input_dropout')(images) if input_dropout > 0 else images
  if _is_cifar_design(n_down):
    # The optimised first block: no norm or activation on raw pixels; conv, ReLU, conv, pool + pooled shortcut.
    shortcut = _conv(width, 'block0_shortcut', dtype_policy, kernel=1)(
        layers.AveragePooling2D(2, name='block0_shortcut_pool')(x))
    h = layers.ReLU(name='block0_relu')(_conv(width, 'block0_conv1', dtype_policy)(x))
    h = layers.AveragePooling2D(2, name='block0_pool')(_conv(width, 'block0_conv2', dtype_policy)(h))
    x = layers.Add(dtype=dtype_policy, name='block0_add')([shortcut, h])
    for i in range(n_down - 2):
      x = _residual_block(x, width, 'down', f'down{i}', dtype_policy, norm=block_norm)
    for i in range(2):
      x = _residual_block(x, width, None, f'block{i + 1}', dtype_policy, norm=block_norm)
    x = layers.ReLU(name='out_relu')(x)
    x = layers.GlobalAveragePooling2D(name='mean_pool')(x)  # (B, width): the mean over positions
  else:
    x = _conv(width, 'from_image', dtype_policy)(x)
    for i in range(n_down):
      x = _residual_block(x, width * 2 ** min(3, i + 1), 'down', f'down{i}', dtype_policy, norm=block_norm)
    x = layers.Flatten(name='flatten')(x)
  logits = layers.Dense(1, dtype='float32', name='logits')(x)  # (B, 1), unbounded
  return keras.Model(images, logits, name='critic')
