"""The one way export reads a run directory: which run to export, and its generator.

The checks that need no TensorFlow (`find_run_dir`, `read_metadata`) read the run directory through
`common.artifacts`, so bad input fails in a second; the generator itself is rebuilt by `training.generator_io`,
the one module of training that export uses.
"""

import os

from common import artifacts
from common.artifacts import RunDirError  # re-exported: export's callers catch it from here

__all__ = ['ExportError', 'RunDirError', 'find_run_dir', 'load', 'read_metadata']


class ExportError(Exception):
  """An export that cannot go ahead or did not verify: the message is one line meant for the user."""


def read_metadata(run_dir: str) -> dict:
  """The run's generator.json, checked; RunDirError with a one-line reason (no TensorFlow)."""
  return artifacts.read_generator_metadata(run_dir)


def load(run_dir: str):
  """Rebuilds the trained generator of a run directory: (keras.Model, metadata dict). Imports TensorFlow."""
  from training import generator_io
  return generator_io.load(run_dir)


def find_run_dir(run_dir=None, runs_root: str = 'runs') -> str:
  """`run_dir` itself when given, else the newest run under `runs_root` that holds a generator.

  "Newest" is the latest write of the generator's metadata, i.e. the run that checkpointed last, not the one
  whose name sorts last (names only carry the start time). Callers print which run was picked.
  """
  if run_dir:
    return run_dir
  if not os.path.isdir(runs_root):
    raise ExportError(f'no --run_dir given and no {runs_root!r} folder to pick the newest run from')
  candidates = []
  for entry in os.scandir(runs_root):
    if entry.is_dir() and artifacts.holds_generator(entry.path):
      metadata_file = os.path.join(artifacts.generator_folder(entry.path), artifacts.GENERATOR_METADATA_FILE)
      candidates.append((os.path.getmtime(metadata_file), entry.path))
  if not candidates:
    raise ExportError(f'no run under {runs_root!r} holds a trained generator; train first or pass --run_dir')
  return max(candidates)[1]
