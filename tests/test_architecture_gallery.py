"""The WGAN-GP paper's Figure 2 (benchmarks/architecture_gallery.py): its seven architectures resolve with each
of the four losses to what the paper describes, the variants' new layers (gated units, a constant filter count, an
MLP image generator) build and export CUDA-clean with parity, and a tiny gallery trains, scores, draws and
resumes."""

import csv

import numpy as np
import pytest

from benchmarks import architecture_gallery as gallery
from tests import warm
from training.architectures import ARCHITECTURES

SETTINGS = dict(dataset='fashion_mnist', image_size=32, steps=10, width=8, batch_size=16, seed=0, data_dir=None,
                manual_dir=None, judges_dir=None)


def _config(row, loss):
  return gallery.cell_config(row, loss, SETTINGS, '/nonexistent/run')


@pytest.mark.parametrize('loss', gallery.LOSSES)
def test_every_row_resolves_with_every_loss_as_the_paper_describes(loss):
  configs = {row: _config(row, loss) for row in gallery.ROW_NAMES}
  family_norm = {'dcgan': 'batch', 'lsgan': 'batch', 'wgan': 'batch', 'wgan_gp': 'layer'}[loss]
  base = configs['baseline']
  assert (base.arch, base.nonlinearity, base.generator_norm, base.critic_norm) == (
      'dcgan_family', 'dcgan', 'batch', family_norm)
  assert (configs['crippled'].generator_norm, configs['crippled'].generator_filters) == ('none', 'constant')
  assert configs['crippled'].critic_norm == family_norm  # the baseline's critic
  assert configs['mlp'].arch == 'mlp_image' and configs['mlp'].critic_norm == family_norm
  assert (configs['no_norm'].generator_norm, configs['no_norm'].critic_norm) == ('none', 'none')
  assert configs['gated'].nonlinearity == 'gated' and configs['tanh'].nonlinearity == 'tanh'
  assert configs['resnet'].arch == 'resnet'
  for config in configs.values():  # one budget, the loss family's optimisation, no EMA: only the row differs
    assert (config.steps, config.loss, config.ema_decay, config.width) == (10, loss, 0.0, 8)
    assert config.n_critic == base.n_critic and config.g_learning_rate == base.g_learning_rate


def test_the_gated_unit_is_sigmoid_times_tanh_of_the_two_channel_halves():
  from training.architectures import GatedUnit
  x = np.random.default_rng(0).normal(size=(2, 3, 3, 8)).astype(np.float32)
  expected = 1 / (1 + np.exp(-x[..., :4])) * np.tanh(x[..., 4:])
  np.testing.assert_allclose(np.asarray(GatedUnit()(x)), expected, rtol=1e-5, atol=1e-6)


def test_the_variants_layers():
  family = ARCHITECTURES['dcgan_family']
  constant = family.build_generator(8, 32, 3, 6, generator_norm='none', generator_filters='constant')
  convs = [layer for layer in constant.layers if type(layer).__name__ == 'Conv2DTranspose']
  assert [layer.filters for layer in convs] == [6, 6, 3]  # width everywhere, then the image's channels
  assert constant.get_layer('project').units == 4 * 4 * 6 and not any('bn' in layer.name for layer in constant.layers)
  gated = family.build_generator(8, 32, 3, 6, nonlinearity='gated')
  assert [layer.filters for layer in gated.layers if type(layer).__name__ == 'Conv2DTranspose'] == [2 * 24, 2 * 12, 3]
  critic = family.build_critic(32, 3, 6, 'batch', nonlinearity='dcgan')
  assert {type(layer).__name__ for layer in critic.layers} >= {'LeakyReLU'}
  assert 'ReLU' not in {type(layer).__name__ for layer in critic.layers}
  mlp = ARCHITECTURES['mlp_image'].build_generator(8, 32, 3, 64)
  assert [layer.units for layer in mlp.layers if type(layer).__name__ == 'Dense'] == [512] * 4 + [32 * 32 * 3]
  assert mlp.output_shape == (None, 32, 32, 3)


def test_gated_and_constant_generators_export_cuda_clean_with_parity():
  import onnxruntime as ort
  from export import cuda_clean, onnx_export as ox
  generator = ARCHITECTURES['dcgan_family'].build_generator(8, 32, 3, 4, nonlinearity='gated',
                                                            generator_filters='constant')
  model = ox.convert(generator, 8)
  ox.make_cuda_clean(model)
  assert cuda_clean.cuda_fallback_nodes(model) == []
  z = np.random.default_rng(1).normal(size=(5, 8)).astype(np.float32)
  session = ort.InferenceSession(model.SerializeToString(), providers=['CPUExecutionProvider'])
  got = session.run(None, {session.get_inputs()[0].name: z})[0]
  np.testing.assert_allclose(got, generator(z, training=False).numpy(), atol=1e-4)


def _run(args, out):
  return warm.run('benchmarks.architecture_gallery', f'--out={out}', *args, timeout=900)


@pytest.mark.slow  # four tiny training runs, judged, on Fashion-MNIST
def test_a_tiny_gallery_trains_scores_draws_and_resumes(tmp_path, shared_data, tfds_data_dir):
  out = tmp_path / 'gallery'
  args = ['--steps=2', '--width=4', '--batch_size=8', '--num_samples=200', '--rows=baseline,mlp',
          '--losses=dcgan,wgan_gp', f'--data_dir={tfds_data_dir}', f'--manual_dir={shared_data / "fashion_mnist"}']
  proc = _run(args, out)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(out / 'gallery.csv') as f:
    rows = list(csv.DictReader(f))
  assert [(r['row'], r['loss']) for r in rows] == [('baseline', 'dcgan'), ('baseline', 'wgan_gp'), ('mlp', 'dcgan'),
                                                   ('mlp', 'wgan_gp')]
  for r in rows:
    assert r['status'] == 'ok' and float(r['fcd']) > float(r['floor_fcd']) > 0 and r['num_classes'] == '10'
  table = (out / 'gallery.md').read_text()
  assert '| DCGAN baseline |' in table and '| G: 4-layer ReLU MLP |' in table and '/10' in table
  from PIL import Image
  assert Image.open(out / 'gallery.png').size[0] > 200
  # The same command again: every cell is kept, none trains again, and the table and picture are rewritten.
  (out / 'gallery.png').unlink()
  again = _run(args, out)
  assert again.returncode == 0, again.stderr[-3000:]
  assert '0 cells to go (4 in' in again.stdout and (out / 'gallery.png').is_file()
  with open(out / 'gallery.csv') as f:
    assert list(csv.DictReader(f)) == rows
