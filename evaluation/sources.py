"""Where samples come from: a run directory, an exported ONNX model or an exported SavedModel, read alike.

Every source is a function z (B, latent_dim) float32 -> the generator's output (images (B, H, W, C) in [-1, 1],
points, or text probabilities: its signature, common/signature.py), and z always comes from common.latents (the
project's one seed -> latent mapping), so the three forms of one generator give the same outputs for a seed, and an
evaluation differs from another by the model alone. A conditional generator's function also takes class weights
(B, K) (common/labels.py); `generate` asks row i for class i mod K.
"""

import dataclasses
import json
import os
from typing import Callable, Optional

import numpy as np

from common import artifacts, kinds, labels as common_labels
from common.artifacts import SAMPLE_SEED  # the samples' default seed: that of export's sample.png
from common.cli import first_line
from common.latents import latents
from common.signature import LABEL_INPUT, LATENT_INPUT, GeneratorSignature, GraphTensor, SignatureError
from evaluation.images import EvaluationError


@dataclasses.dataclass(frozen=True)
class Source:
  """A generator to judge, whatever it is stored as."""
  description: str
  generate_fn: Callable  # (z (B, latent_dim) float32[, class weights (B, K)]) -> (B, *output_shape) float32
  signature: GeneratorSignature
  dataset: Optional[str]  # what it was trained on, from its metadata
  data_dir: Optional[str] = None
  manual_dir: Optional[str] = None
  judges_dir: Optional[str] = None  # where its run's judge was (a run directory's config.json)
  metadata: dict = dataclasses.field(default_factory=dict)  # generator.json or metadata.json, as far as known

  @property
  def kind(self) -> str:
    return self.signature.kind

  @property
  def latent_dim(self) -> int:
    return self.signature.latent_dim

  @property
  def image_size(self) -> int:
    return self.signature.output_shape[0]

  @property
  def channels(self) -> int:
    return self.signature.output_shape[-1]


def generate(source: Source, num_samples: int, seed: int = SAMPLE_SEED, batch_size: int = 250,
             label_ids=None) -> np.ndarray:
  """Outputs (N, ...) float32 of latents rows 0..N-1 of `seed` (common.latents), in batches; a conditional
  generator's row i asked for class label_ids[i] (default: i mod K, every class alike)."""
  classes = source.signature.num_classes
  if classes and label_ids is None:
    label_ids = source.signature.row_classes(num_samples)

  def batch(i):
    z = latents(seed, min(batch_size, num_samples - i), source.latent_dim, start=i)
    if not classes:
      return source.generate_fn(z)
    return source.generate_fn(z, common_labels.class_weights(label_ids[i:i + len(z)], classes))

  return np.concatenate([np.asarray(batch(i), np.float32) for i in range(0, num_samples, batch_size)])


def _signature(metadata: dict, description: str) -> GeneratorSignature:
  try:
    return GeneratorSignature.from_metadata(metadata)
  except SignatureError as e:
    raise EvaluationError(f'{description}: {e}') from None


def _check_inputs(signature: GeneratorSignature, inputs, description: str) -> None:
  """The graph's inputs (GraphTensor) are what its metadata says (the check serve and export make too)."""
  try:
    signature.check_inputs(inputs)
  except SignatureError as e:
    raise EvaluationError(f'{description}: {e}') from None


def kind_of(flag: str, path: str) -> str:
  """The data kind of what --run_dir / --model / --saved_model names, read without TensorFlow (before the heavy
  imports): from generator.json, else the model folder's metadata.json (an ONNX file on its own: images)."""
  if flag == 'run_dir':
    return kinds.of_metadata(artifacts.read_generator_metadata(path))
  return kinds.of_metadata(_folder_metadata(path))


def _folder_metadata(path: str) -> dict:
  """metadata.json of the model folder holding `path` (model.onnx, or saved_model/<version>), or {}."""
  folder = artifacts.model_folder_of(path)
  try:
    return artifacts.read_model_metadata(folder) if folder else {}
  except ValueError:
    return {}


def run_dir_source(run_dir: str) -> Source:
  """The TF generator of a run directory (training.generator_io), with the data and judge paths of its
  config.json."""
  from training import generator_io
  generator, metadata = generator_io.load(run_dir)
  data_dir = manual_dir = judges_dir = None
  # <run_dir>/best holds a generator only; its run's config.json is one level up.
  for directory in (run_dir, os.path.dirname(os.path.normpath(run_dir))):
    try:
      config = json.loads(artifacts.read_run_config_text(directory))
    except (artifacts.RunDirError, ValueError):
      continue
    data_dir, manual_dir, judges_dir = config.get('data_dir'), config.get('manual_dir'), config.get('judges_dir')
    break
  return Source(f'{run_dir} (step {metadata["step"]}, {metadata["loss"]})',
                lambda z, y=None: np.asarray(generator(z if y is None else [z, y], training=False)),
                _signature(metadata, run_dir),
                metadata['dataset'], data_dir, manual_dir, judges_dir, metadata)


def _check_shape(outputs: np.ndarray, signature: GeneratorSignature, description: str) -> np.ndarray:
  expected = tuple(signature.output_shape)
  if outputs.shape[1:] != expected:
    layout = ' (NHWC)' if signature.kind == kinds.IMAGE else ''
    raise EvaluationError(f'{description} outputs {signature.output_name} of shape {outputs.shape[1:]}, its '
                          f'metadata says {expected}{layout}')
  return outputs.astype(np.float32)


