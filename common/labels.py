"""Class labels of a conditional generator, as every stage feeds them (TensorFlow-free): the label input is class
weights float32 (B, K) (common/signature.py), and these are the one way a class id, a class name, a grid of
classes or a morph between two classes becomes such weights.

  class_weights([2, 0], 3)          -> [[0, 0, 1], [1, 0, 0]]     one-hot rows; an id outside 0..K-1 is refused
  class_index('Sneaker', classes)   -> 7                          a name, or an id written as a number
  grid_columns(64, 10)              -> 6                          a grid of one row per class, 6 latents each
  grid_columns_covering(16, 9)      -> 2                          the fewest per class giving >= 16 images (18)
  grid_labels(10, 6)                -> [0]*6 + [1]*6 + ... [9]*6   the class of each grid cell, row by row
  morph_weights(3, 5, 10, 4)        -> 4 rows from class 3 to class 5, (1 − t)·e₃ + t·e₅, t = 0 .. 1
"""

import numpy as np


class LabelError(ValueError):
  """A class id or name that the generator does not have; the message is one line for the user."""


def class_weights(ids, num_classes: int) -> np.ndarray:
  """(N,) class ids -> (N, K) float32 one-hot rows. LabelError for an id outside 0..K-1 (never wrapped or
  clipped: a wrong class must not silently become another one)."""
  ids = np.asarray(ids).reshape(-1)
  if ids.size and not np.issubdtype(ids.dtype, np.integer):
    raise LabelError(f'class ids must be whole numbers, got {ids.dtype} values such as {ids.tolist()[0]!r}')
  if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
    bad = next(v for v in ids.tolist() if not 0 <= v < num_classes)
    raise LabelError(f'class {bad!r} is out of range: this generator has classes 0..{num_classes - 1}')
  weights = np.zeros((ids.size, num_classes), np.float32)
  weights[np.arange(ids.size), ids.astype(np.int64)] = 1.0
  return weights


def class_index(value, classes) -> int:
  """The id of `value`, a class name of `classes` or an id (int, or a string of digits that is not a name)."""
  classes = list(classes)
  if isinstance(value, str) and value in classes:
    return classes.index(value)
  try:
    index = int(value)
  except (TypeError, ValueError, OverflowError):  # OverflowError: int(float('inf'))
    shown = ', '.join(classes[:12]) + (', ...' if len(classes) > 12 else '')
    raise LabelError(f'unknown class {value!r}; this generator has {shown}') from None
  if isinstance(value, float) and index != value:
    raise LabelError(f'class {value!r} is not a whole number')
  if not 0 <= index < len(classes):
    raise LabelError(f'class {index} is out of range: this generator has classes 0..{len(classes) - 1}')
  return index


def grid_columns(num_samples: int, num_classes: int) -> int:
  """Latents per class row of a sample grid of about `num_samples` images (at least 1)."""
  return max(1, num_samples // num_classes)


def grid_columns_covering(num_samples: int, num_classes: int) -> int:
  """Latents per class row of the smallest grid of one row per class that holds at least `num_samples` images
  (at least 1): what the app draws when asked for a count of images of every class."""
  return max(1, -(-num_samples // num_classes))


def grid_labels(num_classes: int, columns: int) -> np.ndarray:
  """(K·columns,) int64: class k for row k of a grid read row by row."""
  return np.repeat(np.arange(num_classes, dtype=np.int64), columns)


def morph_weights(start: int, end: int, num_classes: int, frames: int) -> np.ndarray:
  """(frames, K) float32: class weights moving linearly from one-hot `start` to one-hot `end`."""
  if frames < 2:
    raise LabelError(f'a class morph needs at least 2 frames, got {frames}')
  t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
  a, b = class_weights([start, end], num_classes)
  return (1.0 - t) * a + t * b
