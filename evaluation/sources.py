"""Where samples come from: a run directory, an exported ONNX model or an exported SavedModel, read alike.

Every source is a function z (B, latent_dim) float32 -> images (B, H, W, C) in [-1, 1], and z always comes from
common.latents (the project's one seed -> latent mapping), so the three forms of one generator give the same
images for a seed, and an evaluation differs from another by the model alone.
"""

import dataclasses
import json
import os
from typing import Callable, Optional

import numpy as np

from common.latents import latents
from evaluation.images import EvaluationError

LATENT_SEED = 2024  # the default seed of the samples: export's sample.png and the trainer's evaluator use it too
_METADATA_FILE = 'metadata.json'  # export.model_folder.METADATA_FILE, read without importing export/


@dataclasses.dataclass(frozen=True)
class Source:
  """A generator to judge, whatever it is stored as."""
  description: str
  generate_fn: Callable  # (B, latent_dim) float32 -> (B, H, W, C) in [-1, 1]
  latent_dim: int
  image_size: int
  channels: int
  dataset: Optional[str]  # what it was trained on, from its metadata
  data_dir: Optional[str] = None
  manual_dir: Optional[str] = None


def generate(source: Source, num_samples: int, seed: int = LATENT_SEED, batch_size: int = 250) -> np.ndarray:
  """Samples (N, H, W, C) float32 of latents rows 0..N-1 of `seed` (common.latents), in batches."""
  return np.concatenate([
      np.asarray(source.generate_fn(latents(seed, min(batch_size, num_samples - i), source.latent_dim, start=i)),
                 np.float32)
      for i in range(0, num_samples, batch_size)])


def run_dir_source(run_dir: str) -> Source:
  """The TF generator of a run directory (training.generator_io), with the data paths of its config.json."""
  from training import generator_io, run_dir as rundir
  generator, metadata = generator_io.load(run_dir)
  data_dir = manual_dir = None
  # <run_dir>/best holds a generator only; its run's config.json is one level up.
  for directory in (run_dir, os.path.dirname(os.path.normpath(run_dir))):
    try:
      config = json.loads(rundir.read_config_text(directory))
    except (generator_io.RunDirError, ValueError):
      continue
    data_dir, manual_dir = config.get('data_dir'), config.get('manual_dir')
    break
  return Source(f'{run_dir} (step {metadata["step"]}, {metadata["loss"]})',
                lambda z: generator(z, training=False).numpy(), metadata['latent_dim'], metadata['image_height'],
                metadata['channels'], metadata['dataset'], data_dir, manual_dir)


def _check_shape(images: np.ndarray, expected: tuple, description: str) -> np.ndarray:
  if images.ndim != 4 or images.shape[1:] != expected:
    raise EvaluationError(f'{description} outputs images of shape {images.shape[1:]}, its metadata says '
                          f'{expected} (NHWC)')
  return images.astype(np.float32)


def onnx_source(model_path: str) -> Source:
  """An exported ONNX generator on ONNX Runtime's CPU provider: input z (B, latent), output images NHWC.

  Reads the metadata_props that export writes: dataset, image_height, channels, latent_dim.
  """
  import onnxruntime as ort
  if not os.path.isfile(model_path):
    raise EvaluationError(f'--model: no file at {model_path}')
  try:
    session = ort.InferenceSession(model_path, providers=['CPUExecutionProvider'])
  except Exception as e:  # ORT raises its own untyped errors (InvalidProtobuf, Fail, ...)
    raise EvaluationError(f'cannot load ONNX model {model_path}: {str(e).strip().splitlines()[0]}') from None
  props = session.get_modelmeta().custom_metadata_map
  z_input, images_output = session.get_inputs()[0], session.get_outputs()[0]
  try:
    latent_dim = int(props.get('latent_dim') or z_input.shape[-1])
    image_size = int(props.get('image_height') or images_output.shape[1])
    channels = int(props.get('channels') or images_output.shape[-1])
  except (TypeError, ValueError):
    raise EvaluationError(f'{model_path} does not say its latent size and image shape (metadata_props '
                          f'latent_dim, image_height, channels)') from None
  z_dtype = np.float16 if z_input.type == 'tensor(float16)' else np.float32

  def generate_fn(z):
    images = session.run([images_output.name], {z_input.name: z.astype(z_dtype)})[0]
    return _check_shape(images, (image_size, image_size, channels), model_path)

  return Source(model_path, generate_fn, latent_dim, image_size, channels, props.get('dataset'))


def saved_model_dir(path: str) -> str:
  """models/<name>, models/<name>/saved_model or models/<name>/saved_model/<version> -> the version folder
  (the highest version, as TF Serving loads it)."""
  for candidate in (path, os.path.join(path, 'saved_model')):
    if os.path.isfile(os.path.join(candidate, 'saved_model.pb')):
      return candidate
    versions = sorted((int(v) for v in (os.listdir(candidate) if os.path.isdir(candidate) else []) if v.isdigit()
                       and os.path.isfile(os.path.join(candidate, v, 'saved_model.pb'))), reverse=True)
    if versions:
      return os.path.join(candidate, str(versions[0]))
  raise EvaluationError(f'--saved_model: no SavedModel (saved_model.pb) at {path}, in its saved_model/ or in a '
                        f'version folder of either')


def saved_model_source(path: str) -> Source:
  """An exported TF Serving SavedModel, through its `serving_default` signature (z -> {'images'}).

  The dataset comes from the model folder's metadata.json when there is one (export writes it two levels above
  saved_model/<version>); the latent size and image shape from the signature itself.
  """
  import tensorflow as tf
  version_dir = saved_model_dir(path)
  try:
    loaded = tf.saved_model.load(version_dir)
    serving = loaded.signatures['serving_default']
  except KeyError:
    raise EvaluationError(f'{version_dir} has no serving_default signature') from None
  except (OSError, ValueError, tf.errors.OpError) as e:
    raise EvaluationError(f'cannot load SavedModel {version_dir}: {str(e).strip().splitlines()[0]}') from None
  inputs = serving.structured_input_signature[1]  # {name: TensorSpec}
  outputs = serving.structured_outputs
  if len(inputs) != 1 or 'images' not in outputs:
    raise EvaluationError(f'{version_dir}: serving_default must map one input z to {{"images"}}, it takes '
                          f'{sorted(inputs)} and returns {sorted(outputs)}')
  (z_name, z_spec), = inputs.items()
  shape = outputs['images'].shape  # (None, H, W, C)
  if z_spec.shape.rank != 2 or shape.rank != 4 or None in shape[1:] or z_spec.shape[-1] is None:
    raise EvaluationError(f'{version_dir}: serving_default takes z of shape {z_spec.shape} and returns images of '
                          f'shape {shape}; need (B, latent_dim) -> (B, H, W, C)')
  latent_dim, (_, height, width, channels) = int(z_spec.shape[-1]), shape.as_list()
  metadata = {}
  folder = os.path.dirname(os.path.dirname(os.path.normpath(version_dir)))  # models/<name>
  if os.path.isfile(os.path.join(folder, _METADATA_FILE)):
    with open(os.path.join(folder, _METADATA_FILE)) as f:
      metadata = json.load(f)

  def generate_fn(z):
    images = serving(**{z_name: tf.constant(z, tf.float32)})['images'].numpy()
    return _check_shape(images, (height, width, channels), version_dir)

  return Source(version_dir, generate_fn, latent_dim, height, channels, metadata.get('dataset'))


# One per CLI flag: --run_dir, --model (ONNX), --saved_model.
SOURCES = {'run_dir': run_dir_source, 'model': onnx_source, 'saved_model': saved_model_source}
