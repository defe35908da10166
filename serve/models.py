"""Model folders under --models_dir, each served by one ONNX Runtime session created once and warmed up.

A model folder, as the export stage writes it:
  <models_dir>/<name>/model.onnx      input `z` float32 (B, latent_dim) -> output float32 (B, H, W, C) in [-1, 1]
  <models_dir>/<name>/metadata.json   latent_dim, image_height, image_width, channels, loss, dataset, step, ...

A class-conditional generator (metadata `label_classes`, K names; training's --conditioning) has a second input
`labels` float32 (B, K), class weights (common/labels.py): one-hot asks for a class, a convex mixture morphs between
classes. The graph must have exactly that input, float32 and K wide, and an unconditional one no second input;
either mismatch skips the folder like any other (GeneratorSignature.check_inputs, the check evaluation and export
make too). Row i of a sample asks for class i mod K (GeneratorSignature.row_classes, the SavedModel `sample`
signature's rule), an interpolation for class 0, unless a class is asked for (`sample(..., label=k)`,
`sample_all_classes`, `class_morph`).

A text generator (metadata `kind` 'text') has outputs `probs` (B, seq_len, vocab) and `ids`, and its vocabulary
in the metadata; it is served in the Text tab. What the app does per data kind is one record each in KINDS.

A folder that fails any check (missing files, onnx.checker, required metadata, graph shapes that disagree with
the metadata, a session that cannot be created) is skipped with a one-line warning, so one bad export never
takes the whole app down. So is a generator of data the app does not draw (metadata `kind` 'points', the 2-D
toy runs): it is named in the warnings (top of the page, Models tab, /models) rather than offered where it
cannot be drawn. Models are only ever loaded from --models_dir: the UI and API pick them by name.

Devices, precision (model.onnx or model_fp16.onnx), CUDA options and warm-up: serve/sessions.py.
"""

import dataclasses
import functools
import os
import threading
from typing import Callable, Optional

import numpy as np

from common import artifacts, images, kinds
from common import labels as common_labels
from common.artifacts import MODEL_METADATA_FILE, ONNX_FILE
from common.cli import first_line
from common.signature import LABEL_INPUT, LATENT_INPUT, GeneratorSignature, GraphTensor, SignatureError, decode_ids
from serve import sampler, sessions, text_sampler

RUN_METADATA = ('loss', 'dataset', 'step')  # what the page says of every model, beside its signature
PROVIDERS, PRECISIONS = sessions.PROVIDERS, sessions.PRECISIONS
_PRIVATE_METADATA = ('name', 'run_dir')  # name: the folder's name wins; run_dir: a path on the exporting host


class ModelError(Exception):
  """A model folder or provider request that cannot be served: the message is one line meant for the user."""


def _positive_ints(metadata: dict, keys) -> None:
  """GeneratorSignature.from_metadata int()s the shape fields; the app wants them written as integers."""
  for key in keys:
    if not isinstance(metadata[key], int) or isinstance(metadata[key], bool) or metadata[key] < 1:
      raise ModelError(f'{MODEL_METADATA_FILE}: {key} must be a positive integer, got {metadata[key]!r}')


def _check_image_metadata(metadata: dict) -> None:
  _positive_ints(metadata, ('latent_dim', 'image_height', 'image_width', 'channels'))
  if metadata['channels'] not in (1, 3):
    raise ModelError(f'{MODEL_METADATA_FILE}: channels must be 1 or 3, got {metadata["channels"]}')
  if metadata.get('layout', 'NHWC') != 'NHWC':
    raise ModelError(f'{MODEL_METADATA_FILE}: layout {metadata["layout"]!r} is not NHWC')
  if list(metadata.get('value_range', [-1.0, 1.0])) != [-1.0, 1.0]:
    raise ModelError(f'{MODEL_METADATA_FILE}: value_range {metadata["value_range"]!r} is not [-1, 1]')


def _check_text_metadata(metadata: dict) -> None:
  _positive_ints(metadata, ('latent_dim', 'seq_len'))
  if GeneratorSignature.from_metadata(metadata).has_label_input:
    raise ModelError(f'{MODEL_METADATA_FILE}: a text generator with a label input (label_classes) is not served')
  vocab = metadata['vocab']
  if not isinstance(vocab, list) or len(vocab) < 2 or not all(isinstance(t, str) for t in vocab):
    raise ModelError(f'{MODEL_METADATA_FILE}: vocab must be a list of at least 2 strings')


