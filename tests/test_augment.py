"""DiffAugment (training/augment.py, Zhao et al. 2020): each policy's ranges against the reference code's, exact
translation and cutout geometry, gradients through T to the generator, randomness as a function of (seed, batch
index), the setting's checks, and (slow) training runs with every policy on."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_config
from training import augment, steps
from training.config import ConfigError, TrainConfig, resolve

ALL = 'color,translation,cutout'
SEED = tf.constant([3, 7], tf.int64)


def _images(batch=8, size=16, channels=3, seed=0):
  """(B, H, W, C) in [-1, 1], no pixel exactly 0 (so a zeroed pixel is one the transform wrote)."""
  rng = np.random.default_rng(seed)
  shape = (batch, size, size, channels)
  return tf.constant(rng.uniform(0.05, 1.0, shape) * rng.choice([-1.0, 1.0], shape), tf.float32)


def test_policies_parse_in_the_papers_order():
  assert augment.policies('') == ()
  assert augment.policies('cutout, color') == ('color', 'cutout')
  assert augment.policies(ALL) == augment.POLICIES == ('color', 'translation', 'cutout')
  with pytest.raises(ValueError, match='colour'):
    augment.policies('translation,colour')


def test_off_is_the_identity():
  images = _images()
  assert augment.apply(images, None) is images and augment.apply(images, {}) is images


@pytest.mark.parametrize('policy', augment.POLICIES)
def test_each_policy_keeps_shape_and_dtype_and_changes_the_images(policy):
  images = _images()
  out = augment.apply(images, augment.draw((policy,), images.shape, SEED))
  assert out.shape == images.shape and out.dtype == images.dtype
  assert np.all(np.isfinite(out.numpy()))
  changed = np.any(out.numpy() != images.numpy(), axis=(1, 2, 3))
  if policy == 'translation':  # a zero shift is one of the 5 x 5 draws at 16 px: most images move, not all
    assert changed.sum() >= 4
  else:
    assert changed.all()
  if policy != 'color':  # they move or zero pixels, never create values; colour is not clipped (see augment.py)
    assert np.abs(out.numpy()).max() <= 1.0


def test_drawn_parameters_span_the_papers_ranges():
  names = augment.POLICIES
  drawn = {k: v.numpy() for k, v in augment.draw(names, (4096, 32, 32, 3), SEED).items()}
  for name, (low, high) in (('brightness', augment.BRIGHTNESS), ('saturation', augment.SATURATION),
                            ('contrast', augment.CONTRAST)):
    assert (low, high) == {'brightness': (-0.5, 0.5), 'saturation': (0.0, 2.0), 'contrast': (0.5, 1.5)}[name]
    assert drawn[name].min() >= low and drawn[name].max() < high
    assert drawn[name].min() < low + 0.01 and drawn[name].max() > high - 0.01, name  # the whole range is used
  # translation: at most 32/8 = 4 pixels either way, every shift drawn, independently per axis
  assert set(drawn['translation'][:, 0]) == set(drawn['translation'][:, 1]) == set(range(-4, 5))
  assert not np.array_equal(drawn['translation'][:, 0], drawn['translation'][:, 1])
  # cutout: a 16-pixel square (even side) centred anywhere in [0, 32], as the reference places it
  assert set(drawn['cutout'][:, 0]) == set(range(0, 33))


def test_color_is_brightness_then_saturation_then_contrast():
  images = _images(batch=3)
  x = images.numpy()
  ones, zeros = tf.ones([3]), tf.zeros([3])
  b = tf.constant([-0.5, 0.0, 0.25])
  np.testing.assert_allclose(augment.color(images, b, ones, ones), x + b.numpy()[:, None, None, None], atol=1e-6)
  # saturation 0: every pixel becomes the mean of its channels (grey); 2: twice as far from it
  grey = x.mean(axis=3, keepdims=True)
  np.testing.assert_allclose(augment.color(images, zeros, zeros, ones), np.broadcast_to(grey, x.shape), atol=1e-6)
  np.testing.assert_allclose(augment.color(images, zeros, 2 * ones, ones), 2 * x - grey, atol=1e-6)
  # contrast c: deviations from the image's mean scaled by c, the mean kept
  mean = x.mean(axis=(1, 2, 3), keepdims=True)
  np.testing.assert_allclose(augment.color(images, zeros, ones, 1.5 * ones), 1.5 * x - 0.5 * mean, atol=1e-6)


def test_translation_shifts_exactly_and_pads_with_zero():
  images = _images(batch=3, size=16)
  x = images.numpy()
  out = augment.translation(images, tf.constant([[2, -1], [-2, 2], [0, 0]])).numpy()
  # out[i, j] = x[i + dy, j + dx], bit for bit; the pixels shifted in from outside are 0 (mid-grey in [-1, 1])
  np.testing.assert_array_equal(out[0, :14, 1:], x[0, 2:, :15])
  assert np.all(out[0, 14:] == 0) and np.all(out[0, :, :1] == 0)
  np.testing.assert_array_equal(out[1, 2:, :14], x[1, :14, 2:])
  assert np.all(out[1, :2] == 0) and np.all(out[1, :, 14:] == 0)
  np.testing.assert_array_equal(out[2], x[2])


def test_translation_never_shifts_more_than_an_eighth():
  images = _images(batch=64, size=32)
  shifts = augment.draw(('translation',), images.shape, SEED)['translation'].numpy()
  assert np.abs(shifts).max() == 4
  out = augment.apply(images, {'translation': shifts}).numpy()
  zero_rows = (out == 0).all(axis=(2, 3)).sum(axis=1)  # rows shifted in from outside, per image
  np.testing.assert_array_equal(zero_rows, np.abs(shifts[:, 0]))


def test_cutout_zeroes_exactly_a_half_size_square():
  images = _images(batch=4, size=16)
  centres = tf.constant([[8, 8], [4, 11], [0, 0], [16, 5]])
  out = augment.cutout(images, centres).numpy()
  zeroed = (out == 0).all(axis=3)  # (B, H, W)
  expected = np.zeros_like(zeroed)
  expected[0, 4:12, 4:12] = True  # inside the image: an 8 x 8 square, half the side
  expected[1, 0:8, 7:15] = True
  expected[2, 0:4, 0:4] = True  # centred on a corner: the square is clipped at the border, as in the reference
  expected[3, 12:16, 1:9] = True
  np.testing.assert_array_equal(zeroed, expected)
  np.testing.assert_array_equal(out[~zeroed], images.numpy()[~zeroed])  # the rest untouched


def _tiny_models(size=16, channels=3):
  import keras
  from training.architectures import dcgan_critic, dcgan_generator
  keras.utils.set_random_seed(0)
  return dcgan_generator(8, size, channels, 4), dcgan_critic(size, channels, 4, norm='layer')


def test_gradients_reach_the_generator_through_every_policy():
  generator, critic = _tiny_models()
  z = tf.random.stateless_normal([8, 8], [1, 2])
  randomness = augment.draw(augment.POLICIES, (8, 16, 16, 3), SEED)
  with tf.GradientTape() as tape:
    logits = critic(augment.apply(generator(z, training=True), randomness), training=True)
    loss = tf.reduce_mean(logits)
  grads = tape.gradient(loss, generator.trainable_variables)
  assert all(g is not None for g in grads)
  assert all(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads), [v.name for v, g in
                                                                    zip(generator.trainable_variables, grads)]


def test_translation_gradient_is_the_inverse_shift():
  """d/dx Σ w·T(x) is w shifted back: the transform passes the critic's gradient on exactly."""
  images = _images(batch=1, size=8)
  weights = _images(batch=1, size=8, seed=1)
  with tf.GradientTape() as tape:
    tape.watch(images)
    total = tf.reduce_sum(weights * augment.translation(images, tf.constant([[1, -1]])))
  grad = tape.gradient(total, images).numpy()
  expected = np.zeros_like(grad)
  expected[0, 1:, :7] = weights.numpy()[0, :7, 1:]
  np.testing.assert_array_equal(grad, expected)


