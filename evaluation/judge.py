r"""The judges: one small classifier per dataset whose features the metrics compare, and how each was trained.

FID needs Inception weights from a hub, which this project cannot reach; a classifier of the domain itself,
trained here and committed, gives the same kind of feature space offline (the "Fréchet Classifier Distance").
Each judge sees what the GAN trains on: (S, S, C) images in [-1, 1] from data.datasets.load_images, at the
size of the dataset's recipe. `python -m evaluation.train_judge --dataset=X` writes, beside this file:

  judges/<dataset>.weights.h5   the Keras weights (rebuilt from `build_classifier`, as generator_io does)
  judges/<dataset>.json         which images it trained on, its accuracy on unseen images, date, command

The features are the activations of the layer named `features` (ReLU, `FEATURE_DIM` wide) before dropout and
the logits: what the classifier has learnt to separate classes with, as Inception's pool3 is for FID.

Four splits per dataset, named in its `JudgeSpec` (issue 9): a classifier's features of images it memorised
differ from its features of unseen ones, so the judge never sees the images the metrics compare against.
  judge_split      what the judge trains on (part of the train split)
  floor_split      held-out real images the judge never saw: scored like samples, they give the floor
  reference_split  what samples and floor are compared against (the test split, also unseen)
  gan_split        the GAN's own training images, for the nearest-neighbour copy check
"""

import json
import os
import time
from typing import Optional

import numpy as np

from common.cli import first_line
# What every judge is (the committed ones here, a folder's in evaluation/folder_judge.py): re-exported, so callers
# read one module.
from evaluation.classifier import (FEATURE_DIM, FEATURE_LAYER, FORMAT_VERSION, TRAIN_COMMAND, Judge, JudgeError,
                                   JudgeSpec, build_classifier, save_judge)

JUDGES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'judges')
_BATCH_SIZE = 128
# Keras' default 0.99 leaves 3% of the initial (0, 1) statistics in the moving averages after digits' 360 steps:
# MNIST and Fashion-MNIST: the first 50,000 of the 60,000 train images train the judge, the last 10,000 are the
# floor, the same count as the 10,000 test images of the reference. digits (1,437 train / 360 test, see
# data.datasets._DIGITS_SPLITS): the last 360 train images are the floor, as many as the reference, so floor
# and samples are scored at the reference's size; the judge keeps 1,077 (75%) to learn from.
JUDGES = {
    'digits': JudgeSpec(image_size=16, width=16, epochs=30, learning_rate=3e-3, target_accuracy=0.97,
                        judge_split='train[:1077]', floor_split='train[1077:]', reference_split='test'),
    'mnist': JudgeSpec(image_size=32, width=16, epochs=3, learning_rate=3e-3, target_accuracy=0.99,
                       judge_split='train[:50000]', floor_split='train[50000:]', reference_split='test'),
    'fashion_mnist': JudgeSpec(image_size=32, width=16, epochs=15, learning_rate=3e-3, target_accuracy=0.92,
                               judge_split='train[:50000]', floor_split='train[50000:]', reference_split='test'),
}


FOLDER_PREFIX = 'folder:'  # a labelled folder's judge: evaluation/folder_judge.py, trained by the user


def check_dataset(dataset: str, judges_dir: Optional[str] = None) -> None:
  """Raises JudgeError, before TensorFlow loads, when `dataset` has no judge to load (a typo costs no start-up)."""
  if dataset.startswith(FOLDER_PREFIX):
    from evaluation import folder_judge
    weights_path, record_path = folder_judge.paths(dataset[len(FOLDER_PREFIX):], judges_dir)
    if not (os.path.isfile(weights_path) and os.path.isfile(record_path)):
      raise JudgeError(f'no judge for {dataset} in {os.path.dirname(record_path) or "."}/ (looked for '
                       f'{os.path.basename(record_path)}); train it with: '
                       f'{folder_judge.retrain_command(dataset)}')
  else:
    judge_spec(dataset)


