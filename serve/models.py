"""Model folders under --models_dir, each served by one ONNX Runtime session created once and warmed up.

A model folder, as the export stage writes it:
  <models_dir>/<name>/model.onnx      input `z` float32 (B, latent_dim) -> output float32 (B, H, W, C) in [-1, 1]
  <models_dir>/<name>/metadata.json   latent_dim, image_height, image_width, channels, loss, dataset, step, ...

A text generator (metadata `kind` 'text') has outputs `probs` (B, seq_len, vocab) and `ids`, and its vocabulary
in the metadata; it is served in the Text tab.

A folder that fails any check (missing files, onnx.checker, required metadata, graph shapes that disagree with
the metadata, a session that cannot be created) is skipped with a one-line warning, so one bad export never
takes the whole app down. So is a generator of data the app does not draw (metadata `kind` 'points', the 2-D
toy runs): it is named in the warnings (top of the page, Models tab, /models) rather than offered where it
cannot be drawn. Models are only ever
loaded from --models_dir: the UI and API pick them by name.

Providers: 'cpu'; 'cuda' (fails unless the session really runs on the CUDA EP); 'auto' (the CUDA EP when a
session gets it, else the CPU). ORT lists CUDAExecutionProvider as available whenever the GPU wheel is
installed, and on a host without a GPU requesting it prints a screenful of errors before falling back, so
'auto' asks for it only when the CUDA driver library loads and reports a device.
"""

import ctypes
import dataclasses
import json
import os

import numpy as np

from serve import sampler, text_sampler

MODEL_FILE = 'model.onnx'
METADATA_FILE = 'metadata.json'
REQUIRED_METADATA = ('latent_dim', 'image_height', 'image_width', 'channels', 'loss', 'dataset', 'step')
TEXT_REQUIRED_METADATA = ('latent_dim', 'seq_len', 'vocab', 'loss', 'dataset', 'step')
SERVED_KIND = 'image'  # metadata `kind`; exports from before data kinds have none and are images
TEXT_KIND = 'text'
# What the warning calls a model of a kind this app does not serve (export/kinds.py lists the kinds exported).
_UNSERVED_KINDS = {
    'points': lambda metadata: f'a {metadata.get("dims", "?")}-D points model ({metadata.get("dataset", "?")})',
}
PROVIDERS = ('auto', 'cuda', 'cpu')
_CUDA_EP, _CPU_EP = 'CUDAExecutionProvider', 'CPUExecutionProvider'
_PRIVATE_METADATA = ('name', 'run_dir')  # name: the folder's name wins; run_dir: a path on the exporting host
_ORT_ERRORS_ONLY = 3  # ORT log severity: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal


class ModelError(Exception):
  """A model folder or provider request that cannot be served: the message is one line meant for the user."""


def cuda_driver_usable() -> bool:
  """True when libcuda loads and reports at least one device (no nvidia-smi, no ORT error spam)."""
  try:
    libcuda = ctypes.CDLL('libcuda.so.1')
    count = ctypes.c_int(0)
    if libcuda.cuInit(0) != 0 or libcuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
      return False
    return count.value > 0
  except (OSError, AttributeError):
    return False


def _session_options(threads: int | None):
  import onnxruntime as ort
  options = ort.SessionOptions()
  options.log_severity_level = _ORT_ERRORS_ONLY
  # ORT's idle worker threads spin-wait by default, taking the cores the web stack needs to encode and send
  # the result: measured on 2 busy cores, /sample of 16 images over HTTP took ~48 ms spinning, ~30 ms not.
  options.add_session_config_entry('session.intra_op.allow_spinning', '0')
  if threads:
    options.intra_op_num_threads = threads
  return options


def create_session(model_path: str, provider: str = 'auto', threads: int | None = None):
  """An ORT InferenceSession on `provider` ('auto' | 'cuda' | 'cpu'). Returns (session, provider name used)."""
  import onnxruntime as ort
  if provider not in PROVIDERS:
    raise ModelError(f'--provider must be one of {", ".join(PROVIDERS)}, got {provider!r}')
  want_cuda = provider == 'cuda' or (provider == 'auto' and cuda_driver_usable())
  if provider == 'cuda':
    if _CUDA_EP not in ort.get_available_providers():
      raise ModelError('--provider=cuda: this onnxruntime build has no CUDAExecutionProvider')
    if not cuda_driver_usable():
      raise ModelError('--provider=cuda: no usable CUDA driver/GPU on this host (libcuda.so.1 missing or no '
                       'device); use --provider=auto or --provider=cpu')
  providers = [_CUDA_EP, _CPU_EP] if want_cuda else [_CPU_EP]
  session = ort.InferenceSession(model_path, sess_options=_session_options(threads), providers=providers)
  used = session.get_providers()[0]
  if provider == 'cuda' and used != _CUDA_EP:
    raise ModelError(f'--provider=cuda: ONNX Runtime fell back to {used} for {model_path} (CUDA/cuDNN libraries '
                     'missing?); use --provider=auto to accept the CPU')
  return session, used


