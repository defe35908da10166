"""Which files an image folder holds and which class each belongs to: the one listing rule, read by the folder
loader (data/datasets.py) and by whatever must name a folder's images file by file (the folder judge's split).
No TensorFlow.

  <root>/<class>/**/<image>   labelled: the first-level sub-folders are the classes (sorted names -> ids 0..K-1),
                              their images at any depth, sorted by path
  <root>/<image>              unlabelled: all images loose, one class
Hidden files and folders (names starting with '.') are never read. Loose files beside class folders are refused:
guessing whether they are a class, strays or a mistake would change what a run learns.
"""

import os

IMAGE_EXTENSIONS = ('.bmp', '.gif', '.jpeg', '.jpg', '.png', '.webp')


class FolderError(ValueError):
  """A folder that cannot be read as an image data set; the message is one line for the user."""


def list_classes(root: str, name: str) -> tuple:
  """(class names, [files of each class]) of a labelled folder; ((), [loose files]) of an unlabelled one. Files
  are absolute-ish paths under `root`, sorted within a class. FolderError for no image files, an empty class
  folder, or loose files beside class folders; `name` is how the messages call the folder."""
  entries = sorted(entry for entry in os.listdir(root) if not entry.startswith('.'))
  folders = [entry for entry in entries if os.path.isdir(os.path.join(root, entry))]
  loose = [os.path.join(root, entry) for entry in entries if _is_image_file(root, entry)]
  per_folder = [image_files(os.path.join(root, folder)) for folder in folders]
  if not any(per_folder):  # all loose: one unlabelled class
    if not loose:
      raise FolderError(f'{name} holds no image files ({", ".join(IMAGE_EXTENSIONS)}, searched recursively)')
    return (), [loose]
  if loose:
    raise FolderError(f'{name}: {len(loose)} image file(s) lie beside its class folders, e.g. {loose[0]}; move '
                      f'them into a class folder (or all images out of the sub-folders for one unlabelled class)')
  empty = [folder for folder, files in zip(folders, per_folder) if not files]
  if empty:
    raise FolderError(f'{name}: class folder {empty[0]!r} holds no image files ({", ".join(IMAGE_EXTENSIONS)}); '
                      f'put images in it or remove it')
  return tuple(folders), per_folder


def _is_image_file(directory: str, entry: str) -> bool:
  return entry.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(directory, entry))


def image_files(directory: str) -> list:
  """The image files under `directory` at any depth, sorted by path, hidden files and folders left out."""
  found = []
  for parent, subdirs, names in os.walk(directory):
    subdirs[:] = [d for d in subdirs if not d.startswith('.')]
    found += [os.path.join(parent, n) for n in names if not n.startswith('.') and n.lower().endswith(IMAGE_EXTENSIONS)]
  return sorted(found)