def _config(**overrides):
  return resolve(TrainConfig(**dict(dict(dataset='digits', image_size=16, latent_dim=8, width=4, batch_size=8,
                                         augment=ALL), **overrides)))


def test_randomness_is_a_function_of_seed_and_batch_index():
  real = _images(batch=8, channels=1)
  draw = lambda config, index: steps.attach_randomness(config)(tf.constant(index, tf.int64), real)  # noqa: E731
  keys = ('augment_real', 'augment_fake', 'augment_gen')

  def values(batch):
    return {f'{k}/{name}': v.numpy() for k in keys for name, v in batch[k].items()}

  first, again = values(draw(_config(), 5)), values(draw(_config(), 5))
  assert first.keys() == again.keys() and len(first) == 3 * 5
  assert all(np.array_equal(first[k], again[k]) for k in first)
  for other in (values(draw(_config(), 6)), values(draw(_config(seed=1), 5))):
    assert all(not np.array_equal(first[k], other[k]) for k in first if 'translation' not in k and 'cutout' not in k)
    assert any(not np.array_equal(first[k], other[k]) for k in first)
  # real images, the critic step's fakes and the generator step's fakes get independent transforms
  assert not np.array_equal(first['augment_real/brightness'], first['augment_fake/brightness'])
  assert not np.array_equal(first['augment_fake/brightness'], first['augment_gen/brightness'])
  # same augmented batch for the same (seed, index)
  batch = draw(_config(), 5)
  np.testing.assert_array_equal(augment.apply(real, batch['augment_real']),
                                augment.apply(real, draw(_config(), 5)['augment_real']))
  assert 'augment_real' not in draw(_config(augment=''), 5)  # off: nothing drawn, the step's graph unchanged


def test_bad_settings_are_one_line_errors():
  with pytest.raises(ConfigError, match=r"^unknown --augment policy 'colour'; .*\(did you mean color\?\)$"):
    _config(augment='colour,cutout')
  with pytest.raises(ConfigError, match=r'^--augment applies to image data only \(--dataset=toy:8gaussians is '
                                        r'points data\)$'):
    resolve(TrainConfig(dataset='toy:8gaussians', arch='mlp', augment='color'))


@pytest.mark.slow
@pytest.mark.parametrize('loss', ['wgan_gp', 'dcgan'])
def test_three_steps_train_with_every_policy(tmp_path, loss):
  from tests.test_training import assert_complete_run_dir, read_metrics
  from training import trainer
  quiet = lambda *_: None  # noqa: E731
  augmented = trainer.train(tiny_config(tmp_path / 'augmented', loss=loss, augment=ALL), log=quiet)
  assert_complete_run_dir(augmented, 3)
  plain = trainer.train(tiny_config(tmp_path / 'plain', loss=loss, steps=1), log=quiet)
  first, first_plain = read_metrics(augmented)[0], read_metrics(plain)[0]
  # Same seed, same weights, same real batch and latents: only the critic's inputs differ.
  assert first['d_real'] != first_plain['d_real'] and first['d_fake'] != first_plain['d_fake']
  if loss == 'wgan_gp':
    assert all(row['gradient_penalty'] > 0 for row in read_metrics(augmented))
