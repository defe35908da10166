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

import dataclasses
import datetime
import functools
import json
import os
import time
from typing import Callable, Optional

import numpy as np

from common.cli import first_line

JUDGES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'judges')
FEATURE_LAYER = 'features'
FEATURE_DIM = 128
FORMAT_VERSION = 2  # 2: trained on judge_split only; records trained_on, the other splits and floor_accuracy
TRAIN_COMMAND = 'python -m evaluation.train_judge'
# Keras' default 0.99 leaves 3% of the initial (0, 1) statistics in the moving averages after digits' 360 steps:
# 99.8% train accuracy in training mode fell to 92% in inference mode. 0.9 forgets the start within 50 steps.
_BN_MOMENTUM = 0.9
_BATCH_SIZE = 128


class JudgeError(ValueError):
  """No usable judge for a dataset (none trained, unreadable files); the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class JudgeSpec:
  """How the judge of one dataset is built and trained, and which images each role uses (TFDS split syntax)."""
  image_size: int  # the input size: the dataset's GAN recipe; evaluation brings other sizes to it
  width: int  # channels of the first convolution; doubled at each of the two following resolutions
  epochs: int  # enough to pass the accuracy aim on 2 CPU cores in a few minutes
  learning_rate: float  # Adam, peak of a cosine decay to 0 over the run
  target_accuracy: float  # the aim on the reference split; reported, not enforced
  judge_split: str  # what the judge trains on
  floor_split: str  # held-out real images the judge never saw: the floor, scored like samples
  reference_split: str  # what samples and floor are compared against
  gan_split: Optional[str] = 'train'  # the GAN's own training images, for the copy check (None: no check)
  # (split, image_size) -> images, for judges whose splits are not data.datasets splits (a folder's parts)
  load_split: Optional[Callable] = None


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


def build_classifier(image_size: int, channels: int, num_classes: int, width: int):
  """A small VGG-style CNN: (S, S, C) in [-1, 1] -> logits (K,), with a `features` layer of FEATURE_DIM.

  conv3x3(w) at full size, then two conv3x3 at each of S/2 (2w) and S/4 (4w) with max pooling between, down to
  S/8 (4x4 for 32x32 input). BatchNorm makes a few epochs enough; dropout keeps the features from memorising.
  """
  import keras
  from keras import layers
  images = keras.Input((image_size, image_size, channels), name='images')  # (B, S, S, C) in [-1, 1]
  x = images
  for i, (filters, convs) in enumerate([(width, 1), (2 * width, 2), (4 * width, 2)]):
    for j in range(convs):
      x = layers.Conv2D(filters, 3, padding='same', use_bias=False, name=f'conv{i}_{j}')(x)
      x = layers.BatchNormalization(momentum=_BN_MOMENTUM, name=f'conv{i}_{j}_bn')(x)
      x = layers.ReLU(name=f'conv{i}_{j}_relu')(x)
    x = layers.MaxPooling2D(2, name=f'pool{i}')(x)
  x = layers.Flatten(name='flatten')(x)  # (B, S/8 · S/8 · 4w)
  x = layers.Dropout(0.3, name='flatten_dropout')(x)
  features = layers.Dense(FEATURE_DIM, activation='relu', name=FEATURE_LAYER)(x)  # (B, FEATURE_DIM)
  x = layers.Dropout(0.3, name='features_dropout')(features)
  logits = layers.Dense(num_classes, name='logits')(x)  # (B, K)
  return keras.Model(images, logits, name='classifier')


def paths(dataset: str, judges_dir: Optional[str] = None):
  """(weights path, record path) of a dataset's judge."""
  judges_dir = judges_dir or JUDGES_DIR
  return os.path.join(judges_dir, f'{dataset}.weights.h5'), os.path.join(judges_dir, f'{dataset}.json')


