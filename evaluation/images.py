"""Samples brought to a judge's input the way the judge's data was brought there (data/datasets.py).

The geometry rule, stated in every table header (`geometry_rule`):
  1. 28x28 samples (a generator trained on native MNIST geometry) are PADDED by 2 px of background (-1) to 32x32,
     as data.datasets pads 28x28 data (the LeNet-5 geometry), never stretched by a 28 -> 32 resize: a
     resize would make every stroke 14% wider than the judge ever saw, and the metrics would charge the
     generator for the evaluation's own distortion.
  2. Any other square size (or a padded 32x32 that is still not the judge's size) is resized to the judge's:
     area averaging down (no aliasing of thin strokes), bilinear up. The size is a training choice.
  3. Another channel count is another kind of data: refused, never converted.
"""

import numpy as np

from data.geometry import BACKGROUND, MNIST_PAD, MNIST_SIZE  # those of the data pipeline's _fit_square


class EvaluationError(ValueError):
  """Samples or a model that cannot be judged; the message is one line for the user (exit code 1)."""


def geometry_rule(sample_size: int, judge_size: int) -> str:
  """One line saying how `sample_size` squares reach a `judge_size` judge (the table header prints it)."""
  size = sample_size
  steps = []
  if size == MNIST_SIZE:
    size += 2 * MNIST_PAD
    steps.append(f'padded by {MNIST_PAD} px of background to {size}x{size} (as the data was, not resized)')
  if size != judge_size:
    method = 'area averaging' if judge_size < size else 'bilinear'
    steps.append(f'resized to {judge_size}x{judge_size} ({method})')
  if not steps:
    return f'{sample_size}x{sample_size} samples fed as they are (the judge\'s input size)'
  return f'{sample_size}x{sample_size} samples ' + ', then '.join(steps)


def to_judge_input(images, image_size: int, channels: int) -> np.ndarray:
  """(N, H, W, C) uint8 in [0, 255] or float in [-1, 1] -> float32 (N, S, S, C) in [-1, 1] at the judge's size.

  Follows the module's rule: 28x28 padded by 2 px of -1, other sizes resized, another channel count refused.
  Raises EvaluationError.
  """
  images = np.asarray(images)
  if images.ndim != 4:
    raise EvaluationError(f'samples must be images of shape (N, H, W, C), got shape {images.shape}')
  n, height, width, c = images.shape
  if c != channels:
    raise EvaluationError(f'the judge reads {channels}-channel images, the samples have {c} channels '
                          f'(a model of another dataset?)')
  if height != width:
    raise EvaluationError(f'samples must be square, got {height}x{width}')
  if images.dtype == np.uint8:
    images = images.astype(np.float32) / 127.5 - 1.0
  elif np.issubdtype(images.dtype, np.floating):
    images = images.astype(np.float32)
    if n and (not np.all(np.isfinite(images)) or images.min() < -1.01 or images.max() > 1.01):
      raise EvaluationError(f'float samples must lie in [-1, 1] (tanh outputs), got values in '
                            f'[{np.nanmin(images):.3g}, {np.nanmax(images):.3g}]; pass uint8 for [0, 255]')
  else:
    raise EvaluationError(f'samples must be uint8 or float images, got dtype {images.dtype}')
  if height == MNIST_SIZE:
    pad = [(0, 0), (MNIST_PAD, MNIST_PAD), (MNIST_PAD, MNIST_PAD), (0, 0)]
    images = np.pad(images, pad, constant_values=BACKGROUND)  # (N, 32, 32, C)
  if images.shape[1] != image_size:
    images = resize(images, image_size)
  return np.clip(images, -1.0, 1.0)


def resize(images: np.ndarray, size: int, batch_size: int = 500) -> np.ndarray:
  """(N, H, H, C) -> (N, size, size, C): area averaging when shrinking, bilinear when enlarging."""
  import tensorflow as tf
  method = 'area' if size < images.shape[1] else 'bilinear'
  return np.concatenate([tf.image.resize(images[i:i + batch_size], [size, size], method=method).numpy()
                         for i in range(0, len(images), batch_size)])
