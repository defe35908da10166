r"""ONNX Runtime on an NVIDIA GPU: proves an exported model.onnx runs entirely on the CUDA EP, and times it.

  python -m benchmarks.gpu_latency --model=models/digits-wgan-gp/model.onnx

1. `onnxruntime.preload_dlls()` (CUDA / cuDNN from pip wheels), then a session with providers CUDA, CPU.
2. `get_providers()[0]` must be CUDAExecutionProvider; onnxruntime-gpu lists CUDA as *available* on any host,
   so anything else (a CPU-only host, a missing driver) ends here: one `error:` line, exit 2.
3. The session is created with log_severity_level=1 (INFO), ORT's placement lines are captured from stderr and
   the nodes placed on the CPU EP and the Memcpy nodes are counted: a CUDA-clean graph has neither.
4. Latency at batch 1/64/1024 with plain run() (host arrays in and out) and with io-binding (z and images
   stay on the GPU), so the difference is the host <-> device copy. See /work/shared/GPU.md.
Exit status: 0 CUDA-clean, 1 some node ran on the CPU (or a Memcpy was inserted), 2 no CUDA session.
"""

import os
import re
import sys
import tempfile
import time

from absl import flags

from common import cli

flags.DEFINE_string('model', None, 'Path of a model.onnx (input z, output images).')
flags.DEFINE_list('batches', ['1', '64', '1024'], 'Batch sizes to time.')
flags.DEFINE_integer('iters', 50, 'Timed runs per measurement (after 5 warm-up runs).', lower_bound=1)
FLAGS = flags.FLAGS


class NoCudaSession(Exception):
  """No ONNX Runtime session on the CUDA EP could be had (exit code 2): the one-line reason."""


class _CapturedStderr:
  """Captures file descriptor 2 (ORT's C++ logger writes there, not to sys.stderr)."""

  def __enter__(self):
    self.file = tempfile.TemporaryFile(mode='w+')
    sys.stderr.flush()
    self.saved = os.dup(2)
    os.dup2(self.file.fileno(), 2)
    return self

  def __exit__(self, *exc):
    sys.stderr.flush()
    os.dup2(self.saved, 2)
    os.close(self.saved)
    self.file.seek(0)
    self.text = self.file.read()
    self.file.close()


def cuda_session(model_path: str):
  """(session, ORT's session-creation log). Raises NoCudaSession when the session does not run on the CUDA EP."""
  import onnxruntime as ort
  if hasattr(ort, 'preload_dlls'):
    ort.preload_dlls()
  options = ort.SessionOptions()
  options.log_severity_level = 1  # INFO: node placement and the Memcpy nodes ORT inserts
  with _CapturedStderr() as captured:
    try:
      session = ort.InferenceSession(model_path, options,
                                     providers=['CUDAExecutionProvider', 'CPUExecutionProvider'])
    except Exception as e:  # noqa: BLE001 - ORT raises its own types; the user gets one line
      session, error = None, str(e).splitlines()[0] if str(e) else type(e).__name__
  if session is None:
    raise NoCudaSession(f'cannot create an ONNX Runtime session for {model_path}: {error}')
  providers = session.get_providers()
  if providers[0] != 'CUDAExecutionProvider':
    raise NoCudaSession(f'the session runs on {providers[0]}, not CUDAExecutionProvider: this needs an NVIDIA GPU '
                        f'with a working driver (available providers say nothing: {ort.get_available_providers()})')
  return session, captured.text


def placement(log: str) -> dict:
  """CPU-placed node and Memcpy counts read from ORT's INFO log of session creation."""
  memcpy = sum(int(n) for n in re.findall(r'(\d+) Memcpy nodes are added', log))
  dropped = re.findall(r'Dropping the (\w+) node: (\S+)', log)
  cpu_nodes = re.findall(r'Node\(s\) placed on \[CPUExecutionProvider\]\. Number of nodes: (\d+)', log)
  fallback = re.findall(r'CUDA kernel not supported\. Fallback to CPU execution provider for Op type: (\w+)', log)
  return {'cpu_nodes': sum(int(n) for n in cpu_nodes), 'memcpy_nodes': memcpy,
          'dropped': [f'{op} {name}' for op, name in dropped] + fallback}


def _time(fn, iters: int) -> float:
  for _ in range(5):
    fn()
  t0 = time.perf_counter()
  for _ in range(iters):
    fn()
  return (time.perf_counter() - t0) / iters * 1e3  # ms


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  if not FLAGS.model:
    raise cli.UsageError('pass --model=PATH/model.onnx and no positional arguments')
  if not os.path.isfile(FLAGS.model):
    raise cli.UsageError(f'no model file {FLAGS.model!r}')
  if not FLAGS.batches or not all(b.isdigit() and int(b) > 0 for b in FLAGS.batches):
    raise cli.UsageError(f'--batches takes positive integers, got {",".join(FLAGS.batches) or "nothing"}')
  batches = [int(b) for b in FLAGS.batches]
  import numpy as np
  import onnxruntime as ort
  session, log = cuda_session(FLAGS.model)
  placed = placement(log)
  print(f'providers: {session.get_providers()}')
  print(f'CPU-placed nodes: {placed["cpu_nodes"]}  Memcpy nodes: {placed["memcpy_nodes"]}  '
        f'dropped to CPU: {placed["dropped"] or "none"}')
  latent_dim = session.get_inputs()[0].shape[1]
  print(f'{"batch":>6} {"run() ms":>10} {"io-binding ms":>14}')
  for batch in batches:
    z = np.random.RandomState(0).standard_normal((batch, latent_dim)).astype(np.float32)
    plain = _time(lambda: session.run(['images'], {'z': z}), FLAGS.iters)
    binding = session.io_binding()
    binding.bind_ortvalue_input('z', ort.OrtValue.ortvalue_from_numpy(z, 'cuda', 0))
    binding.bind_output('images', 'cuda')

    def bound():
      session.run_with_iobinding(binding)
      binding.synchronize_outputs()

    print(f'{batch:>6} {plain:>10.3f} {_time(bound, FLAGS.iters):>14.3f}')
  return 1 if placed['cpu_nodes'] or placed['memcpy_nodes'] or placed['dropped'] else 0


if __name__ == '__main__':
  cli.run(main, errors={NoCudaSession: 2})
