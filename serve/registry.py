"""The models of --models_dir: which folders are model folders, each loaded once (serve/models.py), rescanned on
demand (new and changed folders loaded, removed ones dropped), and the warnings of the folders that are skipped."""

import os
import threading

from common import artifacts
from common.artifacts import MODEL_METADATA_FILE, ONNX_FILE
from serve.models import PROVIDERS, ModelError, load_model


def _folders(models_dir: str) -> list:
  """Names of the model folders directly under `models_dir` (a folder with model.onnx or metadata.json)."""
  if not os.path.isdir(models_dir):
    return []
  names = []
  for name in sorted(os.listdir(models_dir)):
    folder = os.path.join(models_dir, name)
    if not os.path.isdir(folder) or name.startswith('.'):
      continue
    if os.path.isfile(os.path.join(folder, ONNX_FILE)) or os.path.isfile(os.path.join(folder, MODEL_METADATA_FILE)):
      names.append(name)  # else not meant as a model folder (e.g. an export format other than ONNX)
  return names


def _stamp(folder: str) -> tuple:
  """What a change of the folder's model shows in: (file, size, mtime) of the files a model is loaded from."""
  out = []
  for file in (ONNX_FILE, artifacts.ONNX_FP16_FILE, MODEL_METADATA_FILE):
    try:
      st = os.stat(os.path.join(folder, file))
      out.append((file, st.st_size, st.st_mtime_ns))
    except OSError:
      pass
  return tuple(out)


class ModelRegistry:
  """The models of --models_dir, rescanned on demand: new and changed folders are loaded, removed ones dropped,
  and a model whose new files fail their checks keeps serving its previous version (with a warning saying so).

  `models` is replaced as a whole by each scan, so a request that read it sees one consistent set.
  """

  def __init__(self, models_dir: str, provider: str = 'auto', threads: int | None = None,
               precision: str = 'auto', tf32: bool = False):
    if provider not in PROVIDERS:
      raise ModelError(f'--provider must be one of {", ".join(PROVIDERS)}, got {provider!r}')
    self.models_dir, self._settings = models_dir, (provider, threads, precision, tf32)
    self.models: dict = {}
    self.warnings: list = []
    self._stamps: dict = {}  # name -> stamp of the files last tried (loaded or failed)
    self._failures: dict = {}  # name -> warning of the files last tried, when they failed
    self._lock = threading.Lock()

  def scan(self) -> list:
    """Loads what changed since the last scan; returns one line per change. Raises ModelError when the
    provider cannot be had at all (--provider=cuda on a CPU host), since then no folder could load."""
    provider = self._settings[0]
    with self._lock:
      models, changes = {}, []
      names = _folders(self.models_dir)
      for name in names:
        folder = os.path.join(self.models_dir, name)
        stamp = _stamp(folder)
        old = self.models.get(name)
        if stamp == self._stamps.get(name):  # unchanged since last tried: keep what we have
          if old is not None:
            models[name] = old
          continue
        self._stamps[name] = stamp
        try:
          models[name] = load_model(folder, *self._settings)
          self._failures.pop(name, None)
          changes.append(f'{"reloaded" if old else "loaded"} {name}')
        except ModelError as e:
          if provider == 'cuda' and str(e).startswith('--provider=cuda'):
            raise
          if old is not None:
            models[name] = old
            self._failures[name] = (f'model folder {name!r} changed but its new files fail their checks ({e}); '
                                    f'still serving the version loaded before')
          else:
            self._failures[name] = f'skipped model folder {name!r}: {e}'
          changes.append(self._failures[name])
      for name in set(self.models) - set(models):
        changes.append(f'removed {name}')
      for name in set(self._stamps) - set(names):
        self._stamps.pop(name)
        self._failures.pop(name, None)
      self.models = dict(sorted(models.items()))
      self.warnings = [self._failures[name] for name in sorted(self._failures)]
      return changes

  def why_not_served(self, name) -> str:
    """Why folder `name` of --models_dir serves no model: its warning's reason; '' when it is served or unknown."""
    failure = self._failures.get(name, '') if isinstance(name, str) and name not in self.models else ''
    return failure.split(': ', 1)[1] if failure.startswith(f'skipped model folder {name!r}: ') else ''


def discover_models(models_dir: str, provider: str = 'auto', threads: int | None = None, precision: str = 'auto',
                    tf32: bool = False):
  """Loads every valid model folder directly under `models_dir` once.

  Returns (models: dict name -> LoadedModel in name order, warnings: list of one-line strings, one per skipped
  folder). A missing `models_dir` gives no models and no warnings; a provider that cannot be had at all
  ('cuda' on a CPU host) raises ModelError, since then no folder could load.
  """
  registry = ModelRegistry(models_dir, provider, threads, precision, tf32)
  registry.scan()
  return registry.models, registry.warnings