@dataclasses.dataclass(frozen=True)
class ServedKind:
  """What the app does with the generators of one data kind (common/kinds.py): the tabs that draw them (none: the
  app names them in its warnings instead), the checks of their metadata.json beyond the signature, and how the
  page states their output shape."""
  tabs: tuple = ()
  check: Callable[[dict], None] = lambda metadata: None  # raises ModelError
  shape_text: Callable[[GeneratorSignature], str] = GeneratorSignature.describe
  unserved: Optional[Callable[[dict], str]] = None  # what the warning calls a model of a kind no tab draws


KINDS = {
    kinds.IMAGE: ServedKind(('Sample', 'Interpolate'), _check_image_metadata,
                            lambda signature: '×'.join(str(d) for d in signature.output_shape)),  # '28×28×1'
    kinds.POINTS: ServedKind(unserved=lambda metadata: f'a {metadata.get("dims", "?")}-D points model '
                                                       f'({metadata.get("dataset", "?")})'),
    kinds.TEXT: ServedKind(('Text',), _check_text_metadata),  # '32 characters, vocabulary 65'
}
SERVED_KINDS = tuple(name for name, kind in KINDS.items() if kind.tabs)  # ('image', 'text')


@dataclasses.dataclass
class LoadedModel:
  """One servable model: its folder, metadata and the single ORT session all requests share (run is thread-safe)."""
  name: str
  path: str
  metadata: dict
  session: object
  provider: str
  input_name: str
  output_name: str  # the first output: images, or text probabilities (a text graph's `ids` is not needed here)
  precision: str = 'fp32'  # 'fp32' (model.onnx) or 'fp16' (model_fp16.onnx)
  label_name: Optional[str] = None  # the class-weights input of a conditional generator; None: z only
  requests: int = 0  # answered requests and their total time, for /models
  total_ms: float = 0.0
  _stats_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

  def record(self, elapsed_ms: float) -> None:
    with self._stats_lock:
      self.requests += 1
      self.total_ms += elapsed_ms

  @property
  def latent_dim(self) -> int:
    return int(self.metadata['latent_dim'])

  @property
  def kind(self) -> str:
    return kinds.of_metadata(self.metadata)

  @functools.cached_property
  def signature(self) -> GeneratorSignature:
    return GeneratorSignature.from_metadata(self.metadata)

  @property
  def label_classes(self) -> tuple:
    """The names of the label input's classes, id order; () for a model without a label input."""
    return self.signature.label_classes

  @property
  def num_classes(self) -> int:
    return self.signature.num_classes

  def shape_text(self) -> str:
    """'28×28×1', or '32 characters, vocabulary 65' for text."""
    return KINDS[self.kind].shape_text(self.signature)

  def text(self, seed, count, temperature=0.0) -> list:
    """`count` lines of `seed` (line i depends on (model, seed, i, temperature) alone): argmax at temperature 0,
    else sampled (serve/text_sampler.py)."""
    probs = self.generate(sampler.latent_from_seed(seed, count, self.latent_dim))  # (N, L, V)
    return decode_ids(text_sampler.sample_ids(probs, seed, temperature), self.metadata['vocab'])

  @property
  def device(self) -> str:
    return 'GPU (CUDA)' if self.provider == sessions.CUDA_EP else 'CPU'

  def require_label_input(self) -> None:
    """ModelError, one line, for a model without a label input (what asking it for a class gets)."""
    if not self.label_name:
      raise ModelError(f'model {self.name!r} has no label input (not a class-conditional generator): it cannot be '
                       f'asked for a class')

  def class_id(self, value) -> int:
    """The id of class `value` (a name of label_classes, or an id); a one-line ModelError or ValueError for a
    model without a label input, an unknown name or an id outside 0..K-1."""
    self.require_label_input()
    if isinstance(value, bool):  # int(True) would quietly be class 1
      raise common_labels.LabelError(f'class must be a class name or id, got {value!r}')
    return common_labels.class_index(value, self.label_classes)

  def label_weights(self, count: int, label: Optional[int] = None) -> Optional[np.ndarray]:
    """The label input for `count` rows: (count, K) float32 one-hot, class `label` in every row, or row i class
    i mod K when `label` is None (the SavedModel `sample` signature's rule); None for a model without one."""
    if not self.label_name:
      return None
    if label is None:
      return self.signature.row_weights(count)
    return common_labels.class_weights(np.full(count, label), self.num_classes)

  def generate(self, latents: np.ndarray, label_weights: Optional[np.ndarray] = None) -> np.ndarray:
    """(B, latent_dim) float32 [and class weights (B, K) for a conditional model] -> (B, H, W, C) float32 in
    [-1, 1], or text probabilities (B, seq_len, vocab)."""
    feeds = {self.input_name: np.ascontiguousarray(latents, np.float32)}
    if self.label_name:
      if label_weights is None:  # a caller's mistake, not a user's: every path of the app passes them
        raise ValueError(f'model {self.name!r} takes class weights (B, {self.num_classes}) beside z')
      feeds[self.label_name] = np.ascontiguousarray(label_weights, np.float32)
    elif label_weights is not None:
      raise ModelError(f'model {self.name!r} has no label input (not a class-conditional generator)')
    return self.session.run([self.output_name], feeds)[0]

  def sample(self, seed, count, scale=1.0, truncation=0.0, label: Optional[int] = None) -> np.ndarray:
    """uint8 images (count, H, W[, 3]) of `seed`; image i depends on (model, seed, i, scale, truncation) alone,
    and for a conditional model on its class: `label` (an id) for every image, else class i mod K.

    At scale 1 these are the images of the SavedModel `sample(seed, count)` signature of the same export (the
    latents of both are `common.latents`), with a truncation threshold those of `sample_truncated(seed, count,
    threshold)`, and with a label those of `sample_class(seed, count, label)`, to within one grey level where the
    runtimes round differently.
    """
    latents = sampler.latent_from_seed(seed, count, self.latent_dim, scale, truncation)
    return images.to_uint8(self.generate(latents, self.label_weights(len(latents), label)), squeeze_gray=True)

  def sample_all_classes(self, seed, per_class, scale=1.0, truncation=0.0) -> np.ndarray:
    """uint8 images (K·per_class, H, W[, 3]), row by row of a grid of one row per class: image k·per_class + j is
    class k from z_j, latent j of `seed` (the same z down a column)."""
    self.require_label_input()
    latents = sampler.latent_from_seed(seed, per_class, self.latent_dim, scale, truncation)  # (per_class, D)
    ids = common_labels.grid_labels(self.num_classes, len(latents))  # (K·per_class,)
    weights = common_labels.class_weights(ids, self.num_classes)
    return images.to_uint8(self.generate(np.tile(latents, (self.num_classes, 1)), weights), squeeze_gray=True)

  def class_morph(self, seed, index, class_a: int, class_b: int, steps) -> np.ndarray:
    """uint8 frames (steps, H, W[, 3]) at one z (image #index of `seed`), the class weights moving linearly from
    class_a to class_b (common.labels.morph_weights): the first frame is class_a's image, the last class_b's."""
    self.require_label_input()
    steps = sampler.validate_steps(steps)
    z = sampler.latent_from_seed_row(seed, index, self.latent_dim)  # (latent_dim,)
    weights = common_labels.morph_weights(class_a, class_b, self.num_classes, steps)  # (steps, K)
    return images.to_uint8(self.generate(np.tile(z, (steps, 1)), weights), squeeze_gray=True)

  def interpolate(self, seed_a, seed_b, steps, method='slerp', scale=1.0, label: Optional[int] = None) -> np.ndarray:
    """uint8 frames (steps, H, W[, 3]) from image 0 of seed_a to image 0 of seed_b; a conditional model draws
    them all of class `label` (class 0 when None)."""
    latents = sampler.interpolation_latents(seed_a, seed_b, steps, method, latent_dim=self.latent_dim, scale=scale)
    return self.frames(latents, label)

  def frames(self, latents: np.ndarray, label: Optional[int] = None) -> np.ndarray:
    """uint8 images of a path of latents, all of one class for a conditional model (`label`, class 0 when None)."""
    weights = self.label_weights(len(latents), label or 0)
    return images.to_uint8(self.generate(latents, weights), squeeze_gray=True)

  def info(self) -> dict:
    """What /models reports: the metadata plus where the model runs (never the host path)."""
    mean = round(self.total_ms / self.requests, 2) if self.requests else None
    return {'name': self.name, 'provider': self.provider, 'device': self.device, 'precision': self.precision,
            'requests': self.requests, 'mean_ms': mean, **{
        k: v for k, v in self.metadata.items() if k not in _PRIVATE_METADATA}}


