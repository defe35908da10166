"""The real side of every comparison: images of the judge's splits, their judge features, and the floor.

Every split is one of the dataset's JudgeSpec (evaluation/judge.py), none of them seen by the judge in training:

  reference_split  samples AND floor are compared with the judge features of all of it (MNIST: the 10,000 test
                   images; digits: the 360 test images)
  floor_split      the floor: N of its images (N = the sample count), scored exactly as samples are
  gan_split        the GAN's own training images: the base of the nearest-neighbour copy check

Judge features of whole splits are cached in memory per process: the trainer evaluates many times, and a
split passes through the judge once (MNIST's 60,000 train images: ~30 s on 2 CPU cores, once).
"""

import dataclasses
import functools
from typing import Optional

import numpy as np

from evaluation import metrics
from evaluation.scores import copy_queries, copy_scores, judge_scores

SUBSET_SEED = 0  # which N images of the floor split: the same ones in every process


def split_images(dataset: str, split: str, image_size: int, data_dir=None, manual_dir=None,
                 judges_dir=None) -> np.ndarray:
  """A whole split at the judge's size, in the split's order: (N, S, S, C) float32 in [-1, 1]; a folder's part
  (judge, floor, reference) through its judge's spec.

  Not cached: 60,000 32x32 images are 245 MB, and what evaluations reuse is their features (split_features).
  """
  from data import datasets
  from evaluation.judge import FOLDER_PREFIX, load_judge
  if dataset.startswith(FOLDER_PREFIX):  # a folder has no splits of its own: its judge's record cut it in parts
    return load_judge(dataset, judges_dir).spec.load_split(split, image_size)
  data, _ = datasets.load_images(dataset, image_size, split=split, data_dir=data_dir, manual_dir=manual_dir)
  batches = list(data.batch(2000).as_numpy_iterator())
  if not batches:
    raise datasets.DatasetError(f'the {split} split of {dataset!r} holds no images')
  return np.concatenate(batches)


def subset_indices(size: int, n: int, seed: int = SUBSET_SEED) -> np.ndarray:
  """min(n, size) distinct indices of a split of `size` images, sorted: the same ones in every process."""
  if n >= size:
    return np.arange(size)
  return np.sort(np.random.default_rng(seed).choice(size, n, replace=False))


@dataclasses.dataclass(frozen=True)
class SplitFeatures:
  features: np.ndarray  # (N, D) float32 judge features
  probs: np.ndarray  # (N, K) float64 class probabilities


@functools.lru_cache(maxsize=8)
def split_features(dataset: str, split: str, data_dir=None, manual_dir=None, judges_dir=None) -> SplitFeatures:
  """The judge's features and probabilities of a whole split (cached; the images themselves are not kept)."""
  from evaluation.judge import load_judge
  judge = load_judge(dataset, judges_dir)
  features, probs = judge.predict(split_images(dataset, split, judge.image_size, data_dir, manual_dir, judges_dir))
  return SplitFeatures(features, probs)


def split_size(dataset: str, split: str, data_dir=None, manual_dir=None, judges_dir=None) -> int:
  return len(split_features(dataset, split, data_dir, manual_dir, judges_dir).features)


@dataclasses.dataclass(frozen=True)
class Reference:
  """What samples of one dataset are judged against, at one sample count N."""
  dataset: str
  judge: object  # evaluation.judge.Judge
  num_samples: int  # N: samples scored, and floor images (min(requested, floor split's size))
  features: np.ndarray  # (R, D) judge features of the whole reference split
  gan_features: Optional[np.ndarray]  # (G, D) of the GAN's training split (copy check), None without it
  floor: dict  # every metric of N floor images against `features`: the line to reach
  description: str  # one line for the table header: which images, how many
  floor_class_counts: tuple = ()  # (K,) floor images the judge reads as each class: the data's mix, as it sees it

  def scores(self, features: np.ndarray, probs: np.ndarray) -> dict:
    """Every metric of samples' judge outputs ((N, D), (N, K)) against this reference (evaluation.scores)."""
    result = judge_scores(features, probs, self.features, self.judge.num_classes)
    if self.gan_features is not None:
      q = copy_queries(len(features), len(self.features))
      result.update(copy_scores(features[:q], self.features[:q], self.gan_features))
    return result


@functools.lru_cache(maxsize=4)
def reference(dataset: str, num_samples: int, data_dir=None, manual_dir=None, judges_dir=None,
              copy_check: bool = True) -> Reference:
  """Loads the judge and the features of its held-out splits, and scores the floor at N = num_samples.

  The floor: N images of floor_split (NumPy's generator with SUBSET_SEED picks them) against the whole
  reference_split, exactly as samples are scored. Its copy check has no training images to query (the floor
  split is part of the GAN's training split), so it queries reference images that the held-out side of the
  check does not hold: two disjoint sets of unseen real images, a ratio ≈ 1 by construction of real data.
  Cached per process. Raises JudgeError, DatasetError or MetricsError (fewer images than FCD needs).
  """
  from evaluation.judge import load_judge
  judge = load_judge(dataset, judges_dir)
  spec = judge.spec
  ref = split_features(dataset, spec.reference_split, data_dir, manual_dir, judges_dir)
  floor_all = split_features(dataset, spec.floor_split, data_dir, manual_dir, judges_dir)
  n = min(num_samples, len(floor_all.features))
  need = metrics.min_samples_for_covariance(judge.feature_dim)
  if n < need:
    raise metrics.MetricsError(f'{n} samples are too few: FCD on the {judge.feature_dim}-dimensional judge '
                               f'features needs at least {need}')
  keep = subset_indices(len(floor_all.features), n)
  floor_features, floor_probs = floor_all.features[keep], floor_all.probs[keep]
  gan = (split_features(dataset, spec.gan_split, data_dir, manual_dir, judges_dir)
         if copy_check and spec.gan_split else None)
  floor = judge_scores(floor_features, floor_probs, ref.features, judge.num_classes)
  if gan is not None:
    q = copy_queries(n, len(ref.features))
    floor.update(copy_scores(ref.features[q:2 * q], ref.features[:q], gan.features))
  description = (f'reference: all {len(ref.features):,} {dataset} {spec.reference_split} images; floor: {n:,} '
                 f'{spec.floor_split} images (both unseen by the judge, trained on {spec.judge_split})')
  if spec.gan_split is None:  # a folder: the GAN trained on every image of it (evaluation/folder_judge.py)
    description += ('; the GAN trained on the whole folder, these parts included: FCD below the floor would mean '
                    'copying, and the copy check is off (it needs real images the GAN never saw)')
  floor_counts = tuple(int(c) for c in np.bincount(floor_probs.argmax(axis=1), minlength=judge.num_classes))
  return Reference(dataset, judge, n, ref.features, None if gan is None else gan.features, floor, description,
                   floor_counts)
