"""The terms a run's two losses are summed from, each a small function of what one update sees.

The shape of StyleGAN2-ADA's training/loss.py, whose phases (Dmain, Dreg, Gmain) each add a few lines' term, with
lazy regularisation as a phase interval:

  critic:    L_D = adversarial + acgan_weight · auxiliary_classifier      the main terms, every update
                   + w_i · penalty                                          the regulariser (gradient_penalty or r1),
                                                                            lazily: w_i by `penalty_weights`
  generator: L_G = adversarial + acgan_generator_weight · auxiliary_classifier

Each term is the global-batch mean of a per-example value (B,) (`tf.nn.compute_average_loss`, passed in as
`average`). The loss registry (training/losses.py, `GANLoss.terms`) names each family's terms; --gp_weight adds the
gradient penalty to any family, --conditioning=acgan the auxiliary classifier to both losses (`term_names`).
"""

import dataclasses
from typing import Any, Callable, NamedTuple, Optional

import tensorflow as tf

from training import conditioning
from training.config import LAZY_RULES, TrainConfig
from training.losses import (ADVERSARIAL, AUXILIARY_CLASSIFIER, GRADIENT_PENALTY, R1, auxiliary_classifier_loss,
                             gradient_penalty, r1_penalty)

GLOBAL, PER_GENERATOR_STEP = LAZY_RULES


class CriticView(NamedTuple):
  """What the terms of one critic update read (training/steps.py builds it)."""
  real: Any  # (B, ...) T(x): the real batch as the critic sees it (augmented with --augment)
  fake: Any  # (B, ...) T(G(z)), relaxed first for categorical outputs (training/categorical.py)
  real_logits: Any  # (B, 1) D(T(x)), or D(T(x), y) when conditional
  fake_logits: Any  # (B, 1)
  real_class_logits: Any  # (B, K) AC-GAN's classifier on the real batch, or None
  labels: Any  # (B,) class ids of the real batch, which its fakes are asked for too; or None
  batch: dict  # the step's random numbers (training/steps.py attach_randomness): 'uniform' (B,), 'alpha' (B,), ...


class GeneratorView(NamedTuple):
  """What the terms of one generator update read."""
  fake_logits: Any  # (r·B, 1) D(T(G(z)))
  class_logits: Any  # (r·B, K) AC-GAN's classifier on the generated batch, or None
  labels: Any  # (r·B,) the class ids asked for, or None


@dataclasses.dataclass(frozen=True)
class Term:
  """A summand of one loss: weight × the global-batch mean of per_example(view)."""
  name: str  # the registry's name (training/losses.py)
  per_example: Callable  # (CriticView or GeneratorView) -> (B,) float32
  weight: float = 1.0
  metric: Optional[str] = None  # its own metrics key; None where d_loss / g_loss report it inside the sum


@dataclasses.dataclass(frozen=True)
class Penalty:
  """The critic loss's regulariser, and when it is computed (lazy regularisation, Karras et al. 2020, Sec. 3.1: a
  regulariser computed every k-th critic update only, weighted k, keeps its average strength)."""
  metric: str  # its name in the metrics: the per-example mean, unweighted
  weight: float  # of that mean in the critic loss: λ for the gradient penalty, γ/2 for R1
  every: int  # k
  rule: str  # GLOBAL: critic update j of the run (its batch index) when j % k == 0, weighted k;
  #            PER_GENERATOR_STEP (runs recorded before it): updates i % k == 0 of each generator step's n_critic,
  #            weighted n_critic / (their count)
  per_example: Callable  # (score, real, fake, batch) -> (B,); score(x, training) is D's logit (B, 1) at x

  @property
  def skipped_sometimes(self) -> bool:
    """Whether some critic updates skip it, decided in the graph from the batch index (GLOBAL, k > 1)."""
    return self.rule == GLOBAL and self.every > 1

  def is_due(self, index) -> bool:
    """Whether critic update `index` (an int, the batch index) computes it under the GLOBAL rule."""
    return index % self.every == 0

  def mean(self, compute: Callable, batch: dict):
    """(compute(), None); or, where some updates skip it, (compute() or 0, whether it was computed): a tf.cond on
    the global critic update j, batch['index'], (B,) copies of j sliced per replica like the batch: replicas agree."""
    if not self.skipped_sometimes:
      return compute(), None
    due = tf.equal(batch['index'][0] % self.every, 0)
    return tf.cond(due, compute, lambda: tf.zeros([])), due


