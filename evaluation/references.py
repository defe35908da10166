"""The real side of every comparison, resolved once per evaluation: a data set's judge, the judge's outputs on its
held-out splits (with the data's labels), the floor at N, the judge's class names, and FID's real side when asked.

Every split is one of the dataset's JudgeSpec (evaluation/judge.py), none of them seen by the judge in training:

  reference_split  samples AND floor are compared with the judge features of all of it (MNIST: the 10,000 test
                   images; digits: the 360 test images)
  floor_split      the floor: N of its images (N = the sample count), scored exactly as samples are
  gan_split        the GAN's own training images: the base of the nearest-neighbour copy check

`resolve` turns a data set name into one `Reference` at the top of an evaluation: `python -m evaluation.evaluate`
and the library (evaluation/image_evaluate.py) once per evaluation, the evaluator of the trainer and the benchmarks
(evaluation/plugin.py) once, at its first call, for every call after it. Every metric takes it: the scores, copy
check and floor here, per-class scores (evaluation/per_class.py), FID (evaluation/fid.py). Nothing below it loads
the judge or reads a split again, and nothing is cached by name: a split passes through the judge once per
Reference (MNIST's 60,000 train images: ~30 s on 2 CPU cores), and whoever evaluates many times keeps its Reference.
"""

import dataclasses
import time
from typing import Optional

import numpy as np

from evaluation import metrics
from evaluation.scores import copy_queries, copy_scores, judge_scores

SUBSET_SEED = 0  # which N images of the floor split: the same ones in every process


def read_split(dataset: str, split: str, image_size: int, spec=None, data_dir=None, manual_dir=None) -> tuple:
  """A whole split at the judge's size, in the split's order: images (N, S, S, C) float32 in [-1, 1] and their class
  ids (N,) int64; a folder's part (judge, floor, reference) through its judge's spec (JudgeSpec.load_split and
  load_split_labels). The one place evaluation reads real images.

  Not cached: 60,000 32x32 images are 245 MB, and what evaluations reuse is their judge outputs (Reference).
  """
  if spec is not None and spec.load_split is not None:  # a folder has no splits: its judge's record cut it in parts
    return spec.load_split(split, image_size), spec.load_split_labels(split, image_size)
  from data import datasets
  data, _ = datasets.load_images(dataset, image_size, split=split, data_dir=data_dir, manual_dir=manual_dir,
                                 with_labels=True)
  images, labels = [], []
  for x, y in data.batch(2000).as_numpy_iterator():
    images.append(x)
    labels.append(y)
  if not images:
    raise datasets.DatasetError(f'the {split} split of {dataset!r} holds no images')
  return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def split_images(dataset: str, split: str, image_size: int, data_dir=None, manual_dir=None, spec=None) -> np.ndarray:
  """`read_split`'s images alone: (N, S, S, C) float32 in [-1, 1]."""
  return read_split(dataset, split, image_size, spec, data_dir, manual_dir)[0]


def judge_class_names(dataset: str, judge, data_dir=None, manual_dir=None) -> tuple:
  """The names of the judge's classes, in id order: a folder judge's record, else the data set's labels (from its
  DatasetInfo; no image is read)."""
  if 'class_names' in judge.record:
    return tuple(judge.record['class_names'])
  from data import datasets
  _, info = datasets.load_images(dataset, judge.image_size, split=judge.spec.reference_split, data_dir=data_dir,
                                 manual_dir=manual_dir, with_labels=True)
  return tuple(info.class_names)


def subset_indices(size: int, n: int, seed: int = SUBSET_SEED) -> np.ndarray:
  """min(n, size) distinct indices of a split of `size` images, sorted: the same ones in every process."""
  if n >= size:
    return np.arange(size)
  return np.sort(np.random.default_rng(seed).choice(size, n, replace=False))


def floor_classes(floor_labels: np.ndarray, num_samples: int) -> np.ndarray:
  """(num_samples,) int64: the class of floor image i for sample i, in the order and subset the floor is scored in
  (then again from the start, beyond the floor's size), so that samples and floor share the data's class mix."""
  n = min(num_samples, len(floor_labels))
  return np.resize(floor_labels[subset_indices(len(floor_labels), n)], num_samples)


@dataclasses.dataclass(frozen=True, eq=False)
class SplitFeatures:
  """The judge's outputs on a whole split, in the split's order, beside the data's own class ids."""
  features: np.ndarray  # (N, D) float32 judge features
  probs: np.ndarray  # (N, K) float64 class probabilities
  labels: np.ndarray  # (N,) int64 class ids of the images (the data's; the judge's reading is probs.argmax)


def split_features(dataset: str, split: str, data_dir=None, manual_dir=None, judges_dir=None,
                   judge=None) -> SplitFeatures:
  """The judge's outputs on a whole split; `judge`: the data set's (loaded here when None). Not cached: `resolve`
  asks once per split and keeps the result."""
  if judge is None:
    from evaluation.judge import load_judge
    judge = load_judge(dataset, judges_dir)
  images, labels = read_split(dataset, split, judge.image_size, judge.spec, data_dir, manual_dir)
  features, probs = judge.predict(images)
  return SplitFeatures(features, probs, labels)


