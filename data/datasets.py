"""The data stage: real images from a named source (data/input_pipeline.py shuffles and batches them).

Sources, looked up by name in this order (no if-chain: two registries and one fallback):
  1. `BUILTIN_SOURCES`: datasets that ship with an installed package and work offline (`digits`, the 1,797
     8x8 handwritten digits of scikit-learn).
  2. `PREFIX_SOURCES`: a name with a known prefix (`folder:PATH`, a tree of image files: one sub-folder per class,
     or all loose).
  3. Anything else is a TensorFlow Datasets name (`mnist`, `fashion_mnist`, `cifar10`, `celeb_a`, ...), prepared
     into `data_dir` from the original archives in `manual_dir`, offline.

Every source yields float32 images (image_size, image_size, channels) in [-1, 1] with one geometry rule
(`_fit_square`): 28x28 images are padded to 32x32 with background, then every image is centre-cropped to a
square and resized to image_size. Encoded images of any mode become RGB in data/decode.py, transparent pixels
composited over `alpha_background`.

tensorflow_datasets, scikit-learn and PIL are imported inside the functions that use them: importing them takes
seconds, and a digits run needs none but scikit-learn.
"""

import dataclasses
import difflib
import glob
import hashlib
import os
import re
from typing import Callable

from absl import logging
import tensorflow as tf

from common.cli import first_line
from data import decode, folder_images
from data.folders import FolderError, list_classes
from data.geometry import MNIST_PAD, MNIST_SIZE  # 28x28 -> 32x32, the LeNet-5 input geometry

MIN_IMAGE_SIZE = 8  # smaller than the 8x8 digits is no image at all; the architectures want >= 16 anyway
CHECKSUM_CONTENT_LIMIT = 1 << 30  # bytes of data files hashed in full for the provenance checksum
_TFDS_EXAMPLES = ('celeb_a', 'cifar10', 'fashion_mnist', 'food101', 'mnist', 'tf_flowers')


