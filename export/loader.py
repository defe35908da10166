"""The one way export reads a run directory: which run to export, and its generator.

Everything here goes through `training.generator_io`, the single reader of `<run_dir>/generator/`; the
checks that need no TensorFlow (`find_run_dir`, `read_metadata`) run first so bad input fails in a second.
"""

import os

from training.generator_io import RunDirError, load, read_metadata  # re-exported: the loader export uses

__all__ = ['ExportError', 'RunDirError', 'find_run_dir', 'load', 'read_metadata']


class ExportError(Exception):
  """An export that cannot go ahead or did not verify: the message is one line meant for the user."""


def _holds_generator(run_dir: str) -> bool:
  from training import generator_io
  folder = generator_io.generator_folder(run_dir)
  return (os.path.isfile(os.path.join(folder, generator_io.METADATA_FILE)) and
          os.path.isfile(os.path.join(folder, generator_io.WEIGHTS_FILE)))


def find_run_dir(run_dir=None, runs_root: str = 'runs') -> str:
  """`run_dir` itself when given, else the newest run under `runs_root` that holds a generator.

  "Newest" is the latest write of the generator's metadata, i.e. the run that checkpointed last, not the one
  whose name sorts last (names only carry the start time). Callers print which run was picked.
  """
  if run_dir:
    return run_dir
  if not os.path.isdir(runs_root):
    raise ExportError(f'no --run_dir given and no {runs_root!r} folder to pick the newest run from')
  from training import generator_io
  candidates = []
  for entry in os.scandir(runs_root):
    if entry.is_dir() and _holds_generator(entry.path):
      stamp = os.path.getmtime(os.path.join(generator_io.generator_folder(entry.path), generator_io.METADATA_FILE))
      candidates.append((stamp, entry.path))
  if not candidates:
    raise ExportError(f'no run under {runs_root!r} holds a trained generator; train first or pass --run_dir')
  return max(candidates)[1]
