"""GAN losses as pure functions of critic logits, and the registry that names them.

Naming scheme (after tensorflow/gan `losses_impl.py`):
  `<family>_discriminator_loss(real_logits, fake_logits, ...)` and `<family>_generator_loss(fake_logits, ...)`.

Every function returns a *per-example* loss of shape (B,). The train step reduces it with
`tf.nn.compute_average_loss(..., global_batch_size=...)`, which is what keeps the gradients right under
MirroredStrategy (a per-replica mean would scale them by the number of replicas).
"""

import dataclasses
from typing import Callable, Optional

import tensorflow as tf


def _flat(logits):
  """(B, 1) or (B,) critic outputs -> (B,) float32 (losses are float32 even under mixed precision)."""
  return tf.reshape(tf.cast(logits, tf.float32), [-1])


# --- DCGAN: Goodfellow et al. 2014, "Generative Adversarial Nets", Eq. 1 and Sec. 3 -------------------------

def dcgan_discriminator_loss(real_logits, fake_logits, real_labels=None):
  """Binary cross-entropy of the discriminator, on logits.

  L_D = -[ y log σ(D(x)) + (1 - y) log(1 - σ(D(x))) ] - log(1 - σ(D(G(z))))

  Args:
    real_logits: (B,) or (B, 1) D(x) on real images.
    fake_logits: (B,) or (B, 1) D(G(z)) on generated images.
    real_labels: optional (B,) targets for the real images; 1 by default. One-sided label smoothing passes
      1 - s; a label flip passes 0 for the flipped examples (Salimans et al. 2016, Sec. 3.4).
  Returns:
    (B,) per-example loss.
  """
  real_logits, fake_logits = _flat(real_logits), _flat(fake_logits)
  if real_labels is None:
    real_labels = tf.ones_like(real_logits)
  real_labels = tf.cast(tf.reshape(real_labels, [-1]), tf.float32)
  real_term = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_labels, logits=real_logits)
  fake_term = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake_logits), logits=fake_logits)
  return real_term + fake_term


def dcgan_generator_loss(fake_logits):
  """Non-saturating generator loss (Goodfellow et al. 2014, Sec. 3): L_G = -log σ(D(G(z))).

  Args:
    fake_logits: (B,) or (B, 1) D(G(z)).
  Returns:
    (B,) per-example loss.
  """
  fake_logits = _flat(fake_logits)
  return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(fake_logits), logits=fake_logits)


# --- LSGAN: Mao et al. 2017, "Least Squares Generative Adversarial Networks", Eq. 2 --------------------------

def lsgan_discriminator_loss(real_logits, fake_logits, a=0.0, b=1.0):
  """L_D = ½ (D(x) - b)² + ½ (D(G(z)) - a)²   (Eq. 2, first line).

  a is the target for fakes, b for reals. The default a, b, c = 0, 1, 1 is Eq. 9; a, b, c = -1, 1, 0 satisfies
  b - c = 1, b - a = 2 and minimises the Pearson χ² divergence (Eq. 8).

  Args:
    real_logits: (B,) or (B, 1) D(x).
    fake_logits: (B,) or (B, 1) D(G(z)).
    a: target for generated images.
    b: target for real images.
  Returns:
    (B,) per-example loss.
  """
  real_logits, fake_logits = _flat(real_logits), _flat(fake_logits)
  return 0.5 * tf.square(real_logits - b) + 0.5 * tf.square(fake_logits - a)


def lsgan_generator_loss(fake_logits, c=1.0):
  """L_G = ½ (D(G(z)) - c)²   (Eq. 2, second line); c is the value the generator wants D to believe.

  Args:
    fake_logits: (B,) or (B, 1) D(G(z)).
    c: target of the generator.
  Returns:
    (B,) per-example loss.
  """
  return 0.5 * tf.square(_flat(fake_logits) - c)


# --- WGAN: Arjovsky et al. 2017, "Wasserstein GAN", Eq. 3 and Algorithm 1 -------------------------------------

def wasserstein_discriminator_loss(real_logits, fake_logits):
  """Critic loss L_D = D(G(z)) - D(x), the negated Wasserstein estimate of Eq. 3 (Algorithm 1, line 5).

  The mean of -L_D over a batch estimates W(P_r, P_g) up to the Lipschitz constant of the critic.

  Args:
    real_logits: (B,) or (B, 1) critic scores D(x).
    fake_logits: (B,) or (B, 1) critic scores D(G(z)).
  Returns:
    (B,) per-example loss.
  """
  return _flat(fake_logits) - _flat(real_logits)


