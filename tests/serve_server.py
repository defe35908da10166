"""The real server for tests: `python -m serve.app` in a subprocess on a free port, the models dir it serves, and
small helpers. Used by test_serve_api.py (the endpoints), test_serve_process.py (start-up, login, load),
test_browser.py, test_seed_parity.py and the app cases of the bad-input catalogue.

The models dir holds two exported tiny generators (grayscale and RGB, written by export.model_folder.export_model
from conftest's tiny run dirs), a tiny text generator and two malformed folders that must be skipped with a
warning; conftest's session fixture `serve_models_dir` builds it once. A class-conditional generator (COND, trained
for real: an untrained one draws every class alike) is built apart, once per session (`serve_conditional_model`),
and copied into the models dirs of the tests that serve it (test_serve_conditional.py, test_browser.py).
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
from PIL import Image

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
GRAY, RGB, TEXT = 'tiny-gray', 'tiny-rgb', 'tiny-text'
COND = 'tiny-labels'  # class-conditional (projection), digits, 10 classes '0'..'9'; sorts after GRAY
# 6 steps at a generator learning rate high enough that the class embeddings (initialised alike for every class)
# move apart: at the default rate two classes' images differed by at most one grey level.
COND_TRAIN_ARGS = ('--dataset=digits', '--image_size=16', '--width=8', '--steps=6', '--batch_size=32',
                   '--conditioning=projection', '--g_learning_rate=0.02', '--sample_every=3', '--ckpt_every=3')
READY_LINE = 'GAN sampler ready:'
_SERVER_ENV = {'CUDA_VISIBLE_DEVICES': '', 'TF_CPP_MIN_LOG_LEVEL': '2', 'PYTHONUNBUFFERED': '1',
               'GRADIO_ANALYTICS_ENABLED': 'False'}


def build_models_dir(root: pathlib.Path) -> pathlib.Path:
  """root/models with tiny-gray (16x16x1, latent 8), tiny-rgb (16x16x3), tiny-text (12 characters) and two
  malformed folders."""
  from export.model_folder import export_model
  from tests.conftest import make_tiny_run_dir, make_tiny_text_run_dir
  models_dir = root / 'models'
  for name, channels in ((GRAY, 1), (RGB, 3)):
    make_tiny_run_dir(root / f'run-{name}', channels=channels, seed=channels)
    export_model(str(root / f'run-{name}'), models_dir=str(models_dir), name=name, log=lambda *_: None)
  make_tiny_text_run_dir(root / f'run-{TEXT}', root / 'play.txt')
  export_model(str(root / f'run-{TEXT}'), models_dir=str(models_dir), name=TEXT, log=lambda *_: None)
  broken = models_dir / 'broken-onnx'  # not a protobuf at all
  broken.mkdir()
  (broken / 'model.onnx').write_bytes(b'this is not an onnx model')
  shutil.copy(models_dir / GRAY / 'metadata.json', broken / 'metadata.json')
  mismatch = models_dir / 'wrong-latent-dim'  # a valid graph whose metadata disagrees with its input shape
  mismatch.mkdir()
  shutil.copy(models_dir / GRAY / 'model.onnx', mismatch / 'model.onnx')
  metadata = json.loads((models_dir / GRAY / 'metadata.json').read_text())
  (mismatch / 'metadata.json').write_text(json.dumps({**metadata, 'latent_dim': 9}))
  return models_dir


def build_conditional_model(root: pathlib.Path) -> pathlib.Path:
  """root/models/tiny-labels: a class-conditional generator trained 6 steps and exported by the real commands
  (`python -m training.main ... --conditioning=projection`, `python -m export.to_onnx`), ~15 s on 2 cores."""
  from tests import warm
  env = {**os.environ, **_SERVER_ENV}
  for argv in (['training.main', *COND_TRAIN_ARGS, f'--run_dir={root / "run"}'],
               ['export.to_onnx', f'--run_dir={root / "run"}', f'--models_dir={root / "models"}', f'--name={COND}']):
    result = warm.run(*argv, env=env)
    if result.returncode:
      raise RuntimeError(f'{argv[0]} failed (exit {result.returncode}):\n{result.stderr[-3000:]}')
  return root / 'models' / COND


def tiny_conditional_onnx(num_classes: int = 10, latent_dim: int = 8, label_type: str = 'float') -> bytes:
  """A valid ONNX conditional generator built with onnx.helper: z (B, latent_dim) and labels (B, num_classes) of
  `label_type` ('float' or 'int64') -> tanh([z, labels] W) reshaped to (B, 16, 16, 1). What a folder whose graph
  disagrees with its metadata's label_classes is made of, in no time."""
  import onnx
  from onnx import TensorProto, helper, numpy_helper
  size = 16 * 16
  weights = numpy_helper.from_array(np.linspace(-1, 1, (latent_dim + num_classes) * size, dtype=np.float32).reshape(
      latent_dim + num_classes, size), 'w')
  shape = numpy_helper.from_array(np.array([-1, 16, 16, 1], np.int64), 'shape')
  elem = {'float': TensorProto.FLOAT, 'int64': TensorProto.INT64}[label_type]
  graph = helper.make_graph(
      [helper.make_node('Cast', ['labels'], ['weights'], to=TensorProto.FLOAT),
       helper.make_node('Concat', ['z', 'weights'], ['zy'], axis=1), helper.make_node('MatMul', ['zy', 'w'], ['h']),
       helper.make_node('Tanh', ['h'], ['flat']), helper.make_node('Reshape', ['flat', 'shape'], ['images'])],
      'tiny_conditional',
      [helper.make_tensor_value_info('z', TensorProto.FLOAT, ['batch', latent_dim]),
       helper.make_tensor_value_info('labels', elem, ['batch', num_classes])],
      [helper.make_tensor_value_info('images', TensorProto.FLOAT, ['batch', 16, 16, 1])], [weights, shape])
  model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)], ir_version=8)
  onnx.checker.check_model(model)
  return model.SerializeToString()


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


