"""Loads TensorFlow for a command without the CUDA probe's error lines on a host without a GPU (common/gpu.py).
Here, in data/, because it is the lowest stage that uses TensorFlow: training, evaluation and export may all
import it (tests/test_stage_contract.py).

Every entry point that uses TensorFlow calls `load_tensorflow()` before its first TensorFlow import: training.main
at the top (training.config imports TensorFlow), evaluation and export when their main starts, after the flags
(a usage error does not wait for TensorFlow). Anything TensorFlow prints while it loads and lists its devices is
captured and replayed through common.gpu.start_up_lines: every line but the probe's, on a CPU host, is shown.
"""

import os
import sys
import tempfile

from common import gpu


def load_tensorflow() -> None:
  """Imports TensorFlow and lists its physical devices (where the cuInit probe runs) with fd 2 captured, then
  writes what was printed, filtered, to fd 2. Once per process: later calls, and a TensorFlow already imported
  (tests), do nothing: what it printed is out already."""
  if 'tensorflow' in sys.modules:
    return
  level = os.environ.get('TF_CPP_MIN_LOG_LEVEL', '0')
  level = int(level) if level.isdigit() else 0
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow as tf
      tf.config.list_physical_devices()  # where the probe runs; logical devices (--cpu_replicas) stay configurable
    finally:
      os.dup2(saved, 2)
      os.close(saved)
      captured.seek(0)
      text = captured.read().decode('utf-8', errors='replace')
      os.write(2, gpu.start_up_lines(text, gpu.host_has_gpu(), level).encode())