def wasserstein_generator_loss(fake_logits):
  """Generator loss L_G = -D(G(z)) (Algorithm 1, line 10).

  Args:
    fake_logits: (B,) or (B, 1) critic scores D(G(z)).
  Returns:
    (B,) per-example loss.
  """
  return -_flat(fake_logits)


# --- WGAN-GP: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Eq. 3 and Algorithm 1 -----------

def gradient_penalty(critic, real, fake, alpha, epsilon=1e-12, training=True):
  """Per-example gradient penalty (‖∇_x̂ D(x̂)‖₂ - 1)², x̂ = α x + (1 - α) G(z)   (Eq. 3; Algorithm 1, lines 6-7).

  The caller multiplies by λ (10 in the paper) and reduces over the global batch. Works for any data kind: α is
  shaped (B, 1, ..., 1) and the norm taken over every non-batch axis, from the rank of `real` (images
  (B, H, W, C), 2-D points (B, 2), one-hot text (B, T, V)).

  Args:
    critic: callable samples -> (B, 1) scores.
    real: (B, ...) real batch.
    fake: (B, ...) generated batch, same shape.
    alpha: (B,) or (B, 1, ..., 1) uniform samples in [0, 1], one per example (never per pixel, never normal).
    epsilon: keeps the square root differentiable where the gradient is exactly zero.
    training: passed to the critic (normalisation layers).
  Returns:
    (B,) per-example penalty, float32 even under mixed precision.
  """
  real = tf.cast(real, tf.float32)
  fake = tf.cast(fake, tf.float32)
  rank = len(real.shape)
  alpha = tf.reshape(tf.cast(alpha, tf.float32), [-1] + [1] * (rank - 1))
  interpolated = alpha * real + (1.0 - alpha) * fake  # (B, ...)
  with tf.GradientTape() as tape:
    tape.watch(interpolated)
    scores = tf.cast(critic(interpolated, training=training), tf.float32)
  grads = tf.cast(tape.gradient(scores, interpolated), tf.float32)  # (B, ...)
  norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=list(range(1, rank))) + epsilon)
  return tf.square(norms - 1.0)


# --- Hinge: Lim & Ye 2017, "Geometric GAN", Eq. 9-10; Miyato et al. 2018, "Spectral Normalization for GANs", Eq. 16-17

def hinge_discriminator_loss(real_logits, fake_logits):
  """L_D = max(0, 1 - D(x)) + max(0, 1 + D(G(z)))   (Miyato et al. 2018, Eq. 16; the SVM margin of Lim & Ye 2017).

  The critic stops being pushed once a real score passes +1 and a fake one -1: only examples inside the margin
  contribute gradient.

  Args:
    real_logits: (B,) or (B, 1) critic scores D(x).
    fake_logits: (B,) or (B, 1) critic scores D(G(z)).
  Returns:
    (B,) per-example loss.
  """
  return tf.nn.relu(1.0 - _flat(real_logits)) + tf.nn.relu(1.0 + _flat(fake_logits))


def hinge_generator_loss(fake_logits):
  """L_G = -D(G(z))   (Miyato et al. 2018, Eq. 17): no margin on the generator's side.

  Args:
    fake_logits: (B,) or (B, 1) critic scores D(G(z)).
  Returns:
    (B,) per-example loss.
  """
  return -_flat(fake_logits)


# --- Non-saturating GAN with R1: Goodfellow et al. 2014, Sec. 3; Mescheder et al. 2018, Eq. 9 ----------------------

def non_saturating_discriminator_loss(real_logits, fake_logits):
  """L_D = softplus(-D(x)) + softplus(D(G(z))) = -log σ(D(x)) - log(1 - σ(D(G(z))))   (Goodfellow et al. 2014,
  Eq. 1 written on logits, as StyleGAN2's `loss_D_logistic` does).

  Args:
    real_logits: (B,) or (B, 1) D(x), logits.
    fake_logits: (B,) or (B, 1) D(G(z)), logits.
  Returns:
    (B,) per-example loss.
  """
  return tf.nn.softplus(-_flat(real_logits)) + tf.nn.softplus(_flat(fake_logits))


def non_saturating_generator_loss(fake_logits):
  """L_G = softplus(-D(G(z))) = -log σ(D(G(z)))   (Goodfellow et al. 2014, Sec. 3: the non-saturating form).

  Args:
    fake_logits: (B,) or (B, 1) D(G(z)), logits.
  Returns:
    (B,) per-example loss.
  """
  return tf.nn.softplus(-_flat(fake_logits))


