"""Whether this host has an NVIDIA GPU, asked without TensorFlow or ONNX Runtime (what the app picks its provider
from), and which of TensorFlow's start-up lines a host without one should not see.

TensorFlow 2.21's pip build probes for CUDA when it loads and when it first lists devices. On a host without a
GPU that prints, whatever TF_CPP_MIN_LOG_LEVEL or CUDA_VISIBLE_DEVICES say (both measured):
  WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
  I0000 00:00:... port.cc:153] oneDNN custom operations are on. ...
  I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
  E0000 00:00:... cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: ... (303)
The E line reads like a failure. data/quiet_start.py loads TensorFlow with stderr captured and replays it
through `start_up_lines`: the cuInit error is dropped only where the host shows no sign of a GPU (no NVIDIA
device node, no driver that reports a device), so that a GPU whose driver fails is still reported; the lines
logged before TensorFlow's logging is set up get the TF_CPP_MIN_LOG_LEVEL filter they escaped.
"""

import ctypes
import glob
import re
from typing import Callable, Sequence

# /dev/nvidia0, /dev/nvidia1, ... (Linux), /dev/dxg (WSL2, whose GPUs have no /dev/nvidia* node); not
# /dev/nvidiactl or /dev/nvidia-uvm alone, which a driver installed without a device can leave.
DEVICE_NODE_PATTERNS = ('/dev/nvidia[0-9]*', '/dev/dxg')
_CUDA_PROBE_FAILURE = 'failed call to cuInit'
_NO_DRIVER = 'Could not find cuda drivers'
_LOGGING_NOT_SET_UP = 'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR'
# absl/glog's prefix: severity letter I/W/E/F, then MMDD, then a time: 'E0000 00:00:1796680510.926086 ...'
_GLOG_LINE = re.compile(r'^([IWEF])\d{4} \d\d:\d\d:\d\d')
_SEVERITY = {'I': 0, 'W': 1, 'E': 2, 'F': 3}


def device_nodes() -> list:
  return sorted(path for pattern in DEVICE_NODE_PATTERNS for path in glob.glob(pattern))


def cuda_driver_usable() -> bool:
  """True when libcuda loads and reports at least one device (no nvidia-smi, no ORT or TensorFlow error spam)."""
  try:
    libcuda = ctypes.CDLL('libcuda.so.1')
    count = ctypes.c_int(0)
    if libcuda.cuInit(0) != 0 or libcuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
      return False
    return count.value > 0
  except (OSError, AttributeError):
    return False


def host_has_gpu(nodes: Sequence[str] = None, driver_usable: Callable[[], bool] = cuda_driver_usable) -> bool:
  """A device node is enough: a failure of its driver is then real and must be reported."""
  nodes = device_nodes() if nodes is None else nodes
  return bool(nodes) or driver_usable()


def start_up_lines(text: str, has_gpu: bool, min_log_level: int) -> str:
  """What of TensorFlow's start-up output to show: `text` without the CUDA probe's lines on a host without a GPU,
  and without absl lines below `min_log_level` (TF_CPP_MIN_LOG_LEVEL: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR),
  which TensorFlow prints before its logging reads that variable. Every other line is kept."""
  kept = []
  for line in text.splitlines(keepends=True):
    if line.strip() == _LOGGING_NOT_SET_UP and min_log_level > 0:
      continue
    if not has_gpu and (_CUDA_PROBE_FAILURE in line or _NO_DRIVER in line):
      continue
    prefix = _GLOG_LINE.match(line)
    if prefix and _SEVERITY[prefix.group(1)] < min_log_level:
      continue
    kept.append(line)
  return ''.join(kept)
