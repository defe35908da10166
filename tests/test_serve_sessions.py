"""How the server makes its ONNX Runtime sessions (serve/sessions.py) and keeps its model folder live
(serve/registry.ModelRegistry): fp16 on CUDA and fp32 on the CPU from fake provider lists, the CUDA options,
warm-up over every batch size on CUDA, preload_dlls only with the CUDA wheels, and a rescan that loads new and
changed models, drops removed ones, and keeps serving a model whose new file is garbage."""

import os
import re
import shutil

import numpy as np
import pytest

from serve import models as models_lib

from serve import registry as registry_lib
from serve import sessions

CUDA, CPU = sessions.CUDA_EP, sessions.CPU_EP
GPU_WHEEL = ['TensorrtExecutionProvider', CUDA, CPU]  # what onnxruntime-gpu lists on any host


@pytest.mark.parametrize('provider, precision, usable, has_fp16, expected', [
    ('auto', 'auto', True, True, ([CUDA, CPU], sessions.FP16_FILE)),  # a GPU host: fp16 when exported
    ('auto', 'auto', True, False, ([CUDA, CPU], sessions.FP32_FILE)),
    ('auto', 'auto', False, True, ([CPU], sessions.FP32_FILE)),  # CUDA listed, no driver: CPU and fp32
    ('cpu', 'auto', True, True, ([CPU], sessions.FP32_FILE)),
    ('cuda', 'fp32', True, True, ([CUDA, CPU], sessions.FP32_FILE)),
    ('cpu', 'fp16', False, True, ([CPU], sessions.FP16_FILE)),  # asked for: honoured
])
def test_the_plan_picks_fp16_on_cuda_and_fp32_on_the_cpu(provider, precision, usable, has_fp16, expected):
  assert sessions.plan(provider, precision, GPU_WHEEL, usable, has_fp16) == expected


@pytest.mark.parametrize('args, message', [
    (('cuda', 'auto', [CPU], True, True), 'this onnxruntime build has no CUDAExecutionProvider'),
    (('cuda', 'auto', GPU_WHEEL, False, True), 'no usable CUDA driver/GPU on this host'),
    (('auto', 'fp16', GPU_WHEEL, True, False), '--precision=fp16: no model_fp16.onnx (export with --fp16)'),
    (('gpu', 'auto', GPU_WHEEL, True, True), '--provider must be one of auto, cuda, cpu'),
    (('auto', 'int8', GPU_WHEEL, True, True), '--precision must be one of auto, fp32, fp16'),
])
def test_what_cannot_be_had_is_one_line(args, message):
  with pytest.raises(sessions.SessionError, match=re.escape(message)):
    sessions.plan(*args)


def test_cuda_options_are_chosen_on_purpose():
  assert sessions.cuda_options() == {'cudnn_conv_algo_search': 'HEURISTIC', 'arena_extend_strategy': 'kSameAsRequested',
                                     'use_tf32': '0'}
  assert sessions.cuda_options(tf32=True)['use_tf32'] == '1'


class _FakeSession:
  def __init__(self):
    self.batches = []

  def run(self, outputs, feeds):
    (z,) = feeds.values()
    self.batches.append(len(z))
    return [np.zeros((len(z), 4), np.float32)]


def test_warm_up_runs_every_batch_size_on_cuda_and_one_on_the_cpu():
  cuda, cpu = _FakeSession(), _FakeSession()
  sessions.warm_up(cuda, 'z', 8, CUDA)
  sessions.warm_up(cpu, 'z', 8, CPU)
  assert cuda.batches == list(range(1, 65)) and cpu.batches == [1]


def test_preload_dlls_only_with_the_cuda_wheels(monkeypatch):
  import importlib.util
  import onnxruntime as ort
  calls = []
  monkeypatch.setattr(ort, 'preload_dlls', lambda: calls.append(1), raising=False)
  real_find_spec = importlib.util.find_spec
  for present in (False, True):
    sessions.preload_cuda_libraries.cache_clear()
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: (object() if present else None) if name == 'nvidia' else real_find_spec(name, *a))
    assert sessions.preload_cuda_libraries() is present
  assert calls == [1]
  sessions.preload_cuda_libraries.cache_clear()


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """Two exported tiny generators (the second with model_fp16.onnx too)."""
  from export.model_folder import export_model
  from tests.conftest import make_tiny_run_dir
  root = tmp_path_factory.mktemp('exported')
  for name, seed, fp16 in (('first', 1, False), ('second', 2, True)):
    make_tiny_run_dir(root / f'run-{name}', seed=seed)
    export_model(str(root / f'run-{name}'), models_dir=str(root / 'models'), name=name, fp16=fp16,
                 log=lambda *_: None)
  return root / 'models'


@pytest.mark.slow  # an export
def test_a_cpu_session_of_a_folder_with_fp16_serves_fp32_unless_asked(exported):
  _, used, precision, file = sessions.create(str(exported / 'second'), 'cpu', 'auto')
  assert (used, precision, file) == (CPU, 'fp32', sessions.FP32_FILE)
  model = models_lib.load_model(str(exported / 'second'), 'cpu', precision='fp16')
  assert model.precision == 'fp16' and model.info()['precision'] == 'fp16'
  fp32 = models_lib.load_model(str(exported / 'second'), 'cpu')
  np.testing.assert_allclose(model.sample(3, 4).astype(int), fp32.sample(3, 4).astype(int), atol=2)


@pytest.mark.slow  # an export
def test_the_registry_follows_the_folder_and_keeps_a_model_whose_new_file_is_garbage(exported, tmp_path):
  live = tmp_path / 'models'
  shutil.copytree(exported / 'first', live / 'first')
  registry = registry_lib.ModelRegistry(str(live), 'cpu')
  assert registry.scan() == ['loaded first'] and list(registry.models) == ['first']
  assert registry.scan() == []  # nothing changed: nothing reloaded
  before = registry.models['first'].sample(5, 3)

  shutil.copytree(exported / 'second', live / 'second')  # a model added while serving
  assert registry.scan() == ['loaded second'] and list(registry.models) == ['first', 'second']

  (live / 'first' / 'model.onnx').write_bytes(os.urandom(4096))  # its file replaced by garbage
  (change,) = registry.scan()
  assert "model folder 'first' changed but its new files fail their checks" in change
  assert 'still serving the version loaded before' in change and registry.warnings == [change]
  np.testing.assert_array_equal(registry.models['first'].sample(5, 3), before)
  assert registry.scan() == [] and registry.warnings == [change]  # the same bad files: not retried, still said

  shutil.copy(exported / 'second' / 'model.onnx', live / 'first' / 'model.onnx')  # fixed: a new version loads
  assert registry.scan() == ['reloaded first'] and registry.warnings == []
  assert not np.array_equal(registry.models['first'].sample(5, 3), before)

  shutil.rmtree(live / 'second')
  assert registry.scan() == ['removed second'] and list(registry.models) == ['first']
