"""The distributed critic and generator updates, written as the papers' Algorithm 1 reads.

Each update is a per-replica function run by `strategy.run` inside a `tf.function`:
  critic_step:    n_critic times per generator step — L_D (+ the penalty: λ·GP, or γ/2·R1) on a real batch and
                  G(z), then, for WGAN, clip the critic's weights (cross-replica, so every replica holds the same
                  clipped values).
  generator_step: once — L_G on D(G(z)).
Per-example losses are averaged over the global batch (`tf.nn.compute_average_loss`); the optimizers sum the
replicas' gradients, so 2 replicas of B/2 compute the same update as 1 replica of B.

With --jit (on a GPU: training/strategies.py xla_applies), the loss-and-gradient part is XLA-compiled;
`apply_gradients` stays outside the compiled function (XLA cannot compile the cross-replica update).
"""

import dataclasses
from typing import Callable, Optional

import tensorflow as tf

from training import augment, categorical, conditioning, ema, strategies
from training.config import LAZY_RULES, TrainConfig
from training.losses import auxiliary_classifier_loss, gradient_penalty, r1_penalty

SUM, MEAN = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN
_MEAN_METRICS = ('d_grad_norm', 'g_grad_norm')  # per-replica norms: averaged; everything else is summed
GLOBAL, PER_GENERATOR_STEP = LAZY_RULES
_DUE = 'penalty_due'  # a critic update's flag, 1 where the lazy penalty was computed; never logged


@dataclasses.dataclass(frozen=True)
class Penalty:
  """The critic loss's penalty term of a run, and when it is computed (lazy regularisation, Karras et al. 2020,
  Sec. 3.1: a regulariser computed every k-th critic update only, weighted k, keeps its average strength)."""
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


def penalty_of(config: TrainConfig) -> Optional[Penalty]:
  """The run's penalty: the WGAN-GP gradient penalty (--gp_weight > 0; --gp_every by config.lazy_rule), R1 for a
  family that carries it (--r1_gamma > 0; --r1_every, always by the global rule), or None. Never both: resolve
  refuses --gp_weight with an R1 family."""
  if config.gp_weight > 0:
    # With --augment, x̂ lies between T(x) and T(G(z)): the Wasserstein estimate compares the augmented
    # distributions, so the 1-Lipschitz constraint belongs to D on the inputs it actually sees (augmenting an
    # interpolate of unaugmented images would penalise D∘T instead, at points D is never trained on).
    return Penalty('gradient_penalty', config.gp_weight, config.gp_every, config.lazy_rule,
                   lambda score, real, fake, batch: gradient_penalty(score, real, fake, batch['alpha']))
  if config.family.r1 and config.r1_gamma > 0:
    # With --augment, `real` is T(x), the images whose scores the loss trains: R1 keeps D flat where it is trained
    # on real data, which under DiffAugment is the augmented distribution, as the gradient penalty above is taken
    # where D is trained: DiffAugment's StyleGAN2 code's ns_r1_DiffAugment. (Its ns_DiffAugment_r1, and
    # StyleGAN2-ADA, differentiate with respect to x through T instead: ∇_x D(T(x)), zero on a cutout square.)
    return Penalty('r1_penalty', config.r1_gamma / 2, config.r1_every, GLOBAL,
                   lambda score, real, fake, batch: r1_penalty(score, real))
  return None


def penalty_memory(config: TrainConfig) -> Optional[tf.Variable]:
  """The penalty of the run's most recent critic update that computed it, for the metrics of steps that skip it
  (create it in the strategy's scope and checkpoint it, so a resumed run logs what an uninterrupted one does);
  None where every step computes the penalty."""
  penalty = penalty_of(config)
  if penalty is None or not penalty.skipped_sometimes:
    return None
  return tf.Variable(0.0, trainable=False, name=f'last_{penalty.metric}')


def _real_labels(config: TrainConfig, uniform):
  """Real targets of a family that takes them (DCGAN): 1 - label_smoothing, flipped to 0 with probability label_flip
  (uniform: (B,))."""
  smoothed = tf.fill(tf.shape(uniform), 1.0 - config.label_smoothing)
  return tf.where(uniform < config.label_flip, tf.zeros_like(smoothed), smoothed)


def _probability(logits):
  """σ(logits) per example, float32: (B, 1) -> (B,)."""
  return tf.sigmoid(tf.reshape(tf.cast(logits, tf.float32), [-1]))


def _scale(optimizer, loss):
  # LossScaleOptimizer (mixed_float16) scales the loss up so float16 gradients do not underflow.
  return optimizer.scale_loss(loss) if hasattr(optimizer, 'scale_loss') else loss