class Server:
  """`python -m serve.app` in a subprocess; `url` once it printed its ready line."""

  def __init__(self, log_path: pathlib.Path, *flags, env=None):
    self.port = free_port()
    self.log_path = log_path
    self._log = open(log_path, 'w')
    self.proc = subprocess.Popen([sys.executable, '-m', 'serve.app', f'--port={self.port}', *flags], cwd=REPO_ROOT,
                                 env={**os.environ, **_SERVER_ENV, **(env or {})}, stdout=self._log,
                                 stderr=subprocess.STDOUT)
    self.url = f'http://127.0.0.1:{self.port}/'

  def log(self) -> str:
    return self.log_path.read_text()

  def wait_ready(self, timeout_s: float = 90) -> 'Server':
    deadline = time.monotonic() + timeout_s
    while READY_LINE not in self.log():
      if self.proc.poll() is not None:
        raise RuntimeError(f'serve.app exited with {self.proc.returncode}:\n{self.log()}')
      if time.monotonic() > deadline:
        raise RuntimeError(f'serve.app not ready after {timeout_s} s:\n{self.log()}')
      time.sleep(0.2)
    return self

  def stop(self) -> None:
    if self.proc.poll() is None:
      self.proc.terminate()
      try:
        self.proc.wait(10)
      except subprocess.TimeoutExpired:
        self.proc.kill()
        self.proc.wait()
    self._log.close()


def run_app(*flags, env=None, timeout=60) -> subprocess.CompletedProcess:
  """Runs `python -m serve.app` to completion (for start-up failures; in a warm interpreter, tests/warm.py)."""
  from tests import warm
  return warm.run('serve.app', *flags, timeout=timeout, env={**os.environ, **_SERVER_ENV, **(env or {})})


def read_image(path) -> np.ndarray:
  with Image.open(path) as image:
    assert image.format == 'PNG', f'{path} is {image.format}, not a lossless PNG'
    return np.asarray(image)


def sample(client, model=GRAY, seed=0, count=4, scale=1.0):
  gallery, grid_path, timing = client.predict(model, seed, count, scale, api_name='/sample')
  return np.stack([read_image(item['image']) for item in gallery]), grid_path, timing