class DatasetError(ValueError):
  """The data cannot be loaded as asked; the message is one line for the user (the CLI exits 2)."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  name: str  # 'digits', 'fashion_mnist', 'folder:/abs/path'
  num_examples: int  # examples in the chosen split (after skipping unreadable files for folders)
  channels: int  # 1 or 3
  num_classes: int  # 0 when unlabeled (a folder of loose files)
  skipped: int = 0  # files skipped, unreadable or above the pixel cap (folder datasets)
  skipped_files: tuple = ()  # (path, reason) of each: what folder_images.skipped_text names
  class_names: tuple = ()  # a labelled folder's classes, label i = class_names[i]; () where the source lists none
  class_counts: tuple = ()  # readable images per class, in the order of class_names
  upscaled: int = 0  # images whose side is below image_size, so resized up (folder datasets)
  # 'sha256:...' of the data read: provenance for config.json (see _checksum_files), not part of what the data is
  checksum: str = dataclasses.field(default='', compare=False)


@dataclasses.dataclass(frozen=True)
class Source:
  """One way to load images. `load(argument, image_size=, split=, data_dir=, manual_dir=, with_labels=,
  background=)` returns (unbatched dataset, DatasetInfo); `argument` is the name of a builtin or TFDS dataset, or
  the text after the prefix of a prefixed one; `background` is the parsed alpha_background (data/decode.py)."""
  name: str  # as written in --dataset: 'digits', 'folder:PATH'
  load: Callable[..., tuple]
  description: str


def known_datasets() -> list:
  """The names for --help and error messages: builtins, 'folder:PATH' and a few TFDS examples."""
  return sorted([*BUILTIN_SOURCES, *(source.name for source in PREFIX_SOURCES.values()), *_TFDS_EXAMPLES])


def load_images(spec: str, image_size: int, split: str = 'train', data_dir=None, manual_dir=None,
                with_labels: bool = False, alpha_background: str = decode.DEFAULT_BACKGROUND) -> tuple:
  """Unbatched, unshuffled images of the dataset `spec`, resized, and its DatasetInfo.

  Args:
    spec: 'digits', 'folder:PATH' or a TFDS dataset name (see the module docstring).
    image_size: side of the square output images, at least 8 (the caller checks the architecture's range).
    split: 'train', 'test' or 'all' for digits, or an integer slice of one ('train[:1077]'); any TFDS split
      ('train', 'test[:10%]', 'all', ...) for TFDS; 'train' or 'all' (both: every file) for folders, which
      have no held-out split.
    data_dir: TFDS data directory (None: TFDS's default, ~/tensorflow_datasets).
    manual_dir: directory holding the original archives of a TFDS dataset, read instead of downloading.
    with_labels: yield (image, int64 label) pairs instead of images; a folder has labels when its images are
      sorted into class folders.
    alpha_background: what transparent pixels are composited over, 'white', 'black', 'R,G,B' or 'none'
      (alpha dropped; data/decode.py).
  Returns:
    (dataset, info): elements float32 (image_size, image_size, info.channels) in [-1, 1], or (image, label).
  Raises:
    DatasetError: one line saying what is wrong and what to pass instead.
  """
  if image_size < MIN_IMAGE_SIZE:
    raise DatasetError(f'image size {image_size} is too small: the images need at least {MIN_IMAGE_SIZE}x'
                       f'{MIN_IMAGE_SIZE} pixels')
  try:
    background = decode.parse_background(alpha_background)
  except ValueError as e:
    raise DatasetError(str(e)) from None
  argument, source = _find_source(spec)
  return source.load(argument, image_size=image_size, split=split, data_dir=data_dir, manual_dir=manual_dir,
                     with_labels=with_labels, background=background)


def _find_source(spec: str) -> tuple:
  """'digits' -> ('digits', builtin); 'folder:x' -> ('x', folder); any other name -> (name, TFDS)."""
  if spec in BUILTIN_SOURCES:
    return spec, BUILTIN_SOURCES[spec]
  prefix, sep, rest = spec.partition(':')
  if sep and prefix + ':' in PREFIX_SOURCES:
    return rest, PREFIX_SOURCES[prefix + ':']
  return spec, TFDS_SOURCE


# --- Geometry, shared by every source ------------------------------------------------------------------------

def _fit_square(image, image_size: int):
  """(H, W, C) float32 in [0, 1] -> (image_size, image_size, C) float32 in [-1, 1].

  The geometry works in [0, 1], where background is 0: no weighted sum of zeros can round away from 0, so
  background is exactly -1 in the output whatever the resize does.

  1. A 28x28 image (MNIST, Fashion-MNIST) is first padded by 2 px of background (0) to 32x32, the LeNet-5
     geometry: the digit keeps its scale (at image_size 32 its pixels are copied exactly) and the generator
     sees a border of pure background, instead of a digit stretched to the edges by a 28 -> 32 resize.
     At image_size 28 (the native 7 -> 14 -> 28 architecture) nothing is padded: the pixels are copied exactly.
  2. Centre-crop to a square of side min(H, W).
  3. Resize to image_size, bilinear with antialiasing (an area-weighted average when shrinking, so thin strokes
     do not alias); skipped when the side already matches, which keeps such images exact.
  """
  channels = image.shape[-1]
  height, width = tf.shape(image)[0], tf.shape(image)[1]
  pad = tf.where((height == MNIST_SIZE) & (width == MNIST_SIZE) & (image_size != MNIST_SIZE), MNIST_PAD, 0)
  image = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
  height, width = height + 2 * pad, width + 2 * pad
  side = tf.minimum(height, width)
  top, left = (height - side) // 2, (width - side) // 2
  image = image[top:top + side, left:left + side]  # (side, side, C)
  image = tf.cond(tf.equal(side, image_size), lambda: image,
                  lambda: tf.image.resize(image, [image_size, image_size], 'bilinear', antialias=True))
  # Bilinear weights are convex, so only float rounding can leave [0, 1]; the generator's tanh cannot.
  image = tf.clip_by_value(image, 0.0, 1.0) * 2.0 - 1.0
  return tf.ensure_shape(image, (image_size, image_size, channels))


def _uint8_to_unit(image):
  """uint8 [0, 255] -> float32 [0, 1], the input of _fit_square."""
  return tf.cast(image, tf.float32) / 255.0


# --- digits: scikit-learn's copy of the UCI optical digits, 8x8, values 0..16 -------------------------------

_DIGITS_SPLITS = {  # index -> in split; deterministic, 1,437 train / 360 test
    'train': lambda index: index % 5 != 0,
    'test': lambda index: index % 5 == 0,
    'all': lambda index: True,
}
# TFDS's slice syntax with integer bounds, either optional, Python's negative bounds included: 'train[:1077]'
# is the first 1,077 images of the train split in index order, 'test[-100:]' the last 100 of the test split.
_DIGITS_SLICE = re.compile(r'^(?P<split>\w+)\[(?P<start>-?\d+)?:(?P<stop>-?\d+)?\]$')


def _digits_indices(split: str, count: int):
  """The indices into the 1,797 digits that `split` selects, in order: a named split, or a slice of one.

  As in TFDS, a bound beyond the split's size is an error rather than clipped, so a typo cannot silently select
  fewer images; so is a slice that selects nothing.
  """
  import numpy as np
  match = _DIGITS_SLICE.match(split)
  name = match['split'] if match else split
  if name not in _DIGITS_SPLITS or ('[' in split and not match):
    raise DatasetError(f'digits has no split {split!r}; use one of {sorted(_DIGITS_SPLITS)}, or a slice of one '
                       f'with integer bounds such as train[:1077] or test[-100:]')
  indices = np.array([i for i in range(count) if _DIGITS_SPLITS[name](i)])  # (N,)
  if not match:
    return indices
  start, stop = (None if bound is None else int(bound) for bound in (match['start'], match['stop']))
  if any(bound is not None and abs(bound) > len(indices) for bound in (start, stop)):
    raise DatasetError(f'digits split {split!r} is out of range: {name} has {len(indices)} images')
  selected = indices[start:stop]
  if not len(selected):
    raise DatasetError(f'digits split {split!r} selects no images ({name} has {len(indices)})')
  return selected


def _load_digits(name, *, image_size, split, data_dir, manual_dir, with_labels, background):
  del data_dir, manual_dir, background  # embedded in scikit-learn; grayscale
  import numpy as np
  from sklearn.datasets import load_digits
  digits = load_digits()
  keep = _digits_indices(split, len(digits.target))  # (N,) indices in order
  pixels = (digits.images[keep].astype(np.float32) / 16.0)[..., None]  # (N, 8, 8, 1): 0..16 -> [0, 1]
  labels = digits.target[keep].astype(np.int64)  # (N,) 0..9
  dataset = tf.data.Dataset.from_tensor_slices((pixels, labels))
  dataset = dataset.map(_labelled_or_not(lambda image: _fit_square(image, image_size), with_labels),
                        num_parallel_calls=tf.data.AUTOTUNE)
  checksum = 'sha256:' + hashlib.sha256(split.encode() + digits.images[keep].tobytes()).hexdigest()
  # The class names travel only with the labels: an unlabelled run's metadata stays as it was.
  names = tuple(str(i) for i in range(10)) if with_labels else ()
  return dataset, DatasetInfo(name=name, num_examples=len(keep), channels=1, num_classes=10, class_names=names,
                              checksum=checksum)


def _labelled_or_not(transform, with_labels: bool):
  """(image, label) -> transform(image), with the label kept when asked for."""
  if with_labels:
    return lambda image, label: (transform(image), label)
  return lambda image, label: transform(image)


# --- folder:PATH: a tree of image files, one sub-folder per class or all loose ----------------------------------

def _load_folder(path, *, image_size, split, data_dir, manual_dir, with_labels, background):
  """A folder's images, labelled by their class folder.

  The first level of (non-hidden) sub-folders are the classes, label i the i-th name in sorted order; the images
  below a class folder, at any depth, are that class's. A folder without image files in any sub-folder is one
  unlabelled class of its loose files. Loose files beside class folders are refused: whether they are a class of
  their own, strays or a mistake is the user's call, and guessing would change what the run learns. Hidden files
  and folders ('.name': .ipynb_checkpoints, macOS's ._ files) are never read. Which files are read, and how, is
  data/folder_images.py's.
  """
  del data_dir, manual_dir
  root = os.path.abspath(os.path.expanduser(path))
  name = f'folder:{root}'
  if split not in ('train', 'all'):
    raise DatasetError(f'{name} has no split {split!r}: a folder is one split, read it as "train" or "all"')
  if not os.path.isdir(root):
    raise DatasetError(f'{name}: no such directory')
  try:
    class_names, class_files = list_classes(root, name)
    if with_labels and not class_names:
      raise DatasetError(f'{name} has no labels: its images are not sorted into class folders (one sub-folder '
                         f'per class)')
    found = folder_images.read_folder(name, class_names, class_files, image_size)
  except FolderError as e:  # a usage error of every command, as this module's others
    raise DatasetError(str(e)) from None
  _warn_about_folder(name, root, found, image_size)

  def load(file, label, with_pillow, reduce_to):
    image = _fit_square(decode.decode_file(file, background, with_pillow, reduce_to), image_size)
    return (image, label) if with_labels else image

  # PIL's verify reads a JPEG's headers but not its entropy-coded data, so a truncated JPEG passes it and only
  # fails here; dropping it (with a logged warning) beats stopping a training run at its first epoch.
  slices = (list(found.files), tf.constant(found.labels, tf.int64), list(found.with_pillow),
            tf.constant(found.reduce_to, tf.int32, shape=(len(found.files), 2)))
  dataset = tf.data.Dataset.from_tensor_slices(slices).map(load, num_parallel_calls=tf.data.AUTOTUNE)
  dataset = dataset.ignore_errors(log_warning=True)
  return dataset, DatasetInfo(name=name, num_examples=len(found.files), channels=3,
                              num_classes=len(found.class_names), skipped=len(found.skipped),
                              skipped_files=found.skipped, class_names=found.class_names,
                              class_counts=found.class_counts, upscaled=len(found.upscaled),
                              checksum=_checksum_files(found.files, root, split))


def _warn_about_folder(name: str, root: str, found, image_size: int) -> None:
  """The skipped files, by name, and the images resized up. Smaller images are resized up (bilinear, so blurred)
  rather than refused: a few thumbnails should not stop a run on a folder of photos."""
  if found.skipped:
    logging.warning('%s: %s; %d of %d read', name, folder_images.skipped_text(found.skipped, root),
                    len(found.files), found.total)
  if found.upscaled:
    logging.warning('%s: %d of %d images are smaller than %dx%d (the smallest side %d px) and are upscaled', name,
                    len(found.upscaled), len(found.files), image_size, image_size, min(found.upscaled))


# --- TensorFlow Datasets, prepared offline from the original archives ---------------------------------------

def _load_tfds(name, *, image_size, split, data_dir, manual_dir, with_labels, background):
  import tensorflow_datasets as tfds
  builder = _tfds_builder(tfds, name, data_dir)
  image_key, label_key = _tfds_keys(tfds, name, builder.info.features)
  if with_labels and label_key is None:
    raise DatasetError(f'{name} has no class label to return (with_labels=True)')
  if not builder.is_prepared():
    _prepare(tfds, name, builder, manual_dir)
  try:
    num_examples = builder.info.splits[split].num_examples
  except (KeyError, ValueError) as e:
    raise DatasetError(f'{name} has no split {split!r}; it has {sorted(builder.info.splits)} (and "all")') from e

  image_feature = builder.info.features[image_key]
  channels = image_feature.shape[-1]
  decoders = None
  if channels not in (1, 3):
    # RGBA or an unknown channel count: decode it ourselves to RGB over the background, as for folders.
    channels, decoders = 3, {image_key: tfds.decode.SkipDecoding()}

  def to_unit(image):  # (H, W, C) uint8 or encoded bytes -> (H, W, channels) float32 in [0, 1]
    return decode.decode_image(image, background) if decoders else _uint8_to_unit(image)

  def convert(example):
    image = _fit_square(to_unit(example[image_key]), image_size)
    return (image, tf.cast(example[label_key], tf.int64)) if with_labels else image

  # try_autocache=False: TFDS would otherwise hold small datasets (MNIST) in memory a second time, undecoded,
  # beside the cache of data/input_pipeline.py.
  dataset = builder.as_dataset(split=split, shuffle_files=False, decoders=decoders,
                               read_config=tfds.ReadConfig(try_autocache=False))
  dataset = dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
  num_classes = builder.info.features[label_key].num_classes if label_key else 0
  # The class names travel only with the labels: an unlabelled run's metadata stays as it was.
  names = tuple(builder.info.features[label_key].names) if with_labels else ()
  records = sorted(glob.glob(os.path.join(builder.data_dir, '*.tfrecord*')))
  return dataset, DatasetInfo(name=name, num_examples=num_examples, channels=channels, num_classes=num_classes,
                              class_names=names, checksum=_checksum_files(records, builder.data_dir, split))


def _tfds_builder(tfds, name: str, data_dir):
  try:
    return tfds.builder(name, data_dir=os.path.expanduser(data_dir) if data_dir else None)
  except tfds.core.registered.DatasetNotFoundError as e:
    close = difflib.get_close_matches(name, [*BUILTIN_SOURCES, *tfds.list_builders()], n=1, cutoff=0.75)
    hint = f'did you mean {close[0]!r}? ' if close else ''
    raise DatasetError(f'unknown dataset {name!r}; {hint}known: {", ".join(known_datasets())}, or any other '
                       f'TensorFlow Datasets image dataset') from e
  except Exception as e:  # a malformed name or version, a missing optional dependency of the builder
    raise DatasetError(f'cannot open TFDS dataset {name!r}: {first_line(e, with_type=True)}') from e


def _tfds_keys(tfds, name: str, features) -> tuple:
  """(image key, label key or None): 'image' and 'label' when they are an Image and a ClassLabel feature."""
  images = [key for key in features.keys() if isinstance(features[key], tfds.features.Image)]
  if not images:
    raise DatasetError(f'{name} is not an image dataset (features: {", ".join(features.keys())})')
  image_key = 'image' if 'image' in images else images[0]
  has_label = 'label' in features.keys() and isinstance(features['label'], tfds.features.ClassLabel)
  return image_key, 'label' if has_label else None


def _prepare(tfds, name: str, builder, manual_dir):
  """Builds the TFDS records of `name` in the builder's data_dir from the archives in manual_dir.

  Checked first: TFDS reads an archive from manual_dir only under its download URL's file name, and downloads
  whatever is missing there; offline, that download retries for about 3.5 minutes before it fails.
  """
  expected = sorted({info.filename for info in (builder.url_infos or {}).values() if info.filename})
  archives = f' ({", ".join(expected)})' if expected else ''
  if manual_dir is not None:
    manual_dir = os.path.expanduser(manual_dir)
    if not os.path.isdir(manual_dir):
      raise DatasetError(f'{name} is not prepared in {builder.data_dir_root} and --manual_dir={manual_dir} is not '
                         f'a directory; it must hold the original archives{archives}')
    missing = [file for file in expected if not os.path.isfile(os.path.join(manual_dir, file))]
    if missing:
      raise DatasetError(f'{name} is not prepared in {builder.data_dir_root} and --manual_dir={manual_dir} lacks '
                         f'its original archive(s) {", ".join(missing)}')
  else:
    logging.warning('%s is not prepared in %s and no --manual_dir was given: TFDS will try to download%s',
                    name, builder.data_dir_root, archives)
  # TFDS extracts a manual archive to <extract_dir>/GZIP.<file name> and reuses whatever is there: MNIST and
  # Fashion-MNIST share their archive names, so with one extract_dir the second dataset silently got the first's
  # images. One extract_dir per dataset keeps them apart.
  extract_dir = os.path.join(builder.data_dir_root, 'downloads', 'extracted', name)
  config = tfds.download.DownloadConfig(manual_dir=manual_dir, extract_dir=extract_dir, try_download_gcs=False)
  try:
    builder.download_and_prepare(download_config=config)
  except Exception as e:  # no network, a corrupt archive, a checksum mismatch, a full disk, ...
    raise DatasetError(f'could not prepare {name}: pass --manual_dir=DIR holding its original archives{archives} '
                       f'({first_line(e, with_type=True)})') from e


def _checksum_files(paths, root: str, split: str, content_limit: int = CHECKSUM_CONTENT_LIMIT) -> str:
  """'sha256:<hex>' over the split's name and each file's path (relative to root), size and bytes; above
  content_limit bytes in all, 'listing-sha256:<hex>' over names and sizes only (hashing a 100 GB image tree would
  cost more than the training run's start-up is worth)."""
  sizes = [os.path.getsize(p) for p in paths]
  with_content = sum(sizes) <= content_limit
  digest = hashlib.sha256(split.encode())
  for path, size in zip(paths, sizes):
    digest.update(f'\0{os.path.relpath(path, root)}\0{size}\0'.encode())
    if with_content:
      with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
          digest.update(block)
  return ('sha256:' if with_content else 'listing-sha256:') + digest.hexdigest()


# --- Registries ------------------------------------------------------------------------------------------------

BUILTIN_SOURCES = {
    'digits': Source('digits', _load_digits,
                     "scikit-learn's 1,797 8x8 handwritten digits, 10 classes, embedded and offline"),
}
PREFIX_SOURCES = {
    'folder:': Source('folder:PATH', _load_folder,
                      'JPEG/PNG/BMP/GIF/WebP files under PATH: one sub-folder per class, or all loose (unlabelled)'),
}
TFDS_SOURCE = Source('TFDS_NAME', _load_tfds, 'a TensorFlow Datasets image dataset, prepared from --manual_dir')
