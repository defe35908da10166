"""A CPU host starts every command without CUDA error lines; a GPU host keeps TensorFlow's (common/gpu.py,
data/quiet_start.py). The real run below does not set CUDA_VISIBLE_DEVICES: it did not stop the probe."""

import os
import subprocess
import sys

import pytest

from common import gpu
from tests.conftest import REPO_ROOT

_START_UP = (
    'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n'
    'I0000 00:00:1796680493.547458    4958 port.cc:153] oneDNN custom operations are on.\n'
    'I0000 00:00:1796680493.547744    4958 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will '
    'not be used.\n'
    'W0000 00:00:1796680493.600000    4958 some_file.cc:10] a warning\n'
    'E0000 00:00:1796680497.348715    4958 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed '
    'call to cuInit: UNKNOWN ERROR (303)\n'
    'E0000 00:00:1796680497.400000    4958 other.cc:1] something else failed\n'
    'a Python warning line\n')


def test_a_cpu_host_drops_the_probe_and_the_lines_below_the_log_level():
  assert gpu.start_up_lines(_START_UP, has_gpu=False, min_log_level=2) == (
      'E0000 00:00:1796680497.400000    4958 other.cc:1] something else failed\n'
      'a Python warning line\n')


def test_a_gpu_host_keeps_a_failed_cuinit_it_is_a_real_failure_there():
  kept = gpu.start_up_lines(_START_UP, has_gpu=True, min_log_level=2)
  assert 'failed call to cuInit' in kept and 'something else failed' in kept
  assert 'oneDNN' not in kept and 'a warning' not in kept


def test_level_0_keeps_every_line_but_the_probe():
  kept = gpu.start_up_lines(_START_UP, has_gpu=False, min_log_level=0)
  assert kept.splitlines() == [line for line in _START_UP.splitlines()
                               if 'cuInit' not in line and 'cuda drivers' not in line]


def test_a_device_node_means_a_gpu_without_asking_the_driver():
  def driver():
    raise AssertionError('the driver is not asked when a device node exists')
  assert gpu.host_has_gpu(nodes=['/dev/nvidia0'], driver_usable=driver)
  assert gpu.host_has_gpu(nodes=['/dev/dxg'], driver_usable=driver)
  assert gpu.host_has_gpu(nodes=[], driver_usable=lambda: True)
  assert not gpu.host_has_gpu(nodes=[], driver_usable=lambda: False)


@pytest.mark.slow
@pytest.mark.skipif(gpu.host_has_gpu(), reason='a host with a GPU keeps TensorFlow start-up lines by design')
def test_a_training_command_on_a_cpu_host_prints_no_cuda_line(tmp_path):
  env = {k: v for k, v in os.environ.items() if k not in ('CUDA_VISIBLE_DEVICES', 'TF_CPP_MIN_LOG_LEVEL')}
  env['PYTHONPATH'] = str(REPO_ROOT)
  result = subprocess.run([sys.executable, '-m', 'training.main', '--dataset=toy:25gaussians', '--steps=1',
                           f'--run_dir={tmp_path / "run"}'], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  assert 'done: 1 steps' in result.stdout
  assert 'cuda' not in result.stderr.lower(), result.stderr
  assert not [line for line in result.stderr.splitlines() if line[:1] in 'EF' and line[1:5].isdigit()], result.stderr
