"""training/ema.py: the generator EMA's update rule (hand-computed), its warm-up, and BatchNorm re-estimation."""

import os

import numpy as np
import pytest

from training import ema


def test_decay_warms_up_then_holds():
  # d_t = min(decay, (1 + t) / (10 + t)): 0.1 at t = 0, 0.5 at t = 8, capped at the decay from t = 8,991 on.
  assert float(ema.decay_at(0.999, 0)) == pytest.approx(0.1)
  assert float(ema.decay_at(0.999, 8)) == pytest.approx(0.5)
  assert float(ema.decay_at(0.999, 10_000)) == pytest.approx(0.999)
  assert float(ema.decay_at(0.9, 200)) == pytest.approx(0.9)


def test_update_rule_on_a_toy_model_matches_the_hand_computed_value():
  import tensorflow as tf
  average, value = tf.Variable([1.0, -2.0]), tf.Variable([3.0, 2.0])
  # t = 8: d = 9 / 18 = 0.5 -> 0.5·[1, -2] + 0.5·[3, 2] = [2, 0]
  ema.update([average], [value], decay=0.999, step=8)
  np.testing.assert_allclose(average.numpy(), [2.0, 0.0], rtol=1e-6)
  # t = 10,000: d = 0.9 (the cap) -> 0.9·[2, 0] + 0.1·[3, 2] = [2.1, 0.2]
  ema.update([average], [value], decay=0.9, step=10_000)
  np.testing.assert_allclose(average.numpy(), [2.1, 0.2], rtol=1e-6)
  # Three steps at a constant d = 0.5 from 0 towards 1: 1 - 0.5³ = 0.875.
  average.assign([0.0, 0.0]); value.assign([1.0, 1.0])
  for _ in range(3):
    ema.update([average], [value], decay=0.5, step=10_000)
  np.testing.assert_allclose(average.numpy(), [0.875, 0.875], rtol=1e-6)


def test_recalibration_sets_moving_statistics_to_the_average_batch_statistics():
  import keras
  from common import latents
  from training.architectures import ARCHITECTURES
  keras.utils.set_random_seed(0)
  generator = ARCHITECTURES['dcgan'].build_generator(8, 16, 1, 2)
  weights_before = [w.numpy().copy() for w in generator.trainable_weights]
  ema.recalibrate_batch_norm(generator, 8, batches=4, batch_size=32)
  # The first BatchNorm normalises the projection: its new moving mean is the mean of the 4 batches' means.
  projection = keras.Model(generator.input, generator.get_layer('reshape').output)
  z = latents.latents(ema.RECALIBRATION_SEED, 128, 8)
  expected = np.mean([projection(z[k * 32:(k + 1) * 32]).numpy().mean(axis=(0, 1, 2)) for k in range(4)], axis=0)
  np.testing.assert_allclose(generator.get_layer('project_bn').moving_mean.numpy(), expected, atol=1e-6)
  # Nothing else changes, and the layers keep their training momentum.
  for before, after in zip(weights_before, generator.trainable_weights):
    np.testing.assert_array_equal(before, after.numpy())
  assert {layer.momentum for layer in generator.layers if 'bn' in layer.name} == {0.9}
  # Deterministic: recalibrating the same weights again gives the same statistics.
  first = ema.batch_norm_statistics(generator)
  ema.recalibrate_batch_norm(generator, 8, batches=4, batch_size=32)
  for a, b in zip(first, ema.batch_norm_statistics(generator)):
    np.testing.assert_allclose(a, b, atol=1e-6)


# --- The trainer samples, judges, saves and exports the EMA generator ---------------------------------------------

def _restore_from_checkpoint(run_dir, config):
  """(raw generator, EMA generator) as the run's latest checkpoint holds them."""
  import tensorflow as tf
  from training.architectures import ARCHITECTURES
  build = lambda: ARCHITECTURES[config.arch].build_generator(config.latent_dim, config.image_size, 1, config.width)
  raw, averaged = build(), build()
  checkpoint = tf.train.Checkpoint(generator=raw, ema_generator=averaged)
  checkpoint.restore(tf.train.latest_checkpoint(str(run_dir / 'checkpoints'))).expect_partial()
  return raw, averaged