def classes_text(signature: GeneratorSignature, shown: int = 12) -> str:
  """' · class-conditional: takes a class label (10 classes: 0, 1, ...)' for a model with a label input (metadata
  `label_classes`: the app can ask for each); else ' (9 classes: activities, animals_nature, ...)' for a model
  whose data had class folders (metadata `data_classes`: the data's classes, not an input); else ''."""
  names = signature.label_classes or signature.data_classes
  if not names:
    return ''
  listed = ', '.join(names[:shown]) + (', …' if len(names) > shown else '')
  if signature.label_classes:
    return f' · class-conditional: takes a class label ({len(names)} classes: {listed})'
  return f' ({len(names)} classes: {listed})'


def _read_metadata(folder: str) -> dict:
  """metadata.json of a folder the app can serve; ModelError saying what is wrong, or which kind no tab draws."""
  try:
    metadata = artifacts.read_model_metadata(folder)
  except ValueError as e:
    raise ModelError(str(e)) from None
  kind = kinds.of_metadata(metadata)
  served = KINDS.get(kind) if isinstance(kind, str) else None  # a malformed kind may be a list
  if served is None or not served.tabs:
    what = served.unserved(metadata) if served and served.unserved else f'a model of kind {kind!r}'
    raise ModelError(f'{what}; this app serves {" and ".join(SERVED_KINDS)} generators')
  try:
    GeneratorSignature.from_metadata(metadata)  # the fields of the kind's input and output, label_classes
  except SignatureError as e:
    raise ModelError(str(e)) from None
  missing = [k for k in RUN_METADATA if k not in metadata]
  if missing:
    raise ModelError(f'{MODEL_METADATA_FILE} lacks {", ".join(missing)}')
  served.check(metadata)
  return metadata