class Judge:
  """A trained classifier read back from judges/: maps images to (features, class probabilities)."""

  def __init__(self, model, record: dict, spec: JudgeSpec):
    import keras
    self.record, self.spec = record, spec
    self.image_size, self.channels = record['image_size'], record['channels']
    self.num_classes, self.feature_dim = record['num_classes'], record['feature_dim']
    self._model = keras.Model(model.input, [model.get_layer(FEATURE_LAYER).output, model.output])

  def predict(self, images: np.ndarray, batch_size: int = 500):
    """images: (N, S, S, C) float32 in [-1, 1] at the judge's size -> features (N, D) float32, probabilities
    (N, K) float64."""
    import tensorflow as tf
    if images.shape[1:] != (self.image_size, self.image_size, self.channels):
      raise JudgeError(f'the {self.record["dataset"]} judge takes {self.image_size}x{self.image_size}x'
                       f'{self.channels} images, got {"x".join(map(str, images.shape[1:]))}')
    features, probs = [], []
    for start in range(0, len(images), batch_size):
      f, logits = self._model(images[start:start + batch_size], training=False)
      features.append(f.numpy())
      probs.append(tf.nn.softmax(tf.cast(logits, tf.float64)).numpy())
    if not features:
      return np.zeros((0, self.feature_dim), np.float32), np.zeros((0, self.num_classes), np.float64)
    return np.concatenate(features), np.concatenate(probs)


@functools.lru_cache(maxsize=8)
def load_judge(dataset: str, judges_dir: Optional[str] = None) -> Judge:
  """The committed judge of `dataset` (cached), or the judge a user trained for a labelled folder ('folder:PATH',
  evaluation/folder_judge.py). Raises JudgeError naming the command that trains a missing one."""
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
  record = {
      'format_version': FORMAT_VERSION,
      'dataset': dataset,
      'trained_on': {'split': spec.judge_split, 'examples': int(len(train_x))},
      'reference_split': spec.reference_split,
      'floor_split': spec.floor_split,
      'gan_split': spec.gan_split,
      'test_accuracy': round(test_accuracy, 4),  # on reference_split
      'test_examples': int(len(test_x)),
      'floor_accuracy': round(floor_accuracy, 4),
      'floor_examples': int(len(floor_x)),
      'target_accuracy': spec.target_accuracy,
      'image_size': spec.image_size,
      'channels': info.channels,
      'num_classes': info.num_classes,
      'width': spec.width,
      'feature_layer': FEATURE_LAYER,
      'feature_dim': FEATURE_DIM,
      'epochs': epochs,
      'seed': seed,
      'train_seconds': round(seconds, 1),
      'tensorflow_version': tf.__version__,
      'trained_at': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
      'command': command,
  }
  weights_path, record_path = paths(dataset, judges_dir)
  save_judge(model, record, weights_path, record_path)
  load_judge.cache_clear()  # a judge loaded earlier in this process is now stale
  verdict = 'meets' if test_accuracy >= spec.target_accuracy else 'MISSES'
  log(f'accuracy {test_accuracy:.4f} on {spec.reference_split} ({verdict} the aim {spec.target_accuracy}), '
      f'{floor_accuracy:.4f} on {spec.floor_split}, after {epochs} epochs in {seconds:.0f} s; wrote '
      f'{weights_path} and {record_path}')
  return record


def save_judge(model, record: dict, weights_path: str, record_path: str) -> None:
  """Writes a trained judge: its weights without the optimizer (save_weights of a compiled model stores the Adam
  slots too, 3x the file; a judge needs the weights only) and its record. The record's image_size, channels,
  num_classes and width rebuild it."""
  os.makedirs(os.path.dirname(weights_path) or '.', exist_ok=True)
  inference_model = build_classifier(record['image_size'], record['channels'], record['num_classes'],
                                     record['width'])
  inference_model.set_weights(model.get_weights())
  inference_model.save_weights(weights_path)
  with open(record_path, 'w') as f:
    f.write(json.dumps(record, indent=2) + '\n')
