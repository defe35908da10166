"""The distributed critic and generator updates, written as the papers' Algorithm 1 reads.

Each update is a per-replica function run by `strategy.run` inside a `tf.function`:
  critic update:    n_critic times per generator step — L_D's terms on a real batch and G(z) (training/loss_terms.py:
                    adversarial, + AC-GAN's classifier, + the penalty: λ·GP or γ/2·R1, lazily), then, for WGAN, clip
                    the critic's weights (cross-replica, so every replica holds the same clipped values).
  generator update: once — L_G's terms on D(G(z)).
The critic's inputs (augmentation, class weights, relaxation, the fused [real; fake] call) are the small functions
below; `critic_grads` and `generator_grads` turn them into a loss and its gradients on one replica. Per-example losses
are averaged over the global batch (`tf.nn.compute_average_loss`); the optimizers sum the replicas' gradients, so 2
replicas of B/2 compute the same update as 1 replica of B.

With --jit (on a GPU: training/strategies.py xla_applies), `critic_grads` and `generator_grads` are XLA-compiled;
`apply_gradients` stays outside the compiled function (XLA cannot compile the cross-replica update).
"""

import dataclasses
from typing import Any, Callable, Optional

import tensorflow as tf

from training import augment, categorical, conditioning, ema, loss_terms, strategies
from training.config import TrainConfig
# The penalty and its lazy rules live in training/loss_terms.py; PER_GENERATOR_STEP stays readable here for
# benchmarks/flops.py.
from training.loss_terms import PER_GENERATOR_STEP, penalty_of  # noqa: F401

SUM, MEAN = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN
_MEAN_METRICS = ('d_grad_norm', 'g_grad_norm')  # per-replica norms: averaged; everything else is summed
_DUE = 'penalty_due'  # a critic update's flag, 1 where the lazy penalty was computed; never logged


def penalty_memory(config: TrainConfig) -> Optional[tf.Variable]:
  """The penalty of the run's most recent critic update that computed it, for the metrics of steps that skip it
  (create it in the strategy's scope and checkpoint it, so a resumed run logs what an uninterrupted one does);
  None where every step computes the penalty."""
  penalty = penalty_of(config)
  if penalty is None or not penalty.skipped_sometimes:
    return None
  return tf.Variable(0.0, trainable=False, name=f'last_{penalty.metric}')


@dataclasses.dataclass(frozen=True, eq=False)
class StepContext:
  """What every update of a run reads, resolved once from its config (`step_context`)."""
  generator: Any
  critic: Any
  g_optimizer: Any
  d_optimizer: Any
  terms: loss_terms.Terms  # the two losses' terms (training/loss_terms.py)
  mode: conditioning.Conditioning  # how the critic is called with a class, and whether it also classifies
  num_classes: int  # K of the one-hot class weights both networks take; 0: unconditional
  relaxation: Optional[Callable]  # (probs, uniform, step) -> what the critic sees of categorical outputs, or None
  fuse: bool  # one critic call on [real; fake] (`critic_logits`)
  scores: bool  # log d_score and g_score, σ of the logits
  global_batch: int  # B over all replicas
  ratio: int  # --g_batch_ratio r: the generator update's batch is r·B

  def average(self, per_example):
    """The critic update's mean over the global batch, of per-example values (B,) on this replica."""
    return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch)

  def generator_average(self, per_example):
    """The generator update's mean over its global batch r·B."""
    return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch * self.ratio)


