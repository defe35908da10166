"""benchmarks.gpu_models (export here, carry to a GPU host) and the parts of benchmarks.gpu_latency that run on
any host: which files a --model entry names, and the run()/io-binding timing loop (on the CPU EP here)."""

import os

import pytest

from tests.test_export_cli import assert_one_line_error, contents, run_module


@pytest.fixture(scope='module')
def gpu_models(tmp_path_factory):
  out = tmp_path_factory.mktemp('gpu') / 'gpu_models'
  proc = run_module('benchmarks.gpu_models', f'--out={out}', '--models=digits')
  assert proc.returncode == 0, proc.stderr[-3000:]
  return out


@pytest.mark.slow
def test_gpu_models_writes_fp32_and_fp16_folders(gpu_models):
  import json
  assert sorted(os.listdir(gpu_models)) == ['digits']  # no work folder left behind
  folder = gpu_models / 'digits'
  assert {'model.onnx', 'model_fp16.onnx', 'metadata.json'} <= set(os.listdir(folder))
  metadata = json.loads((folder / 'metadata.json').read_text())
  assert (metadata['latent_dim'], metadata['image_height'], metadata['width']) == (64, 16, 16)
  assert metadata['cuda_fallback_nodes'] == 0 and metadata['fp16_parity_max_abs_diff'] < metadata['fp16_tolerance']


@pytest.mark.slow
def test_gpu_models_refuses_existing_folders_and_unknown_models(gpu_models):
  before = contents(gpu_models)
  assert_one_line_error(run_module('benchmarks.gpu_models', f'--out={gpu_models}', '--models=digits'), 2,
                        'already exist', '--overwrite')
  assert_one_line_error(run_module('benchmarks.gpu_models', f'--out={gpu_models}', '--models=digits,cifar'), 2,
                        'cifar')
  assert_one_line_error(run_module('benchmarks.gpu_models'), 2, '--out')
  assert contents(gpu_models) == before


@pytest.mark.slow
def test_model_files_expands_folders_to_fp32_and_fp16(gpu_models, tmp_path):
  from benchmarks import gpu_latency
  from common.cli import UsageError
  folder = gpu_models / 'digits'
  assert gpu_latency.model_files([str(folder)]) == [('digits', 'fp32', str(folder / 'model.onnx')),
                                                     ('digits', 'fp16', str(folder / 'model_fp16.onnx'))]
  assert gpu_latency.model_files([str(folder / 'model_fp16.onnx')]) == [
      ('digits', 'fp16', str(folder / 'model_fp16.onnx'))]
  with pytest.raises(UsageError, match='no model file'):
    gpu_latency.model_files([str(tmp_path)])
  with pytest.raises(UsageError, match='names digits fp32 more than once'):  # rows are matched by name
    gpu_latency.model_files([str(folder), str(folder / 'model.onnx')])


@pytest.mark.slow
@pytest.mark.parametrize('file', ['model.onnx', 'model_fp16.onnx'])
def test_latencies_time_run_and_io_binding(gpu_models, file):
  import onnxruntime as ort
  from benchmarks import gpu_latency
  session = ort.InferenceSession(str(gpu_models / 'digits' / file), providers=['CPUExecutionProvider'])
  rows = gpu_latency.latencies(session, [1, 3], iters=2, device='cpu')
  assert [row[0] for row in rows] == [1, 3]
  assert all(plain > 0 and bound > 0 for _, plain, bound in rows), rows


@pytest.mark.slow
def test_gpu_latency_on_a_folder_needs_a_cuda_session(gpu_models):
  # run_module hides any GPU (CUDA_VISIBLE_DEVICES=''), so the session cannot be on the CUDA EP on any host
  proc = run_module('benchmarks.gpu_latency', f'--model={gpu_models / "digits"}', '--batches=1', '--iters=1')
  assert_one_line_error(proc, 2, 'not CUDAExecutionProvider')
  assert_one_line_error(run_module('benchmarks.gpu_latency', f'--model={gpu_models / "nothing"}'), 2,
                        'no model file')


@pytest.mark.slow
def test_placement_reads_ort_s_own_log_of_a_real_session(gpu_models):
  """The parser against what ORT 1.31 really logs (here one EP takes the graph: "All nodes placed on ...")."""
  import onnxruntime as ort
  from benchmarks import gpu_latency
  options = ort.SessionOptions()
  options.log_severity_level = 0
  with gpu_latency._CapturedStderr() as captured:
    ort.InferenceSession(str(gpu_models / 'digits' / 'model.onnx'), options, providers=['CPUExecutionProvider'])
  placed = gpu_latency.placement(captured.text)
  assert list(placed['providers']) == ['CPUExecutionProvider'] and placed['cpu_nodes'] > 5, placed
  assert placed['memcpy_nodes'] == 0 and placed['dropped'] == []


def test_placement_of_a_graph_split_between_cuda_and_cpu():
  """A split graph as session_state.cc logs it (per EP a count line, then one "OpType (name)" line per node), with
  the Memcpy and asymmetric-pads warnings ORT prints for a ConvTranspose the CUDA EP cannot run."""
  from benchmarks import gpu_latency
  prefix = '2026-11-24 10:00:00.0 [V:onnxruntime:, session_state.cc:1581 VerifyEachNodeIsAssignedToAnEp]'
  log = '\n'.join([
      '2026-11-24 10:00:00.0 [W:onnxruntime:, conv_transpose.cc:60 GetCapability] Dropping the ConvTranspose '
      'node: up1 to CPU because it requires asymmetric padding which the CUDA EP currently does not support',
      '2026-11-24 10:00:00.0 [W:onnxruntime:, transformer_memcpy.cc:74 ApplyImpl] 2 Memcpy nodes are added to '
      'the graph main_graph for CUDAExecutionProvider. It might have negative impact on performance.',
      f'{prefix} Node placements',
      f'{prefix}  Node(s) placed on [CUDAExecutionProvider]. Number of nodes: 3',
      f'{prefix}   Gemm (dense)', f'{prefix}   MemcpyToHost (Memcpy)', f'{prefix}   MemcpyFromHost (Memcpy_1)',
      f'{prefix}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 1',
      f'{prefix}   ConvTranspose (up1)',
  ])
  placed = gpu_latency.placement(log)
  assert placed['providers'] == {'CUDAExecutionProvider': 3, 'CPUExecutionProvider': 1}
  assert placed['nodes']['CPUExecutionProvider'] == ['ConvTranspose (up1)'] and placed['cpu_nodes'] == 1
  assert placed['memcpy_nodes'] == 2 and placed['dropped'] == ['ConvTranspose up1']
  assert gpu_latency.placement('')['providers'] == {}  # nothing logged: main() calls that not proven clean
