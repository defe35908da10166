"""The input pipeline of training: cached, shuffled per epoch, flipped, batched images of a source from
data/datasets.py, deterministic for a seed and resumable at any batch."""

import os
from typing import Callable, Optional, Union

import tensorflow as tf

from data.datasets import DatasetError, DatasetInfo

# In-memory cache of the decoded, resized images when cache='auto' and they fit: 1 GiB holds MNIST at 64x64
# (60,000 x 64² x 1 x 4 B = 0.98 GB) and CIFAR-10 at 32x32 (0.61 GB), but not CelebA (8 GB at 64x64).
CACHE_BUDGET_BYTES = 1 << 30
MAX_SHUFFLE_BUFFER = 10_000  # enough to mix any one class; larger buffers only cost memory and start-up time
_MAX_EPOCHS = 1 << 40  # "forever" for a repeating pipeline


def make_input_pipeline(images: tf.data.Dataset, info: DatasetInfo, image_size: int, batch_size: int, seed: int,
                        flip: bool = False, cache: Union[str, bool] = 'auto', repeat: bool = True,
                        batch_fn: Optional[Callable] = None, start_batch: int = 0) -> tf.data.Dataset:
  """cache -> shuffle per epoch -> repeat -> random flip -> batch -> batch_fn -> prefetch, deterministic for a
  seed, and resumable at any batch.

  Args:
    images: unbatched output of `load_images` (images, or (image, label) pairs).
    info: its DatasetInfo (the number of examples sizes the shuffle buffer and decides caching).
    image_size: the images' side, for the cache-size estimate.
    batch_size: examples per batch; the last partial batch of a finite pipeline is dropped, so every batch
      has this static size (what the distributed train step needs).
    seed: shuffle and flip seed. The order differs every epoch, and is the same for the same seed.
    flip: flip each image left-right with probability ½, drawn per example after the cache so that each
      epoch sees different flips.
    cache: 'auto' caches the decoded images in memory when info.num_examples·image_size²·channels·4 bytes fit
      in CACHE_BUDGET_BYTES; True caches in memory regardless, False never; any other string is a file prefix
      for tf.data's on-disk cache.
    repeat: loop over the data forever (training) or read it once (evaluation).
    batch_fn: optional function mapped over each batch, called as Dataset.map calls it (pairs are passed as two
      arguments); the trainer attaches per-example latents with it.
    start_batch: with repeat, the first batch to produce: batch b of a pipeline started at 0 and batch 0 of one
      started at b are the same images in the same order (how a resumed run continues the data order exactly).
      Each epoch is shuffled with its own seed (seed, epoch), so only the part of one epoch before the start is
      skipped, never the epochs before it.
  Returns:
    Batches (batch_size, image_size, image_size, channels), or (images, labels), or what batch_fn returns.
  Raises:
    DatasetError: the dataset is smaller than one batch.
  """
  check_one_batch(info, batch_size)
  if _cache_in_memory(cache, info, image_size):
    images = images.cache()
  elif isinstance(cache, str) and cache != 'auto':
    images = images.cache(os.path.expanduser(cache))
  buffer = min(info.num_examples, MAX_SHUFFLE_BUFFER)
  first = 0  # position of the first example in the endless stream of epochs
  if repeat:
    first_epoch, offset = divmod(start_batch * batch_size, info.num_examples)
    first = start_batch * batch_size
    epoch_data = images

    def epoch(index):  # one pass in the order of its own seed: epoch e's order is a function of (seed, e) only
      # Inside this traced function set_seed fixes the function graph's seed only: the order then depends on
      # (seed, e) alone, not on the process's global seed (with which TF also fails to take a tensor seed when
      # the global seed is 0).
      tf.random.set_seed(1)
      return epoch_data.shuffle(buffer, seed=tf.cast(seed, tf.int64) * 1_000_003 + index,
                                reshuffle_each_iteration=False)
    images = tf.data.Dataset.range(first_epoch, _MAX_EPOCHS).flat_map(epoch).skip(offset)
  elif start_batch:
    raise ValueError('start_batch applies to a repeating pipeline only')
  else:
    images = images.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
  if flip:
    images = images.enumerate(start=first).map(_random_flip(seed), num_parallel_calls=tf.data.AUTOTUNE)
  batches = images.batch(batch_size, drop_remainder=True)
  if batch_fn is not None:
    batches = batches.map(batch_fn, num_parallel_calls=tf.data.AUTOTUNE)
  return batches.prefetch(tf.data.AUTOTUNE)


def check_one_batch(info: DatasetInfo, batch_size: int) -> None:
  """Raises DatasetError when a finite data set (num_examples > 0) holds fewer examples than one batch. The
  trainer calls it before it writes the run directory, so that a refused start leaves nothing to block the retry."""
  if 0 < info.num_examples < batch_size:
    raise DatasetError(f'{info.name} has {info.num_examples} examples, fewer than one batch of {batch_size}: '
                       f'pass a smaller --batch_size')


def _cache_in_memory(cache, info: DatasetInfo, image_size: int) -> bool:
  if cache == 'auto':
    return info.num_examples * image_size * image_size * info.channels * 4 <= CACHE_BUDGET_BYTES
  return cache is True


def _random_flip(seed: int):
  """(index, element) -> element with its image flipped left-right with probability ½.

  Stateless and keyed by (seed, position in the stream): the same seed gives the same flips in parallel maps,
  and a repeated example gets a fresh draw in every epoch.
  """
  def flip(index, element):
    key = tf.stack([tf.constant(seed, tf.int64), index])
    if isinstance(element, tuple):  # (image, label)
      return (tf.image.stateless_random_flip_left_right(element[0], key), *element[1:])
    return tf.image.stateless_random_flip_left_right(element, key)
  return flip