def output_dims(metadata: dict) -> list:
  """The first output's shape after the batch: [H, W, C], or [seq_len, vocab] for text."""
  return list(GeneratorSignature.from_metadata(metadata).output_shape)


def _check_graph(session, signature: GeneratorSignature) -> tuple:
  """The graph's inputs and first output against the metadata's signature (GeneratorSignature.check_inputs and
  check_output, the check evaluation and export make too). Returns (latent input name, label input name or
  None, output name)."""
  output = session.get_outputs()[0]
  try:
    signature.check_inputs([GraphTensor.of_onnx(arg) for arg in session.get_inputs()])
    signature.check_output(GraphTensor.of_onnx(output))
  except SignatureError as e:
    raise ModelError(str(e)) from None
  return LATENT_INPUT, (LABEL_INPUT if signature.has_label_input else None), output.name


def load_model(folder: str, provider: str = 'auto', threads: int | None = None, precision: str = 'auto',
               tf32: bool = False) -> LoadedModel:
  """Validates and loads one model folder and warms it up (serve/sessions.py); raises ModelError with a
  one-line reason."""
  import onnx
  model_path = os.path.join(folder, ONNX_FILE)
  if not os.path.isfile(model_path):
    raise ModelError(f'no {ONNX_FILE}')
  metadata = _read_metadata(folder)
  try:
    onnx.checker.check_model(model_path)
  except Exception as e:  # onnx raises ValidationError, DecodeError, OSError...: all mean "not a valid model"
    raise ModelError(f'{ONNX_FILE} fails onnx.checker: {first_line(e)[:200]}') from None
  try:
    session, used, used_precision, _ = sessions.create(folder, provider, precision, threads, tf32)
  except sessions.SessionError as e:
    raise ModelError(str(e)) from None
  except Exception as e:  # onnxruntime's Fail / InvalidGraph / ...
    raise ModelError(f'ONNX Runtime cannot load {ONNX_FILE}: {first_line(e)[:200]}') from None
  input_name, label_name, output_name = _check_graph(session, GeneratorSignature.from_metadata(metadata))
  model = LoadedModel(name=os.path.basename(os.path.normpath(folder)), path=folder, metadata=metadata,
                      session=session, provider=used, input_name=input_name, output_name=output_name,
                      precision=used_precision, label_name=label_name)
  try:  # first runs allocate: not on requests
    warm = sessions.warm_up(session, input_name, model.latent_dim, used,
                            labels=(label_name, model.num_classes) if label_name else None)
  except Exception as e:
    raise ModelError(f'the warm-up run failed: {first_line(e)[:200]}') from None
  if list(warm.shape[1:]) != output_dims(metadata):
    raise ModelError(f'the graph returned outputs shaped {warm.shape[1:]}, metadata says '
                     f'({", ".join(map(str, output_dims(metadata)))})')
  return model