def step_context(config: TrainConfig, generator, critic, g_optimizer, d_optimizer) -> StepContext:
  """The run's networks and optimizers with what its config decides for every update, looked up once."""
  return StepContext(
      generator, critic, g_optimizer, d_optimizer, loss_terms.terms_of(config),
      # --conditioning (training/conditioning.py): the mode's critic call; batch['labels'] holds class ids (absent in
      # an unconditional run).
      conditioning.CONDITIONINGS[config.conditioning], conditioning.num_classes(config),
      # Categorical outputs (text): the critic sees Gumbel-Softmax / straight-through samples of the generator's
      # probabilities when asked (training/categorical.py), annealed with the generator step.
      categorical.make_relaxation(config),
      # Exact when the critic normalises per example (LayerNorm, none); a BatchNorm critic would normalise real and
      # fake with their joint statistics, so it keeps two calls.
      config.fuse_critic and config.critic_norm != 'batch',
      # The MathWorks DCGAN example's training plot: σ(logit), the probability D gives "real" (unflipped labels).
      # Only for a loss whose logits are log-odds; the other losses keep their metrics unchanged.
      config.family.probability_scores,
      config.batch_size, config.g_batch_ratio)


# --- The critic's inputs ----------------------------------------------------------------------------------------

def class_weights(labels, num_classes: int):
  """One-hot class weights (B, K) float32, which both networks take, of class ids (B,); None for None."""
  return None if labels is None else tf.one_hot(labels, num_classes, dtype=tf.float32)


def generator_batch(tensor, ratio: int):
  """(B, r, ...) -> (r·B, ...): --g_batch_ratio r's latents (gan_cifar_resnet.py's GEN_BS_MULTIPLE) are carried with
  the batch axis first, so that the distributed dataset slices them per replica with the real batch
  (attach_randomness); the generator update flattens them back."""
  return tensor if tensor is None or ratio == 1 else tf.reshape(tensor, [-1, *tensor.shape[2:]])


def critic_fakes(ctx: StepContext, z, y, uniform, augmentation):
  """T(relax(G(z, y))), what the critic sees of a generated batch, differentiable in G's weights (through T too).

  --augment (DiffAugment, Zhao et al. 2020): every sample the critic sees, real or generated, in both updates, is
  T(x), T's random numbers drawn per batch by attach_randomness (absent, and T the identity, when off)."""
  fake = ctx.generator(conditioning.generator_inputs(z, y), training=True)
  if ctx.relaxation is not None:
    fake = ctx.relaxation(fake, uniform, ctx.g_optimizer.iterations)
  return augment.apply(fake, augmentation)


def critic_logits(mode: conditioning.Conditioning, critic, real, fake, y, fuse: bool) -> tuple:
  """(D(real) (B, 1), D(fake) (B, 1), the real batch's class logits (B, K) or None) of one critic update, both asked
  for the classes y (B, K).

  Fused: one critic call on [real; fake] instead of two, one larger batch per layer, which runs faster on a CPU and
  launches half the kernels."""
  if not fuse:
    real_logits, real_class_logits = mode.score(critic, real, y)
    fake_logits, _ = mode.score(critic, fake, y)
    return real_logits, fake_logits, real_class_logits
  both = mode.score(critic, tf.concat([real, fake], 0), None if y is None else tf.concat([y, y], 0))
  (real_logits, fake_logits), class_logits = tf.split(both[0], 2), both[1]
  return real_logits, fake_logits, None if class_logits is None else tf.split(class_logits, 2)[0]


# --- One replica's losses and gradients (the units --jit compiles) ----------------------------------------------

def penalty_mean(ctx: StepContext, view: loss_terms.CriticView, y, weight: float):
  """(the penalty's global-batch mean, the lazy rule's flag or None), computed where its `weight` in this update is
  positive; (0, None) elsewhere. Conditional: D is penalised at (x̂, y), real and fake of a pair sharing their class
  y (R1: at (x, y))."""
  if weight <= 0:
    return tf.zeros([]), None
  penalty = ctx.terms.penalty
  score = lambda x, training: ctx.mode.score(ctx.critic, x, y, training)[0]  # noqa: E731
  return penalty.mean(lambda: ctx.average(penalty.per_example(score, view.real, view.fake, view.batch)), view.batch)


