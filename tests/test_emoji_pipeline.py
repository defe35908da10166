"""A colour folder through every stage: a generator trained on real 64×64 RGBA/palette emoji (a subset of
../shared/data/emoji, three class folders) exports CUDA-clean with parity, carries the data's classes into its
metadata, and the app serves it. Until now 64×64×3 exports were tested on random weights only."""

import json
import os
import shutil

import numpy as np
import pytest

from tests.conftest import SHARED_DATA, tiny_config

EMOJI = SHARED_DATA / 'emoji'
CLASSES = ('activities', 'animals_nature', 'food_drink')
PER_CLASS = 24  # both styles of 12 emoji per class: enough for a few batches


@pytest.fixture(scope='module')
def emoji_subset(tmp_path_factory):
  if not EMOJI.is_dir():
    pytest.skip(f'no emoji folder at {EMOJI}: put the shared data there or set GAN_SHARED_DATA (tests never '
                f'download)')
  root = tmp_path_factory.mktemp('emoji')
  for label in CLASSES:
    (root / label).mkdir()
    for name in sorted(os.listdir(EMOJI / label))[:PER_CLASS]:
      shutil.copy(EMOJI / label / name, root / label / name)
  return root


@pytest.mark.slow
def test_trained_emoji_generator_exports_cuda_clean_and_serves(emoji_subset, tmp_path):
  from common.latents import latents
  from export.model_folder import export_model
  from serve import models
  from training import generator_io, trainer
  config = tiny_config(tmp_path / 'run', dataset=f'folder:{emoji_subset}', image_size=64, latent_dim=16, width=8,
                       batch_size=8, steps=4, flip=True)
  run_dir = trainer.train(config, log=lambda line: None)
  generator, run_metadata = generator_io.load(run_dir)
  assert run_metadata['data_classes'] == list(CLASSES) and run_metadata['channels'] == 3
  assert 'label_classes' not in run_metadata  # the data's classes are not a generator input

  folder = export_model(run_dir, models_dir=str(tmp_path / 'models'), name='emoji', formats=('onnx',),
                        log=lambda line: None)  # raises unless CUDA-clean and within parity tolerance
  metadata = json.loads(open(os.path.join(folder, 'metadata.json')).read())
  assert metadata['cuda_fallback_nodes'] == 0 and metadata['parity_max_abs_diff'] < 1e-4
  assert (metadata['image_height'], metadata['channels'], metadata['data_classes']) == (64, 3, list(CLASSES))

  model = models.load_model(folder, provider='cpu')
  images = model.sample(7, 3)  # (3, 64, 64, 3) uint8
  expected = generator(latents(7, 3, 16), training=False).numpy()  # (3, 64, 64, 3) in [-1, 1]
  assert images.shape == (3, 64, 64, 3)
  assert np.abs(images.astype(np.float32) - np.rint((expected + 1) * 127.5).clip(0, 255)).max() <= 1
  assert all(name in model.info().get('data_classes', []) for name in CLASSES)
