"""DiffAugment: the same differentiable random transforms T on every image the critic sees, real or generated.

Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training" (Sec. 3, Fig. 4):
  L_D = f(D(T(x))) + h(D(T(G(z))))          L_G = g(D(T(G(z))))
With a few thousand images a critic memorises its real set; T makes it judge transformed images instead, and being
differentiable, T passes the critic's gradient on to the generator (StyleGAN2 on 10% of CIFAR-10: FID 36.0 -> 14.5).
T applies to critic inputs only: the generator learns the untransformed data, and sampling, evaluation and export
never augment.

The policies, in the order the paper applies them, with the ranges of its reference code (DiffAugment_tf.py):
  color        brightness x + b, b ~ U[-0.5, 0.5]; saturation (x - mean over channels)·s + mean, s ~ U[0, 2];
               contrast (x - mean over the image)·c + mean, c ~ U[0.5, 1.5]   (one b, s, c per image)
  translation  shift by (dy, dx), each an integer in [-size/8, size/8], uncovered pixels 0
  cutout       a square of half the image size, its centre uniform over the image (clipped at the border), set to 0
Our images are in [-1, 1], as the reference's TensorFlow (StyleGAN2) inputs are, so its constants apply unchanged
and the 0 its translation pads with and its cutout writes is mid-grey here as there. Colour is not clipped to
[-1, 1] (nor in the reference): a clip would zero the gradient wherever it binds.

Everything is a pure function of (images, randomness): `draw` makes the random numbers of one batch from a stateless
seed (training/steps.py attach_randomness, a function of the run's seed and the batch index), `apply` transforms.
"""

import tensorflow as tf

POLICIES = ('color', 'translation', 'cutout')  # the paper's order of application
TRANSLATION_RATIO = 1 / 8  # largest shift, as a fraction of the image size
CUTOUT_RATIO = 1 / 2  # side of the cut-out square, as a fraction of the image size
# Per image: brightness b, saturation s, contrast c ranges, U[low, high).
BRIGHTNESS, SATURATION, CONTRAST = (-0.5, 0.5), (0.0, 2.0), (0.5, 1.5)


def policies(text: str) -> tuple:
  """'cutout,color' -> ('color', 'cutout'): the named policies in the paper's order; '' -> (). Raises ValueError
  naming an unknown one (the caller adds a spelling suggestion)."""
  names = [name.strip() for name in text.split(',') if name.strip()]
  unknown = [name for name in names if name not in POLICIES]
  if unknown:
    raise ValueError(unknown[0])
  return tuple(p for p in POLICIES if p in names)


def _max_shift(size: int) -> int:
  return int(size * TRANSLATION_RATIO)


def _cutout_size(size: int) -> int:
  return int(size * CUTOUT_RATIO)


def draw(names: tuple, shape, seed) -> dict:
  """The random numbers of `names`' transforms for a batch of `shape` (B, H, W, C), a function of `seed` only.

  Args:
    names: policies, as `policies` returns them.
    shape: the batch's static shape (B, H, W, C).
    seed: stateless seed, (2,) int32/int64.
  Returns:
    {name: (B, ...) tensor}: every value leads with the batch axis, so a distributed dataset slices them per replica
    with the images.
  """
  batch, height, width = int(shape[0]), int(shape[1]), int(shape[2])
  keys = tf.random.experimental.stateless_split(seed, 7)  # one independent stream per parameter
  uniform = lambda key, low_high: tf.random.stateless_uniform([batch], key, *low_high)  # noqa: E731
  # Integer draws take scalar bounds only: one draw per axis, [low, high] inclusive.
  integers = lambda key, low, high: tf.random.stateless_uniform([batch], key, low, high + 1, tf.int32)  # noqa: E731
  out = {}
  if 'color' in names:
    out.update(brightness=uniform(keys[0], BRIGHTNESS), saturation=uniform(keys[1], SATURATION),
               contrast=uniform(keys[2], CONTRAST))
  if 'translation' in names:  # (dy, dx), each in [-size/8, size/8]
    dy, dx = _max_shift(height), _max_shift(width)
    out['translation'] = tf.stack([integers(keys[3], -dy, dy), integers(keys[4], -dx, dx)], axis=1)
  if 'cutout' in names:
    # The square's centre (cy, cx) in the reference's range, [0, size] for an even side and [0, size - 1] for an odd
    # one: symmetric, at either extreme half the square lies outside the image.
    last_cy, last_cx = height - _cutout_size(height) % 2, width - _cutout_size(width) % 2
    out['cutout'] = tf.stack([integers(keys[5], 0, last_cy), integers(keys[6], 0, last_cx)], axis=1)
  return out


