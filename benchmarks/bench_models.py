"""Untrained generators exported like a trained one, for the latency benchmarks (latency does not depend on the
weights). One source for the shapes the benchmarks time, so the CPU and GPU tables speak of the same models.

  digits   the demo preset (training/presets/digits.flags): 16x16x1, latent 64, width 16
  dcgan64  DCGAN 64x64 RGB, latent 128, width 64 (0.085 GFLOP per image): the shape the serving targets name
"""

import os
import types

MODELS = {  # name: (latent_dim, image_size, channels, width)
    'digits': (64, 16, 1, 16),
    'dcgan64': (128, 64, 3, 64),
}


def save_untrained_run(run_dir: str, latent_dim: int, image_size: int, channels: int, width: int,
                       loss: str = 'wgan_gp', dataset: str = 'digits', step: int = 0, seed: int = 0):
  """An untrained DCGAN generator (weights from `seed`) saved as training saves one, in run_dir/generator/;
  returns the Keras model. Also the tests' tiny run dirs (tests/conftest.py)."""
  import keras
  from training import generator_io
  from training.architectures import ARCHITECTURES
  keras.utils.set_random_seed(seed)
  generator = ARCHITECTURES['dcgan'].build_generator(latent_dim, image_size, channels, width)
  config = types.SimpleNamespace(arch='dcgan', latent_dim=latent_dim, image_size=image_size, channels=channels,
                                 width=width, loss=loss, dataset=dataset)
  generator_io.save(generator, generator_io.generator_metadata(config, step), str(run_dir))
  return generator


def export_untrained(work: str, name: str, formats=('onnx', 'savedmodel'), fp16: bool = False) -> str:
  """Saves MODELS[name] untrained (seed 0) as a run dir under work/runs and exports it to work/models/<name>/
  through the same export as a trained run (every check, parity included). Returns the model folder."""
  from export.model_folder import export_model
  run_dir = os.path.join(work, 'runs', name)
  save_untrained_run(run_dir, *MODELS[name], dataset=name)
  return export_model(run_dir, models_dir=os.path.join(work, 'models'), name=name, formats=formats, fp16=fp16,
                      overwrite=True, log=lambda line: None)