@dataclasses.dataclass(frozen=True, eq=False)
class Reference:
  """A data set resolved for an evaluation of N samples (`resolve`): its judge, the judge's outputs on the held-out
  splits, the floor, and FID's real side when asked. Every metric reads it; none looks the data set up again."""
  dataset: str
  judge: object  # evaluation.classifier.Judge
  reference_split: SplitFeatures  # the whole reference split (R images): what samples and floor are compared with
  floor_split: SplitFeatures  # the whole floor split: the floor is N of its images (`subset_indices`)
  gan_features: Optional[np.ndarray]  # (G, D) of the GAN's training split (copy check), None without it
  class_names: tuple  # the judge's classes, in id order
  num_samples: int  # N: samples scored, and floor images (min(requested, floor split's size))
  floor: dict  # every metric of N floor images against the reference split: the line to reach
  description: str  # one line for the table header: which images, how many
  floor_class_counts: tuple = ()  # (K,) floor images the judge reads as each class: the data's mix, as it sees it
  seconds: float = 0.0  # how long resolving took, FID's real side apart (the wall-time line)
  fid: Optional[object] = None  # evaluation.fid.FidReference: FID's real side, when FID was asked for

  @property
  def features(self) -> np.ndarray:
    """(R, D) judge features of the whole reference split."""
    return self.reference_split.features

  @property
  def split_sizes(self) -> dict:
    """{split name: images} of the reference and floor splits."""
    spec = self.judge.spec
    return {spec.reference_split: len(self.reference_split.features),
            spec.floor_split: len(self.floor_split.features)}

  def sample_classes(self, num_samples: int) -> np.ndarray:
    """(num_samples,) int64: what a conditional generator's sample i is asked for, the class of floor image i."""
    return floor_classes(self.floor_split.labels, num_samples)

  def scores(self, features: np.ndarray, probs: np.ndarray) -> dict:
    """Every metric of samples' judge outputs ((N, D), (N, K)) against this reference (evaluation.scores)."""
    result = judge_scores(features, probs, self.features, self.judge.num_classes)
    if self.gan_features is not None:
      q = copy_queries(len(features), len(self.features))
      result.update(copy_scores(features[:q], self.features[:q], self.gan_features))
    return result


def resolve(dataset: str, num_samples: Optional[int] = None, *, judge=None, class_names: Optional[tuple] = None,
            data_dir=None, manual_dir=None, judges_dir=None, copy_check: bool = True, fid=None,
            log=print) -> Reference:
  """The data set `dataset` resolved for an evaluation of N = num_samples samples: its judge, the judge's outputs on
  the reference, floor and (with copy_check) GAN splits, the floor's scores at N, and with `fid` (an
  evaluation.fid.FidSettings) FID's real side. Called once at the top of an evaluation; the result goes to every
  metric.

  num_samples None: the reference split's size, capped at the floor split's (MNIST: 10,000; digits: 360).
  judge, class_names: what the caller has derived already (`judge_class_names`); derived here when None.
  The floor: N images of floor_split (NumPy's generator with SUBSET_SEED picks them) against the whole
  reference_split, exactly as samples are scored. Its copy check has no training images to query (the floor
  split is part of the GAN's training split), so it queries reference images that the held-out side of the
  check does not hold: two disjoint sets of unseen real images, a ratio ≈ 1 by construction of real data.
  Raises JudgeError, DatasetError, MetricsError (fewer images than FCD needs) or InceptionWeightsError (FID
  settings the splits cannot give, refused before any Inception pass).
  """
  started = time.monotonic()
  if judge is None:
    from evaluation.judge import load_judge
    judge = load_judge(dataset, judges_dir)
  spec = judge.spec
  ref = split_features(dataset, spec.reference_split, data_dir, manual_dir, judge=judge)
  floor_all = split_features(dataset, spec.floor_split, data_dir, manual_dir, judge=judge)
  if fid:  # the splits' sizes, before any Inception pass
    from evaluation import fid as fid_lib
    fid_lib.check_settings(fid, spec, {spec.reference_split: len(ref.features),
                                       spec.floor_split: len(floor_all.features)})
  n = min(num_samples or len(ref.features), len(floor_all.features))
  need = metrics.min_samples_for_covariance(judge.feature_dim)
  if n < need:
    raise metrics.MetricsError(f'{n} samples are too few: FCD on the {judge.feature_dim}-dimensional judge '
                               f'features needs at least {need}')
  keep = subset_indices(len(floor_all.features), n)
  floor_features, floor_probs = floor_all.features[keep], floor_all.probs[keep]
  gan = (split_features(dataset, spec.gan_split, data_dir, manual_dir, judge=judge).features
         if copy_check and spec.gan_split else None)
  floor = judge_scores(floor_features, floor_probs, ref.features, judge.num_classes)
  if gan is not None:
    q = copy_queries(n, len(ref.features))
    floor.update(copy_scores(ref.features[q:2 * q], ref.features[:q], gan))
  description = (f'reference: all {len(ref.features):,} {dataset} {spec.reference_split} images; floor: {n:,} '
                 f'{spec.floor_split} images (both unseen by the judge, trained on {spec.judge_split})')
  if spec.gan_split is None:  # a folder: the GAN trained on every image of it (evaluation/folder_judge.py)
    description += ('; the GAN trained on the whole folder, these parts included: FCD below the floor would mean '
                    'copying, and the copy check is off (it needs real images the GAN never saw)')
  floor_counts = tuple(int(c) for c in np.bincount(floor_probs.argmax(axis=1), minlength=judge.num_classes))
  if class_names is None:
    class_names = judge_class_names(dataset, judge, data_dir, manual_dir)
  resolved = Reference(dataset, judge, ref, floor_all, gan, tuple(class_names), n, floor, description, floor_counts,
                       time.monotonic() - started)
  if fid:  # last: the longest part, and the only one that prints (its cost, first)
    def fid_images(split: str) -> np.ndarray:  # fid.num_samples images of a split, the same in every process
      images = split_images(dataset, split, judge.image_size, data_dir, manual_dir, spec)
      return images[subset_indices(len(images), fid.num_samples)]
    resolved = dataclasses.replace(resolved, fid=fid_lib.fid_reference(fid, dataset, spec, fid_images, log))
  return resolved
