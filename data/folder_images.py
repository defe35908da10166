"""Which of a folder's image files a run can read, and how to decode each: the checks behind folder:PATH
(data/datasets.py builds the TensorFlow pipeline from what this returns). Pillow is imported by the functions that
use it.

Each listed file (data/folders.py) is opened and verified by Pillow, once, before training:
  - unreadable files (not an image, truncated headers, a format TensorFlow does not decode) and images above the
    pixel cap (common/image_limits.py) are skipped, each with its reason (`skipped_text` names them);
  - transparency that TensorFlow ignores marks a file for Pillow's decoder (data/decode.py);
  - an image whose smaller side exceeds REDUCE_ABOVE x image_size is marked to be decoded at reduced size (a JPEG
    by Pillow's DCT scaling, then resized): decoded at full size, a 10000x10000 photo is 1.2 GB of float32 in the
    pipeline for a 64x64 training image.
"""

import concurrent.futures
import dataclasses
import os
from typing import Optional, Sequence, Tuple

from common import cli, image_limits
from common.cli import first_line
from data import decode
from data.folders import FolderError
from data.geometry import MNIST_PAD, MNIST_SIZE

# The formats (PIL's names) that tf.io.decode_image decodes, of the files a folder lists (data/folders.py).
# MPO is how PIL names the JPEGs of many cameras (a JPEG with a second, preview image appended).
DECODABLE_FORMATS = frozenset({'BMP', 'GIF', 'JPEG', 'MPO', 'PNG', 'WEBP'})
# An image whose smaller side is above this multiple of image_size is decoded at reduced size, that side brought
# to REDUCE_ABOVE x image_size: the final antialiased resize still averages 8x8 source pixels per output pixel.
REDUCE_ABOVE = 8
NAMED_SKIPPED = 5  # files named in a skipped-files message; the rest are counted
_VERIFY_THREADS = 8  # PIL's verify is file reading; threads overlap the I/O of large trees


@dataclasses.dataclass(frozen=True)
class FileCheck:
  problem: Optional[str]  # None: readable
  size: tuple = (0, 0)  # (width, height) of its pixels
  with_pillow: bool = False  # decode with Pillow (transparency TensorFlow ignores: data/decode.py)


@dataclasses.dataclass(frozen=True)
class FolderImages:
  """The readable images of a folder, in the loader's order (class by class, sorted by path), and the rest."""
  class_names: Tuple[str, ...]  # () for an unlabelled folder
  class_counts: Tuple[int, ...]  # readable images per class; () for an unlabelled folder
  files: Tuple[str, ...]
  labels: Tuple[int, ...]  # class index of each file (0 for an unlabelled folder)
  with_pillow: Tuple[bool, ...]  # per file, FileCheck.with_pillow
  reduce_to: Tuple[Tuple[int, int], ...]  # per file, (width, height) to decode at, or (0, 0): full size
  upscaled: Tuple[int, ...]  # the smaller side of each image below image_size (resized up)
  skipped: Tuple[Tuple[str, str], ...]  # (path, reason) of each file left out
  total: int  # files listed, readable or not


def read_folder(name: str, class_names: Sequence[str], class_files: Sequence[Sequence[str]],
                image_size: int) -> FolderImages:
  """Checks every file of `class_files` (data.folders.list_classes) for a run at `image_size`. FolderError (one
  line; `name` is how it calls the folder) when no file, or no file of some class, can be read."""
  files = [file for group in class_files for file in group]
  checks = check_files(files)
  bad = tuple((file, checks[file].problem) for file in files if checks[file].problem is not None)
  readable = [[file for file in group if checks[file].problem is None] for group in class_files]
  if not any(readable):
    raise FolderError(f'{name}: none of its {len(files)} image files can be read, e.g. {bad[0][0]}: {bad[0][1]}')
  for class_name, group, kept in zip(class_names, class_files, readable):
    if not kept:
      raise FolderError(f'{name}: none of the {len(group)} image files of class folder {class_name!r} can be '
                        f'read, e.g. {group[0]}: {checks[group[0]].problem}')
  kept = [file for group in readable for file in group]
  sizes = [checks[file].size for file in kept]
  return FolderImages(
      class_names=tuple(class_names), class_counts=tuple(len(group) for group in readable) if class_names else (),
      files=tuple(kept), labels=tuple(label for label, group in enumerate(readable) for _ in group),
      with_pillow=tuple(checks[file].with_pillow for file in kept),
      reduce_to=tuple(reduced_size(size, image_size) for size in sizes),
      upscaled=tuple(min(size) for size in sizes if fitted_side(size, image_size) < image_size),
      skipped=bad, total=len(files))