def judge_spec(dataset: str) -> JudgeSpec:
  spec = JUDGES.get(dataset)
  if spec is None:
    raise JudgeError(f'no judge for dataset {dataset!r}: judges exist for {", ".join(JUDGES)} '
                     f'(add an entry to evaluation.judge.JUDGES and train it with {TRAIN_COMMAND})')
  return spec


def paths(dataset: str, judges_dir: Optional[str] = None):
  """(weights path, record path) of a dataset's judge."""
  judges_dir = judges_dir or JUDGES_DIR
  return os.path.join(judges_dir, f'{dataset}.weights.h5'), os.path.join(judges_dir, f'{dataset}.json')


def load_judge(dataset: str, judges_dir: Optional[str] = None) -> Judge:
  """The committed judge of `dataset`, or the judge a user trained for a labelled folder ('folder:PATH',
  evaluation/folder_judge.py). Raises JudgeError naming the command that trains a missing one.

  Not cached: an evaluation loads its judge once, at its top (evaluation.references.resolve and its callers), and
  hands it down; a cache by name would also keep a judge that train_judge has since replaced."""
  if dataset.startswith(FOLDER_PREFIX):
    from evaluation import folder_judge
    return folder_judge.load_folder_judge(dataset, judges_dir)
  spec = judge_spec(dataset)
  retrain = f'{TRAIN_COMMAND} --dataset={dataset}'
  weights_path, record_path = paths(dataset, judges_dir)
  if not os.path.isfile(weights_path) or not os.path.isfile(record_path):
    raise JudgeError(f'no trained judge for {dataset!r} in {os.path.dirname(weights_path)}; train it with: '
                     f'{retrain}')
  try:
    with open(record_path) as f:
      record = json.load(f)
  except (OSError, ValueError) as e:
    reason = first_line(e) or type(e).__name__
    raise JudgeError(f'cannot read {record_path}: {reason}; retrain with: {retrain}') from None
  if not isinstance(record, dict) or record.get('format_version') != FORMAT_VERSION:
    version = record.get('format_version') if isinstance(record, dict) else None
    raise JudgeError(f'{record_path} has judge format {version!r}; this version reads {FORMAT_VERSION} '
                     f'(retrain with: {retrain})')
  # The metrics trust the registry's splits to be unseen by the judge: a record of other splits is stale.
  trained_on = record.get('trained_on')
  trained_on = trained_on.get('split') if isinstance(trained_on, dict) else trained_on
  if trained_on != spec.judge_split:
    raise JudgeError(f'{record_path} was trained on {trained_on!r} but evaluation.judge.JUDGES says '
                     f'{spec.judge_split!r}; retrain with: {retrain}')
  model = build_classifier(record['image_size'], record['channels'], record['num_classes'], record['width'])
  try:
    model.load_weights(weights_path)
  except (OSError, ValueError) as e:
    reason = first_line(e) or type(e).__name__
    raise JudgeError(f'cannot load {weights_path}: {reason}; retrain with: {retrain}') from None
  return Judge(model, record, spec)


def labelled_arrays(dataset: str, split: str, image_size: int, data_dir=None, manual_dir=None):
  """A whole split as arrays: images (N, S, S, C) float32 in [-1, 1], labels (N,) int64, and its DatasetInfo."""
  from data import datasets
  data, info = datasets.load_images(dataset, image_size, split=split, data_dir=data_dir, manual_dir=manual_dir,
                                    with_labels=True)
  images, labels = [], []
  for x, y in data.batch(2048).as_numpy_iterator():
    images.append(x)
    labels.append(y)
  return np.concatenate(images), np.concatenate(labels).astype(np.int64), info


def accuracy(judge_or_model, images: np.ndarray, labels: np.ndarray) -> float:
  """Top-1 accuracy of a Judge or a Keras classifier on images (N, S, S, C) with labels (N,)."""
  if isinstance(judge_or_model, Judge):
    _, probs = judge_or_model.predict(images)
  else:
    probs = judge_or_model.predict(images, batch_size=500, verbose=0)
  return float(np.mean(probs.argmax(axis=1) == labels))