@dataclasses.dataclass(frozen=True)
class Terms:
  """A run's losses as terms, in the order they are summed; the penalty comes last in L_D."""
  critic: tuple = ()  # Term: L_D's main terms on a CriticView
  generator: tuple = ()  # Term: L_G's on a GeneratorView
  penalty: Optional[Penalty] = None


# --- The terms --------------------------------------------------------------------------------------------------

def real_labels(uniform, smoothing: float, flip: float):
  """DCGAN's real targets (B,): 1 − smoothing (one-sided label smoothing, Salimans et al. 2016, Sec. 3.4), flipped
  to 0 where uniform (B,) U[0, 1) < flip."""
  smoothed = tf.fill(tf.shape(uniform), 1.0 - smoothing)
  return tf.where(uniform < flip, tf.zeros_like(smoothed), smoothed)


def adversarial_terms(config: TrainConfig) -> Terms:
  """The family's L_D(real_logits, fake_logits) and L_G(fake_logits) (training/losses.py), with the keywords its
  settings give them and, for a family that takes them (DCGAN), the real targets of --label_smoothing/--label_flip."""
  family = config.family
  d_kwargs, g_kwargs = family.loss_kwargs(config)
  smoothed = family.real_labels and (config.label_smoothing or config.label_flip)

  def critic(view: CriticView):
    kwargs = d_kwargs
    if smoothed:
      kwargs = dict(d_kwargs, real_labels=real_labels(view.batch['uniform'], config.label_smoothing,
                                                      config.label_flip))
    return family.discriminator_loss(view.real_logits, view.fake_logits, **kwargs)

  def generator(view: GeneratorView):
    return family.generator_loss(view.fake_logits, **g_kwargs)

  return Terms((Term(ADVERSARIAL, critic),), (Term(ADVERSARIAL, generator),))


def auxiliary_classifier_terms(config: TrainConfig) -> Terms:
  """AC-GAN's classifier cross-entropy (Odena et al. 2017, Eq. 2's L_C), as the WGAN-GP paper's conditional
  CIFAR-10 model trains it: the critic's on *real* images only (--acgan_weight), the generator's on its samples'
  asked-for classes (--acgan_generator_weight). training/conditioning.py says why never on generated ones for D."""
  return Terms(
      (Term(AUXILIARY_CLASSIFIER, lambda view: auxiliary_classifier_loss(view.real_class_logits, view.labels),
            config.acgan_weight, 'd_class_loss'),),
      (Term(AUXILIARY_CLASSIFIER, lambda view: auxiliary_classifier_loss(view.class_logits, view.labels),
            config.acgan_generator_weight, 'g_class_loss'),))


def gradient_penalty_terms(config: TrainConfig) -> Terms:
  """WGAN-GP's λ·(‖∇_x̂ D(x̂)‖₂ − 1)² at x̂ = α T(x) + (1 − α) T(G(z)) (Gulrajani et al. 2017, Eq. 3; Algorithm 1,
  lines 6-7): `losses.gradient_penalty`, with one α ~ U[0, 1] per example (batch['alpha']), ε inside the square root,
  in float32 even under mixed precision. None where --gp_weight is 0; lazily every --gp_every updates by the run's
  rule (config.lazy_rule).

  With --augment, x̂ lies between T(x) and T(G(z)): the Wasserstein estimate compares the augmented distributions,
  so the 1-Lipschitz constraint belongs to D on the inputs it actually sees (augmenting an interpolate of
  unaugmented images would penalise D∘T instead, at points D is never trained on)."""
  if config.gp_weight <= 0:
    return Terms()
  return Terms(penalty=Penalty('gradient_penalty', config.gp_weight, config.gp_every, config.lazy_rule,
                               lambda score, real, fake, batch: gradient_penalty(score, real, fake, batch['alpha'])))


