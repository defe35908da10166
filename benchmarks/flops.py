"""FLOPs of a GAN training step, counted from TensorFlow graphs, and a large matmul's GFLOP/s as a practical peak.

Convention: FLOPs = 2 x the multiply-accumulates of matrix products and convolutions (forward *and* the
gradient ops TF emits: Conv2DBackpropInput/Filter, transposed MatMuls). Element-wise work (bias, BatchNorm,
LayerNorm, activations, the loss, Adam) is not counted: it is O(activations), not O(activations x kernel), and
is where a CPU step spends time *without* doing counted FLOPs.

Measured from the graph: `graph_flops` traces a tf.function and sums its matmul/conv ops from their static
shapes. It first keeps only the ops an output or a stateful op depends on, as TensorFlow's function pruning
does at run time: the gradient tape also emits gradients nobody reads (during a critic update it differentiates
through G as well, since G's variables are watched), and those never run. `layer_flops` counts the forward pass
per layer analytically (Dense, Conv2D, Conv2DTranspose), as a check on the graph count and for the tests.

A WGAN-GP generator step (Gulrajani et al. 2017, Algorithm 1) with batch B is, per `StepFlops`:
  n_critic x [ G forward (B)                                                     generator_forward
             + D forward on real and fake (2B), backward to D's weights           critic_losses ]
  + (penalised updates) x [ D forward on x_hat (B), grad_x D,
                            backward of |grad_x D| to D's weights                 gradient_penalty ]
  + G forward, D forward, backward through D to G's weights                      generator_update
The penalty is the run's (training/steps.py `penalty_of`): WGAN-GP's at x_hat, or R1 at the real batch (the same
kind of work: D forward, grad_x D, its backward). With a lazy penalty (--gp_every, --r1_every: k > 1) only some
critic updates compute it: under the global rule critic update j of the run when j % k == 0, n_critic / k per
generator step on average (`penalised_updates`); under the rule of runs recorded before it, ceil(n_critic / k) of
each generator step's updates. Every part is measured as the difference of two traced graphs built from the run's
own models (its spectral normalisation too), loss family and penalty function, so the double-backward factor of
the penalty is measured, not assumed.
"""

import dataclasses
import math
import time
from typing import Optional

# --- Counting ops in a graph -------------------------------------------------------------------------------------


def _dims(shape) -> list:
  dims = shape.as_list() if hasattr(shape, 'as_list') else list(shape)
  if any(d is None for d in dims):
    raise ValueError(f'cannot count FLOPs of a tensor with unknown shape {dims}: trace with full TensorSpecs')
  return dims


def _matmul(op) -> int:
  a, b = _dims(op.inputs[0].shape), _dims(op.inputs[1].shape)
  m, k = (a[1], a[0]) if op.get_attr('transpose_a') else (a[0], a[1])
  n = b[0] if op.get_attr('transpose_b') else b[1]
  return 2 * m * n * k


def _batch_matmul(op) -> int:
  a, out = _dims(op.inputs[0].shape), _dims(op.outputs[0].shape)
  k = a[-2] if op.get_attr('adj_x') else a[-1]
  return 2 * math.prod(out) * k


def _conv(out_shape, filter_shape) -> int:
  """2 x (output elements) x (kernel taps x input channels): filter (kh, kw, C_in per group, C_out)."""
  kh, kw, c_in, _ = _dims(filter_shape)
  return 2 * math.prod(_dims(out_shape)) * kh * kw * c_in


# op type -> FLOPs. Conv2DBackpropInput is also the forward op of Conv2DTranspose: its out_backprop is the
# transposed convolution's input, and the count is that of the convolution it transposes.
_OP_FLOPS = {
    'MatMul': _matmul,
    'BatchMatMul': _batch_matmul,
    'BatchMatMulV2': _batch_matmul,
    'BatchMatMulV3': _batch_matmul,
    'Conv2D': lambda op: _conv(op.outputs[0].shape, op.inputs[1].shape),
    'Conv2DBackpropInput': lambda op: _conv(op.inputs[2].shape, op.inputs[1].shape),
    'Conv2DBackpropInputV2': lambda op: _conv(op.inputs[2].shape, op.inputs[1].shape),
    'Conv2DBackpropFilter': lambda op: _conv(op.inputs[2].shape, op.outputs[0].shape),
}
_CALLS = ('PartitionedCall', 'StatefulPartitionedCall')
_CONDS = ('If', 'StatelessIf')  # tf.cond: counted as one of its branches, when asked which (graph_op_flops)
_UNCOUNTED = ('Conv', 'MatMul', 'Einsum', 'While', 'If', 'Case')  # any other op type naming these is refused