def make_step_functions(config: TrainConfig, strategy, generator, critic, g_optimizer, d_optimizer,
                        ema_generator=None, ema_decay: float = 0.0, memory: Optional[tf.Variable] = None):
  """Returns (train_step, extra_critic_step): tf.functions taking the distributed iterator, returning metrics.

  With `ema_generator`, train_step also moves its weights towards the generator's after the generator update
  (training/ema.py), in the same graph: no extra Python call per step. `memory`: `penalty_memory(config)` as the
  trainer checkpoints it; made here when not given.
  """
  family = config.family  # the loss's functions and behaviour (training/losses.py), looked up once
  d_kwargs, g_kwargs = family.loss_kwargs(config)
  global_batch = config.batch_size
  use_labels = family.real_labels and (config.label_smoothing or config.label_flip)
  # The MathWorks DCGAN example's training plot: scores from σ(logit), the probability D gives "real" (unflipped
  # labels). Only for a loss whose logits are log-odds; the other losses keep their metrics unchanged.
  scores = family.probability_scores
  jit, _ = strategies.xla_applies(config.jit, config.jit_on_cpu, strategy)  # one replica, and not on a CPU host
  compile_ = (lambda f: tf.function(f, jit_compile=True)) if jit else (lambda f: f)

  def average(per_example):
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)

  # --g_batch_ratio r: the generator update draws r·B latents (gan_cifar_resnet.py's GEN_BS_MULTIPLE), carried as
  # (B, r, ...) so that the distributed dataset slices them per replica with the real batch (attach_randomness).
  ratio = config.g_batch_ratio

  def generator_batch(tensor):
    return tensor if tensor is None or ratio == 1 else tf.reshape(tensor, [-1, *tensor.shape[2:]])

  def g_average(per_example):
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch * ratio)

  # One critic call on [real; fake] instead of two: one larger batch per layer runs faster on a CPU and launches
  # half the kernels. Exact when the critic normalises per example (LayerNorm, none); a BatchNorm critic would
  # normalise real and fake with their joint statistics, so it keeps two calls.
  fuse = config.fuse_critic and config.critic_norm != 'batch'
  # The penalty's weight in each critic update of a generator step, and in an extra one (--wgan_critic_schedule).
  # Lazy regularisation (Karras et al. 2020, StyleGAN2, Sec. 3.1), global rule: on critic updates j % k == 0 of
  # the run, weighted k, decided in the graph from the batch index (the weight here is k·λ; the update skips the
  # computation elsewhere). Per-generator-step rule (runs recorded before it): on updates i % k == 0 of each
  # generator step, weighted n_critic / (their count), decided here.
  penalty = penalty_of(config)
  penalty_weights, extra_weight = [0.0] * config.n_critic, 0.0
  if penalty is not None and penalty.rule == PER_GENERATOR_STEP:
    penalised = [i for i in range(config.n_critic) if i % penalty.every == 0]
    penalty_weights = [penalty.weight * config.n_critic / len(penalised) if i in penalised else 0.0
               for i in range(config.n_critic)]
    extra_weight = penalty.weight
  elif penalty is not None:
    penalty_weights = [penalty.every * penalty.weight] * config.n_critic
    extra_weight = penalty.every * penalty.weight
  lazy = penalty is not None and penalty.skipped_sometimes
  if lazy and memory is None:
    with strategy.scope():
      memory = penalty_memory(config)
  # Categorical outputs (text): the critic sees Gumbel-Softmax / straight-through samples of the generator's
  # probabilities when asked (training/categorical.py), annealed with the generator step.
  relaxation = categorical.make_relaxation(config)
  # --conditioning (training/conditioning.py): the mode's critic call, and the one-hot class weights (B, K) that
  # both networks take; batch['labels'] holds class ids (absent in an unconditional run).
  mode = conditioning.CONDITIONINGS[config.conditioning]
  num_classes = conditioning.num_classes(config)

  def weights(ids):
    return None if ids is None else tf.one_hot(ids, num_classes, dtype=tf.float32)

  def critic_input(probs, uniform):
    return probs if relaxation is None else relaxation(probs, uniform, g_optimizer.iterations)

  # --augment (DiffAugment, Zhao et al. 2020): every image the critic sees, real or generated, in both updates, is
  # T(x) with T's random numbers drawn per batch by attach_randomness (absent, and T the identity, when off).

  @compile_
  def critic_grads(batch, penalty_weight: float):
    real = augment.apply(batch['real'], batch.get('augment_real'))  # (B, ...): images (B, H, W, C), or points (B, 2)
    labels = batch.get('labels')  # (B,) class ids of the real batch, which its fakes are asked for too
    y = weights(labels)
    with tf.GradientTape() as tape:
      fake = critic_input(generator(conditioning.generator_inputs(batch['z'], y), training=True), batch.get('gumbel'))
      fake = augment.apply(fake, batch.get('augment_fake'))
      if fuse:
        both = mode.score(critic, tf.concat([real, fake], 0), None if y is None else tf.concat([y, y], 0))
        (real_logits, fake_logits), class_logits = tf.split(both[0], 2), both[1]
        real_class_logits = None if class_logits is None else tf.split(class_logits, 2)[0]
      else:
        real_logits, real_class_logits = mode.score(critic, real, y)  # (B, 1), (B, K) or None
        fake_logits, _ = mode.score(critic, fake, y)
      kwargs = dict(d_kwargs, real_labels=_real_labels(config, batch['uniform'])) if use_labels else d_kwargs
      d_loss = average(family.discriminator_loss(real_logits, fake_logits, **kwargs))
      class_loss = tf.zeros([])
      if real_class_logits is not None:  # AC-GAN: the classifier learns from real images only (conditioning.py)
        class_loss = average(auxiliary_classifier_loss(real_class_logits, labels))
      value, due = tf.zeros([]), None
      if penalty_weight > 0:
        # Conditional: real and fake of a pair share their class y, and D is penalised at (x̂, y) (R1: at (x, y)).
        score = lambda x, training: mode.score(critic, x, y, training)[0]  # noqa: E731
        compute = lambda: average(penalty.per_example(score, real, fake, batch))  # noqa: E731
        if lazy:  # (B,) copies of the batch index j, sliced per replica like the batch: every replica agrees
          due = tf.equal(batch['index'][0] % penalty.every, 0)
          value = tf.cond(due, compute, lambda: tf.zeros([]))
        else:
          value = compute()
      total = d_loss + config.acgan_weight * class_loss + penalty_weight * value
      scaled = _scale(d_optimizer, total)
    grads = tape.gradient(scaled, critic.trainable_variables)
    real_mean = average(tf.reshape(tf.cast(real_logits, tf.float32), [-1]))
    fake_mean = average(tf.reshape(tf.cast(fake_logits, tf.float32), [-1]))
    metrics = {'d_loss': total, 'gradient_penalty': tf.zeros([]), 'd_real': real_mean, 'd_fake': fake_mean,
               'wasserstein': real_mean - fake_mean, 'd_grad_norm': tf.linalg.global_norm(grads)}
    if penalty is not None:
      metrics[penalty.metric] = value
    if due is not None:
      metrics[_DUE] = tf.cast(due, tf.float32)
    if mode.classifier:
      metrics['d_class_loss'] = class_loss
    if scores:  # (mean σ(D(x)) + mean(1 − σ(D(G(z))))) / 2
      metrics['d_score'] = average((_probability(real_logits) + 1.0 - _probability(fake_logits)) / 2)
    return grads, metrics

  def critic_replica(batch, penalty_weight):
    grads, metrics = critic_grads(batch, penalty_weight)
    d_optimizer.apply_gradients(zip(grads, critic.trainable_variables))
    return metrics

  @compile_
  def generator_grads(batch):
    labels = generator_batch(batch.get('labels_gen'))  # (r·B,) the classes asked for, or None
    y = weights(labels)
    with tf.GradientTape() as tape:
      fake = critic_input(generator(conditioning.generator_inputs(generator_batch(batch['z_gen']), y),
                                    training=True), generator_batch(batch.get('gumbel_gen')))
      augmentation = batch.get('augment_gen')
      if augmentation is not None:
        augmentation = {k: generator_batch(v) for k, v in augmentation.items()}
      fake_logits, class_logits = mode.score(critic, augment.apply(fake, augmentation), y)  # gradients flow through T
      g_loss = g_average(family.generator_loss(fake_logits, **g_kwargs))
      class_loss = tf.zeros([])
      if class_logits is not None:  # AC-GAN: G is pushed towards images the classifier reads as the asked-for class
        class_loss = g_average(auxiliary_classifier_loss(class_logits, labels))
        g_loss += config.acgan_generator_weight * class_loss
      scaled = _scale(g_optimizer, g_loss)
    grads = tape.gradient(scaled, generator.trainable_variables)
    metrics = {'g_loss': g_loss, 'g_grad_norm': tf.linalg.global_norm(grads)}
    if mode.classifier:
      metrics['g_class_loss'] = class_loss
    if scores:  # mean σ(D(G(z)))
      metrics['g_score'] = g_average(_probability(fake_logits))
    return grads, metrics

  def generator_replica(batch):
    grads, metrics = generator_grads(batch)
    g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
    return metrics

  def reduce(per_replica):
    return {k: strategy.reduce(MEAN if k in _MEAN_METRICS else SUM, v, axis=None) for k, v in per_replica.items()}

  def critic_update(batch, penalty_weight):
    metrics = reduce(strategy.run(critic_replica, args=(batch, penalty_weight)))
    if config.clip_value:  # Arjovsky et al. 2017, Algorithm 1, line 7: w <- clip(w, -c, c)
      for v in critic.trainable_variables:
        v.assign(tf.clip_by_value(v, -config.clip_value, config.clip_value))
    if lazy:  # the metric is the penalty of the run's most recent update that computed it (summed flags: > 0)
      latest = tf.where(metrics.pop(_DUE) > 0, metrics[penalty.metric], memory)
      memory.assign(latest)
      metrics[penalty.metric] = latest
    return metrics

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
    g_metrics = reduce(strategy.run(generator_replica, args=(batch,)))
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
