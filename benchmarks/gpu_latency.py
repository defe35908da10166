r"""ONNX Runtime on an NVIDIA GPU: proves exported generators run entirely on the CUDA EP, and times them.

  python -m benchmarks.gpu_models --out=gpu_models            # here, with TensorFlow: DCGAN 64x64x3 + the demo shape
  python -m benchmarks.gpu_latency --model=gpu_models/dcgan64,gpu_models/digits,models/digits-wgan-gp

--model takes model.onnx files and model folders; a folder is timed in fp32 (model.onnx) and, when it holds one,
fp16 (model_fp16.onnx, float32 z and images at the edges), as `serve.app --precision=auto` would pick on CUDA.
1. `onnxruntime.preload_dlls()` (CUDA / cuDNN from pip wheels), then a session with providers CUDA, CPU.
2. `get_providers()[0]` must be CUDAExecutionProvider; onnxruntime-gpu lists CUDA as *available* on any host,
   so anything else (a CPU-only host, a missing driver) ends here: one `error:` line, exit 2.
3. The session is created with log_severity_level=0 (VERBOSE: ORT 1.31 logs the node placement only there), its
   log is captured from stderr and every node's provider is read from it, with the Memcpy nodes ORT inserted:
   a CUDA-clean graph has no node on the CPU EP and no Memcpy node.
4. Latency at batch 1/64/1024 with plain run() (host arrays in and out) and with io-binding (z and images
   stay on the GPU), so the difference is the host <-> device copy; fp16 rows give their speed-up over fp32.
   Target (H100, DCGAN 64x64 fp32): batch 64 <= 0.35 ms with io-binding. See /work/shared/GPU.md.
Exit status: 0 all CUDA-clean, 1 some node ran on the CPU, a Memcpy was inserted or ORT logged no placement,
2 no CUDA session or bad flags.
"""

import os
import re
import sys
import tempfile
import time

from absl import flags

from common import artifacts, cli

FLAGS = flags.FLAGS
FP32_FILE, FP16_FILE = artifacts.ONNX_FILE, artifacts.ONNX_FP16_FILE  # a model folder's two precisions


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_list('model', None, 'model.onnx files or model folders (fp32 and, when present, fp16), comma-separated.')
  flags.DEFINE_list('batches', ['1', '64', '1024'], 'Batch sizes to time.')
  flags.DEFINE_integer('iters', 50, 'Timed runs per measurement (after 5 warm-up runs).', lower_bound=1)


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
  options.log_severity_level = 0  # VERBOSE: ORT logs the node placement at this level only (1.31)
  with _CapturedStderr() as captured:
    try:
      session = ort.InferenceSession(model_path, options,
                                     providers=['CUDAExecutionProvider', 'CPUExecutionProvider'])
    except Exception as e:  # noqa: BLE001 - ORT raises its own types; the user gets one line
      session, error = None, cli.first_line(e) or type(e).__name__
  if session is None:
    raise NoCudaSession(f'cannot create an ONNX Runtime session for {model_path}: {error}')
  providers = session.get_providers()
  if providers[0] != 'CUDAExecutionProvider':
    raise NoCudaSession(f'the session runs on {providers[0]}, not CUDAExecutionProvider: this needs an NVIDIA GPU '
                        f'with a working driver (available providers say nothing: {ort.get_available_providers()})')
  return session, captured.text


_PLACED = re.compile(r'(?:Node\(s\)|All nodes) placed on \[(\w+)\]\. Number of nodes: (\d+)')
_NODE = re.compile(r'VerifyEachNodeIsAssignedToAnEp\]\s{3}(\S+) \((.*)\)')


def placement(log: str) -> dict:
  """Every node's provider, read from ORT's VERBOSE log of session creation (session_state.cc's "Node placements":
  "All nodes placed on [EP]. Number of nodes: N" when one EP takes the graph, else per EP a "Node(s) placed on"
  line followed by one "OpType (name)" line per node), plus the Memcpy nodes ORT inserted and the nodes it
  dropped to the CPU."""
  providers, nodes, current = {}, {}, None
  for line in log.splitlines():
    placed = _PLACED.search(line)
    if placed:
      current = placed.group(1)
      providers[current] = providers.get(current, 0) + int(placed.group(2))
      continue
    node = _NODE.search(line)
    if node and current:
      nodes.setdefault(current, []).append(f'{node.group(1)} ({node.group(2)})')
  memcpy = sum(int(n) for n in re.findall(r'(\d+) Memcpy nodes are added', log))
  dropped = re.findall(r'Dropping the (\w+) node: (\S+)', log)
  fallback = re.findall(r'CUDA kernel not supported\. Fallback to CPU execution provider for Op type: (\w+)', log)
  return {'providers': providers, 'nodes': nodes, 'cpu_nodes': providers.get('CPUExecutionProvider', 0),
          'memcpy_nodes': memcpy, 'dropped': [f'{op} {name}' for op, name in dropped] + fallback}


