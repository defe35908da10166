r"""The WGAN-GP paper's Figure 1b: gradient norms of a deep critic's loss with respect to each layer's activations,
for weight clipping with c = 0.1, 0.01, 0.001 and for the gradient penalty, on the Swiss roll.

  python -m benchmarks.gradient_norms                          # 12-layer ReLU MLP critic, 300 generator steps each
  python -m benchmarks.gradient_norms --depth=12 --steps=1000 --out=docs/gradient_norms.png

Each setting trains the toy generator (3 x 512 ReLU) against a deep critic (--depth x --width ReLU layers, no
normalisation) on toy:swissroll with the WGAN loss, five critic updates per generator update: weight clipping with
RMSProp 5e-5 (WGAN, Arjovsky et al. 2017), or the penalty with Adam(1e-4, 0.5, 0.9) and λ = 0.1 (gan_toy.py).
Then, on one batch of real and generated points, it back-propagates the critic loss E[D(G(z))] − E[D(x)] to every
hidden layer's activations h_l and prints ‖∂L/∂h_l‖ (over the batch and the units). The paper's finding: with
clipping the norms explode (c = 0.1) or vanish (c ≤ 0.01) going back through the layers; with the penalty they
stay within an order of magnitude.
"""

import datetime
import json
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from common import cli

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_integer('depth', 12, 'Hidden layers of the critic (the paper: 12).', lower_bound=2, upper_bound=64)
  flags.DEFINE_integer('width', 512, 'Units per critic layer.', lower_bound=4, upper_bound=4096)
  flags.DEFINE_integer('steps', 300, 'Generator steps per setting (5 critic steps each).', lower_bound=1,
                       upper_bound=100_000)
  flags.DEFINE_list('clip_values', ['0.1', '0.01', '0.001'], 'Weight clipping thresholds c to compare.')
  flags.DEFINE_integer('seed', 0, 'Seed of weights and data.', lower_bound=0)
  flags.DEFINE_string('out', None, 'Figure path (default: runs/gradient_norms-<time>.png; a .json beside it).')


BATCH, N_CRITIC, LATENT_DIM = 256, 5, 2


def train_and_measure(clip_value, gp_weight, seed: int):
  """Trains one setting; returns the list of ‖∂L/∂h_l‖ for l = 1..depth (layer 1 nearest the input)."""
  import numpy as np
  import tensorflow as tf
  import keras
  from data import toy_data
  from training.architectures import mlp_critic, mlp_generator
  from training.losses import gradient_penalty
  keras.utils.set_random_seed(seed)
  spec = toy_data.spec_of('toy:swissroll')
  rng = np.random.default_rng(seed)
  generator = mlp_generator(LATENT_DIM, 2, 512)
  critic = mlp_critic(2, FLAGS.width, depth=FLAGS.depth)
  if clip_value:
    d_opt, g_opt = keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5)
  else:
    d_opt, g_opt = keras.optimizers.Adam(1e-4, 0.5, 0.9), keras.optimizers.Adam(1e-4, 0.5, 0.9)

  @tf.function
  def critic_step(real, z, alpha):
    with tf.GradientTape() as tape:
      fake = generator(z, training=True)
      loss = tf.reduce_mean(critic(fake)) - tf.reduce_mean(critic(real))  # WGAN critic loss
      if gp_weight:
        loss += gp_weight * tf.reduce_mean(gradient_penalty(critic, real, fake, alpha))
    d_opt.apply_gradients(zip(tape.gradient(loss, critic.trainable_variables), critic.trainable_variables))
    if clip_value:
      for v in critic.trainable_variables:
        v.assign(tf.clip_by_value(v, -clip_value, clip_value))

  @tf.function
  def generator_step(z):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(critic(generator(z, training=True)))
    g_opt.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables), generator.trainable_variables))

  def z():
    return tf.constant(rng.standard_normal((BATCH, LATENT_DIM)), tf.float32)

  for _ in range(FLAGS.steps):
    for _ in range(N_CRITIC):
      critic_step(tf.constant(spec.sample(rng, BATCH)), z(), tf.constant(rng.uniform(size=BATCH), tf.float32))
    generator_step(z())

  # Layer by layer, watching each hidden activation, so the tape gives ∂L/∂h_l for every l.
  real, fake = tf.constant(spec.sample(rng, BATCH)), generator(z(), training=False)
  hidden = [layer for layer in critic.layers if layer.name.startswith('hidden')]
  with tf.GradientTape(persistent=True) as tape:
    activations, scores = [], []
    for points in (fake, real):
      x = points
      for layer in hidden:
        x = layer(x)
        tape.watch(x)
        activations.append(x)
      scores.append(critic.get_layer('logits')(x))
    loss = tf.reduce_mean(scores[0]) - tf.reduce_mean(scores[1])
  norms = []
  for l in range(len(hidden)):  # the fake pass's and the real pass's activations of the same layer together
    grads = [tape.gradient(loss, activations[l]), tape.gradient(loss, activations[len(hidden) + l])]
    norms.append(float(tf.sqrt(sum(tf.reduce_sum(tf.square(g)) for g in grads))))
  return norms


def main(argv):
  del argv
  from absl import logging
  logging.set_verbosity(logging.WARNING)
  try:
    clips = [float(c) for c in FLAGS.clip_values]
  except ValueError:
    raise cli.UsageError(f'--clip_values takes numbers, got {",".join(FLAGS.clip_values)}') from None
  if not clips or any(c <= 0 for c in clips):
    raise cli.UsageError('--clip_values takes positive numbers')
  out = FLAGS.out or os.path.join('runs', f'gradient_norms-{datetime.datetime.now():%Y%m%d-%H%M%S}.png')
  if os.path.exists(out):
    raise cli.UsageError(f'--out {out!r} exists; choose another path (nothing was changed)')
  os.makedirs(os.path.dirname(out) or '.', exist_ok=True)
  settings = [(f'weight clipping c={c:g}', c, 0.0) for c in clips] + [('gradient penalty', None, 0.1)]
  results = {}
  for label, clip, gp in settings:
    print(f'{label}: {FLAGS.steps} generator steps, {FLAGS.depth}-layer critic ...', flush=True)
    results[label] = train_and_measure(clip, gp, FLAGS.seed)
    print('  log10 norms, layer 1..{}: {}'.format(FLAGS.depth, ' '.join(
        f'{__import__("math").log10(max(n, 1e-30)):.1f}' for n in results[label])), flush=True)
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(5, 3.6), dpi=110)
  layers = list(range(1, FLAGS.depth + 1))
  for label, norms in results.items():
    ax.plot(layers, norms, marker='o', markersize=3, label=label)
  ax.set_yscale('log')
  ax.set_xlabel('critic layer (1 = nearest the input)')
  ax.set_ylabel('gradient norm of the critic loss')
  ax.set_title(f'Swiss roll, {FLAGS.depth}-layer ReLU critic, {FLAGS.steps} generator steps', fontsize=9)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(out)
  plt.close(fig)
  with open(os.path.splitext(out)[0] + '.json', 'w') as f:
    json.dump({'depth': FLAGS.depth, 'width': FLAGS.width, 'steps': FLAGS.steps, 'norms': results}, f, indent=2)
  print(f'figure: {out}')
  print('| setting | layer 1 | layer {0} | ratio layer 1 / layer {0} |'.format(FLAGS.depth))
  print('|---|---|---|---|')
  for label, norms in results.items():
    print(f'| {label} | {norms[0]:.3g} | {norms[-1]:.3g} | {norms[0] / max(norms[-1], 1e-30):.3g} |')
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main)