def _live_ops(graph, roots=None) -> list:
  """The ops that run: those the outputs (or `roots`, tensors), control outputs or a stateful op depend on."""
  roots = [t.op for t in (graph.outputs if roots is None else roots)] + list(graph.control_outputs)
  roots += [op for op in graph.get_operations() if op._is_stateful]  # pylint: disable=protected-access
  live, stack = {}, roots
  while stack:
    op = stack.pop()
    if op.name in live:
      continue
    live[op.name] = op
    stack.extend(t.op for t in op.inputs)
    stack.extend(op.control_inputs)
  return list(live.values())


def graph_op_flops(graph, branch: Optional[str] = None, roots=None) -> dict:
  """{op type: FLOPs} of the live matmul/conv ops of a FuncGraph (called functions included). branch: 'then' or
  'else', the branch every tf.cond is counted as taking (the lazy penalty's: 'then' computes it); None refuses a
  graph with a tf.cond. A branch counts only what its used outputs need: TensorFlow lowers a tf.cond into the
  graph before running it and prunes the rest (the gradient of a cond computes gradients for every input of its
  branch, those of inputs nobody differentiates included)."""
  totals = {}
  ops = _live_ops(graph, roots)
  live = {op.name for op in ops}
  for op in ops:
    inner_roots = None
    if op.type in _CONDS and branch is not None:
      inner = graph._get_function(op.get_attr(f'{branch}_branch').name).graph  # pylint: disable=protected-access
      outputs = {id(t) for t in graph.outputs}
      inner_roots = [inner.outputs[i] for i, t in enumerate(op.outputs)
                     if id(t) in outputs or any(c.name in live for c in t.consumers())]
    elif op.type in _CALLS:
      inner = graph._get_function(op.get_attr('f').name).graph  # pylint: disable=protected-access
    if op.type in _CALLS or inner_roots is not None:
      for k, v in graph_op_flops(inner, branch, inner_roots).items():
        totals[k] = totals.get(k, 0) + v
    elif op.type in _OP_FLOPS:
      totals[op.type] = totals.get(op.type, 0) + _OP_FLOPS[op.type](op)
    elif any(word in op.type for word in _UNCOUNTED):
      raise ValueError(f'graph_op_flops does not know how to count op {op.name!r} of type {op.type}')
  return totals


def graph_flops(fn, *args, branch: Optional[str] = None) -> int:
  """FLOPs of one call of `fn` (a tf.function, or a Python function wrapped here) for `args`: tensors or fully
  specified tf.TensorSpecs (or anything its get_concrete_function accepts, e.g. an iterator); `branch`: which
  branch of each tf.cond to count (graph_op_flops)."""
  import tensorflow as tf
  if not hasattr(fn, 'get_concrete_function'):
    fn = tf.function(fn)
  return sum(graph_op_flops(fn.get_concrete_function(*args).graph, branch).values())


# --- Counting layers analytically --------------------------------------------------------------------------------


