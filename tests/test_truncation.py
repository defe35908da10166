"""The truncation trick (Brock et al. 2019) in every stage that draws latents: export's sample.png with
--sample_truncation, the SavedModel's `sample_truncated` signature and the app give the same images for the same
seed and threshold (common.latents.truncated_latents in NumPy, tf_truncated_latents inside the SavedModel)."""

import json
import types
import pathlib

import numpy as np
import pytest
from PIL import Image

from common import images
from common.artifacts import SAMPLE_SEED

pytestmark = pytest.mark.slow  # a real export of both formats


def test_sample_png_savedmodel_and_app_agree_at_a_threshold(tiny_run_dir, tmp_path):
  import tensorflow as tf
  from export.model_folder import export_model
  from serve import handlers as handlers_lib, models
  folder = pathlib.Path(export_model(str(tiny_run_dir), models_dir=str(tmp_path / 'models'), name='cut',
                                     formats=('onnx', 'savedmodel'), sample_truncation=0.5, log=lambda _: None))
  metadata = json.loads((folder / 'metadata.json').read_text())
  assert metadata['sample_truncation'] == 0.5
  assert metadata['savedmodel_signatures'] == ['serving_default', 'sample', 'sample_truncated']

  model = models.load_model(str(folder), provider='cpu')
  app_images = model.sample(SAMPLE_SEED, 64, 1.0, 0.5)  # (64, H, W) uint8, what /sample_truncated returns
  picture = images.grid(app_images, cols=8, fill=images.TRAINING_BACKGROUND, frame=True)
  np.testing.assert_array_equal(picture, np.asarray(Image.open(folder / 'sample.png')))  # export's sample.png

  loaded = tf.saved_model.load(str(folder / 'saved_model' / '1'))
  served = loaded.signatures['sample_truncated'](seed=tf.constant(SAMPLE_SEED, tf.int64),
                                                 num=tf.constant(64, tf.int32),
                                                 threshold=tf.constant(0.5))['images'].numpy()
  difference = np.abs(images.to_uint8(served, squeeze_gray=True).astype(int) - app_images.astype(int))
  assert difference.max() <= 1  # ONNX Runtime and TensorFlow round a few pixels apart at most
  assert not np.array_equal(app_images, model.sample(SAMPLE_SEED, 64))  # truncation changed the images

  registry = types.SimpleNamespace(models={'cut': model}, warnings=[])  # the app's registry, one model loaded
  (tmp_path / 'outputs').mkdir()
  handlers = handlers_lib.Handlers(registry, str(tmp_path / 'outputs'))
  gallery, grid_path, _ = handlers.sample_truncated('cut', SAMPLE_SEED, 4, 1.0, 0.5)
  np.testing.assert_array_equal(np.asarray(Image.open(gallery[0][0])), app_images[0])


def test_an_export_without_truncation_keeps_its_metadata_keys(tiny_run_dir, tmp_path):
  """A plain export has no sample_truncation key; adding a format to a truncated export's folder without the
  flag makes sample.png plain again and drops the key (the folder's metadata describes its sample.png)."""
  from export.model_folder import export_model
  models_dir = str(tmp_path / 'models')
  folder = pathlib.Path(export_model(str(tiny_run_dir), models_dir=models_dir, name='plain', log=lambda _: None))
  assert 'sample_truncation' not in json.loads((folder / 'metadata.json').read_text())
  plain_png = np.asarray(Image.open(folder / 'sample.png'))
  cut = pathlib.Path(export_model(str(tiny_run_dir), models_dir=models_dir, name='cut', sample_truncation=0.5,
                                  log=lambda _: None))
  assert not np.array_equal(np.asarray(Image.open(cut / 'sample.png')), plain_png)
  export_model(str(tiny_run_dir), models_dir=models_dir, name='cut', formats=('savedmodel',), log=lambda _: None)
  assert 'sample_truncation' not in json.loads((cut / 'metadata.json').read_text())
  np.testing.assert_array_equal(np.asarray(Image.open(cut / 'sample.png')), plain_png)
