"""The optimizers of a run: the loss family's, with --lr_decay_steps' linear decay, in the run's dtype policy."""

import keras
import tensorflow as tf

from training.config import TrainConfig


def make(config: TrainConfig, step: tf.Variable) -> tuple:
  """(generator optimizer, critic optimizer): the loss family's, at --g/d_learning_rate, decayed linearly to 0
  over --lr_decay_steps generator steps when set: lr · max(0, 1 − k/N) for the critic and generator updates of
  generator step k (0-based), as gan_cifar_resnet.py's decay from its generator iteration. `step` is the
  trainer's generator-step variable (checkpointed, so a resumed run continues the schedule; not an optimizer's
  iteration count, which a mixed-precision loss scaler leaves behind when it skips an overflowing update)."""

  def rate(base):
    if not config.lr_decay_steps:
      return base
    return lambda: base * tf.maximum(0.0, 1.0 - tf.cast(step, tf.float32) / float(config.lr_decay_steps))

  def one(base):
    if config.family.optimizer.name == 'rmsprop':
      opt = keras.optimizers.RMSprop(rate(base))
    else:
      opt = keras.optimizers.Adam(rate(base), beta_1=config.beta_1, beta_2=config.beta_2)
    return keras.optimizers.LossScaleOptimizer(opt) if dtype_policy(config) == 'mixed_float16' else opt

  return one(config.g_learning_rate), one(config.d_learning_rate)


def dtype_policy(config: TrainConfig) -> str:
  if not config.mixed_precision:
    return 'float32'
  # float16 needs loss scaling and is fast on GPUs; CPUs have bfloat16 kernels and need no scaling.
  return 'mixed_float16' if tf.config.list_physical_devices('GPU') else 'mixed_bfloat16'