def layer_flops(model) -> dict:
  """{layer name: forward FLOPs per example} for the Dense, Conv2D and Conv2DTranspose layers of a Keras model
  (nested models included); other layers count 0 (element-wise). MACs x 2, bias additions not counted:
    Dense            (inputs per example / in) x in x out
    Conv2D           H_out W_out C_out x kh kw C_in/groups
    Conv2DTranspose  H_in W_in C_in x kh kw C_out        (each input pixel scatters a kh x kw x C_out patch)
  """
  import keras
  counts = {}
  for layer in model.layers:
    if isinstance(layer, keras.Model):
      counts.update({f'{layer.name}/{k}': v for k, v in layer_flops(layer).items()})
      continue
    if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
      continue
    in_dims, out_dims = _dims(layer.input.shape[1:]), _dims(layer.output.shape[1:])  # per example
    kernel = _dims(layer.kernel.shape)
    if isinstance(layer, keras.layers.Dense):
      macs = math.prod(in_dims[:-1]) * in_dims[-1] * kernel[-1]
    elif isinstance(layer, keras.layers.Conv2DTranspose):  # kernel (kh, kw, C_out, C_in)
      macs = math.prod(in_dims) * kernel[0] * kernel[1] * kernel[2]
    else:  # Conv2D, kernel (kh, kw, C_in / groups, C_out)
      macs = math.prod(out_dims) * kernel[0] * kernel[1] * kernel[2]
    counts[layer.name] = 2 * macs
  return counts


# --- One training step -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StepFlops:
  """FLOPs of the parts of one generator step (module docstring), each for one batch; measured from graphs."""
  batch: int
  n_critic: int
  penalised_updates: float  # critic updates per generator step that compute the penalty (on average, lazily)
  generator_forward: int  # G(z), (B, latent) -> (B, H, W, C)
  critic_forward: int  # D(x) on one batch: the unit the factors below are stated in
  critic_losses: int  # D on real and fake, backward to D's weights
  gradient_penalty: int  # D on x_hat, grad_x D, backward of the penalty to D's weights
  generator_update: int  # G, D, backward through D to G's weights

  @property
  def critic_update(self) -> int:
    """A critic update without the penalty."""
    return self.generator_forward + self.critic_losses

  def generator_step(self, n_critic: int, penalised_updates: float) -> float:
    """FLOPs of a generator step with n_critic critic updates, penalised_updates of them with the penalty."""
    return n_critic * self.critic_update + penalised_updates * self.gradient_penalty + self.generator_update

  @property
  def per_generator_step(self) -> int:
    return self.generator_step(self.n_critic, self.penalised_updates)

  def shares(self) -> dict:
    """Fraction of a generator step's FLOPs in each part (the penalty only where there is one)."""
    total = self.per_generator_step
    shares = {'G forward (in critic updates)': self.n_critic * self.generator_forward / total,
              'critic losses fwd+bwd': self.n_critic * self.critic_losses / total,
              'gradient penalty': self.penalised_updates * self.gradient_penalty / total,
              'generator update': self.generator_update / total}
    return {k: v for k, v in shares.items() if v or k != 'gradient penalty'}


def step_parts(config, seed: int = 0) -> tuple:
  """(parts, specs, models) for `config` (a resolved TrainConfig with channels set): parts maps a name to a
  Python function of the tensors in specs[name], each the loss-and-gradient computation of one part of the
  step without the optimizer update; compile them with tf.function (jit_compile as wished) to count or time.
    generator_forward(z)              G(z)
    critic_forward(images)            D(x)
    critic_losses(z, real)            grads of the critic's loss (no penalty) w.r.t. D's weights
    critic_update(z, real, alpha)     grads of loss + the penalty's weight x penalty w.r.t. D's weights (the
                                      penalty computed, as on an update the lazy rule penalises)
  Real and fake go through the critic as one batch where training/steps.py fuses them (--fuse_critic with a
  per-example critic normalisation): the same FLOPs, but its time.
    generator_update(z)               grads of the generator's loss w.r.t. G's weights
  """
  import keras
  import tensorflow as tf
  from training import spectral_norm, steps
  from training.architectures import ARCHITECTURES
  keras.utils.set_random_seed(seed)
  arch, family, penalty = ARCHITECTURES[config.arch], config.family, steps.penalty_of(config)
  generator = arch.build_generator(config.latent_dim, config.image_size, config.channels, config.width)
  critic = spectral_norm.apply(arch.build_critic(config.image_size, config.channels, config.width,
                                                 spectral_norm.builder_norm(config.critic_norm),
                                                 config.critic_input_dropout), config.critic_norm)
  b, size, channels = config.batch_size, config.image_size, config.channels
  z_spec = tf.TensorSpec([b, config.latent_dim], tf.float32)
  image_spec = tf.TensorSpec([b, size, size, channels], tf.float32)  # (B, H, W, C) in [-1, 1]
  alpha_spec = tf.TensorSpec([b], tf.float32)
  fuse = getattr(config, 'fuse_critic', False) and config.critic_norm != 'batch'

  def critic_grads(z, real, alpha=None):
    with tf.GradientTape() as tape:
      fake = generator(z, training=True)
      if fuse:
        real_logits, fake_logits = tf.split(critic(tf.concat([real, fake], 0), training=True), 2)
      else:
        real_logits, fake_logits = critic(real, training=True), critic(fake, training=True)
      total = tf.reduce_mean(family.discriminator_loss(real_logits, fake_logits))
      if alpha is not None:
        score = lambda x, training: critic(x, training=training)  # noqa: E731
        total += penalty.weight * tf.reduce_mean(penalty.per_example(score, real, fake, {'alpha': alpha}))
    return total, tape.gradient(total, critic.trainable_variables)  # the loss too: the step reports it

  def generator_update(z):
    with tf.GradientTape() as tape:
      g_loss = tf.reduce_mean(family.generator_loss(critic(generator(z, training=True), training=True)))
    return g_loss, tape.gradient(g_loss, generator.trainable_variables)

  parts = {'generator_forward': lambda z: generator(z, training=True),
           'critic_forward': lambda images: critic(images, training=True),
           'critic_losses': critic_grads,
           'critic_update': critic_grads,  # with alpha: the penalty too
           'generator_update': generator_update}
  specs = {'generator_forward': (z_spec,), 'critic_forward': (image_spec,), 'critic_losses': (z_spec, image_spec),
           'critic_update': (z_spec, image_spec, alpha_spec) if penalty is not None else (z_spec, image_spec),
           'generator_update': (z_spec,)}
  return parts, specs, (generator, critic)


