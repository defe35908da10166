"""The trained generator as a run directory stores it, and the one loader that export uses to read it back.

<run_dir>/generator/
  generator.weights.h5   Keras weights of the generator (inference uses BatchNorm's moving statistics)
  generator.json         metadata: everything needed to rebuild the model and describe it (see `save`)

The generator is rebuilt from the architecture registry and its weights loaded, rather than deserialised from a
pickled model, so a run directory stays readable as long as the architecture keeps its layer names.
"""

import datetime
import glob
import json
import os
import re
import shutil
import tempfile
from typing import Optional

from common import artifacts
from common.artifacts import RunDirError, generator_folder  # re-exported: the readers export and evaluation use

read_metadata = artifacts.read_generator_metadata  # TensorFlow-free: checks a run before the heavy imports


def generator_metadata(config, step: int, provenance: Optional[dict] = None) -> dict:
  """Metadata for a generator trained with `config` (a training.config.TrainConfig) up to `step`; `provenance`
  (training/provenance.py) travels on into exported models."""
  import tensorflow as tf  # deferred: keeps `import training.generator_io` cheap for readers of metadata
  from training import data_kinds
  from training.architectures import ARCHITECTURES, arch_options
  options = arch_options(ARCHITECTURES[config.arch], config, 'generator')
  kind = data_kinds.kind_of(config.dataset)
  return {
      'format_version': artifacts.GENERATOR_FORMAT_VERSION,
      'arch': config.arch,
      **kind.signature(config).to_metadata(),  # kind, latent_dim, the output's shape (common/signature.py)
      **kind.shape_metadata(config),
      'width': config.width,
      **({'arch_options': options} if options else {}),
      'loss': config.loss,
      'dataset': config.dataset,
      'step': int(step),
      'tensorflow_version': tf.__version__,
      'saved_at': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
      **({'provenance': provenance} if provenance else {}),
  }


def save(generator, metadata: dict, run_dir: str) -> str:
  """Writes the generator's weights and metadata as <run_dir>/generator/, replacing the previous one as a whole.

  Both files are written into a fresh folder that then takes the place of the old one (two renames; a crash
  between them leaves the previous generator as generator.old/, which `read_metadata` falls back to), so a
  reader never sees the weights of one step with the metadata of another.
  """
  out_dir = os.path.join(run_dir, artifacts.GENERATOR_DIR)
  os.makedirs(run_dir, exist_ok=True)
  for leftover in glob.glob(os.path.join(run_dir, f'.{artifacts.GENERATOR_DIR}-*')):  # a save killed half-way
    shutil.rmtree(leftover, ignore_errors=True)
  new_dir = tempfile.mkdtemp(dir=run_dir, prefix=f'.{artifacts.GENERATOR_DIR}-')
  try:
    generator.save_weights(os.path.join(new_dir, artifacts.GENERATOR_WEIGHTS_FILE))
    with open(os.path.join(new_dir, artifacts.GENERATOR_METADATA_FILE), 'w') as f:
      f.write(json.dumps(metadata, indent=2) + '\n')
    old_dir = out_dir + '.old'
    shutil.rmtree(old_dir, ignore_errors=True)
    if os.path.isdir(out_dir):
      os.rename(out_dir, old_dir)
    os.rename(new_dir, out_dir)
    shutil.rmtree(old_dir, ignore_errors=True)
  finally:
    shutil.rmtree(new_dir, ignore_errors=True)
  return out_dir


def load(run_dir: str):
  """Rebuilds the trained generator of a run directory. Returns (keras.Model, metadata dict)."""
  from training.architectures import ARCHITECTURES  # deferred: imports Keras
  metadata = read_metadata(run_dir)
  arch = ARCHITECTURES.get(metadata['arch'])
  if arch is None:
    raise RunDirError(f'{run_dir!r} uses architecture {metadata["arch"]!r}, unknown to this version')
  from common import kinds
  from training import data_kinds
  generator = data_kinds.KINDS[kinds.of_metadata(metadata)].rebuild(arch, metadata)
  try:
    generator.load_weights(os.path.join(generator_folder(run_dir), artifacts.GENERATOR_WEIGHTS_FILE))
  except (OSError, ValueError) as e:
    raise RunDirError(f'cannot load the generator weights of {run_dir!r}: {_short_reason(e)}') from None
  return generator, metadata


def _short_reason(error: BaseException) -> str:
  """Keras explains a shape mismatch with every value of the variable; the user needs which one and how."""
  text = ' '.join(str(error).split())
  shapes = re.search(r'variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))', text)
  variable = re.search(r'Target variable: <Variable path=([^,]+),', text)
  if shapes:
    where = f'{variable.group(1)} ' if variable else ''
    return (f'they do not fit the generator its {artifacts.GENERATOR_METADATA_FILE} describes ({where}is '
            f'{shapes.group(1)} there, {shapes.group(2)} in {artifacts.GENERATOR_WEIGHTS_FILE})')
  return text if len(text) <= 300 else text[:300] + '...'