def critic_grads(ctx: StepContext, batch: dict, penalty_weight: float):
  """One replica's critic loss and its gradients (Algorithm 1, lines 3-6): L_D's main terms on a real batch and
  G(z), plus penalty_weight × the penalty. Returns (gradients, metrics)."""
  real = augment.apply(batch['real'], batch.get('augment_real'))  # (B, ...): images (B, H, W, C), or points (B, 2)
  labels = batch.get('labels')  # (B,) class ids of the real batch, which its fakes are asked for too; or None
  y = class_weights(labels, ctx.num_classes)  # (B, K) or None
  with tf.GradientTape() as tape:
    fake = critic_fakes(ctx, batch['z'], y, batch.get('gumbel'), batch.get('augment_fake'))
    view = loss_terms.CriticView(real, fake, *critic_logits(ctx.mode, ctx.critic, real, fake, y, ctx.fuse), labels,
                                 batch)
    total, term_metrics = loss_terms.weighted_sum(ctx.terms.critic, view, ctx.average)
    penalty, due = penalty_mean(ctx, view, y, penalty_weight)
    if penalty_weight > 0:  # the regulariser, last (StyleGAN2-ADA's Dreg phase)
      total = total + penalty_weight * penalty
    scaled = _scale(ctx.d_optimizer, total)
  grads = tape.gradient(scaled, ctx.critic.trainable_variables)
  return grads, critic_metrics(ctx, view, total, grads, (penalty, due), term_metrics)


def critic_metrics(ctx: StepContext, view: loss_terms.CriticView, total, grads, penalty: tuple, term_metrics: dict):
  """One critic update's metrics on this replica (summed over replicas by `_reduce`, the norm averaged): the loss,
  the penalty (its mean, unweighted, and the lazy rule's flag), the logits' means, their difference (the
  Wasserstein estimate), the gradient norm, the terms' own metrics, and σ scores where the logits are log-odds."""
  real_mean = ctx.average(tf.reshape(tf.cast(view.real_logits, tf.float32), [-1]))
  fake_mean = ctx.average(tf.reshape(tf.cast(view.fake_logits, tf.float32), [-1]))
  metrics = {'d_loss': total, 'gradient_penalty': tf.zeros([]), 'd_real': real_mean, 'd_fake': fake_mean,
             'wasserstein': real_mean - fake_mean, 'd_grad_norm': tf.linalg.global_norm(grads)}
  value, due = penalty
  if ctx.terms.penalty is not None:
    metrics[ctx.terms.penalty.metric] = value
  if due is not None:
    metrics[_DUE] = tf.cast(due, tf.float32)
  metrics.update(term_metrics)
  if ctx.scores:  # (mean σ(D(x)) + mean(1 − σ(D(G(z))))) / 2
    metrics['d_score'] = ctx.average((_probability(view.real_logits) + 1.0 - _probability(view.fake_logits)) / 2)
  return metrics


def generator_grads(ctx: StepContext, batch: dict):
  """One replica's generator loss and its gradients (Algorithm 1, lines 9-10): L_G's terms on D(T(G(z))) for the
  r·B latents of the update. Returns (gradients, metrics)."""
  labels = generator_batch(batch.get('labels_gen'), ctx.ratio)  # (r·B,) the classes asked for, or None
  y = class_weights(labels, ctx.num_classes)
  augmentation = batch.get('augment_gen')
  if augmentation is not None:
    augmentation = {k: generator_batch(v, ctx.ratio) for k, v in augmentation.items()}
  with tf.GradientTape() as tape:
    fake = critic_fakes(ctx, generator_batch(batch['z_gen'], ctx.ratio), y,
                        generator_batch(batch.get('gumbel_gen'), ctx.ratio), augmentation)
    view = loss_terms.GeneratorView(*ctx.mode.score(ctx.critic, fake, y), labels)
    g_loss, term_metrics = loss_terms.weighted_sum(ctx.terms.generator, view, ctx.generator_average)
    scaled = _scale(ctx.g_optimizer, g_loss)
  grads = tape.gradient(scaled, ctx.generator.trainable_variables)
  metrics = {'g_loss': g_loss, 'g_grad_norm': tf.linalg.global_norm(grads), **term_metrics}
  if ctx.scores:  # mean σ(D(G(z)))
    metrics['g_score'] = ctx.generator_average(_probability(view.fake_logits))
  return grads, metrics


