"""--arch=resnet (issue 23): the WGAN-GP paper's image ResNets at 32x32 (gan_cifar_resnet.py) and 64x64
(gan_64x64.py's GoodGenerator / GoodDiscriminator), trained, exported CUDA-clean with parity and rebuilt from
generator.json, under MirroredStrategy and mixed precision."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT, tiny_config
from training.architectures import ARCHITECTURES

RESNET = ARCHITECTURES['resnet']


def _conv_filters(model, suffix: str) -> list:
  return [layer.filters for layer in model.layers if layer.name.endswith(suffix)]


def test_the_cifar_resnet_at_32x32_has_the_papers_parameter_count():
  """DIM 128 as published. Generator: Dense 128 -> 4·4·128 (264,192), three up-blocks of BN (512 with its moving
  statistics), conv3x3 128->128 (147,584), BN, conv3x3 (147,584), 1x1 shortcut (16,512): 312,704 each; BN, conv3x3
  to RGB (3,459). Critic without norm: optimised block 151,680, down-block 311,680, two plain blocks 295,168
  each, Dense 129."""
  generator = RESNET.build_generator(128, 32, 3, 128)
  assert generator.count_params() == 264_192 + 3 * 312_704 + 512 + 3_459
  assert _conv_filters(generator, '_conv2') == [128, 128, 128]
  critic = RESNET.build_critic(32, 3, 128, norm='none')
  assert critic.count_params() == 151_680 + 311_680 + 2 * 295_168 + 129
  assert critic.get_layer('mean_pool').output.shape == (None, 128)  # mean over the 8x8 positions


def test_the_64x64_resnet_halves_its_channels_to_width():
  generator = RESNET.build_generator(128, 64, 3, 8)
  assert generator.get_layer('reshape').output.shape == (None, 4, 4, 64)
  assert _conv_filters(generator, '_conv2') == [64, 32, 16, 8]
  assert generator.output_shape == (None, 64, 64, 3)
  critic = RESNET.build_critic(64, 3, 8, norm='layer')
  assert _conv_filters(critic, '_conv2') == [16, 32, 64, 64]
  assert critic.get_layer('flatten').output.shape == (None, 4 * 4 * 64)
  assert sum(layer.name.endswith('_norm1') for layer in critic.layers) == 4  # layer norm in every block


def test_the_upsampling_repeats_every_pixel_2x2():
  from training.resnet_architectures import NearestUpsample2x
  x = np.random.default_rng(0).normal(size=(2, 3, 5, 4)).astype(np.float32)
  expected = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)
  np.testing.assert_array_equal(NearestUpsample2x()(x).numpy(), expected)


@pytest.mark.parametrize('image_size', [16, 28, 56, 128])
def test_other_sizes_follow_the_two_designs(image_size):
  generator = RESNET.build_generator(8, image_size, 1, 2)
  critic = RESNET.build_critic(image_size, 1, 2, norm='batch')
  assert generator.output_shape == (None, image_size, image_size, 1) and critic.output_shape == (None, 1)


@pytest.mark.slow
@pytest.mark.parametrize('image_size', [32, 64])
def test_a_resnet_run_dir_exports_cuda_clean_with_parity(tmp_path, image_size):
  """The real export path: generator.json rebuilds the ResNet, the ONNX graph upsamples with DepthToSpace (no
  Shape/Tile chains) and no node would leave the CUDA EP, ORT matches Keras at batches 1, 7 and 64."""
  import onnx
  from export import cuda_clean
  from export.model_folder import export_model
  from tests.test_export import make_run_dir
  make_run_dir(tmp_path / 'run', arch='resnet', loss='wgan_gp', image_size=image_size, channels=3)
  folder = export_model(str(tmp_path / 'run'), models_dir=str(tmp_path / 'models'), log=lambda _: None)
  with open(os.path.join(folder, 'metadata.json')) as f:
    metadata = json.load(f)
  assert metadata['arch'] == 'resnet' and metadata['cuda_fallback_nodes'] == 0
  assert metadata['parity_max_abs_diff'] <= 1e-4
  model = onnx.load(os.path.join(folder, 'model.onnx'))
  assert cuda_clean.cuda_fallback_nodes(model) == []
  ops = {node.op_type for node in model.graph.node}
  assert 'DepthToSpace' in ops and not ops & {'ConvTranspose', 'Tile', 'Shape', 'Resize'}


@pytest.mark.slow
@pytest.mark.parametrize('loss', ['wgan_gp', 'dcgan'])  # layer-norm critic with the penalty / BatchNorm critic
def test_a_resnet_trains_in_mixed_precision(tmp_path, loss):
  from training import trainer
  from tests.test_training import assert_complete_run_dir
  config = tiny_config(tmp_path / loss, arch='resnet', loss=loss, steps=2, mixed_precision=True)
  assert config.critic_norm == ('layer' if loss == 'wgan_gp' else 'batch')
  assert_complete_run_dir(trainer.train(config, log=lambda *_: None), 2)


_MIRRORED_SCRIPT = r'''
import csv, json, os, sys
from training import strategies
strategies.split_cpu(2)  # before any op
from tests.conftest import tiny_config
from training import trainer
out = {}
for strategy in ('one_device', 'mirrored'):
  run_dir = os.path.join(sys.argv[1], strategy)
  trainer.train(tiny_config(run_dir, arch='resnet', loss='wgan_gp', strategy=strategy, steps=2, batch_size=16),
                log=lambda *_: None)
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    out[strategy] = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
print('RESULT ' + json.dumps(out))
'''


@pytest.mark.slow
def test_two_mirrored_replicas_train_the_resnet_as_one_device():
  """Synchronised BatchNorm in the generator: two replicas see the global batch's statistics, so the losses match."""
  import tempfile
  env = {**os.environ, 'PYTHONPATH': str(REPO_ROOT), 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}
  with tempfile.TemporaryDirectory() as tmp:
    proc = subprocess.run([sys.executable, '-c', _MIRRORED_SCRIPT, tmp], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout.split('RESULT ', 1)[1])
  for a, b in zip(result['one_device'], result['mirrored'], strict=True):
    for key in ('d_loss', 'g_loss', 'gradient_penalty', 'wasserstein'):
      np.testing.assert_allclose(a[key], b[key], rtol=2e-3, atol=2e-4, err_msg=f'{key} at step {a["step"]}')
