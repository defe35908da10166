"""Checkpoints a crash cannot spoil: each is verified by a manifest written after it, and resume skips any that
fails its check.

A `tf.train.CheckpointManager` save writes `ckpt-N.data-*` and `ckpt-N.index` (through a `ckpt-N_temp` folder)
and then, atomically, the `checkpoint` state file that names the latest. A process killed in the middle leaves the
state file naming the previous checkpoint, but leftovers and, on a full disk, a checkpoint whose files are
incomplete. So after each save this module writes `ckpt-N.sha256` (the SHA-256 and size of each of its files,
replaced atomically): a checkpoint counts only when its manifest exists and matches. On resume the newest such
checkpoint is restored; newer ones without a manifest are reported and ignored (and overwritten by the run).
"""

import glob
import hashlib
import json
import os
import re
import shutil
from typing import Callable, List, Optional

import tensorflow as tf

MANIFEST_SUFFIX = '.sha256'


class CheckpointWriteError(OSError):
  """A checkpoint could not be written (disk full, read-only, ...); the previous one is intact."""


def _sha256(path: str) -> str:
  with open(path, 'rb') as f:
    return hashlib.file_digest(f, 'sha256').hexdigest()


def _files_of(prefix: str) -> List[str]:
  """The checkpoint's own files: not its manifest, nor a manifest write that a kill cut short (.tmp)."""
  return sorted(p for p in glob.glob(glob.escape(prefix) + '.*') if not p.endswith((MANIFEST_SUFFIX, '.tmp')))


def write_manifest(prefix: str) -> None:
  files = _files_of(prefix)
  manifest = {os.path.basename(p): {'sha256': _sha256(p), 'bytes': os.path.getsize(p)} for p in files}
  tmp = prefix + MANIFEST_SUFFIX + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, prefix + MANIFEST_SUFFIX)


def verify(prefix: str) -> Optional[str]:
  """None when the checkpoint at `prefix` matches its manifest, else the reason it does not."""
  try:
    with open(prefix + MANIFEST_SUFFIX) as f:
      manifest = json.load(f)
  except FileNotFoundError:
    return 'no manifest (the write did not finish)'
  except (OSError, ValueError) as e:
    return f'unreadable manifest ({e})'
  present = {os.path.basename(p) for p in _files_of(prefix)}
  if not manifest or set(manifest) != present:
    return f'files differ from its manifest ({", ".join(sorted(present ^ set(manifest))) or "none listed"})'
  for name, expected in manifest.items():
    path = os.path.join(os.path.dirname(prefix), name)
    if os.path.getsize(path) != expected['bytes'] or _sha256(path) != expected['sha256']:
      return f'{name} does not match its manifest (truncated or overwritten)'
  return None


def _reason(error: BaseException) -> str:
  """The OS's words for a failed write: an OSError's strerror, or the end of a TensorFlow error (which starts
  with the graph node and the file, and ends with the reason)."""
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  text = ' '.join(re.sub(r'\{\{[^}]*\}\}', '', getattr(error, 'message', None) or str(error)).split())
  return text if len(text) <= 160 else '...' + text[-160:]


class Checkpoints:
  """A CheckpointManager whose saves are verifiable and whose restore takes the newest good checkpoint."""

  def __init__(self, checkpoint: tf.train.Checkpoint, directory: str, max_to_keep: int, log: Callable = print):
    self.checkpoint, self.directory, self.log = checkpoint, directory, log
    self.manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep)
    self.latest_good: Optional[str] = None

  def save(self, step: int) -> str:
    """Writes checkpoint `step` and its manifest. Raises CheckpointWriteError with the previous one intact."""
    try:
      path = self.manager.save(checkpoint_number=step)
      write_manifest(path)
    except (OSError, tf.errors.OpError) as e:
      self._remove_partial(step)
      raise CheckpointWriteError(f'cannot write the checkpoint of step {step} in {self.directory}: '
                                 f'{_reason(e)}') from None
    for stale in glob.glob(os.path.join(self.directory, '*' + MANIFEST_SUFFIX)):
      if not _files_of(stale[:-len(MANIFEST_SUFFIX)]):  # the manager deleted that checkpoint (max_to_keep)
        os.remove(stale)
    self.latest_good = path
    return path

  def _remove_partial(self, step: int) -> None:
    prefix = os.path.join(self.directory, f'ckpt-{step}')
    for path in glob.glob(glob.escape(prefix) + '.*') + glob.glob(glob.escape(prefix) + '_temp*'):
      shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)

  def candidates(self) -> List[str]:
    """Every checkpoint prefix in the folder, newest first (by number), listed or not in the state file."""
    prefixes = {p[:-len('.index')] for p in glob.glob(os.path.join(self.directory, 'ckpt-*.index'))}
    prefixes |= {p[:-len(MANIFEST_SUFFIX)] for p in glob.glob(os.path.join(self.directory, '*' + MANIFEST_SUFFIX))}

    def number(prefix):
      try:
        return int(prefix.rsplit('-', 1)[1])
      except ValueError:
        return -1
    return sorted(prefixes, key=number, reverse=True)

  def restore_latest_good(self) -> Optional[str]:
    """Restores the newest checkpoint that matches its manifest; returns its prefix, or None when there is none.
    Newer checkpoints that fail (an interrupted or corrupted write) are reported and left for the run to replace."""
    # Leftovers of a save killed before its merge (ckpt-N_temp/) or inside its manifest write (.sha256.tmp).
    for leftover in (glob.glob(os.path.join(self.directory, '*_temp*')) +
                     glob.glob(os.path.join(self.directory, '*' + MANIFEST_SUFFIX + '.tmp'))):
      shutil.rmtree(leftover, ignore_errors=True) if os.path.isdir(leftover) else os.remove(leftover)
    # A run directory written before manifests existed: trust the state file's list, as TensorFlow does.
    legacy = not glob.glob(os.path.join(self.directory, '*' + MANIFEST_SUFFIX))
    candidates = list(reversed(self.manager.checkpoints)) if legacy else self.candidates()
    for prefix in candidates:
      problem = None if legacy else verify(prefix)
      if problem is None:
        try:
          self.checkpoint.restore(prefix).assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as e:
          problem = f'cannot be restored ({" ".join(str(e).split())[:160]})'
      if problem is None:
        self.latest_good = prefix
        return prefix
      self.log(f'ignoring checkpoint {os.path.basename(prefix)}: {problem}')
    return None
