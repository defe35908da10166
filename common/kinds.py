"""The data kinds' names, the one key every stage registers its per-kind behaviour under.

  image   (H, W, C) pictures: TFDS datasets, the embedded digits, folder:PATH
  points  2-D points of the WGAN-GP paper's toy distributions: toy:NAME
  text    one-hot character sequences of the paper's language model: text:PATH

Stages keep one table each, keyed by these names: training/data_kinds.py (data, models, samples),
evaluation/kinds.py (scoring), export/kinds.py (outputs, sample file), serve/models.py (what the app draws).
A new kind is one name here and one entry per table.
"""

import os

IMAGE, POINTS, TEXT = 'image', 'points', 'text'
NAMES = (IMAGE, POINTS, TEXT)
# generator.json and metadata.json written before data kinds have no `kind`: they were images.
DEFAULT = IMAGE
TOY_PREFIX, TEXT_PREFIX, FOLDER_PREFIX = 'toy:', 'text:', 'folder:'


def of_dataset(dataset: str) -> str:
  """The kind of a --dataset value: 'toy:NAME' points, 'text:PATH' text, anything else images."""
  if dataset.startswith(TOY_PREFIX):
    return POINTS
  if dataset.startswith(TEXT_PREFIX):
    return TEXT
  return IMAGE


# What a 'folder:' or 'text:' --dataset names, for a value that names none: a preset that needs the user's data
# (training/presets/emoji.flags, text.flags) sets the prefix alone and leaves the path to a later flag.
_PATH_WORDS = {FOLDER_PREFIX: ('folder', 'PATH'), TEXT_PREFIX: ('file', 'FILE')}


def missing_path(dataset: str) -> str:
  """The one-line error for a 'folder:' or 'text:' --dataset without its path, else ''."""
  if dataset not in _PATH_WORDS:
    return ''
  what, placeholder = _PATH_WORDS[dataset]
  return (f'--dataset={dataset} names no {what}: add --dataset={dataset}{placeholder} after the --flagfile (a preset '
          f'that trains on your data leaves the path to you)')


def with_absolute_path(dataset: str) -> str:
  """'folder:PATH' and 'text:PATH' with PATH absolute ('~' expanded), anything else as it is: what a new run's
  config records, so that resuming, evaluating or finding a folder's judge (named after the absolute path) works
  from any working directory."""
  for prefix in (FOLDER_PREFIX, TEXT_PREFIX):
    if dataset.startswith(prefix) and dataset[len(prefix):]:
      return prefix + os.path.abspath(os.path.expanduser(dataset[len(prefix):]))
  return dataset


def of_metadata(metadata: dict) -> str:
  """The kind that generator.json or metadata.json records (DEFAULT for files from before kinds)."""
  return metadata.get('kind', DEFAULT)
