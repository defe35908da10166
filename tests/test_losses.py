"""Loss functions against values computed by hand (σ(2) = 0.880797, log(1 + e^-2) = 0.126928, ...)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from training import losses

LOG2 = math.log(2.0)
SOFTPLUS_M2 = math.log1p(math.exp(-2.0))  # -log σ(2)
SOFTPLUS_M1 = math.log1p(math.exp(-1.0))  # -log(1 - σ(-1))
SOFTPLUS_1 = math.log1p(math.exp(1.0))  # -log σ(-1)


def t(values):
  return tf.constant(values, tf.float32)


class TestHandComputed:

  def test_dcgan_discriminator(self):
    got = losses.dcgan_discriminator_loss(t([[0.0], [2.0]]), t([[0.0], [-1.0]]))
    np.testing.assert_allclose(got, [2 * LOG2, SOFTPLUS_M2 + SOFTPLUS_M1], rtol=1e-6)

  def test_dcgan_discriminator_smoothed_and_flipped_labels(self):
    # target 0.9 on logit 2: -(0.9 log σ(2) + 0.1 log(1 - σ(2))) = 0.9·0.126928 + 0.1·2.126928
    got = losses.dcgan_discriminator_loss(t([2.0, 2.0]), t([-50.0, -50.0]), real_labels=t([0.9, 0.0]))
    np.testing.assert_allclose(got, [0.9 * SOFTPLUS_M2 + 0.1 * (2 + SOFTPLUS_M2), 2 + SOFTPLUS_M2], rtol=1e-5)

  def test_dcgan_generator_is_non_saturating(self):
    np.testing.assert_allclose(losses.dcgan_generator_loss(t([0.0, -1.0])), [LOG2, SOFTPLUS_1], rtol=1e-6)

  def test_lsgan_default_labels(self):
    np.testing.assert_allclose(losses.lsgan_discriminator_loss(t([1.5]), t([0.5])), [0.25])
    np.testing.assert_allclose(losses.lsgan_generator_loss(t([0.5])), [0.125])

  def test_lsgan_pearson_labels(self):
    # a, b, c = -1, 1, 0: ½(1.5 - 1)² + ½(0.5 + 1)² = 0.125 + 1.125
    np.testing.assert_allclose(losses.lsgan_discriminator_loss(t([1.5]), t([0.5]), a=-1.0, b=1.0), [1.25])
    np.testing.assert_allclose(losses.lsgan_generator_loss(t([0.5]), c=0.0), [0.125])

  def test_wasserstein(self):
    np.testing.assert_allclose(losses.wasserstein_discriminator_loss(t([3.0, -1.0]), t([1.0, 2.0])), [-2.0, 3.0])
    np.testing.assert_allclose(losses.wasserstein_generator_loss(t([1.0, -2.0])), [-1.0, 2.0])

  def test_hinge(self):
    # max(0, 1 - 0.5) + max(0, 1 - 2) = 0.5;  max(0, 1 - 2) + max(0, 1 + 0.3) = 1.3;  outside both margins: 0
    got = losses.hinge_discriminator_loss(t([[0.5], [2.0], [1.5]]), t([[-2.0], [0.3], [-1.0]]))
    np.testing.assert_allclose(got, [0.5, 1.3, 0.0], rtol=1e-6)
    np.testing.assert_allclose(losses.hinge_generator_loss(t([0.5, -2.0])), [-0.5, 2.0])

  def test_non_saturating(self):
    # softplus(-2) + softplus(-1) = log(1 + e^-2) + log(1 + e^-1);  at 0, 0: 2 log 2
    got = losses.non_saturating_discriminator_loss(t([[2.0], [0.0]]), t([[-1.0], [0.0]]))
    np.testing.assert_allclose(got, [SOFTPLUS_M2 + SOFTPLUS_M1, 2 * LOG2], rtol=1e-6)
    # softplus(-0) = log 2, softplus(1) = log(1 + e)
    np.testing.assert_allclose(losses.non_saturating_generator_loss(t([0.0, -1.0])), [LOG2, SOFTPLUS_1], rtol=1e-6)
    # The same numbers as DCGAN's cross-entropy with hard labels, written on softplus.
    np.testing.assert_allclose(got, losses.dcgan_discriminator_loss(t([2.0, 0.0]), t([-1.0, 0.0])), rtol=1e-6)


class LinearCritic:
  """D(x) = <w, x>: ∇D = w everywhere, so the penalty is exactly (‖w‖ - 1)²."""

  def __init__(self, w):
    self.w = tf.constant(w, tf.float32)

  def __call__(self, x, training=False):
    return tf.reduce_sum(x * self.w, axis=[1, 2, 3])[:, None]


class QuadraticCritic:
  """D(x) = ½‖x‖²: ∇D(x̂) = x̂, so the penalty depends on where α puts x̂."""

  def __call__(self, x, training=False):
    return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]


class TestGradientPenalty:

  def test_linear_critic_norm_two(self):
    critic = LinearCritic(np.full((1, 4, 4, 1), 0.5))  # ‖w‖ = sqrt(16 · 0.25) = 2
    real, fake = tf.random.normal([3, 4, 4, 1]), tf.random.normal([3, 4, 4, 1])
    got = losses.gradient_penalty(critic, real, fake, alpha=t([0.1, 0.5, 0.9]))
    np.testing.assert_allclose(got, [1.0, 1.0, 1.0], rtol=1e-6)

  def test_linear_critic_unit_norm_gives_zero(self):
    critic = LinearCritic(np.full((1, 4, 4, 1), 0.25))  # ‖w‖ = 1
    got = losses.gradient_penalty(critic, tf.ones([2, 4, 4, 1]), tf.zeros([2, 4, 4, 1]), alpha=t([0.3, 0.7]))
    np.testing.assert_allclose(got, [0.0, 0.0], atol=1e-10)

  def test_alpha_is_per_example_and_on_the_real_fake_line(self):
    # x = 1 everywhere (16 pixels), G(z) = 0: x̂ = α, ‖∇D(x̂)‖ = ‖x̂‖ = 4α, penalty (4α - 1)².
    alpha = np.array([0.0, 0.25, 1.0], np.float32)
    got = losses.gradient_penalty(QuadraticCritic(), tf.ones([3, 4, 4, 1]), tf.zeros([3, 4, 4, 1]), t(alpha))
    np.testing.assert_allclose(got, (4 * alpha - 1) ** 2, rtol=1e-5, atol=1e-5)

  def test_zero_gradient_is_finite(self):
    # ‖∇‖ = 0 at x̂ = 0: without ε the square root's derivative is infinite.
    real = tf.zeros([2, 4, 4, 1])
    with tf.GradientTape() as tape:
      tape.watch(real)
      penalty = losses.gradient_penalty(QuadraticCritic(), real, tf.zeros_like(real), t([0.5, 0.5]))
    np.testing.assert_allclose(penalty, [1.0, 1.0], rtol=1e-5)
    assert np.all(np.isfinite(tape.gradient(penalty, real)))

  @pytest.mark.parametrize('shape', [(3, 2), (3, 5, 4), (3, 4, 4, 1)], ids=['points', 'text', 'images'])
  def test_any_rank_norm_over_every_non_batch_axis(self, shape):
    """2-D points (B, 2), one-hot text (B, T, V), images (B, H, W, C): D(x) = ½‖x‖², x = 1, G(z) = 0, so
    ‖∇D(x̂)‖ = α·sqrt(#elements) per example, whatever the rank."""
    alpha = np.array([0.0, 0.25, 1.0], np.float32)
    quadratic = lambda x, training=False: 0.5 * tf.reduce_sum(tf.square(tf.reshape(x, [3, -1])), 1)[:, None]  # noqa: E731
    got = losses.gradient_penalty(quadratic, tf.ones(shape), tf.zeros(shape), t(alpha))
    size = float(np.prod(shape[1:]))
    np.testing.assert_allclose(got, (alpha * np.sqrt(size) - 1) ** 2, rtol=1e-5, atol=1e-5)

  def test_mixed_precision_inputs_give_float32(self):
    critic = LinearCritic(np.full((1, 4, 4, 1), 0.5))
    got = losses.gradient_penalty(critic, tf.ones([2, 4, 4, 1], tf.bfloat16), tf.zeros([2, 4, 4, 1], tf.bfloat16),
                                  t([0.5, 0.5]))
    assert got.dtype == tf.float32


class TestR1:
  """R1 = ‖∇_x D(x)‖² per example on real samples (Mescheder et al. 2018, Eq. 9 without its γ/2)."""

  def test_linear_critic_squared_norm(self):
    critic = LinearCritic(np.full((1, 4, 4, 1), 0.5))  # ∇D = w, ‖w‖² = 16 · 0.25 = 4, wherever x is
    np.testing.assert_allclose(losses.r1_penalty(critic, tf.random.normal([3, 4, 4, 1])), [4.0, 4.0, 4.0], rtol=1e-6)

  @pytest.mark.parametrize('shape', [(2, 2), (2, 5, 4), (2, 4, 4, 1)], ids=['points', 'text', 'images'])
  def test_quadratic_critic_any_rank(self, shape):
    # D(x) = ½‖x‖²: ∇D(x) = x, so R1 = ‖x‖² = a² · #elements for x filled with a.
    quadratic = lambda x, training=False: 0.5 * tf.reduce_sum(tf.square(tf.reshape(x, [2, -1])), 1)[:, None]  # noqa: E731
    real = tf.constant(np.array([0.5, 2.0], np.float32).reshape([2] + [1] * (len(shape) - 1)) * np.ones(shape),
                       tf.float32)
    size = float(np.prod(shape[1:]))
    np.testing.assert_allclose(losses.r1_penalty(quadratic, real), [0.25 * size, 4.0 * size], rtol=1e-6)

  def test_constant_critic_gives_zero_with_finite_gradients(self):
    w = tf.Variable(3.0)
    constant = lambda x, training=False: tf.fill([tf.shape(x)[0], 1], w)  # noqa: E731
    with tf.GradientTape() as tape:
      penalty = losses.r1_penalty(constant, tf.random.normal([2, 4, 4, 1]))
    np.testing.assert_array_equal(penalty, [0.0, 0.0])
    grad = tape.gradient(penalty, w, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert np.isfinite(grad)

  def test_mixed_precision_inputs_give_float32(self):
    got = losses.r1_penalty(LinearCritic(np.full((1, 4, 4, 1), 0.5)), tf.ones([2, 4, 4, 1], tf.bfloat16))
    assert got.dtype == tf.float32


@pytest.mark.parametrize('name', sorted(losses.LOSSES))
class TestEveryRegisteredLoss:
  """One shared check over every registry entry: shapes, dtypes, gradients, and the family's defaults."""

  def test_per_example_shapes_and_gradients(self, name):
    family = losses.LOSSES[name]
    real_logits = tf.Variable([[0.3], [-1.2], [2.0], [0.0]])
    fake_logits = tf.Variable([[-0.7], [0.4], [1.1], [-2.0]])
    with tf.GradientTape(persistent=True) as tape:
      d_loss = family.discriminator_loss(real_logits, fake_logits)
      g_loss = family.generator_loss(fake_logits)
    assert d_loss.shape == (4,) and g_loss.shape == (4,)
    assert d_loss.dtype == tf.float32 and g_loss.dtype == tf.float32
    for loss, var in ((d_loss, real_logits), (d_loss, fake_logits), (g_loss, fake_logits)):
      grad = tape.gradient(loss, var)
      assert grad is not None and np.all(np.isfinite(grad)) and np.any(grad != 0)

  def test_generator_wants_higher_fake_scores(self, name):
    family = losses.LOSSES[name]
    low, high = family.generator_loss(t([-1.0])), family.generator_loss(t([0.5]))
    assert float(high[0]) < float(low[0])

  def test_defaults_follow_the_papers(self, name):
    family = losses.LOSSES[name]
    assert family.critic_norm in family.allowed_critic_norms
    if name == 'wgan_gp':
      assert 'batch' not in family.allowed_critic_norms and family.gradient_penalty_weight == 10.0
      assert (family.optimizer.learning_rate, family.optimizer.beta_1, family.optimizer.beta_2) == (1e-4, 0.0, 0.9)
    if name == 'wgan':
      assert family.clip_value == 0.01 and family.optimizer.name == 'rmsprop' and family.n_critic == 5
    if name in ('dcgan', 'lsgan'):
      assert family.n_critic == 1 and family.optimizer.beta_1 == 0.5
    if name == 'hinge':  # Miyato et al. 2018, Table 1, setting C; a spectrally normalised critic
      assert (family.n_critic, family.optimizer.learning_rate, family.optimizer.beta_1,
              family.optimizer.beta_2) == (1, 2e-4, 0.5, 0.999)
      assert family.critic_norm == 'spectral' and family.gradient_penalty_weight == 0 and not family.r1
    if name == 'ns_r1':  # StyleGAN2's Adam momenta; R1 needs a per-example critic
      assert (family.n_critic, family.optimizer.beta_1, family.optimizer.beta_2) == (1, 0.0, 0.99)
      assert family.r1 and family.critic_norm == 'none' and 'batch' not in family.allowed_critic_norms
    assert family.r1 == (name == 'ns_r1')


def test_every_batch_draws_one_uniform_alpha_per_example():
  """The α that the gradient penalty interpolates with (Gulrajani et al. 2017, Algorithm 1, line 6: ε ~ U[0, 1] per
  example), as training/steps.attach_randomness draws it: uniform over [0, 1], one per example, a function of
  (seed, batch index) only."""
  from tests.conftest import tiny_config
  from training import steps
  config = tiny_config('/unused', batch_size=256)
  draw = steps.attach_randomness(config)
  real = tf.zeros([256, 16, 16, 1])
  alphas = np.concatenate([draw(tf.constant(i, tf.int64), real)['alpha'].numpy() for i in range(4)])
  assert alphas.shape == (1024,) and len(np.unique(alphas)) == 1024
  assert 0 <= alphas.min() < 0.01 and 0.99 < alphas.max() <= 1
  counts, _ = np.histogram(alphas, bins=4, range=(0, 1))
  assert counts.min() > 200  # 256 expected per quarter; a constant or a narrowed α fails here
  again = draw(tf.constant(2, tf.int64), real)['alpha'].numpy()
  np.testing.assert_array_equal(again, alphas[512:768])