def penalised_updates(config, n_critic: int, first_update: Optional[int] = None) -> float:
  """How many of a generator step's n_critic critic updates compute the penalty (training/steps.py `penalty_of`,
  the lazy regularisation of Karras et al. 2020). Global rule: the updates j in [first_update, first_update +
  n_critic) of the run with j % k == 0, or n_critic / k on average without first_update. The rule of runs
  recorded before it: updates i % k == 0 of the step, ceil(n_critic / k)."""
  from training import steps
  penalty = steps.penalty_of(config)
  if penalty is None:
    return 0
  if penalty.rule == steps.PER_GENERATOR_STEP:
    return math.ceil(n_critic / penalty.every)
  if first_update is None:
    return n_critic / penalty.every
  return sum(penalty.is_due(j) for j in range(first_update, first_update + n_critic))


def step_flops(config) -> StepFlops:
  """Measures the FLOPs of one generator step of `config` (a resolved TrainConfig, channels set) from graphs."""
  parts, specs, _ = step_parts(config)
  f = {name: graph_flops(parts[name], *specs[name]) for name in parts}
  return StepFlops(batch=config.batch_size, n_critic=config.n_critic,
                   penalised_updates=penalised_updates(config, config.n_critic),
                   generator_forward=f['generator_forward'],
                   critic_forward=f['critic_forward'], critic_losses=f['critic_losses'] - f['generator_forward'],
                   gradient_penalty=f['critic_update'] - f['critic_losses'],
                   generator_update=f['generator_update'])


# --- The practical peak ------------------------------------------------------------------------------------------


def matmul_gflops(size: int = 2048, warmup: int = 3, repeats: int = 10) -> float:
  """GFLOP/s of a (size x size) @ (size x size) float32 tf.matmul (2 size^3 FLOPs), the median of `repeats`
  timed calls after `warmup` untimed ones, with this process's thread settings. A dense large GEMM is the
  best case of the CPU's kernels: the practical peak a training step could approach."""
  import tensorflow as tf
  a = tf.random.stateless_normal([size, size], [0, 1])
  b = tf.random.stateless_normal([size, size], [0, 2])
  for _ in range(warmup):
    tf.matmul(a, b).numpy()
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    tf.matmul(a, b).numpy()  # .numpy(): the sync point that ends the timed call
    times.append(time.perf_counter() - t0)
  return 2 * size ** 3 / sorted(times)[len(times) // 2] / 1e9
