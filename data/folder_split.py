"""A deterministic, grouped split of an image folder into the parts a judge needs, the same on every machine.

The judge machinery of MNIST rests on three disjoint sets: images the judge trains on, a *floor* set (real images
the judge never saw, scored like samples: what a perfect generator would reach) and a *reference* set (what
samples and floor are compared with, also unseen by the judge). A user's folder has no such split, so this
module makes one:

  judge      ~70%  the judge trains on it
  floor      ~15%  real images the judge never saw, scored against the reference at the samples' N
  reference  ~15%  the held-out real images every score is measured against

The GAN trains on the whole folder (a user's few thousand images are all it has), so unlike MNIST's test split
floor and reference are held out from the judge only: the judge's features of them are those of unseen images,
but a generator that copied its training images could reach the floor, and the copy check that would tell is off
(it needs real images the GAN never saw).

Near-duplicates must not straddle parts, or the floor would be flattered by copies of the reference. Files are
therefore grouped by a key and whole groups are assigned: a group goes to the part its key's SHA-256 falls in,
so the assignment depends on the key alone (not on file order, the file system, or how many other files there
are) and never changes when files are added. Keys (`group_by`):

  content          the SHA-256 of the file's bytes (the default: identical files stay together)
  name_after:SEP   the file name without extension after the first SEP ('noto-1f600.png' -> '1f600' with
                   name_after:-, so the two drawing styles of one emoji stay together)
  strip:REGEX      the file name without extension with every match of REGEX removed (the emoji folder's
                   skin-tone variants are near-duplicates too: strip:^[^-]+-|-1f3f[b-f] keys them by base emoji)

No TensorFlow: the split is computed from file names (and bytes) before any image is decoded.
"""

import collections
import dataclasses
import hashlib
import os
import re
from typing import Dict, List, Sequence, Tuple

PARTS = ('judge', 'floor', 'reference')
FRACTIONS = {'judge': 0.70, 'floor': 0.15, 'reference': 0.15}
DEFAULT_GROUP_BY = 'content'
DEFAULT_MIN_PER_PART = 5  # images of each class in each part: fewer, and a per-class figure means nothing
_SALT = 'gan-pipeline folder split v1'  # a new salt is a new split: bump the version with it


class SplitError(ValueError):
  """A folder that cannot be split as asked; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class FolderSplit:
  """Which files (relative to the folder, '/'-separated, sorted) fall in each part, per class."""
  group_by: str
  parts: Dict[str, Tuple[str, ...]]  # part -> files
  classes: Tuple[str, ...]  # class names, sorted ('' for an unlabelled folder's one class)
  counts: Dict[str, Dict[str, int]]  # part -> class -> images

  def record(self) -> dict:
    """What a run's config and a judge's record store to say which split they used (its files are implied)."""
    return {'group_by': self.group_by, 'salt': _SALT,
            'counts': {part: dict(by_class) for part, by_class in self.counts.items()}}


def group_key_function(group_by: str):
  """The function (folder, relative path) -> group key that `group_by` names; SplitError for a malformed rule."""
  if group_by == 'content':
    def content(root, relative):
      with open(os.path.join(root, relative), 'rb') as f:
        return 'sha256:' + hashlib.sha256(f.read()).hexdigest()
    return content
  kind, _, argument = group_by.partition(':')
  if kind == 'name_after' and argument:
    return lambda root, relative: _stem(relative).partition(argument)[2] or _stem(relative)
  if kind == 'strip' and argument:
    try:
      pattern = re.compile(argument)
    except re.error as e:
      raise SplitError(f'--group_by=strip:{argument}: not a regular expression ({e})') from None
    return lambda root, relative: pattern.sub('', _stem(relative)) or _stem(relative)
  raise SplitError(f'--group_by must be content, name_after:SEP or strip:REGEX, got {group_by!r}')


def _stem(relative: str) -> str:
  return os.path.splitext(os.path.basename(relative))[0]


def part_of(key: str) -> str:
  """The part a group key falls in: the first 8 bytes of SHA-256(salt, key) as a fraction of 2⁶⁴, against the
  cumulative FRACTIONS. Independent of everything but the key."""
  u = int.from_bytes(hashlib.sha256(f'{_SALT}\0{key}'.encode()).digest()[:8], 'big') / 2.0 ** 64
  edge = 0.0
  for part in PARTS:
    edge += FRACTIONS[part]
    if u < edge:
      return part
  return PARTS[-1]


def split_folder(root: str, files: Sequence[str], class_of: Sequence[str], group_by: str = DEFAULT_GROUP_BY,
                 min_per_part: int = DEFAULT_MIN_PER_PART) -> FolderSplit:
  """Splits `files` (paths relative to `root`) whose classes are `class_of` (same order) into PARTS by group.

  Raises SplitError when a class has fewer than `min_per_part` images in a part, naming the class, the part and
  what would work (more images of the class, a coarser or finer group rule, or leaving the class out).
  """
  key_of = group_key_function(group_by)
  parts: Dict[str, List[str]] = {part: [] for part in PARTS}
  counts: Dict[str, Dict[str, int]] = {part: collections.Counter() for part in PARTS}
  classes = tuple(sorted(set(class_of)))
  for relative, label in zip(files, class_of):
    part = part_of(key_of(root, relative))
    parts[part].append(relative.replace(os.sep, '/'))
    counts[part][label] += 1
  for label in classes:
    short = [(part, counts[part][label]) for part in PARTS if counts[part][label] < min_per_part]
    if short:
      part, have = short[0]
      total = sum(counts[p][label] for p in PARTS)
      name = f'class {label!r}' if label else 'the folder'
      raise SplitError(f'{name} has {have} image(s) in the {part} part of the split (grouped by {group_by}; '
                       f'{total} in all), fewer than {min_per_part}: add images of it, or move its folder out')
  return FolderSplit(group_by, {part: tuple(sorted(found)) for part, found in parts.items()}, classes,
                     {part: {label: counts[part][label] for label in classes} for part in PARTS})
