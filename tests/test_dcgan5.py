"""The MathWorks DCGAN example as published (--arch=dcgan5): its layer list at 64x64x3, one training step per
loss family it serves, its score metrics against hand-computed sigmoids, and an export that the symmetric-pads +
Slice rewrite makes CUDA-clean with parity."""

import csv
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import tiny_config
from training import architectures, steps, trainer
from training.architectures import ARCHITECTURES
from training.score_plot import plot_scores

DCGAN5 = ARCHITECTURES['dcgan5']


def output_shapes(model, kinds):
  return [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers if type(layer).__name__ in kinds]


def trainable_count(model):
  return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_the_example_layer_list_at_64x64x3():
  """numFilters = 64, 100 latents: the MATLAB example's generator and discriminator, layer by layer."""
  generator = DCGAN5.build_generator(100, 64, 3, 64)
  assert output_shapes(generator, ('Dense', 'Reshape', 'Conv2DTranspose')) == [
      ('project', (8192,)), ('reshape', (4, 4, 512)), ('grow', (8, 8, 256)), ('up0', (16, 16, 128)),
      ('up1', (32, 32, 64)), ('to_image', (64, 64, 3))]
  assert [layer.kernel_size for layer in generator.layers if hasattr(layer, 'kernel_size')] == [(5, 5)] * 4
  assert [layer.strides for layer in generator.layers if hasattr(layer, 'strides')] == [(1, 1)] + [(2, 2)] * 3
  critic = DCGAN5.build_critic(64, 3, 64, 'batch', 0.5)
  assert critic.get_layer('input_dropout').rate == 0.5
  assert output_shapes(critic, ('Conv2D',)) == [('down0', (32, 32, 64)), ('down1', (16, 16, 128)),
                                                ('down2', (8, 8, 256)), ('down3', (4, 4, 512)),
                                                ('to_logit', (1, 1, 1))]
  assert critic.get_layer('to_logit').kernel_size == (4, 4) and critic.output.shape[1:] == (1,)
  assert [layer.name for layer in critic.layers if layer.name.endswith('_bn')] == ['down1_bn', 'down2_bn',
                                                                                 'down3_bn']
  # MATLAB's learnables (5 134 339 and 4 316 545) less the biases in front of a BatchNorm (256+128+64, 128+256+512),
  # which its β makes redundant.
  assert trainable_count(generator) == 5_134_339 - 448
  assert trainable_count(critic) == 4_316_545 - 896


@pytest.mark.parametrize('image_size', architectures.IMAGE_SIZES)
def test_every_image_size_builds(image_size):
  generator = DCGAN5.build_generator(8, image_size, 1, 2)
  images = generator(np.zeros((2, 8), np.float32), training=False)
  assert images.shape == (2, image_size, image_size, 1)
  for norm in ('batch', 'layer', 'none'):
    assert DCGAN5.build_critic(image_size, 1, 2, norm).predict(images, verbose=0).shape == (2, 1)


def test_scores_are_the_sigmoids_of_the_logits():
  """A fixed critic D(x) = 2·mean(x) sees real images of 0.5 and fakes of -0.5: logits +1 and -1, so
  d_score = (σ(1) + 1 - σ(-1)) / 2 = σ(1) = 0.7311 and g_score = σ(-1) = 0.2689 (Adam at learning rate 0: nothing
  moves between the critic and the generator update)."""
  import keras
  from keras import layers
  config = tiny_config('/nonexistent', loss='dcgan', batch_size=4)
  z = keras.Input((config.latent_dim,))
  x = layers.Dense(16 * 16, kernel_initializer='zeros',
                   bias_initializer=keras.initializers.Constant(np.arctanh(-0.5)))(z)
  generator = keras.Model(z, layers.Activation('tanh')(layers.Reshape((16, 16, 1))(x)))  # every pixel -0.5
  images = keras.Input((16, 16, 1))
  pooled = layers.GlobalAveragePooling2D()(images)
  critic = keras.Model(images, layers.Dense(1, kernel_initializer=keras.initializers.Constant(2.0))(pooled))
  g_optimizer, d_optimizer = keras.optimizers.Adam(0.0), keras.optimizers.Adam(0.0)
  g_optimizer.build(generator.trainable_variables)
  d_optimizer.build(critic.trainable_variables)
  strategy = tf.distribute.get_strategy()
  pipeline = tf.data.Dataset.from_tensors(tf.fill([4, 16, 16, 1], 0.5)).repeat().enumerate()
  iterator = iter(strategy.experimental_distribute_dataset(pipeline.map(steps.attach_randomness(config))))
  train_step, _ = steps.make_step_functions(config, strategy, generator, critic, g_optimizer, d_optimizer)
  metrics = {k: float(v) for k, v in train_step(iterator).items()}
  sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
  assert metrics['d_real'] == pytest.approx(1.0, abs=1e-6) and metrics['d_fake'] == pytest.approx(-1.0, abs=1e-6)
  assert metrics['d_score'] == pytest.approx(sigmoid(1.0), abs=1e-6)  # 0.7311
  assert metrics['g_score'] == pytest.approx(sigmoid(-1.0), abs=1e-6)  # 0.2689


