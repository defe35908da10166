r"""Generation latency on the CPU: the TF SavedModel (serving_default) vs ONNX Runtime, side by side.

  python -m benchmarks.generate_latency

Two freshly exported untrained generators (benchmarks/bench_models.py: digits, the demo preset's shape, and
dcgan64, DCGAN 64x64 RGB with latent 128 and width 64).
Both runtimes get the same thread count (--threads, default: the cores this process may use) and run one
after the other, never at the same time. Target: ORT >= 2.5x the SavedModel at batch 1.
"""

import os
import statistics
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')  # a CPU comparison, also on a GPU host

from absl import flags

from benchmarks.bench_models import MODELS, export_untrained
from common import artifacts, cli

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_list('batches', ['1', '16', '64'], 'Batch sizes to time.')
  flags.DEFINE_integer('threads', 0, 'Threads for each runtime (0: the cores this process may use).')
  flags.DEFINE_float('seconds', 1.0, 'Minimum timed seconds per measurement (at least 5 runs, after 3 warm-ups).')


def _median_ms(fn) -> float:
  for _ in range(3):
    fn()
  times, start = [], time.perf_counter()
  while len(times) < 5 or time.perf_counter() - start < FLAGS.seconds:
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return statistics.median(times) * 1e3


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  if not FLAGS.batches or not all(b.isdigit() and int(b) > 0 for b in FLAGS.batches):
    raise cli.UsageError(f'--batches takes positive integers, got {",".join(FLAGS.batches) or "nothing"}')
  import logging as std_logging
  from absl import logging
  logging.set_verbosity(logging.WARNING)  # the exports' INFO lines would split the table
  std_logging.getLogger('tf2onnx').setLevel(std_logging.ERROR)
  threads = FLAGS.threads or len(os.sched_getaffinity(0))
  import numpy as np
  import onnxruntime as ort
  import tensorflow as tf
  from evaluation.sources import saved_model_dir
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  tf.config.threading.set_inter_op_parallelism_threads(1)  # one op at a time, as ORT's sequential mode
  print(f'TF {tf.__version__} vs ONNX Runtime {ort.__version__}, {threads} threads each, CPU')
  print(f'{"model":<8} {"batch":>5} {"TF SavedModel ms":>17} {"ORT ms":>9} {"ORT speedup":>12}')
  with tempfile.TemporaryDirectory() as work:
    for name, shape in MODELS.items():
      folder = export_untrained(work, name)
      serve = tf.saved_model.load(saved_model_dir(folder)).signatures['serving_default']
      options = ort.SessionOptions()
      options.intra_op_num_threads = threads
      options.inter_op_num_threads = 1
      session = ort.InferenceSession(os.path.join(folder, artifacts.ONNX_FILE), options,
                                     providers=['CPUExecutionProvider'])
      for batch in (int(b) for b in FLAGS.batches):
        z = np.random.RandomState(batch).standard_normal((batch, shape[0])).astype(np.float32)
        z_tf = tf.constant(z)
        tf_ms = _median_ms(lambda: serve(z=z_tf)['images'].numpy())
        ort_ms = _median_ms(lambda: session.run(['images'], {'z': z}))
        print(f'{name:<8} {batch:>5} {tf_ms:>17.3f} {ort_ms:>9.3f} {tf_ms / ort_ms:>11.2f}x', flush=True)
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main)