def _props_metadata(props: dict) -> dict:
  """ONNX metadata_props (all strings; export writes lists and numbers as JSON) as metadata values."""
  values = {}
  for key, text in props.items():
    try:
      values[key] = json.loads(text)
    except ValueError:
      values[key] = text
  return values


def onnx_source(model_path: str) -> Source:
  """An exported ONNX generator on ONNX Runtime's CPU provider: input z (B, latent) -> the signature's output.

  The signature comes from the model folder's metadata.json, else from the metadata_props that export writes
  (dataset, kind, latent_dim and the shape fields); an image model without them is read from its graph's shapes.
  """
  import onnxruntime as ort
  if not os.path.isfile(model_path):
    raise EvaluationError(f'--model: no file at {model_path}')
  try:
    session = ort.InferenceSession(model_path, providers=['CPUExecutionProvider'])
  except Exception as e:  # ORT raises its own untyped errors (InvalidProtobuf, Fail, ...)
    raise EvaluationError(f'cannot load ONNX model {model_path}: {first_line(e)}') from None
  metadata = {**_props_metadata(session.get_modelmeta().custom_metadata_map), **_folder_metadata(model_path)}
  z_input, outputs = session.get_inputs()[0], session.get_outputs()
  if kinds.of_metadata(metadata) == kinds.IMAGE:  # exports of every version carry these; hand-made graphs may not
    shape = outputs[0].shape
    defaults = {'latent_dim': z_input.shape[-1], 'image_height': shape[1], 'image_width': shape[2],
                'channels': shape[-1]}
    metadata = {**{k: v for k, v in defaults.items() if isinstance(v, int)}, **metadata}
  signature = _signature(metadata, model_path)
  output_name = next((o.name for o in outputs if o.name == signature.output_name), outputs[0].name)
  _check_inputs(signature, [GraphTensor.of_onnx(i) for i in session.get_inputs()], model_path)

  def generate_fn(z, y=None):
    feed = {LATENT_INPUT: z.astype(np.float32), **({} if y is None else {LABEL_INPUT: y.astype(np.float32)})}
    values = session.run([output_name], feed)[0]
    return _check_shape(values, signature, model_path)

  return Source(model_path, generate_fn, signature, metadata.get('dataset'), metadata=metadata)


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
  """An exported TF Serving SavedModel, through its `serving_default` signature (z -> {output name: ...}).

  The signature comes from the model folder's metadata.json when there is one (export writes it two levels above
  saved_model/<version>); without one it is an image model, read from the signature's shapes.
  """
  import tensorflow as tf
  version_dir = saved_model_dir(path)
  try:
    loaded = tf.saved_model.load(version_dir)
    serving = loaded.signatures['serving_default']
  except KeyError:
    raise EvaluationError(f'{version_dir} has no serving_default signature') from None
  except (OSError, ValueError, tf.errors.OpError) as e:
    raise EvaluationError(f'cannot load SavedModel {version_dir}: {first_line(e)}') from None
  inputs = serving.structured_input_signature[1]  # {name: TensorSpec}
  outputs = serving.structured_outputs
  metadata = _folder_metadata(version_dir)
  output_name = GeneratorSignature.output_name_of(kinds.of_metadata(metadata))
  if output_name not in outputs:
    raise EvaluationError(f'{version_dir}: serving_default must return {{"{output_name}"}}, it returns '
                          f'{sorted(outputs)}')
  shape = outputs[output_name].shape  # (None, ...)
  if shape.rank is None or None in shape[1:]:
    raise EvaluationError(f'{version_dir}: serving_default returns {output_name} of shape {shape}; need (B, ...) '
                          f'of fixed size')
  if kinds.of_metadata(metadata) == kinds.IMAGE:  # the signature's own shapes win over a folder's metadata
    if shape.rank != 4:
      raise EvaluationError(f'{version_dir}: serving_default returns images of shape {shape}; need (B, H, W, C)')
    _, height, width, channels = shape.as_list()
    z_spec = inputs.get(LATENT_INPUT)
    z_width = z_spec.shape[-1] if z_spec is not None and z_spec.shape.rank == 2 else None
    metadata = {**metadata, **({'latent_dim': int(z_width)} if z_width else {}), 'image_height': height,
                'image_width': width, 'channels': channels}
  signature = _signature(metadata, version_dir)
  _check_inputs(signature, [GraphTensor.of_tf(name, spec) for name, spec in inputs.items()], version_dir)

  def generate_fn(z, y=None):
    labels = {} if not signature.has_label_input or y is None else {LABEL_INPUT: tf.constant(y, tf.float32)}
    values = serving(**{LATENT_INPUT: tf.constant(z, tf.float32)}, **labels)[output_name].numpy()
    return _check_shape(values, signature, version_dir)

  return Source(version_dir, generate_fn, signature, metadata.get('dataset'), metadata=metadata)


# One per CLI flag: --run_dir, --model (ONNX), --saved_model.
SOURCES = {'run_dir': run_dir_source, 'model': onnx_source, 'saved_model': saved_model_source}