@dataclasses.dataclass
class LoadedModel:
  """One servable model: its folder, metadata and the single ORT session all requests share (run is thread-safe)."""
  name: str
  path: str
  metadata: dict
  session: object
  provider: str
  input_name: str

  @property
  def latent_dim(self) -> int:
    return int(self.metadata['latent_dim'])

  @property
  def kind(self) -> str:
    return self.metadata.get('kind', SERVED_KIND)

  def shape_text(self) -> str:
    """'28×28×1', or '32 characters × 65 symbols' for text."""
    md = self.metadata
    if self.kind == TEXT_KIND:
      return f'{md["seq_len"]} characters, vocabulary {len(md["vocab"])}'
    return f'{md["image_height"]}×{md["image_width"]}×{md["channels"]}'

  def text(self, seed, count, temperature=0.0) -> list:
    """`count` lines of `seed` (line i depends on (model, seed, i, temperature) alone): argmax at temperature 0,
    else sampled (serve/text_sampler.py)."""
    probs = self.generate(sampler.latent_from_seed(seed, count, self.latent_dim))  # (N, L, V)
    return text_sampler.decode(text_sampler.sample_ids(probs, seed, temperature), self.metadata['vocab'])

  @property
  def device(self) -> str:
    return 'GPU (CUDA)' if self.provider == _CUDA_EP else 'CPU'

  def generate(self, latents: np.ndarray) -> np.ndarray:
    """(B, latent_dim) float32 -> (B, H, W, C) float32 in [-1, 1], or text probabilities (B, seq_len, vocab)."""
    return self.session.run(None, {self.input_name: np.ascontiguousarray(latents, np.float32)})[0]

  def sample(self, seed, count, scale=1.0) -> np.ndarray:
    """uint8 images (count, H, W[, 3]) of `seed`; image i depends on (model, seed, i, scale) alone.

    At scale 1 these are the images of the SavedModel `sample(seed, count)` signature of the same export (the
    latents of both are `common.latents`), to within one grey level where the runtimes round differently.
    """
    return sampler.to_uint8(self.generate(sampler.latent_from_seed(seed, count, self.latent_dim, scale)))

  def interpolate(self, seed_a, seed_b, steps, method='slerp', scale=1.0) -> np.ndarray:
    """uint8 frames (steps, H, W[, 3]) from image 0 of seed_a to image 0 of seed_b."""
    latents = sampler.interpolation_latents(seed_a, seed_b, steps, method, latent_dim=self.latent_dim, scale=scale)
    return sampler.to_uint8(self.generate(latents))

  def info(self) -> dict:
    """What /models reports: the metadata plus where the model runs (never the host path)."""
    return {'name': self.name, 'provider': self.provider, 'device': self.device, **{
        k: v for k, v in self.metadata.items() if k not in _PRIVATE_METADATA}}


def _read_metadata(folder: str) -> dict:
  path = os.path.join(folder, METADATA_FILE)
  try:
    with open(path) as f:
      metadata = json.load(f)
  except (OSError, ValueError) as e:
    raise ModelError(f'cannot read {METADATA_FILE}: {e}') from None
  if not isinstance(metadata, dict):
    raise ModelError(f'{METADATA_FILE} is not a JSON object')
  kind = metadata.get('kind', SERVED_KIND)
  if kind == TEXT_KIND:
    return _check_text_metadata(metadata)
  if kind != SERVED_KIND:
    describe = _UNSERVED_KINDS.get(kind) if isinstance(kind, str) else None  # a malformed kind may be a list
    what = describe(metadata) if describe else f'a model of kind {kind!r}'
    raise ModelError(f'{what}; this app serves image and text generators')
  missing = [k for k in REQUIRED_METADATA if k not in metadata]
  if missing:
    raise ModelError(f'{METADATA_FILE} lacks {", ".join(missing)}')
  for key in ('latent_dim', 'image_height', 'image_width', 'channels'):
    if not isinstance(metadata[key], int) or isinstance(metadata[key], bool) or metadata[key] < 1:
      raise ModelError(f'{METADATA_FILE}: {key} must be a positive integer, got {metadata[key]!r}')
  if metadata['channels'] not in (1, 3):
    raise ModelError(f'{METADATA_FILE}: channels must be 1 or 3, got {metadata["channels"]}')
  if metadata.get('layout', 'NHWC') != 'NHWC':
    raise ModelError(f'{METADATA_FILE}: layout {metadata["layout"]!r} is not NHWC')
  if list(metadata.get('value_range', [-1.0, 1.0])) != [-1.0, 1.0]:
    raise ModelError(f'{METADATA_FILE}: value_range {metadata["value_range"]!r} is not [-1, 1]')
  return metadata


