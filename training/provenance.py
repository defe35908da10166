"""Where a run came from: the code's git commit (and whether its tree was dirty), the versions of the packages
that shape the numbers, and a checksum of the training data. Written into config.json at the start of a run and
of every resume, and into the generator's metadata, which export carries into the exported model."""

import importlib.metadata
import os
import platform
import subprocess
from typing import Optional

PACKAGES = ('tensorflow', 'keras', 'numpy', 'tensorflow-datasets', 'scikit-learn', 'absl-py')
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _git(*args) -> Optional[str]:
  try:
    proc = subprocess.run(['git', '-C', _REPO, *args], capture_output=True, text=True, timeout=10)
  except (OSError, subprocess.SubprocessError):
    return None
  return proc.stdout.strip() if proc.returncode == 0 else None


def collect(dataset_checksum: Optional[str]) -> dict:
  """{'git_commit', 'git_dirty', 'packages', 'python', 'dataset_checksum'}; git fields are None outside a checkout.
  Dirty means tracked files differ from the commit (untracked files, e.g. runs/, do not count)."""
  commit = _git('rev-parse', 'HEAD')
  status = _git('status', '--porcelain', '--untracked-files=no') if commit else None
  packages = {}
  for name in PACKAGES:
    try:
      packages[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      packages[name] = None
  return {'git_commit': commit, 'git_dirty': None if status is None else bool(status), 'packages': packages,
          'python': platform.python_version(), 'dataset_checksum': dataset_checksum}