def check_files(files: Sequence[str]) -> dict:
  """{file: FileCheck}, verified in threads, under this project's pixel cap rather than Pillow's default guard."""
  image_limits.guard_pillow()
  with concurrent.futures.ThreadPoolExecutor(_VERIFY_THREADS) as pool:
    return dict(zip(files, pool.map(check_file, files)))


def check_file(file: str) -> FileCheck:
  """Whether Pillow can open and verify `file` as a format TensorFlow decodes, within the pixel cap (else the
  reason in a few words), its size and whether its transparency needs Pillow. Call image_limits.guard_pillow
  first (check_files does): under Pillow's default guard an image above 179 M px is refused as unreadable."""
  from PIL import Image
  try:
    with Image.open(file) as image:
      image_format, size, with_pillow = image.format, tuple(image.size), decode.needs_pillow(image)
      image.verify()
  except Image.DecompressionBombError:  # above twice the cap: Pillow refuses it before it says its size
    return FileCheck(image_limits.too_large(None))
  except Exception as e:  # PIL raises many types (OSError, SyntaxError, ...)
    return FileCheck(f'{type(e).__name__}: {first_line(e) or "unreadable"}')
  if image_format not in DECODABLE_FORMATS:
    return FileCheck(f'{image_format} images are not decoded by TensorFlow')
  if image_limits.too_large(size):
    return FileCheck(image_limits.too_large(size))
  return FileCheck(None, size, with_pillow)


def fitted_side(size: tuple, image_size: int) -> int:
  """The side of the square the geometry resizes (datasets._fit_square): min(W, H), with 28x28 padded to 32x32
  unless image_size is 28."""
  padded = size == (MNIST_SIZE, MNIST_SIZE) and image_size != MNIST_SIZE
  return min(size) + 2 * MNIST_PAD if padded else min(size)


def reduced_size(size: tuple, image_size: int) -> Tuple[int, int]:
  """(width, height) to decode an image of `size` at: its smaller side brought to REDUCE_ABOVE x image_size, the
  aspect ratio kept (so the centre crop that follows is the same square); (0, 0) when it is not that large."""
  width, height = size
  side = REDUCE_ABOVE * image_size
  if min(width, height) <= side:
    return 0, 0
  scale = side / min(width, height)
  return max(side, round(width * scale)), max(side, round(height * scale))


def skipped_text(skipped: Sequence[Tuple[str, str]], root: str = '') -> str:
  """'2 image files skipped: a.png (OSError: ...), b.jpg (too large: ...)', the paths relative to `root`; above
  NAMED_SKIPPED files, the first NAMED_SKIPPED named, then 'and 7 more'. Shared by every stage that reads a
  folder (training's warning, the folder judge's error), so that each names the same files the same way."""
  # Pillow's reasons repeat the path ("cannot identify image file '/abs/a.png'"): said once, in front, is enough.
  named = [f'{os.path.relpath(path, root) if root else path} ({reason.replace(f" {path!r}", "")})'
           for path, reason in skipped]
  files = 'image file' if len(skipped) == 1 else 'image files'
  return f'{len(skipped)} {files} skipped: {cli.listed(named, NAMED_SKIPPED)}'
