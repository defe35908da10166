r"""The judge of a labelled image folder (issue 21): trained on the folder's judge part, scored on its floor part.

`python -m evaluation.train_judge --dataset=folder:PATH [--group_by=RULE]` splits the folder with
data/folder_split.py (judge ~70% / floor ~15% / reference ~15%, whole groups of near-duplicates per part) and
trains `classifier.build_classifier` (3 channels) on the judge part. It writes, where a user looks for it (beside the
runs, in ./judges/ unless --judges_dir says otherwise), two files named after the folder's base name and a short
hash of its absolute path, so two folders called `emoji` never overwrite each other's judge:

  judges/<base>-<hash8>.weights.h5   the Keras weights
  judges/<base>-<hash8>.json         folder, group rule, the split's record, image size, alpha background, class
                                     names, accuracy and balanced accuracy on the floor part, command

`load_folder_judge` reads such a judge back for `python -m evaluation.evaluate` and `--eval_every` (evaluation.judge.
load_judge sends every `folder:` data set here): its spec's splits are the parts (`FolderParts`), decoded once as the
judge loads, with the judge's own group rule and alpha background, so samples are always compared with the images the
judge was scored on. The GAN trains on the whole folder (a user's few thousand images are all it has), so the
reference and floor parts were seen by the GAN, unlike MNIST's test split: the spec has no GAN split, the copy check
is off (it needs real images the GAN never saw) and the table says so.
"""

import dataclasses
import hashlib
import os
import time
from typing import Optional

import numpy as np

from data import folder_split
from common.cli import first_line
from evaluation import classifier  # not evaluation.judge: it sends folder: data sets here

DEFAULT_JUDGES_DIR = 'judges'  # relative to the working directory, beside runs/: a user's folder, a user's judge
DEFAULT_IMAGE_SIZE = 32
DEFAULT_EPOCHS = 15
_WIDTH = 16
_LEARNING_RATE = 3e-3


def judge_name(folder: str) -> str:
  """'<base name>-<first 8 hex of SHA-256(absolute path)>': readable, and distinct for two folders of one name."""
  root = os.path.abspath(os.path.expanduser(folder))
  return f'{os.path.basename(root.rstrip(os.sep)) or "root"}-{hashlib.sha256(root.encode()).hexdigest()[:8]}'


def paths(folder: str, judges_dir: Optional[str] = None):
  """(weights path, record path) of a folder's judge."""
  base = os.path.join(judges_dir or DEFAULT_JUDGES_DIR, judge_name(folder))
  return base + '.weights.h5', base + '.json'


def _class_files(root: str):
  """(class names, relative file per image, class per image) in the order data.datasets reads a labelled folder
  (data/folders.py is the one listing rule); ([], [], []) for an unlabelled folder."""
  from data.folders import FolderError, list_classes
  try:
    classes, per_class = list_classes(root, f'folder:{root}')
  except FolderError as e:
    raise classifier.JudgeError(str(e)) from None
  files = [os.path.relpath(path, root) for found in per_class for path in found]
  class_of = [label for label, found in zip(classes, per_class) for _ in found]
  return list(classes), (files if classes else []), class_of