def _check_text_metadata(metadata: dict) -> dict:
  missing = [k for k in TEXT_REQUIRED_METADATA if k not in metadata]
  if missing:
    raise ModelError(f'{METADATA_FILE} lacks {", ".join(missing)}')
  for key in ('latent_dim', 'seq_len'):
    if not isinstance(metadata[key], int) or isinstance(metadata[key], bool) or metadata[key] < 1:
      raise ModelError(f'{METADATA_FILE}: {key} must be a positive integer, got {metadata[key]!r}')
  vocab = metadata['vocab']
  if not isinstance(vocab, list) or len(vocab) < 2 or not all(isinstance(t, str) for t in vocab):
    raise ModelError(f'{METADATA_FILE}: vocab must be a list of at least 2 strings')
  return metadata


def output_dims(metadata: dict) -> list:
  """The first output's shape after the batch: [H, W, C], or [seq_len, vocab] for text."""
  if metadata.get('kind', SERVED_KIND) == TEXT_KIND:
    return [metadata['seq_len'], len(metadata['vocab'])]
  return [metadata['image_height'], metadata['image_width'], metadata['channels']]


def _check_shapes(session, metadata: dict) -> str:
  """Checks the graph's one input (B, latent_dim) and first output (B, H, W, C) or (B, seq_len, vocab) against
  the metadata."""
  inputs, outputs = session.get_inputs(), session.get_outputs()
  if len(inputs) != 1:
    raise ModelError(f'the graph has {len(inputs)} inputs, expected one latent input')
  expected = {'input': (inputs[0], [metadata['latent_dim']]), 'output': (outputs[0], output_dims(metadata))}
  for role, (arg, dims) in expected.items():
    shape = list(arg.shape)
    if arg.type != 'tensor(float)':
      raise ModelError(f'graph {role} {arg.name!r} is {arg.type}, expected tensor(float)')
    # dim 0 is the (dynamic) batch; a symbolic or unknown dim (str / None) cannot be checked
    if len(shape) != len(dims) + 1 or any(isinstance(s, int) and s != d for s, d in zip(shape[1:], dims)):
      raise ModelError(f'graph {role} {arg.name!r} has shape {shape}, metadata says (batch, '
                       f'{", ".join(map(str, dims))})')
  return inputs[0].name


def load_model(folder: str, provider: str = 'auto', threads: int | None = None) -> LoadedModel:
  """Validates and loads one model folder, runs one warm-up batch; raises ModelError with a one-line reason."""
  import onnx
  model_path = os.path.join(folder, MODEL_FILE)
  if not os.path.isfile(model_path):
    raise ModelError(f'no {MODEL_FILE}')
  metadata = _read_metadata(folder)
  try:
    onnx.checker.check_model(model_path)
  except Exception as e:  # onnx raises ValidationError, DecodeError, OSError...: all mean "not a valid model"
    raise ModelError(f'{MODEL_FILE} fails onnx.checker: {str(e).strip().splitlines()[0][:200]}') from None
  try:
    session, used = create_session(model_path, provider, threads)
  except ModelError:
    raise
  except Exception as e:  # onnxruntime's Fail / InvalidGraph / ...
    raise ModelError(f'ONNX Runtime cannot load {MODEL_FILE}: {str(e).strip().splitlines()[0][:200]}') from None
  input_name = _check_shapes(session, metadata)
  model = LoadedModel(name=os.path.basename(os.path.normpath(folder)), path=folder, metadata=metadata,
                      session=session, provider=used, input_name=input_name)
  try:
    warm = model.generate(np.zeros((1, model.latent_dim), np.float32))  # first run allocates; keep it off requests
  except Exception as e:
    raise ModelError(f'the warm-up run failed: {str(e).strip().splitlines()[0][:200]}') from None
  if list(warm.shape[1:]) != output_dims(metadata):
    raise ModelError(f'the graph returned outputs shaped {warm.shape[1:]}, metadata says '
                     f'({", ".join(map(str, output_dims(metadata)))})')
  return model


def discover_models(models_dir: str, provider: str = 'auto', threads: int | None = None):
  """Loads every valid model folder directly under `models_dir`.

  Returns (models: dict name -> LoadedModel in name order, warnings: list of one-line strings, one per skipped
  folder). A missing `models_dir` gives no models and no warnings; a provider that cannot be had at all
  ('cuda' on a CPU host) raises ModelError, since then no folder could load.
  """
  models, warnings = {}, []
  if provider not in PROVIDERS:
    raise ModelError(f'--provider must be one of {", ".join(PROVIDERS)}, got {provider!r}')
  if not os.path.isdir(models_dir):
    return models, warnings
  for name in sorted(os.listdir(models_dir)):
    folder = os.path.join(models_dir, name)
    if not os.path.isdir(folder) or name.startswith('.'):
      continue
    if not os.path.isfile(os.path.join(folder, MODEL_FILE)) and not os.path.isfile(os.path.join(folder, METADATA_FILE)):
      continue  # not meant as a model folder (e.g. an export format other than ONNX)
    try:
      models[name] = load_model(folder, provider, threads)
    except ModelError as e:
      if provider == 'cuda' and str(e).startswith('--provider=cuda'):
        raise
      warnings.append(f'skipped model folder {name!r}: {e}')
  return models, warnings