def _probability(logits):
  """σ(logits) per example, float32: (B, 1) -> (B,)."""
  return tf.sigmoid(tf.reshape(tf.cast(logits, tf.float32), [-1]))


def _scale(optimizer, loss):
  # LossScaleOptimizer (mixed_float16) scales the loss up so float16 gradients do not underflow.
  return optimizer.scale_loss(loss) if hasattr(optimizer, 'scale_loss') else loss


# --- Updates across replicas ------------------------------------------------------------------------------------

def replica_update(grads_fn: Callable, ctx: StepContext, jit: bool, optimizer, model) -> Callable:
  """(batch, *args) -> metrics on one replica: grads_fn(ctx, batch, *args), XLA-compiled where `jit`, then the
  optimizer's step on `model`'s weights, outside the compiled unit (XLA cannot compile the cross-replica update)."""
  def grads(*args):
    return grads_fn(ctx, *args)

  compiled = tf.function(grads, jit_compile=True) if jit else grads

  def update(*args):
    gradients, metrics = compiled(*args)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return metrics

  return update


def _reduce(strategy, per_replica: dict) -> dict:
  return {k: strategy.reduce(MEAN if k in _MEAN_METRICS else SUM, v, axis=None) for k, v in per_replica.items()}


def clip_weights(variables, clip_value: float) -> None:
  """Arjovsky et al. 2017, Algorithm 1, line 7: w <- clip(w, -c, c), in the cross-replica context."""
  for v in variables:
    v.assign(tf.clip_by_value(v, -clip_value, clip_value))


def remember_penalty(metrics: dict, metric: str, memory: tf.Variable) -> dict:
  """A lazy penalty's metric becomes the penalty of the run's most recent critic update that computed it (the
  replicas' summed flags: > 0), which `memory` holds across steps and checkpoints."""
  latest = tf.where(metrics.pop(_DUE) > 0, metrics[metric], memory)
  memory.assign(latest)
  metrics[metric] = latest
  return metrics


def make_step_functions(config: TrainConfig, strategy, generator, critic, g_optimizer, d_optimizer,
                        ema_generator=None, ema_decay: float = 0.0, memory: Optional[tf.Variable] = None):
  """Returns (train_step, extra_critic_step): tf.functions taking the distributed iterator, returning metrics.

  With `ema_generator`, train_step also moves its weights towards the generator's after the generator update
  (training/ema.py), in the same graph: no extra Python call per step. `memory`: `penalty_memory(config)` as the
  trainer checkpoints it; made here when not given.
  """
  ctx = step_context(config, generator, critic, g_optimizer, d_optimizer)
  jit, _ = strategies.xla_applies(config.jit, config.jit_on_cpu, strategy)  # one replica, and not on a CPU host
  critic_replica = replica_update(critic_grads, ctx, jit, d_optimizer, critic)
  generator_replica = replica_update(generator_grads, ctx, jit, g_optimizer, generator)
  penalty = ctx.terms.penalty
  # The penalty's weight in each critic update of a generator step, and in an extra one (--wgan_critic_schedule).
  penalty_weights, extra_weight = loss_terms.penalty_weights(penalty, config.n_critic)
  lazy = penalty is not None and penalty.skipped_sometimes
  if lazy and memory is None:
    with strategy.scope():
      memory = penalty_memory(config)

  def critic_update(batch, penalty_weight):
    metrics = _reduce(strategy, strategy.run(critic_replica, args=(batch, penalty_weight)))
    if config.clip_value:
      clip_weights(critic.trainable_variables, config.clip_value)
    return remember_penalty(metrics, penalty.metric, memory) if lazy else metrics

  @tf.function
  def train_step(iterator):
    """n_critic critic updates on fresh real batches, then one generator update (Algorithm 1's outer loop).

    The critic loop is unrolled in one graph: one Python call per generator step keeps the per-call overhead
    out of small models' step time."""
    last = None
    for i in range(config.n_critic):
      batch = next(iterator)
      d_metrics = critic_update(batch, penalty_weights[i])
      if penalty is not None and not lazy:  # the last update's, with the last penalty computed (update 0 has one)
        last = d_metrics[penalty.metric] if penalty_weights[i] > 0 else last
        d_metrics[penalty.metric] = last
    g_metrics = _reduce(strategy, strategy.run(generator_replica, args=(batch,)))
    if ema_generator is not None:  # cross-replica context: one assignment updates every replica's copy
      ema.update(ema_generator.trainable_variables, generator.trainable_variables, ema_decay,
                 g_optimizer.iterations - 1)
    return {**d_metrics, **g_metrics}

  @tf.function
  def extra_critic_step(iterator):
    """One more critic update, for --wgan_critic_schedule's 100-critic-step generator steps."""
    return critic_update(next(iterator), extra_weight)

  return train_step, extra_critic_step