def r1_penalty(critic, real, training=True):
  """Per-example R1 regulariser ‖∇_x D(x)‖² on *real* samples (Mescheder et al. 2018, "Which Training Methods for
  GANs do actually Converge?", Eq. 9: R1(ψ) = γ/2 · E_{x~p_D}[‖∇D_ψ(x)‖²]).

  The caller multiplies by γ/2 and reduces over the global batch. Only real samples enter: the penalty keeps D flat
  on the data, which is what makes the Dirac-GAN and its neighbours converge (their Theorem 4.1); generated samples
  play no part. Any rank: the norm is taken over every non-batch axis.

  Args:
    critic: callable (samples, training) -> (B, 1) logits.
    real: (B, ...) real batch (images (B, H, W, C), points (B, 2), one-hot text (B, T, V)).
    training: passed to the critic.
  Returns:
    (B,) per-example squared gradient norm, float32 even under mixed precision; 0 for a critic constant in x.
  """
  real = tf.cast(real, tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(real)
    scores = tf.cast(critic(real, training=training), tf.float32)
  grads = tape.gradient(scores, real, unconnected_gradients=tf.UnconnectedGradients.ZERO)  # (B, ...)
  return tf.reduce_sum(tf.square(tf.cast(grads, tf.float32)), axis=list(range(1, len(real.shape))))


def auxiliary_classifier_loss(class_logits, labels):
  """Per-example cross-entropy −log softmax(class_logits)[label] of an auxiliary classifier (Odena et al. 2017,
  AC-GAN, Eq. 2's L_C; the WGAN-GP paper's conditional CIFAR-10 model, gan_cifar_resnet.py).

  Args:
    class_logits: (B, K) unnormalised class scores.
    labels: (B,) int class ids.
  Returns:
    (B,) float32.
  """
  return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int64),
                                                        logits=tf.cast(class_logits, tf.float32))


# --- Registry ----------------------------------------------------------------------------------------------------

# The terms a family's losses are summed from (training/loss_terms.py makes each from the settings): the adversarial
# pair above; a penalty on the critic, WGAN-GP's or R1; AC-GAN's classifier, which --conditioning=acgan adds.
ADVERSARIAL, GRADIENT_PENALTY, R1 = 'adversarial', 'gradient_penalty', 'r1'
AUXILIARY_CLASSIFIER = 'auxiliary_classifier'


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
  """Optimizer defaults of a loss family, as its paper or reference code uses them."""
  name: str  # 'adam' or 'rmsprop'
  learning_rate: float
  beta_1: float = 0.9
  beta_2: float = 0.999


def _no_kwargs(settings) -> tuple:
  del settings
  return {}, {}


def _lsgan_targets(settings) -> tuple:
  """--lsgan_labels a, b, c as the loss functions' keywords: a and b for the discriminator, c for the generator."""
  a, b, c = settings.lsgan_labels
  return {'a': a, 'b': b}, {'c': c}


@dataclasses.dataclass(frozen=True)
class GANLoss:
  """One loss family: its two loss functions plus the training defaults and behaviour that belong to it.

  The train step and the settings check read a family's behaviour from here, so no other module compares loss
  names: a new family is one more entry.
  """
  name: str
  discriminator_loss: Callable  # (real_logits, fake_logits, **kw) -> (B,)
  generator_loss: Callable  # (fake_logits, **kw) -> (B,)
  n_critic: int  # critic updates per generator update
  optimizer: OptimizerSpec
  critic_norm: str  # default normalisation of the critic: 'batch', 'layer', 'none' or 'spectral'
  allowed_critic_norms: tuple
  gradient_penalty_weight: float = 0.0  # λ; 0 disables the penalty
  clip_value: Optional[float] = None  # critic weights clipped to ±clip after every critic update
  # settings (a TrainConfig) -> (discriminator_loss keywords, generator_loss keywords): the flags the two functions
  # take beyond the logits. The functions stay pure; the train step passes these once per run.
  loss_kwargs: Callable = _no_kwargs
  # discriminator_loss takes `real_labels` (one-sided smoothing and flips): --label_smoothing, --label_flip apply.
  real_labels: bool = False
  # The logits are log-odds, so σ(logit) is the probability D gives "real": the step logs d_score and g_score (the
  # MathWorks DCGAN example's training plot, training/score_plot.py). Other losses keep their metrics unchanged.
  probability_scores: bool = False
  # --wgan_critic_schedule (the WGAN reference code's 100-critic-step generator steps) applies.
  critic_schedule: bool = False
  # The terms its losses are summed from, in order (the names above): every family has the adversarial pair; WGAN-GP
  # adds the gradient penalty (weight gradient_penalty_weight, which --gp_weight may also give any other family),
  # ns_r1 R1. WGAN's Lipschitz constraint is no term: the update clips the weights (clip_value).
  terms: tuple = (ADVERSARIAL,)
  citation: str = ''

  @property
  def r1(self) -> bool:
    """The critic loss adds the R1 penalty γ/2·‖∇_x D(x)‖² on real samples (`r1_penalty`; --r1_gamma, --r1_every
    apply)."""
    return R1 in self.terms