@pytest.fixture(scope='module')
def flower_folder(tmp_path_factory):
  """A stand-in for flower_photos: 12 RGB JPEGs of odd sizes in class subfolders (no flower data here)."""
  root = tmp_path_factory.mktemp('flower_photos')
  rng = np.random.default_rng(0)
  for i in range(12):
    (root / f'class{i % 3}').mkdir(exist_ok=True)
    pixels = rng.integers(0, 256, (70 + i, 90, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / f'class{i % 3}' / f'{i}.jpg')
  return root


def read_metrics(run_dir):
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize('loss, norm', [('dcgan', 'batch'), ('wgan_gp', 'layer'), ('wgan_gp', 'none')])
def test_one_step_at_64x64x3_on_an_image_folder(tmp_path, flower_folder, loss, norm):
  dcgan_options = dict(label_flip=0.35, critic_input_dropout=0.5) if loss == 'dcgan' else {}
  config = tiny_config(tmp_path / 'run', arch='dcgan5', loss=loss, critic_norm=norm,
                       dataset=f'folder:{flower_folder}', image_size=64, width=4, batch_size=8, steps=1,
                       sample_every=1, ckpt_every=1, **dcgan_options)
  run_dir = trainer.train(config, log=lambda *_: None)
  (row,) = read_metrics(run_dir)
  assert all(np.isfinite(float(v)) for v in row.values()), row
  if loss == 'dcgan':
    assert 0 < float(row['g_score']) < 1 and 0 < float(row['d_score']) < 1
    assert plot_scores(run_dir) == os.path.join(run_dir, 'score_plot.png')
    assert Image.open(os.path.join(run_dir, 'score_plot.png')).size == (800, 450)
  else:  # other losses keep their metrics: no scores, no plot
    assert 'g_score' not in row and 'd_score' not in row
    assert plot_scores(run_dir) == '' and not os.path.exists(os.path.join(run_dir, 'score_plot.png'))


@pytest.mark.slow
def test_the_export_rewrites_the_kernel5_layers_cuda_clean_with_parity():
  """The three stride-2 kernel-5 "same" ConvTranspose nodes pad (1, 2) as tf2onnx writes them; after the rewrite no
  node would leave the CUDA EP, and ORT matches Keras at batches 1, 7 and 64."""
  import keras
  from export import cuda_clean, onnx_export as ox
  keras.utils.set_random_seed(0)
  generator = DCGAN5.build_generator(100, 64, 3, 8)
  model = ox.convert(generator, 100)
  found = cuda_clean.cuda_fallback_nodes(model)
  assert len(found) == 3 and all('asymmetric pads begin [1, 1] / end [2, 2]' in line for line in found), found
  assert ox.make_cuda_clean(model) == 3
  assert cuda_clean.cuda_fallback_nodes(model) == []
  assert sum(node.op_type == 'Slice' for node in model.graph.node) == 3
  ox.check(model)
  diffs = ox.verify_parity(generator, ox.cpu_session(model.SerializeToString()), 100, ox.PARITY_TOLERANCE,
                           'the rewritten dcgan5 generator')
  assert set(diffs) == set(ox.PARITY_BATCHES) and max(diffs.values()) <= ox.PARITY_TOLERANCE


@pytest.mark.slow
def test_a_dcgan5_run_dir_exports_through_the_model_folder(tmp_path):
  """The real export path (model_folder.export_model), float16 included, records the 3 rewritten nodes."""
  import json
  import onnx
  from export import cuda_clean
  from export.model_folder import export_model
  from tests.test_export import make_run_dir
  make_run_dir(tmp_path / 'run', arch='dcgan5', loss='dcgan', image_size=64, channels=3)
  folder = export_model(str(tmp_path / 'run'), models_dir=str(tmp_path / 'models'), fp16=True, log=lambda _: None)
  with open(os.path.join(folder, 'metadata.json')) as f:
    metadata = json.load(f)
  assert metadata['arch'] == 'dcgan5' and metadata['conv_transposes_rewritten'] == 3
  assert metadata['cuda_fallback_nodes'] == 0 and metadata['parity_max_abs_diff'] <= 1e-4
  for name in ('model.onnx', metadata['fp16_file']):
    assert cuda_clean.cuda_fallback_nodes(onnx.load(os.path.join(folder, name))) == [], name