def _time(fn, iters: int) -> float:
  for _ in range(5):
    fn()
  t0 = time.perf_counter()
  for _ in range(iters):
    fn()
  return (time.perf_counter() - t0) / iters * 1e3  # ms


def model_files(paths) -> list:
  """[(label, precision, path)] for --model: a file as given (fp16 when named model_fp16.onnx), a folder's
  model.onnx and model_fp16.onnx. Raises UsageError for a path that holds neither."""
  found = []
  for path in paths:
    if os.path.isfile(path):
      precision = 'fp16' if os.path.basename(path) == FP16_FILE else 'fp32'
      found.append((os.path.basename(os.path.dirname(os.path.abspath(path))), precision, path))
    elif os.path.isfile(os.path.join(path, FP32_FILE)):
      label = os.path.basename(os.path.normpath(path))
      found.append((label, 'fp32', os.path.join(path, FP32_FILE)))
      if os.path.isfile(os.path.join(path, FP16_FILE)):
        found.append((label, 'fp16', os.path.join(path, FP16_FILE)))
    else:
      raise cli.UsageError(f'no model file or model folder (with {FP32_FILE}) at {path!r}')
  labels = [(label, precision) for label, precision, _ in found]
  twice = sorted({f'{label} {precision}' for label, precision in labels if labels.count((label, precision)) > 1})
  if twice:  # rows and the fp16-vs-fp32 ratio are matched by name
    raise cli.UsageError(f'--model names {", ".join(twice)} more than once (folders of the same name?)')
  return found


def latencies(session, batches, iters: int, device: str = 'cuda') -> list:
  """[(batch, run() ms, io-binding ms)]: z from the host each call vs z and images bound on `device`."""
  import numpy as np
  import onnxruntime as ort
  z_input, output = session.get_inputs()[0], session.get_outputs()[0].name
  quiet = ort.RunOptions()
  quiet.log_severity_level = 3  # runs would log at the session's level (VERBOSE, for the placement) by default
  rows = []
  for batch in batches:
    z = np.random.RandomState(0).standard_normal((batch, z_input.shape[1])).astype(np.float32)
    plain = _time(lambda: session.run([output], {z_input.name: z}, quiet), iters)
    binding = session.io_binding()
    binding.bind_ortvalue_input(z_input.name, ort.OrtValue.ortvalue_from_numpy(z, device, 0))
    binding.bind_output(output, device)

    def bound():
      session.run_with_iobinding(binding, quiet)
      binding.synchronize_outputs()

    rows.append((batch, plain, _time(bound, iters)))
  return rows


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  if not FLAGS.model:
    raise cli.UsageError('pass --model=PATH[,PATH...] (model.onnx files or model folders) and no positional arguments')
  if not FLAGS.batches or not all(b.isdigit() and int(b) > 0 for b in FLAGS.batches):
    raise cli.UsageError(f'--batches takes positive integers, got {",".join(FLAGS.batches) or "nothing"}')
  batches = [int(b) for b in FLAGS.batches]
  files = model_files(FLAGS.model)
  results, unclean = {}, []
  for label, precision, path in files:
    session, log = cuda_session(path)
    placed = placement(log)
    counts = ', '.join(f'{ep} {n}' for ep, n in placed['providers'].items()) or 'not in the log'
    print(f'{label} {precision} ({path}): providers {session.get_providers()}; nodes placed: {counts}; CPU-placed '
          f'nodes {placed["cpu_nodes"]} {placed["nodes"].get("CPUExecutionProvider", "")}, Memcpy nodes '
          f'{placed["memcpy_nodes"]}, dropped to CPU: {placed["dropped"] or "none"}', flush=True)
    if not placed['providers']:
      unclean.append(f'{label} {precision} (no node placement in ORT\'s log: cannot prove it CUDA-clean)')
    elif placed['cpu_nodes'] or placed['memcpy_nodes'] or placed['dropped']:
      unclean.append(f'{label} {precision}')
    results[label, precision] = latencies(session, batches, FLAGS.iters)
  print(f'\n{"model":<16} {"precision":<9} {"batch":>6} {"run() ms":>10} {"io-binding ms":>14} {"vs fp32":>8}')
  for (label, precision), rows in results.items():
    for i, (batch, plain, bound) in enumerate(rows):
      fp32 = results.get((label, 'fp32'))
      ratio = f'{fp32[i][2] / bound:.2f}x' if precision == 'fp16' and fp32 else ''
      print(f'{label:<16} {precision:<9} {batch:>6} {plain:>10.3f} {bound:>14.3f} {ratio:>8}')
  print(f'\nCUDA-clean: {"all" if not unclean else "NOT " + ", ".join(unclean)}')
  return 1 if unclean else 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors={NoCudaSession: 2})
