"""One seed, the same images in every runtime (issue 9): the app (serve.models and the real Gradio `/sample`
endpoint), the SavedModel `sample(seed, num)` signature, ONNX Runtime fed `common.latents.latents`, and
export's sample.png all turn (seed, row i) into the same picture.

Every path ends in the same rule, uint8 = round((x + 1) * 127.5) clipped (common.images.to_uint8). TF and
ORT run different float32 kernels (they agree to ~1e-7, export's parity check), so a pixel whose value sits
on a rounding boundary may land one grey level apart: GREY_TOLERANCE. One tiny untrained generator
(16x16x1, latent 8) exported once to both formats keeps the module at a few seconds plus one server start.
"""

import pathlib

import numpy as np
import pytest

from common import latents
from common.images import to_uint8
from tests.conftest import make_tiny_run_dir

pytestmark = pytest.mark.slow  # an export and a real server

SEED, COUNT, MORE = 12345, 5, 9  # MORE > COUNT: rows 0..COUNT-1 must not change with the count
LATENT_DIM = 8
GREY_TOLERANCE = 1  # grey levels between runtimes (see the module docstring)
NAME = 'parity'


@pytest.fixture(scope='module')
def folder(tmp_path_factory) -> pathlib.Path:
  """models/parity/ with model.onnx, saved_model/1/, metadata.json and sample.png of one tiny run."""
  from export.model_folder import export_model
  root = tmp_path_factory.mktemp('seed-parity')
  make_tiny_run_dir(root / 'run', latent_dim=LATENT_DIM, image_size=16, channels=1, seed=5)
  return pathlib.Path(export_model(str(root / 'run'), models_dir=str(root / 'models'), name=NAME,
                                   formats=('onnx', 'savedmodel'), log=lambda *_: None))


@pytest.fixture(scope='module')
def runtimes(folder):
  """{runtime name: function (seed, count) -> uint8 images (count, 16, 16)}, one per way to sample a seed."""
  import onnxruntime as ort
  import tensorflow as tf
  from serve import models as models_lib
  app_model = models_lib.load_model(str(folder), 'cpu')
  sample_signature = tf.saved_model.load(str(folder / 'saved_model' / '1')).signatures['sample']
  session = ort.InferenceSession(str(folder / 'model.onnx'), providers=['CPUExecutionProvider'])

  def savedmodel(seed, count):  # TF ops draw z inside the graph
    out = sample_signature(seed=tf.constant(seed, tf.int64), num=tf.constant(count, tf.int32))['images']
    return to_uint8(out.numpy(), squeeze_gray=True)  # as the app converts

  def onnx(seed, count):  # z from the NumPy twin, fed to the graph by the caller
    return to_uint8(session.run(['images'], {'z': latents.latents(seed, count, LATENT_DIM)})[0], squeeze_gray=True)

  return {'app': app_model.sample, 'savedmodel': savedmodel, 'onnx': onnx}


def grey_diff(a: np.ndarray, b: np.ndarray) -> int:
  assert a.shape == b.shape and a.dtype == b.dtype == np.uint8, (a.shape, a.dtype, b.shape, b.dtype)
  return int(np.max(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def test_app_savedmodel_and_onnx_give_the_same_images(runtimes):
  images = {name: {count: run(SEED, count) for count in (COUNT, MORE)} for name, run in runtimes.items()}
  for name, by_count in images.items():
    assert by_count[COUNT].shape == (COUNT, 16, 16) and by_count[MORE].shape == (MORE, 16, 16), name
    np.testing.assert_array_equal(by_count[MORE][:COUNT], by_count[COUNT], err_msg=name)  # row i: (seed, i) only
  reference = images['app'][MORE]
  assert np.ptp(reference) > 8, 'the tiny generator draws flat images: parity would prove nothing'
  assert grey_diff(reference, runtimes['app'](SEED + 1, MORE)) > GREY_TOLERANCE  # another seed, other images
  diffs = {name: grey_diff(by_count[MORE], reference) for name, by_count in images.items()}
  print(f'max grey-level difference vs the app, seed {SEED}, {MORE} images: {diffs}')
  assert max(diffs.values()) <= GREY_TOLERANCE, diffs
  assert diffs['onnx'] == 0  # the app is ORT on the same latents: no second runtime, so bit-equal


def test_gradio_sample_endpoint_matches_the_savedmodel(folder, runtimes, tmp_path):
  # the real server, as a user reaches it: gradio_client -> /sample -> gallery PNGs read back
  from gradio_client import Client
  from tests.serve_server import Server, sample
  server = Server(tmp_path / 'server.log', f'--models_dir={folder.parent}', '--provider=cpu').wait_ready()
  try:
    served, _, _ = sample(Client(server.url, verbose=False), model=NAME, seed=SEED, count=COUNT)
  finally:
    server.stop()
  np.testing.assert_array_equal(served, runtimes['app'](SEED, COUNT))  # PNG is lossless
  diff = grey_diff(served, runtimes['savedmodel'](SEED, COUNT))
  print(f'max grey-level difference, Gradio /sample vs SavedModel sample: {diff}')
  assert diff <= GREY_TOLERANCE


def test_sample_png_is_the_grid_of_its_seeds_first_images(folder, runtimes):
  from PIL import Image
  from export.model_folder import SAMPLE_GRID, SAMPLE_SEED
  from common.images import TRAINING_BACKGROUND, grid  # what export lays sample.png out with
  with Image.open(folder / 'sample.png') as image:
    png = np.asarray(image)  # (H', W') grayscale
  count = SAMPLE_GRID ** 2
  for name in ('onnx', 'savedmodel'):
    expected = grid(runtimes[name](SAMPLE_SEED, count)[..., None], cols=SAMPLE_GRID, fill=TRAINING_BACKGROUND,
                    frame=True)[..., 0]  # (H', W')
    assert png.shape == expected.shape, name
    assert grey_diff(png, expected) <= (0 if name == 'onnx' else GREY_TOLERANCE), name