def apply(images, randomness):
  """T(images): the transforms whose random numbers `randomness` holds (`draw`), in the paper's order.

  Args:
    images: (B, H, W, C) in [-1, 1], any float dtype.
    randomness: `draw`'s dict for this batch, or None / {} for no augmentation (images returned as they are).
  Returns:
    (B, H, W, C), same dtype; differentiable in `images`.
  """
  if not randomness:
    return images
  if 'brightness' in randomness:
    images = color(images, randomness['brightness'], randomness['saturation'], randomness['contrast'])
  if 'translation' in randomness:
    images = translation(images, randomness['translation'])
  if 'cutout' in randomness:
    images = cutout(images, randomness['cutout'])
  return images


def _per_image(values, dtype):
  return tf.reshape(tf.cast(values, dtype), [-1, 1, 1, 1])  # (B,) -> (B, 1, 1, 1)


def color(images, brightness, saturation, contrast):
  """Brightness, saturation and contrast, each one number per image (B,). A grey image (C = 1) has no saturation to
  change: its channel mean is itself."""
  images = images + _per_image(brightness, images.dtype)
  channel_mean = tf.reduce_mean(images, axis=3, keepdims=True)  # (B, H, W, 1)
  images = (images - channel_mean) * _per_image(saturation, images.dtype) + channel_mean
  image_mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)  # (B, 1, 1, 1)
  return (images - image_mean) * _per_image(contrast, images.dtype) + image_mean


def _shift(images, shifts, axis: int):
  """out[..., i, ...] = images[..., i + shift, ...] along `axis` (1 or 2), 0 where that falls outside; shifts (B,)
  integers in [-size/8, size/8].

  A per-image gather of rows (columns) from the zero-padded batch: exact, XLA-compilable, and its gradient (a
  scatter-add over distinct rows, each read once) is deterministic on the CPU. It replaced a per-image choice among
  the 2·size/8 + 1 static slices (tf.where), which XLA fused but TensorFlow's own CPU kernels ran as 17 broadcast
  selects per axis at 64x64: 318 ms forward + backward for a batch of 64 against 7 ms for the gather
  (benchmarks/train_throughput.py's DiffAugment part; the emoji preset with --augment ran 2.15 against 5.76 steps/s
  without it). A product with 0/1 shift matrices would round on GPUs that matmul in TF32.
  """
  size = images.shape[axis]
  limit = _max_shift(size)
  padding = [[0, 0]] * 4
  padding[axis] = [limit, limit]
  padded = tf.pad(images, padding)  # zeros: mid-grey in [-1, 1]
  shifts = tf.cast(shifts, tf.int32)[:, None]  # (B, 1)
  rows = tf.range(size)[None, :] + limit + shifts  # (B, size) rows of `padded`
  # A shift beyond the limit reads padding row 0 everywhere: a zero image, as `translation` promises.
  rows = tf.where(tf.abs(shifts) <= limit, rows, tf.zeros_like(rows))
  return tf.gather(padded, rows, axis=axis, batch_dims=1)


def translation(images, shifts):
  """out[b, i, j] = images[b, i + dy, j + dx], 0 where that falls outside the image; shifts: (B, 2) integers (dy, dx),
  each in [-size/8, size/8] (a larger one gives a zero image)."""
  return _shift(_shift(images, shifts[:, 0], axis=1), shifts[:, 1], axis=2)


def cutout_mask(centres, height: int, width: int):
  """(B, H, W, 1) 1 outside and 0 inside each image's square of side size/2 centred at centres (B, 2) = (cy, cx),
  clipped at the border (the reference's placement: rows cy - side//2 .. cy - side//2 + side - 1)."""
  def outside(centre, size):  # (B,) -> (B, size): True for the rows (columns) the square does not cover
    side = _cutout_size(size)
    start = centre[:, None] - side // 2
    index = tf.range(size)[None, :]
    return (index < start) | (index >= start + side)
  keep = outside(centres[:, 0], height)[:, :, None] | outside(centres[:, 1], width)[:, None, :]  # (B, H, W)
  return keep[..., None]


def cutout(images, centres):
  """Images with each one's square (`cutout_mask`) set to 0, mid-grey in [-1, 1] (the reference's value)."""
  mask = cutout_mask(centres, images.shape[1], images.shape[2])
  return tf.where(mask, images, tf.zeros_like(images))
