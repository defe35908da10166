"""What every judge is, whoever trained it: the classifier (`build_classifier`), the spec of its data
(`JudgeSpec`), the trained judge read back (`Judge`: images -> features and class probabilities), how its files
are written (`save_judge`), and its one-line error.

evaluation/judge.py keeps the committed judges of digits, MNIST and Fashion-MNIST and loads any judge;
evaluation/folder_judge.py trains and reads a user's labelled folder's. Both build on this module, so neither
imports the other at its top.
"""

import dataclasses
import json
import os
from typing import Callable, Optional

import numpy as np

FEATURE_LAYER = 'features'
FEATURE_DIM = 128
FORMAT_VERSION = 2  # 2: trained on judge_split only; records trained_on, the other splits and floor_accuracy
TRAIN_COMMAND = 'python -m evaluation.train_judge'

# 99.8% train accuracy in training mode fell to 92% in inference mode. 0.9 forgets the start within 50 steps.
_BN_MOMENTUM = 0.9


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
  # (split, image_size) -> labels (N,) int64 in load_split's order (a folder's parts); None: the data set's own
  load_split_labels: Optional[Callable] = None


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


def save_judge(model, weights_path: str, record_path: str, *, dataset: str, trained_on: dict, details: dict,
               image_size: int, channels: int, num_classes: int, width: int, epochs: int, seed: int,
               train_seconds: float, command: str) -> dict:
  """The one writer of a judge, whoever trained it (evaluation/judge.py's data set judges, evaluation/folder_judge.py's
  folder judges): its weights without the optimizer (save_weights of a compiled model stores the Adam slots too, 3x
  the file; a judge needs the weights only), then its record, returned. Weights first: a record never describes
  weights that are not there.

  The record holds what every reader needs to rebuild and trust the judge (format, what it trained on, the geometry
  `build_classifier` takes, the feature layer) and how it was made (epochs, seed, time, versions, command); `details`
  are what its kind adds after `trained_on` (the splits it was scored on and its accuracy there; a folder's group
  rule, split and class names).
  """
  import datetime
  import tensorflow as tf
  record = {
      'format_version': FORMAT_VERSION,
      'dataset': dataset,
      'trained_on': trained_on,  # {'split': ..., 'examples': ...}: load_judge checks it against the registry
      **details,
      'image_size': image_size,
      'channels': channels,
      'num_classes': num_classes,
      'width': width,
      'feature_layer': FEATURE_LAYER,
      'feature_dim': FEATURE_DIM,
      'epochs': epochs,
      'seed': seed,
      'train_seconds': round(train_seconds, 1),
      'tensorflow_version': tf.__version__,
      'trained_at': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
      'command': command,
  }
  os.makedirs(os.path.dirname(weights_path) or '.', exist_ok=True)
  inference_model = build_classifier(image_size, channels, num_classes, width)
  inference_model.set_weights(model.get_weights())
  inference_model.save_weights(weights_path)
  with open(record_path, 'w') as f:
    f.write(json.dumps(record, indent=2) + '\n')
  return record