LOSSES = {
    'dcgan': GANLoss(
        name='dcgan',
        discriminator_loss=dcgan_discriminator_loss,
        generator_loss=dcgan_generator_loss,
        n_critic=1,
        optimizer=OptimizerSpec('adam', 2e-4, 0.5, 0.999),  # Radford et al. 2016, Sec. 4
        critic_norm='batch',
        allowed_critic_norms=('batch', 'layer', 'none'),
        real_labels=True,
        probability_scores=True,
        terms=(ADVERSARIAL,),
        citation='Goodfellow et al. 2014; Radford et al. 2016'),
    'lsgan': GANLoss(
        name='lsgan',
        discriminator_loss=lsgan_discriminator_loss,
        generator_loss=lsgan_generator_loss,
        n_critic=1,
        optimizer=OptimizerSpec('adam', 2e-4, 0.5, 0.999),  # Mao et al. 2017, Sec. 4.1
        critic_norm='batch',
        allowed_critic_norms=('batch', 'layer', 'none'),
        loss_kwargs=_lsgan_targets,
        terms=(ADVERSARIAL,),
        citation='Mao et al. 2017'),
    'wgan': GANLoss(
        name='wgan',
        discriminator_loss=wasserstein_discriminator_loss,
        generator_loss=wasserstein_generator_loss,
        n_critic=5,
        optimizer=OptimizerSpec('rmsprop', 5e-5),  # Arjovsky et al. 2017, Algorithm 1
        critic_norm='batch',
        allowed_critic_norms=('batch', 'layer', 'none'),
        clip_value=0.01,
        critic_schedule=True,
        terms=(ADVERSARIAL,),  # the Lipschitz constraint is the update's: weights clipped to ±clip_value
        citation='Arjovsky et al. 2017'),
    'wgan_gp': GANLoss(
        name='wgan_gp',
        discriminator_loss=wasserstein_discriminator_loss,
        generator_loss=wasserstein_generator_loss,
        n_critic=5,
        optimizer=OptimizerSpec('adam', 1e-4, 0.0, 0.9),  # Gulrajani et al. 2017, Algorithm 1
        # BatchNorm makes each example's critic output depend on the whole batch, which breaks the
        # per-example gradient the penalty constrains (Gulrajani et al. 2017, Sec. 4).
        critic_norm='layer',
        allowed_critic_norms=('layer', 'none'),
        gradient_penalty_weight=10.0,
        critic_schedule=True,
        terms=(ADVERSARIAL, GRADIENT_PENALTY),
        citation='Gulrajani et al. 2017'),
    'hinge': GANLoss(
        name='hinge',
        discriminator_loss=hinge_discriminator_loss,
        generator_loss=hinge_generator_loss,
        # Miyato et al. 2018, Table 1, setting C: α = 2e-4, β1 = 0.5, β2 = 0.999, n_dis = 1.
        n_critic=1,
        optimizer=OptimizerSpec('adam', 2e-4, 0.5, 0.999),
        # SN bounds the critic's Lipschitz constant (Miyato et al. 2018, Sec. 2.1), which setting C's results rest
        # on; the other norms are there to ablate it (no penalty here, so BatchNorm is allowed too).
        critic_norm='spectral',
        allowed_critic_norms=('spectral', 'batch', 'layer', 'none'),
        terms=(ADVERSARIAL,),
        citation='Lim & Ye 2017; Miyato et al. 2018'),
    'ns_r1': GANLoss(
        name='ns_r1',
        discriminator_loss=non_saturating_discriminator_loss,
        generator_loss=non_saturating_generator_loss,
        n_critic=1,
        # Adam β1 = 0, β2 = 0.99: StyleGAN's and StyleGAN2's (Karras et al. 2019, Appendix C; 2020, Appendix B), the
        # recipe in which the non-saturating loss, R1 and its lazy form were tuned together; DCGAN's (0.5, 0.999)
        # was tuned for a loss with no penalty. Their rate, 0.002, is for equalised-learning-rate layers (weights
        # scaled by their He constant at run time); our plain layers keep the 2e-4 of the other families.
        optimizer=OptimizerSpec('adam', 2e-4, 0.0, 0.99),
        # BatchNorm is refused: it mixes the examples of a batch, so ∇_x D(x) would not be per example.
        critic_norm='none',
        allowed_critic_norms=('none', 'layer', 'spectral'),
        terms=(ADVERSARIAL, R1),
        citation='Goodfellow et al. 2014; Mescheder et al. 2018; Karras et al. 2020'),
}
