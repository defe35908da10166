"""ONNX Runtime sessions for serving: which device, which file (fp32 or fp16), which CUDA options, what warm-up.

Device (--provider): 'cpu'; 'cuda' (fails unless the session really runs on the CUDA EP); 'auto' (the CUDA EP when
a session gets it, else the CPU). onnxruntime-gpu lists CUDAExecutionProvider as available whenever the GPU wheel
is installed, and on a host without a GPU requesting it prints a screenful of errors before falling back, so
'auto' asks for it only when the CUDA driver library loads and reports a device; the device used is read back
from `session.get_providers()`.

Precision (--precision): 'fp32' (model.onnx), 'fp16' (model_fp16.onnx, which export writes with --fp16), or
'auto': fp16 on the CUDA EP when the folder has it, fp32 on the CPU (ORT's CPU kernels compute float16 by casting
to float32 and back: slower, and less exact). A CUDA session of the fp16 file that falls back to the CPU is made
again from the fp32 file.

CUDA EP options, each on purpose (onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html):
  cudnn_conv_algo_search HEURISTIC   the default EXHAUSTIVE benchmarks every convolution algorithm for every new
                                     input shape, so each batch size (1-64 images per request) would pay a search
                                     on its first request
  arena_extend_strategy kSameAsRequested   the arena grows by what a batch needs, not by doubling
  use_tf32 0                         fp32 means fp32 (TF32 matmuls keep 10 mantissa bits); --tf32 allows it
Warm-up: on CUDA every batch size the UI can ask for (1..64) runs once at load, so no request meets a cold
shape; on the CPU one batch (the first run allocates).

CUDA and cuDNN from pip wheels (`onnxruntime-gpu[cuda,cudnn]`, BUILD.md) are found only after
`onnxruntime.preload_dlls()`; it is called once when those wheels are installed and the CUDA EP is wanted.
"""

import functools
import importlib.util
import os

import numpy as np

from common import artifacts, gpu
from common import labels as common_labels

PROVIDERS = ('auto', 'cuda', 'cpu')
PRECISIONS = ('auto', 'fp32', 'fp16')
FP32_FILE, FP16_FILE = artifacts.ONNX_FILE, artifacts.ONNX_FP16_FILE  # the names the precisions go by here
CUDA_EP, CPU_EP = 'CUDAExecutionProvider', 'CPUExecutionProvider'
CUDA_WARMUP_BATCHES = tuple(range(1, 65))  # serve.sampler.MAX_COUNT / MAX_STEPS: every size a request can ask for
_ORT_ERRORS_ONLY = 3  # ORT log severity: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal


class SessionError(Exception):
  """A provider or precision that cannot be had: the message is one line meant for the user."""


@functools.lru_cache(maxsize=1)
def preload_cuda_libraries() -> bool:
  """onnxruntime.preload_dlls() when the CUDA/cuDNN pip wheels (the `nvidia` namespace) are installed; True if
  called. Without it ORT does not find libraries that live in site-packages, and 'auto' quietly runs on the CPU."""
  import onnxruntime as ort
  if not hasattr(ort, 'preload_dlls') or importlib.util.find_spec('nvidia') is None:
    return False
  ort.preload_dlls()
  return True


def cuda_options(tf32: bool = False) -> dict:
  return {'cudnn_conv_algo_search': 'HEURISTIC', 'arena_extend_strategy': 'kSameAsRequested',
          'use_tf32': '1' if tf32 else '0'}


def plan(provider: str, precision: str, available: list, cuda_usable: bool, has_fp16: bool) -> tuple:
  """(providers to request, model file) for a folder: a pure function of the request and the host (what the
  static test drives with fake provider lists). Raises SessionError for what cannot be had at all."""
  if provider not in PROVIDERS:
    raise SessionError(f'--provider must be one of {", ".join(PROVIDERS)}, got {provider!r}')
  if precision not in PRECISIONS:
    raise SessionError(f'--precision must be one of {", ".join(PRECISIONS)}, got {precision!r}')
  if provider == 'cuda':
    if CUDA_EP not in available:
      raise SessionError('--provider=cuda: this onnxruntime build has no CUDAExecutionProvider')
    if not cuda_usable:
      raise SessionError('--provider=cuda: no usable CUDA driver/GPU on this host (libcuda.so.1 missing or no '
                         'device); use --provider=auto or --provider=cpu')
  want_cuda = provider == 'cuda' or (provider == 'auto' and cuda_usable and CUDA_EP in available)
  if precision == 'fp16' and not has_fp16:
    raise SessionError(f'--precision=fp16: no {FP16_FILE} (export with --fp16)')
  fp16 = precision == 'fp16' or (precision == 'auto' and want_cuda and has_fp16)
  return ([CUDA_EP, CPU_EP] if want_cuda else [CPU_EP]), (FP16_FILE if fp16 else FP32_FILE)


def _options(threads):
  import onnxruntime as ort
  options = ort.SessionOptions()
  options.log_severity_level = _ORT_ERRORS_ONLY
  # ORT's idle worker threads spin-wait by default, taking the cores the web stack needs to encode and send
  # the result: measured on 2 busy cores, /sample of 16 images over HTTP took ~48 ms spinning, ~30 ms not.
  options.add_session_config_entry('session.intra_op.allow_spinning', '0')
  if threads:
    options.intra_op_num_threads = threads
  return options


def _session(path: str, providers: list, threads, tf32: bool):
  import onnxruntime as ort
  with_options = [(p, cuda_options(tf32)) if p == CUDA_EP else p for p in providers]
  return ort.InferenceSession(path, sess_options=_options(threads), providers=with_options)


def create(folder: str, provider: str = 'auto', precision: str = 'auto', threads=None, tf32: bool = False) -> tuple:
  """(session, provider used, precision used, file name) for a model folder. Raises SessionError, or what ORT
  raises for a file it cannot load."""
  import onnxruntime as ort
  cuda_usable = provider != 'cpu' and gpu.cuda_driver_usable()
  if cuda_usable:
    preload_cuda_libraries()
  has_fp16 = os.path.isfile(os.path.join(folder, FP16_FILE))
  providers, file = plan(provider, precision, ort.get_available_providers(), cuda_usable, has_fp16)
  session = _session(os.path.join(folder, file), providers, threads, tf32)
  used = session.get_providers()[0]
  if provider == 'cuda' and used != CUDA_EP:
    raise SessionError(f'--provider=cuda: ONNX Runtime fell back to {used} for {folder} (CUDA/cuDNN libraries '
                       'missing?); use --provider=auto to accept the CPU')
  if used != CUDA_EP and file == FP16_FILE and precision == 'auto':  # planned for CUDA, got the CPU
    file = FP32_FILE
    session = _session(os.path.join(folder, file), [CPU_EP], threads, tf32)
  return session, used, ('fp16' if file == FP16_FILE else 'fp32'), file


def warm_up(session, input_name: str, latent_dim: int, provider: str, labels: tuple | None = None) -> np.ndarray:
  """Runs every batch size a request may use on CUDA (1 on the CPU); returns the batch-1 output.
  labels: (input name, K) of a conditional generator's class weights, fed one-hot class 0."""
  first = None
  for batch in (CUDA_WARMUP_BATCHES if provider == CUDA_EP else (1,)):
    feeds = {input_name: np.zeros((batch, latent_dim), np.float32)}
    if labels:
      name, classes = labels
      feeds[name] = common_labels.class_weights(np.zeros(batch, np.int64), classes)
    out = session.run(None, feeds)[0]
    first = out if first is None else first
  return first
