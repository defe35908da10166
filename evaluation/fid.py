r"""FID (Heusel et al. 2017) from a local InceptionV3 file: its own sample count, its cost said first, its real
side cached on disk.

This FID is not comparable to published FIDs: the Inception weights are whatever local Keras file is given (not
the TF-1 graph that published numbers use), and 32x32 (or 16x16) images are resized bilinearly to the network's
input here, not as the reference implementations do. Compare it only with other numbers of this tool, and with
its floor.

  samples  the first --fid_samples generated images (default FID_DEFAULT_SAMPLES), at the judge's geometry
  floor    as many floor_split images, against the same reference: the value of real held-out data
  ref.     as many reference_split images (the same subset in every process)

FID needs a full-rank covariance of 2,048 pool3 features, hence at least 2,049 images per set: fewer, or a split
too small to give them (digits: 360 test images), is refused before any Inception pass. Each real set's features
are cached in `<cache dir>/<dataset>-<split>-<n>-<weights sha1[:12]>-<size>.npy`, so a second run passes only
the samples through the network.

The real side is part of the evaluation's evaluation.references.Reference (`fid_reference`, built by its `resolve`
with the network, which is loaded once per evaluation); `fid` then passes the samples through the same network.
"""

import dataclasses
import hashlib
import os
import re
import time
from typing import Callable, Optional

import numpy as np

from common.cli import first_line
from evaluation import metrics
from evaluation.images import EvaluationError

INCEPTION_FILE = 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5'  # Keras' no-top file name
FEATURE_DIM = 2048  # pool3
MIN_SAMPLES = metrics.min_samples_for_covariance(FEATURE_DIM)  # 2,049
# 2,500: the smallest round count above the 2,049 that a 2048-dimensional covariance needs, leaving it some
# margin beyond bare full rank; the three sets then cost 7,500 passes at 299 px (~43 TFLOP, ~12 min on 2 CPU
# cores the first time; ~4 min once the real sides are cached). Published FIDs use 10,000-50,000: this one is
# biased upwards by its smaller N, the floor (same N) shows by how much.
DEFAULT_SAMPLES = 2500
DEFAULT_SIZE, MIN_SIZE = 299, 75  # InceptionV3's input; Keras accepts down to 75 px (the test's size)
GFLOP_AT_299 = 5.7  # multiply-adds x 2 of one InceptionV3 pass at 299 x 299; scales with the pixel count
DEFAULT_CACHE_DIR = os.path.join('~', '.cache', 'gan_pipeline', 'fid')
NOT_COMPARABLE = ('This FID is not comparable to published FIDs (other Inception weights, other resizing): compare '
                  'it only with its floor and other runs of this tool.')


class InceptionWeightsError(EvaluationError):
  """FID without a usable local InceptionV3 file, or settings that cannot give FID: a usage error (exit 2)."""


@dataclasses.dataclass(frozen=True)
class FidSettings:
  weights: str  # local Keras InceptionV3 no-top .h5
  num_samples: int = DEFAULT_SAMPLES
  size: int = DEFAULT_SIZE  # Inception input side, >= MIN_SIZE
  cache_dir: str = DEFAULT_CACHE_DIR


def check_weights(path: Optional[str]) -> str:
  """The refusal: FID needs Keras' InceptionV3 no-top weights as a local file; this project never downloads."""
  import h5py
  if not path:
    raise InceptionWeightsError(f'FID needs InceptionV3 weights, which are not shipped and never downloaded '
                                f'here: pass --inception_weights=PATH to a local {INCEPTION_FILE}')
  path = os.path.expanduser(path)
  if not os.path.isfile(path):
    raise InceptionWeightsError(f'--inception_weights: no file at {path}')
  if not h5py.is_hdf5(path):  # checked before the slow work; Keras' own error would come minutes later
    raise InceptionWeightsError(f'--inception_weights: {path} is not a Keras HDF5 weights file '
                                f'(expected {INCEPTION_FILE})')
  return path


def check_settings(settings: FidSettings, spec=None, split_sizes: Optional[dict] = None) -> None:
  """Every refusal that needs no Inception pass: weights file, input size, sample count, and with `spec` (the
  dataset's JudgeSpec) and `split_sizes` ({split name: images}) the real splits' sizes.

  Raises InceptionWeightsError.
  """
  check_weights(settings.weights)
  if settings.size < MIN_SIZE:
    raise InceptionWeightsError(f'--inception_size must be >= {MIN_SIZE} (InceptionV3\'s smallest input), '
                                f'got {settings.size}')
  if settings.num_samples < MIN_SAMPLES:
    raise InceptionWeightsError(f'FID on {FEATURE_DIM} Inception features needs at least {MIN_SAMPLES:,} samples '
                                f'per set for a full-rank covariance, got --fid_samples={settings.num_samples}')
  for role in (('reference_split', 'floor_split') if spec else ()):
    split = getattr(spec, role)
    if split_sizes[split] < settings.num_samples:
      raise InceptionWeightsError(f'FID with {settings.num_samples:,} samples needs as many real images per side; '
                                  f'the {role.split("_")[0]} split {split!r} holds {split_sizes[split]:,} '
                                  f'(at least {MIN_SAMPLES:,} are needed for FID at all)')


def gflop_per_image(size: int) -> float:
  return GFLOP_AT_299 * (size / DEFAULT_SIZE) ** 2


def _weights_sha1(path: str) -> str:
  with open(path, 'rb') as f:
    return hashlib.file_digest(f, 'sha1').hexdigest()