def balanced_accuracy(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
  """The mean over classes present in `labels` of each class's recall: a rare class counts as much as a common one."""
  recalls = [np.mean(predicted[labels == k] == k) for k in range(num_classes) if np.any(labels == k)]
  return float(np.mean(recalls))


def _folder_root(dataset: str) -> str:
  return os.path.abspath(os.path.expanduser(dataset.partition(':')[2]))


def _decoded_parts(root: str, group_by: str, alpha_background: str, image_size: int, min_per_part: int):
  """Decodes the whole folder and cuts it into parts: ({part: (images (N, S, S, 3) float32 in [-1, 1], labels (N,)
  int64)}, the FolderSplit, class names). Not cached: training a judge decodes once, and loading one decodes once and
  keeps the parts in its spec (`load_folder_judge`), which is all an evaluation reads."""
  from data import datasets, folder_images
  dataset = f'folder:{root}'
  classes, files, class_of = _class_files(root) if os.path.isdir(root) else ([], [], [])
  if os.path.isdir(root) and len(classes) < 2:  # also a folder of loose files: one unlabelled class
    raise classifier.JudgeError(
        f'{dataset} has {len(classes)} class folder(s): a judge learns to tell classes apart, so sort the images '
        f'into two or more class folders (one sub-folder per class); an unlabelled folder can only be scored '
        f'with FID, which needs Inception weights this project cannot download')
  data, info = datasets.load_images(dataset, image_size, split='all', with_labels=True,
                                    alpha_background=alpha_background)
  if info.skipped:
    raise classifier.JudgeError(f'{dataset}: {folder_images.skipped_text(info.skipped_files, root)}; remove them '
                                f'so the split is the same for the judge and the metrics')
  if tuple(info.class_names) != tuple(classes):  # the folder changed between the two listings
    raise classifier.JudgeError(f'{dataset}: its class folders changed while it was read ({", ".join(classes)} then '
                           f'{", ".join(info.class_names)}); run again')
  split = folder_split.split_folder(root, files, class_of, group_by, min_per_part)
  images, labels = [], []
  for x, y in data.batch(1024).as_numpy_iterator():
    images.append(x)
    labels.append(y)
  images, labels = np.concatenate(images), np.concatenate(labels).astype(np.int64)
  if len(images) != len(files):
    raise classifier.JudgeError(f'{dataset}: {len(files) - len(images)} image(s) failed to decode; remove them')
  index = {relative.replace(os.sep, '/'): i for i, relative in enumerate(files)}
  parts = {}
  for name in folder_split.PARTS:
    keep = np.array([index[f] for f in split.parts[name]], np.int64)
    parts[name] = (images[keep], labels[keep])
  return parts, split, tuple(classes)


@dataclasses.dataclass(frozen=True, eq=False)
class FolderParts:
  """A folder decoded once, at its judge's size, with the judge's group rule and alpha background, and cut into
  parts: what a loaded folder judge's spec reads (`images` is its load_split, `labels` its load_split_labels)."""
  root: str
  group_by: str
  alpha_background: str
  image_size: int
  parts: dict  # {part: (images (N, S, S, 3) float32 in [-1, 1], labels (N,) int64)}

  def _part(self, part: str, image_size: int) -> tuple:
    if part not in folder_split.PARTS:
      raise classifier.JudgeError(f'a folder judge has parts {", ".join(folder_split.PARTS)}, not {part!r}')
    parts = self.parts
    if image_size != self.image_size:  # not the judge's size (evaluation never asks): decoded again at that size
      parts, _, _ = _decoded_parts(self.root, self.group_by, self.alpha_background, image_size,
                                   folder_split.DEFAULT_MIN_PER_PART)
    return parts[part]

  def images(self, part: str, image_size: int) -> np.ndarray:
    """One part at `image_size`: (N, S, S, 3) float32 in [-1, 1]."""
    return self._part(part, image_size)[0]

  def labels(self, part: str, image_size: int) -> np.ndarray:
    """The class ids (N,) int64 of `images`' images, in their order."""
    return self._part(part, image_size)[1]


def retrain_command(dataset: str, group_by: str = folder_split.DEFAULT_GROUP_BY) -> str:
  rule = '' if group_by == folder_split.DEFAULT_GROUP_BY else f" --group_by='{group_by}'"
  return f'{classifier.TRAIN_COMMAND} --dataset={dataset}{rule}'


def load_folder_judge(dataset: str, judges_dir: Optional[str] = None) -> 'classifier.Judge':
  """The judge `train_folder_judge` wrote for `dataset` ('folder:PATH'), with a spec whose splits are the parts.

  Raises classifier.JudgeError (one line, naming the command that trains it) when there is none, it is unreadable, or
  the folder's classes or split no longer match what it was trained on (images added or removed since).
  """
  import json
  root = _folder_root(dataset)
  weights_path, record_path = paths(root, judges_dir)
  if not os.path.isfile(weights_path) or not os.path.isfile(record_path):
    raise classifier.JudgeError(f'no judge for {dataset} in {os.path.dirname(weights_path) or "."}/ (looked for '
                           f'{os.path.basename(record_path)}); train it with: {retrain_command(dataset)}')
  try:
    with open(record_path) as f:
      record = json.load(f)
    group_by, background = record['group_by'], record['alpha_background']
    size, classes, stored_split = int(record['image_size']), list(record['class_names']), dict(record['split'])
    channels, num_classes = int(record['channels']), int(record['num_classes'])
    width, epochs = int(record['width']), int(record['epochs'])
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise classifier.JudgeError(f'cannot read {record_path} ({type(e).__name__}: {e}); retrain with: '
                           f'{retrain_command(dataset)}') from None
  retrain = retrain_command(dataset, group_by)
  if record.get('format_version') != classifier.FORMAT_VERSION:
    raise classifier.JudgeError(f'{record_path} has judge format {record.get("format_version")!r}; this version reads '
                           f'{classifier.FORMAT_VERSION} (retrain with: {retrain})')
  current, _, _ = _class_files(root) if os.path.isdir(root) else (None, None, None)
  if current is None:
    raise classifier.JudgeError(f'{dataset}: no such folder (its judge is {record_path})')
  if current != classes:
    raise classifier.JudgeError(f'{dataset} now has classes {", ".join(current)}; its judge was trained on '
                           f'{", ".join(classes)}: retrain with: {retrain}')
  changed = (f'{dataset} has changed since its judge was trained (images per class per part differ from '
             f'{record_path})')
  try:
    parts, split, _ = _decoded_parts(root, group_by, background, size, folder_split.DEFAULT_MIN_PER_PART)
  except folder_split.SplitError as e:  # e.g. a class has lost so many images that it no longer splits
    raise classifier.JudgeError(f'{changed}: {e}; retrain with: {retrain}') from None
  if split.record() != stored_split:  # counts, and the group rule and salt that made them
    raise classifier.JudgeError(f'{changed}: retrain with: {retrain}')
  model = classifier.build_classifier(size, channels, num_classes, width)
  try:
    model.load_weights(weights_path)
  except (OSError, ValueError) as e:
    raise classifier.JudgeError(f'cannot load {weights_path}: {first_line(e) or type(e).__name__}; retrain with: '
                           f'{retrain}') from None
  decoded = FolderParts(root, group_by, background, size, parts)  # the folder is decoded once per judge loaded
  spec = classifier.JudgeSpec(image_size=size, width=width, epochs=epochs,
                         learning_rate=_LEARNING_RATE, target_accuracy=0.0, judge_split='judge', floor_split='floor',
                         reference_split='reference', gan_split=None,
                         load_split=decoded.images, load_split_labels=decoded.labels)
  return classifier.Judge(model, record, spec)


def check_background(judge, background, what: str) -> None:
  """Refuses to score images decoded over another background than the folder judge's own (--alpha_background):
  the reference and floor images would differ from the samples in every transparent pixel, not in quality.
  No-op for judges without a background (the data set judges) and for runs that do not record one."""
  judged = (getattr(judge, 'record', None) or {}).get('alpha_background')
  if judged and background and judged != background:
    raise classifier.JudgeError(f'{what} composited transparent pixels over {background!r}, the judge of its folder '
                                f'over {judged!r}: scores would measure the background; retrain the judge with '
                                f'--alpha_background={background} (python -m evaluation.train_judge)')


def train_folder_judge(dataset: str, group_by: str = folder_split.DEFAULT_GROUP_BY,
                       image_size: int = DEFAULT_IMAGE_SIZE, alpha_background: str = 'white',
                       epochs: int = DEFAULT_EPOCHS, seed: int = 0, judges_dir: Optional[str] = None,
                       command: str = '', log=print) -> dict:
  """Trains the judge of `dataset` ('folder:PATH') on the folder's judge part and writes both files.

  Raises classifier.JudgeError (one line) for an unlabelled folder, folder_split.SplitError for a class too small to
  split, data.datasets.DatasetError for unreadable data.
  """
  import keras
  import tensorflow as tf
  root = _folder_root(dataset)
  # --- Data: the whole folder decoded once, then cut into parts by group.
  parts, split, classes = _decoded_parts(root, group_by, alpha_background, image_size,
                                         folder_split.DEFAULT_MIN_PER_PART)
  (train_x, train_y), (floor_x, floor_y) = parts['judge'], parts['floor']
  log(f'{dataset}: trains on the judge part ({len(train_x)} images), scored on the floor part ({len(floor_x)}); '
      f'{image_size}x{image_size}x3, {len(classes)} classes, grouped by {group_by}')
  # Before the training minutes: a --group_by that does not fit the file names skews the parts without failing.
  from evaluation import split_report
  for line in [split_report.split_table(split)] + split_report.skew_warnings(split):
    log(line)

  keras.utils.set_random_seed(seed)
  # Augmentation in-graph: the judge part of a small folder is a few hundred images per class, which a CNN
  # memorises in a few epochs; mirror images and shifts of 1/16 of the size are the same class for drawings and
  # photos alike, and samples are not always centred either. No colour changes: colour often is the class.
  augment = keras.Sequential([
      keras.layers.RandomFlip('horizontal', seed=seed),
      keras.layers.RandomTranslation(1 / 16, 1 / 16, fill_mode='nearest', seed=seed + 1)])
  batch_size = 128
  train = (tf.data.Dataset.from_tensor_slices((train_x, train_y)).shuffle(len(train_x), seed=seed)
           .batch(batch_size).map(lambda x, y: (augment(x, training=True), y)).prefetch(2))
  model = classifier.build_classifier(image_size, 3, len(classes), _WIDTH)
  steps = epochs * -(-len(train_x) // batch_size)
  model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(_LEARNING_RATE, steps)),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
  t0 = time.monotonic()
  model.fit(train, epochs=epochs, verbose=2 if log is print else 0, shuffle=False)
  seconds = time.monotonic() - t0

  predicted = model.predict(floor_x, batch_size=500, verbose=0).argmax(axis=1)
  floor_accuracy = float(np.mean(predicted == floor_y))
  floor_balanced = balanced_accuracy(predicted, floor_y, len(classes))
  details = {
      'folder': root,
      'group_by': group_by,
      'split': split.record(),
      'floor_accuracy': round(floor_accuracy, 4),
      'floor_balanced_accuracy': round(floor_balanced, 4),
      'floor_examples': int(len(floor_x)),
      'alpha_background': alpha_background,
      'class_names': list(classes),
  }
  weights_path, record_path = paths(root, judges_dir)
  record = classifier.save_judge(model, weights_path, record_path, dataset=f'folder:{root}',
                                 trained_on={'split': 'judge', 'examples': int(len(train_x))}, details=details,
                                 image_size=image_size, channels=3, num_classes=len(classes), width=_WIDTH,
                                 epochs=epochs, seed=seed, train_seconds=seconds, command=command)
  log(f'floor accuracy {floor_accuracy:.4f}, balanced {floor_balanced:.4f} ({len(floor_x)} images the judge never '
      f'saw), after {epochs} epochs in {seconds:.0f} s; wrote {weights_path} and {record_path}')
  return record
