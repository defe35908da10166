"""The keras-io WGAN-GP recipe (keras-team/keras-io `examples/generative/wgan_gp.py`), reproduced as published,
as the baseline of benchmarks/train_throughput.py and benchmarks/quality comparisons.

Faithful to the example on purpose, quirks included: 28x28 inputs zero-padded to 32, 5x5 critic kernels with
64-128-256-512 filters and dropout, an UpSampling2D + 3x3 Conv2D generator cropped back to 28x28, Adam(2e-4,
0.5, 0.9) for both networks, 3 critic steps per generator step on the *same* real batch, and its gradient
penalty with normally distributed α (the paper's is uniform).
"""

import keras
import tensorflow as tf
from keras import layers

NOISE_DIM = 128
D_STEPS = 3
GP_WEIGHT = 10.0


def _conv_block(x, filters, kernel_size, strides, use_bias=True, use_dropout=False, drop_value=0.5):
  x = layers.Conv2D(filters, kernel_size, strides=strides, padding='same', use_bias=use_bias)(x)
  x = layers.LeakyReLU(0.2)(x)
  return layers.Dropout(drop_value)(x) if use_dropout else x


def discriminator():
  image = keras.Input((28, 28, 1))
  x = layers.ZeroPadding2D((2, 2))(image)
  x = _conv_block(x, 64, (5, 5), (2, 2))
  x = _conv_block(x, 128, (5, 5), (2, 2), use_dropout=True, drop_value=0.3)
  x = _conv_block(x, 256, (5, 5), (2, 2), use_dropout=True, drop_value=0.3)
  x = _conv_block(x, 512, (5, 5), (2, 2))
  x = layers.Flatten()(x)
  x = layers.Dropout(0.2)(x)
  return keras.Model(image, layers.Dense(1)(x), name='keras_io_critic')


def _upsample_block(x, filters, activation, use_bn=True):
  x = layers.UpSampling2D((2, 2))(x)
  x = layers.Conv2D(filters, (3, 3), padding='same', use_bias=False)(x)
  if use_bn:
    x = layers.BatchNormalization()(x)
  return activation(x)


def generator():
  noise = keras.Input((NOISE_DIM,))
  x = layers.Dense(4 * 4 * 256, use_bias=False)(noise)
  x = layers.BatchNormalization()(x)
  x = layers.LeakyReLU(0.2)(x)
  x = layers.Reshape((4, 4, 256))(x)
  x = _upsample_block(x, 128, layers.LeakyReLU(0.2))
  x = _upsample_block(x, 64, layers.LeakyReLU(0.2))
  x = _upsample_block(x, 1, layers.Activation('tanh'))
  return keras.Model(noise, layers.Cropping2D((2, 2))(x), name='keras_io_generator')


def make_train_step(g, d):
  """The example's WGAN.train_step, as `fit` would run it (one tf.function per step)."""
  d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)
  g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)

  def gradient_penalty(batch_size, real, fake):
    alpha = tf.random.normal([batch_size, 1, 1, 1], 0.0, 1.0)  # sic: normal, as in the example
    interpolated = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
      tape.watch(interpolated)
      pred = d(interpolated, training=True)
    grads = tape.gradient(pred, [interpolated])[0]
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
    return tf.reduce_mean((norm - 1.0) ** 2)

  @tf.function
  def train_step(real):
    batch_size = tf.shape(real)[0]
    for _ in range(D_STEPS):
      z = tf.random.normal((batch_size, NOISE_DIM))
      with tf.GradientTape() as tape:
        fake = g(z, training=True)
        d_cost = tf.reduce_mean(d(fake, training=True)) - tf.reduce_mean(d(real, training=True))
        d_loss = d_cost + gradient_penalty(batch_size, real, fake) * GP_WEIGHT
      d_opt.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
    z = tf.random.normal((batch_size, NOISE_DIM))
    with tf.GradientTape() as tape:
      g_loss = -tf.reduce_mean(d(g(z, training=True), training=True))
    g_opt.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))
    return d_loss, g_loss

  return train_step


def fashion_mnist_batches(data_dir: str, manual_dir: str, batch_size: int = 64, seed: int = 0):
  """Fashion-MNIST train images as the example feeds them: 28x28x1 in [-1, 1], shuffled, batches of 64.

  The example reads keras.datasets (a download); this reads the same images offline through TFDS.
  """
  import tensorflow_datasets as tfds
  builder = tfds.builder('fashion_mnist', data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  images = builder.as_dataset(split='train').map(lambda e: (tf.cast(e['image'], tf.float32) - 127.5) / 127.5)
  return images.cache().shuffle(60000, seed=seed).repeat().batch(batch_size, drop_remainder=True).prefetch(2)


def train_until(deadline: float, out_dir: str, data_dir: str, manual_dir: str, save_every_s: float) -> int:
  """Trains the recipe until time.time() reaches `deadline`, saving the generator to
  out_dir/ckpt-<step>.weights.h5 every `save_every_s` seconds and at the end (benchmarks/quality.py judges them).
  Returns the number of generator steps."""
  import os
  import time
  os.makedirs(out_dir, exist_ok=True)
  g, d = generator(), discriminator()
  train_step = make_train_step(g, d)
  step, next_save = 0, time.time() + save_every_s
  for real in fashion_mnist_batches(data_dir, manual_dir):
    if time.time() >= deadline:
      break
    train_step(real)
    step += 1
    if time.time() >= next_save:
      g.save_weights(os.path.join(out_dir, f'ckpt-{step}.weights.h5'))
      next_save += save_every_s
  g.save_weights(os.path.join(out_dir, f'ckpt-{step}.weights.h5'))
  return step


if __name__ == '__main__':
  # python -m benchmarks.keras_io_recipe DEADLINE OUT_DIR DATA_DIR MANUAL_DIR SAVE_EVERY_S (run by quality.py)
  import sys
  print(f'{train_until(float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))} steps')