def train_judge(dataset: str, data_dir=None, manual_dir=None, epochs: Optional[int] = None, seed: int = 0,
                judges_dir: Optional[str] = None, command: str = '', log=print) -> dict:
  """Trains the judge of `dataset` on its judge_split, scores the unseen reference and floor splits, and writes
  both judge files. Returns the record written to judges/<dataset>.json.
  """
  import keras
  import tensorflow as tf
  spec = judge_spec(dataset)
  epochs = spec.epochs if epochs is None else epochs
  # --- Data: all three splits in memory (60,000 32x32 images are 245 MB); augmentation is a random shift.
  train_x, train_y, info = labelled_arrays(dataset, spec.judge_split, spec.image_size, data_dir, manual_dir)
  test_x, test_y, _ = labelled_arrays(dataset, spec.reference_split, spec.image_size, data_dir, manual_dir)
  floor_x, floor_y, _ = labelled_arrays(dataset, spec.floor_split, spec.image_size, data_dir, manual_dir)
  log(f'{dataset}: trains on {spec.judge_split} ({len(train_x)} images), scored on {spec.reference_split} '
      f'({len(test_x)}) and {spec.floor_split} ({len(floor_x)}); {spec.image_size}x{spec.image_size}x'
      f'{info.channels}, {info.num_classes} classes')
  keras.utils.set_random_seed(seed)
  # Shifts of up to 1/16 of the size (2 pixels at 32x32), each image its own, the border filled with the
  # background -1: digits are not always centred in generated samples either.
  shift = keras.layers.RandomTranslation(1 / 16, 1 / 16, fill_mode='constant', fill_value=-1.0,
                                         interpolation='nearest', seed=seed)
  train = (tf.data.Dataset.from_tensor_slices((train_x, train_y)).shuffle(len(train_x), seed=seed)
           .batch(_BATCH_SIZE).map(lambda x, y: (shift(x, training=True), y)).prefetch(2))

  # --- Model: Adam with a cosine decay over the whole run, so a fixed epoch count ends converged.
  model = build_classifier(spec.image_size, info.channels, info.num_classes, spec.width)
  steps = epochs * -(-len(train_x) // _BATCH_SIZE)
  schedule = keras.optimizers.schedules.CosineDecay(spec.learning_rate, steps)
  model.compile(keras.optimizers.Adam(schedule),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
  t0 = time.monotonic()
  model.fit(train, epochs=epochs, verbose=2 if log is print else 0, shuffle=False)  # train shuffles itself
  seconds = time.monotonic() - t0

  # --- Accuracy on both unseen splits, then both files (weights first: a record never describes weights that
  # are not there).
  test_accuracy = accuracy(model, test_x, test_y)
  floor_accuracy = accuracy(model, floor_x, floor_y)
  details = {
      'reference_split': spec.reference_split,
      'floor_split': spec.floor_split,
      'gan_split': spec.gan_split,
      'test_accuracy': round(test_accuracy, 4),  # on reference_split
      'test_examples': int(len(test_x)),
      'floor_accuracy': round(floor_accuracy, 4),
      'floor_examples': int(len(floor_x)),
      'target_accuracy': spec.target_accuracy,
  }
  weights_path, record_path = paths(dataset, judges_dir)
  record = save_judge(model, weights_path, record_path, dataset=dataset,
                      trained_on={'split': spec.judge_split, 'examples': int(len(train_x))}, details=details,
                      image_size=spec.image_size, channels=info.channels, num_classes=info.num_classes,
                      width=spec.width, epochs=epochs, seed=seed, train_seconds=seconds, command=command)
  verdict = 'meets' if test_accuracy >= spec.target_accuracy else 'MISSES'
  log(f'accuracy {test_accuracy:.4f} on {spec.reference_split} ({verdict} the aim {spec.target_accuracy}), '
      f'{floor_accuracy:.4f} on {spec.floor_split}, after {epochs} epochs in {seconds:.0f} s; wrote '
      f'{weights_path} and {record_path}')
  return record