@pytest.mark.slow
def test_run_dir_and_exported_onnx_hold_the_ema_generator(tmp_path):
  from common import latents
  from export.model_folder import export_model
  from tests.conftest import tiny_config
  from training import generator_io, trainer
  import onnxruntime as ort
  run_dir = tmp_path / 'run'
  config = tiny_config(run_dir, steps=6, ckpt_every=6, ema_decay=0.5)
  trainer.train(config, log=lambda *_: None)
  raw, averaged = _restore_from_checkpoint(run_dir, config)
  saved, metadata = generator_io.load(str(run_dir))
  # The saved generator is the EMA one (weights and re-estimated BatchNorm statistics), not the trained one.
  for a, b in zip(averaged.weights, saved.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  assert not all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(raw.trainable_weights, saved.trainable_weights))
  # And so is the exported ONNX model: the same images as the EMA generator for the same latents.
  folder = export_model(str(run_dir), models_dir=str(tmp_path / 'models'), name='m', log=lambda *_: None)
  session = ort.InferenceSession(f'{folder}/model.onnx', providers=['CPUExecutionProvider'])
  z = latents.latents(5, 7, config.latent_dim)
  onnx_images = session.run(None, {session.get_inputs()[0].name: z})[0]
  np.testing.assert_allclose(onnx_images, averaged(z, training=False).numpy(), atol=1e-5)
  assert np.abs(onnx_images - raw(z, training=False).numpy()).max() > 1e-3


@pytest.mark.slow
def test_ema_decay_zero_saves_the_trained_weights_and_resume_keeps_the_average(tmp_path):
  import tensorflow as tf
  from tests.conftest import tiny_config
  from training import generator_io, trainer
  off = tmp_path / 'off'
  trainer.train(tiny_config(off, steps=2, ckpt_every=2, ema_decay=0.0), log=lambda *_: None)
  reader = tf.train.load_checkpoint(str(off / 'checkpoints'))
  assert not any(name.startswith('ema_generator') for name in reader.get_variable_to_shape_map())
  saved, _ = generator_io.load(str(off))
  raw, _ = _restore_from_checkpoint(off, tiny_config(off, steps=2, ema_decay=0.0))
  for a, b in zip(raw.weights, saved.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  # With an EMA, a resumed run restores the average and continues it.
  on = tmp_path / 'on'
  trainer.train(tiny_config(on, steps=2, ckpt_every=2, ema_decay=0.9), log=lambda *_: None)
  messages = []
  trainer.train(tiny_config(on, steps=4, ckpt_every=2, ema_decay=0.9), resume=True, log=messages.append)
  assert any('resumed from' in m for m in messages)
  reader = tf.train.load_checkpoint(str(on / 'checkpoints'))
  assert any(name.startswith('ema_generator') for name in reader.get_variable_to_shape_map())


def test_the_grid_checkpoint_and_evaluation_of_one_step_share_one_re_estimate(tmp_path, monkeypatch):
  """Re-estimation depends on the weights alone: a step that draws a grid and saves re-estimates once, and every
  such step re-estimates for its own weights (the saved statistics are those of the saved weights)."""
  from tests.conftest import tiny_config
  from training import trainer
  calls = []
  recalibrate = ema.recalibrate_batch_norm
  monkeypatch.setattr(ema, 'recalibrate_batch_norm', lambda *a, **k: (calls.append(1), recalibrate(*a, **k))[1])
  trainer.train(tiny_config(tmp_path / 'run', loss='dcgan', steps=2, sample_every=1, ckpt_every=1),
                log=lambda *_: None)
  assert len(calls) == 3  # the grid of step 0 (untrained weights), then one per step for its grid and checkpoint
  assert sorted(os.listdir(tmp_path / 'run' / 'samples')) == [f'step_000000{i}.png' for i in range(3)]


@pytest.mark.slow
def test_batch_norm_modes_of_a_trained_generator_agree_after_re_estimation(tmp_path):
  """A short real run (digits, 150 steps, no EMA): FCD of inference-mode samples with the statistics the loop
  left, with re-estimated ones, and of training-mode samples (each batch its own statistics). What is saved must
  score like training mode: re-estimation closes whatever gap the lagging moving averages open."""
  from common import latents
  from evaluation import evaluate as evaluation
  from tests.conftest import tiny_config
  from training import generator_io, trainer
  run_dir = tmp_path / 'run'
  config = tiny_config(run_dir, steps=150, ckpt_every=150, width=8, latent_dim=16, batch_size=32, ema_decay=0.0,
                       sample_every=1000, log_every=50)
  trainer.train(config, log=lambda *_: None)
  generator, _ = generator_io.load(str(run_dir))  # saved with re-estimated statistics
  z = latents.latents(2024, 360, 16)
  fcd = lambda images: evaluation.evaluate(images, 'digits', copy_check=False, log=lambda *_: None)['samples']['fcd']
  batches = lambda training: np.concatenate([generator(z[i:i + 40], training=training).numpy()
                                             for i in range(0, 360, 40)])
  saved, training_mode = fcd(batches(False)), fcd(batches(True))
  assert abs(saved - training_mode) < 0.1 * training_mode, (saved, training_mode)