def cache_path(settings: FidSettings, dataset: str, split: str) -> str:
  """Where the Inception features of `settings.num_samples` images of `split` are kept."""
  name = f'{dataset}-{split}-{settings.num_samples}-{_weights_sha1(settings.weights)[:12]}-{settings.size}'
  name = re.sub(r'[^A-Za-z0-9._-]+', '_', name)  # 'train[50000:]' -> 'train_50000_'
  return os.path.join(os.path.expanduser(settings.cache_dir), name + '.npy')


def _inception(path: str, size: int):
  """A compiled function (B, size, size, 3) in [-1, 1] -> (B, 2048), for one weights file and input size. Not cached:
  an evaluation builds it once (`fid_reference`) and keeps it in its FidReference."""
  import keras
  import tensorflow as tf
  try:
    # include_top=False, pooling='avg': the 2048 pool3 features of FID. The convolutions' weights do not depend
    # on the input size, so one file serves any size from 75 px.
    model = keras.applications.InceptionV3(weights=path, include_top=False, pooling='avg',
                                           input_shape=(size, size, 3))
  except (OSError, ValueError) as e:
    raise InceptionWeightsError(f'cannot load InceptionV3 weights from {path}: '
                                f'{first_line(e)}') from None
  return tf.function(lambda x: model(x, training=False), reduce_retracing=True)


def inception_features(images: np.ndarray, settings: FidSettings, predict: Callable,
                       batch_size: int = 50) -> np.ndarray:
  """(N, S, S, C) in [-1, 1] -> (N, 2048) pool3 features through `predict` (`_inception` of the settings): bilinear
  resize to the Inception size, gray repeated to RGB. [-1, 1] is already InceptionV3's input range
  (keras.applications.inception_v3.preprocess_input)."""
  import tensorflow as tf
  features = []
  for start in range(0, len(images), batch_size):  # batches: 50 images at 299x299x3 are 54 MB
    x = tf.image.resize(images[start:start + batch_size], [settings.size, settings.size], method='bilinear')
    if x.shape[-1] == 1:
      x = tf.image.grayscale_to_rgb(x)
    features.append(predict(tf.clip_by_value(x, -1.0, 1.0)).numpy())
  return np.concatenate(features)


def real_features(dataset: str, split: str, settings: FidSettings, predict: Callable, real_images: Callable,
                  log=print) -> np.ndarray:
  """Inception features of `settings.num_samples` images of a split, read from the disk cache or computed through
  `predict` and written there. real_images: split -> those images, (n, S, S, C) in [-1, 1] at the judge's size,
  the same ones in every process (evaluation.references.resolve passes its reader)."""
  path = cache_path(settings, dataset, split)
  if os.path.isfile(path):
    return np.load(path)
  images = real_images(split)
  features = inception_features(images, settings, predict)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + f'.tmp-{os.getpid()}.npy'
  np.save(tmp, features)
  os.replace(tmp, path)  # a crash never leaves a partial cache file under the real name
  log(f'FID: cached {split} features in {path}')
  return features


@dataclasses.dataclass(frozen=True, eq=False)
class FidReference:
  """FID's real side of one evaluation: the Inception features of settings.num_samples reference and floor images,
  and the network the samples pass through next."""
  settings: FidSettings
  reference: np.ndarray  # (n, 2048) pool3 features of reference_split images
  floor: np.ndarray  # (n, 2048) of floor_split images
  predict: Callable  # the Inception network (`_inception`), built once
  seconds: float  # how long this took (the note's time counts it)


def fid_reference(settings: FidSettings, dataset: str, spec, real_images: Callable, log=print) -> FidReference:
  """The real side of FID for a data set's judge spec (real_images: as real_features'). Call check_settings first
  (evaluation.references.resolve does). Prints the cost of the whole FID (samples included) before the first pass."""
  splits = (spec.reference_split, spec.floor_split)
  cached = [s for s in splits if os.path.isfile(cache_path(settings, dataset, s))]
  to_pass = settings.num_samples * (1 + len(splits) - len(cached))
  sets = [f'{settings.num_samples:,} samples'] + [f'{settings.num_samples:,} {s}' for s in splits if s not in cached]
  log(f'FID: {to_pass:,} images through InceptionV3 at {settings.size} px, ~{gflop_per_image(settings.size):.1f} '
      f'GFLOP each: ~{to_pass * gflop_per_image(settings.size) / 1000:.1f} TFLOP ({" + ".join(sets)}'
      f'{"; cached: " + ", ".join(cached) if cached else ""})')
  started = time.monotonic()
  predict = _inception(settings.weights, settings.size)
  reference, floor = (real_features(dataset, s, settings, predict, real_images, log) for s in splits)
  return FidReference(settings, reference, floor, predict, time.monotonic() - started)


def fid(samples: np.ndarray, real: FidReference) -> dict:
  """FID of samples (N >= settings.num_samples, at the judge's geometry) and of the floor, against the reference.

  Returns {'samples': fid, 'floor': fid, 'note': one line for the table}.
  """
  settings = real.settings
  started = time.monotonic()
  sample_features = inception_features(samples[:settings.num_samples], settings, real.predict)
  note = (f'fid: {settings.num_samples:,} samples per set, InceptionV3 at {settings.size} px, '
          f'{real.seconds + time.monotonic() - started:.0f} s. {NOT_COMPARABLE}')
  return {'samples': metrics.frechet_distance(sample_features, real.reference),
          'floor': metrics.frechet_distance(real.floor, real.reference), 'note': note}
