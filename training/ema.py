"""The generator that is sampled, judged and exported: an exponential moving average of the trained one.

Generator weights averaged over the last few hundred steps give cleaner samples than the last iterate, whose
weights still oscillate with the critic (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in GAN
Training"; BigGAN, StyleGAN2 and StudioGAN sample from such an average). After generator step t:

  θ_ema ← d_t · θ_ema + (1 − d_t) · θ,    d_t = min(decay, (1 + t) / (10 + t))

The warm-up term is tf.train.ExponentialMovingAverage's `num_updates` rule: early on the average follows the
fast-moving weights instead of dragging the random initialisation along for thousands of steps. decay = 0.999
is a half-life of ln 2 / (1 − d) ≈ 693 steps, short enough for runs of a few thousand steps.

BatchNorm: only the trainable weights are averaged. Moving statistics collected under the raw weights do not
describe activations under the averaged ones, so `recalibrate_batch_norm` re-estimates them for the averaged
weights from a fixed set of latents before the EMA generator is used (sample grids, evaluation, saving).
"""

import numpy as np
import keras
import tensorflow as tf

from common import latents as common_latents, signature as common_signature

WARMUP = 10.0  # d_t = min(decay, (1 + t) / (WARMUP + t))
RECALIBRATION_SEED = 77  # fixed latents: the same statistics whenever the same weights are recalibrated
RECALIBRATION_BATCHES, RECALIBRATION_BATCH_SIZE = 8, 128  # 1,024 latents in batches near the training batch size


def decay_at(decay: float, step) -> tf.Tensor:
  """d_t for generator step `step` (the count of updates made before this one, 0-based)."""
  step = tf.cast(step, tf.float32)
  return tf.minimum(tf.constant(decay, tf.float32), (1.0 + step) / (WARMUP + step))


def update(ema_variables, variables, decay: float, step) -> None:
  """θ_ema ← d_t θ_ema + (1 − d_t) θ for each pair; call in cross-replica context after the generator step."""
  d = decay_at(decay, step)
  for average, value in zip(ema_variables, variables):
    average.assign(d * average + (1.0 - d) * tf.cast(value, average.dtype))


def copy_weights(source: keras.Model, target: keras.Model) -> None:
  for s, t in zip(source.weights, target.weights):
    t.assign(s)


def recalibrate_batch_norm(generator: keras.Model, latent_dim: int, batches: int = RECALIBRATION_BATCHES,
                           batch_size: int = RECALIBRATION_BATCH_SIZE, num_classes: int = 0) -> None:
  """Sets every BatchNorm layer's moving mean/variance to the average of its batch statistics over `batches`
  fixed batches of latents (each normalised in training mode, as during training).

  A conditional generator (num_classes K > 0) gets every class in turn with its latents: its conditional
  BatchNorm's statistics are the batch's, shared by all classes (only the scale and shift are per class), so
  one set of statistics over a class-balanced batch is what it normalised with in training.

  Batch k is folded in with momentum k / (k + 1), so the moving values become the plain average of the
  batches' statistics rather than depending on what was there before. No other weight changes.
  """
  norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
  if not norms:
    return
  momenta = [layer.momentum for layer in norms]
  z = common_latents.latents(RECALIBRATION_SEED, batches * batch_size, latent_dim)  # (batches·B, latent_dim)
  y = common_signature.row_weights(batches * batch_size, num_classes) if num_classes else None  # every class in turn
  try:
    for k in range(batches):
      for layer in norms:
        layer.momentum = k / (k + 1.0)
      rows = slice(k * batch_size, (k + 1) * batch_size)
      generator(z[rows] if y is None else [z[rows], y[rows]], training=True)
  finally:
    for layer, momentum in zip(norms, momenta):
      layer.momentum = momentum


def batch_norm_statistics(generator: keras.Model) -> list:
  """The moving means and variances of every BatchNorm layer, as NumPy arrays (for tests and reports)."""
  return [np.asarray(v) for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)
          for v in (layer.moving_mean, layer.moving_variance)]