def attach_randomness(config: TrainConfig):
  """A tf.data map (batch_index, real batch) -> batch dict with every random number one step needs.

  The latents, penalty α, label-flip and augmentation draws are stateless functions of (seed, batch index), made
  for the *global* batch before it is split over replicas: 1 replica of B and 2 replicas of B/2 see the same
  numbers, and a resumed run continues the sequence instead of repeating it.
  """
  batch, latent, ratio = config.batch_size, config.latent_dim, config.g_batch_ratio
  policies = augment.policies(config.augment)
  num_classes = conditioning.num_classes(config)
  fake_labels = conditioning.FAKE_LABELS[config.fake_labels]

  def for_generator(tensor):
    """(r·B, ...) -> (B, r, ...) with --g_batch_ratio r > 1: the batch axis stays first, as the distributed
    dataset's slicing per replica needs; the generator update flattens it back (make_step_functions)."""
    return tensor if ratio == 1 else tf.reshape(tensor, [batch, ratio, *tensor.shape[1:]])

  def fn(index, real):
    seed = lambda salt: tf.stack([tf.constant(config.seed, tf.int64) * 1000 + salt, index])  # noqa: E731
    classes = {}
    if num_classes:  # a conditional run's batches are (images, class ids (B,))
      real, labels = real
      classes = {'labels': labels, 'labels_gen': for_generator(fake_labels(labels, num_classes, ratio, seed(10)))}
    gumbel = {}
    if config.gumbel_softmax:  # U(0, 1) per category of every fake sample, (B, seq_len, vocab)
      shape = [batch, *real.shape[1:]]
      gumbel = {'gumbel': tf.random.stateless_uniform(shape, seed(5)),
                'gumbel_gen': for_generator(tf.random.stateless_uniform([ratio * batch, *shape[1:]], seed(6)))}
    augmentation = {}
    if policies:  # --augment: independent transforms for the real batch, the critic's fakes and the generator's
      shape = [batch, *real.shape[1:]]
      generated = augment.draw(policies, [ratio * batch, *shape[1:]], seed(9))
      augmentation = {'augment_real': augment.draw(policies, shape, seed(7)),
                      'augment_fake': augment.draw(policies, shape, seed(8)),
                      'augment_gen': {k: for_generator(v) for k, v in generated.items()}}
    return {
        'real': real,  # (B, ...) real samples: images (B, H, W, C) in [-1, 1], points (B, 2), one-hot (B, L, V)
        'z': tf.random.stateless_normal([batch, latent], seed(1)),  # critic step's fakes
        # generator step's fakes: (B, latent), or (B, r, latent) with --g_batch_ratio r
        'z_gen': for_generator(tf.random.stateless_normal([ratio * batch, latent], seed(2))),
        'alpha': tf.random.stateless_uniform([batch], seed(3)),  # one α per example, U[0, 1]
        # The global critic update j this batch feeds (the lazy penalty's clock), once per example so that the
        # distributed dataset gives every replica its copies.
        'index': tf.fill([batch], index),
        'uniform': tf.random.stateless_uniform([batch], seed(4)),  # DCGAN label flips
        **gumbel,
        **augmentation,
        **classes,
    }

  return fn