def r1_terms(config: TrainConfig) -> Terms:
  """R1, γ/2·‖∇_x D(x)‖² on the real batch (Mescheder et al. 2018, Eq. 9; `losses.r1_penalty`), lazily every
  --r1_every updates by the global rule; none where --r1_gamma is 0.

  With --augment, `real` is T(x), the images whose scores the loss trains: R1 keeps D flat where it is trained on
  real data, which under DiffAugment is the augmented distribution: DiffAugment's StyleGAN2 code's
  ns_r1_DiffAugment. (Its ns_DiffAugment_r1, and StyleGAN2-ADA, differentiate with respect to x through T instead:
  ∇_x D(T(x)), zero on a cutout square.)"""
  if config.r1_gamma <= 0:
    return Terms()
  return Terms(penalty=Penalty('r1_penalty', config.r1_gamma / 2, config.r1_every, GLOBAL,
                               lambda score, real, fake, batch: r1_penalty(score, real)))


# The registry's term names (training/losses.py GANLoss.terms) -> the terms a resolved config makes of them.
TERMS = {
    ADVERSARIAL: adversarial_terms,
    GRADIENT_PENALTY: gradient_penalty_terms,
    R1: r1_terms,
    AUXILIARY_CLASSIFIER: auxiliary_classifier_terms,
}


def term_names(config: TrainConfig) -> tuple:
  """The run's terms: its family's (GANLoss.terms), the gradient penalty where --gp_weight > 0 adds it to a family
  without it, and the auxiliary classifier where --conditioning's critic has one."""
  names = list(config.family.terms)
  if config.gp_weight > 0 and GRADIENT_PENALTY not in names:
    names.append(GRADIENT_PENALTY)
  if conditioning.CONDITIONINGS[config.conditioning].classifier:
    names.append(AUXILIARY_CLASSIFIER)
  return tuple(names)


def terms_of(config: TrainConfig) -> Terms:
  """The run's terms, made once from the resolved config; at most one penalty (resolve refuses --gp_weight with an
  R1 family)."""
  made = [TERMS[name](config) for name in term_names(config)]
  penalties = [terms.penalty for terms in made if terms.penalty is not None]
  if len(penalties) > 1:
    raise ValueError(f'one critic penalty at most, got {[p.metric for p in penalties]}')
  return Terms(sum((terms.critic for terms in made), ()), sum((terms.generator for terms in made), ()),
               penalties[0] if penalties else None)


def penalty_of(config: TrainConfig) -> Optional[Penalty]:
  """The run's penalty: the WGAN-GP gradient penalty (--gp_weight > 0; --gp_every by config.lazy_rule), R1 for a
  family that carries it (--r1_gamma > 0; --r1_every, always by the global rule), or None."""
  return terms_of(config).penalty


# --- Summing them -----------------------------------------------------------------------------------------------

def weighted_sum(terms: tuple, view, average: Callable):
  """(Σ weight · average(per_example(view)) over `terms` in order, {metric: that mean} of those that log one).

  A weight of 1 multiplies nothing: the adversarial term as the papers write it (×1 would change no bit either)."""
  total, metrics = None, {}
  for term in terms:
    mean = average(term.per_example(view))
    part = mean if term.weight == 1 else term.weight * mean
    total = part if total is None else total + part
    if term.metric:
      metrics[term.metric] = mean
  return total, metrics


def penalty_weights(penalty: Optional[Penalty], n_critic: int) -> tuple:
  """(the penalty's weight in each of a generator step's n_critic critic updates, its weight in an extra one
  (--wgan_critic_schedule)); 0 where an update does not compute it.

  Global rule: k·weight on every update, the update itself skipping the computation where j % k != 0 (`mean`).
  Per-generator-step rule (runs recorded before it): updates i % k == 0 of the step, weighted n_critic / (their
  count) · weight, so that the step's total strength is n_critic · weight."""
  if penalty is None:
    return [0.0] * n_critic, 0.0
  if penalty.rule == PER_GENERATOR_STEP:
    penalised = [i for i in range(n_critic) if i % penalty.every == 0]
    weights = [penalty.weight * n_critic / len(penalised) if i in penalised else 0.0 for i in range(n_critic)]
    return weights, penalty.weight
  return [penalty.every * penalty.weight] * n_critic, penalty.every * penalty.weight
