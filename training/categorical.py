"""Sampling categorical outputs differentiably: Gumbel-Softmax and its straight-through variant.

Jang, Gu & Poole 2017, "Categorical Reparameterization with Gumbel-Softmax":
  y = softmax((log π + g) / τ),  g = -log(-log u),  u ~ U(0, 1)       (Eq. 1-2)
  τ = max(τ_min, τ0 · exp(-r · t)), t updated every N steps             (Sec. 4: τ_min 0.5, r 1e-5..1e-4, N 500-1000)
  straight-through: forward the one-hot of argmax y, backward the gradient of y: y_hard - stop_gradient(y) + y.

The generator keeps emitting softmax probabilities π (what is exported and served); these functions turn them into
what the critic sees during training, so any generator with categorical outputs (B, ..., K) can use them.
"""

import tensorflow as tf

_TINY = 1e-20  # log π of a probability that underflowed to 0


def gumbel_noise(uniform):
  """g = -log(-log u) for u in (0, 1), elementwise; u is clipped away from 0 and 1."""
  u = tf.clip_by_value(uniform, 1e-12, 1.0 - 1e-7)
  return -tf.math.log(-tf.math.log(u))


def gumbel_softmax(probs, uniform, tau):
  """softmax((log π + g) / τ) over the last axis: a point of the simplex that tends to a one-hot sample of π as
  τ -> 0. probs, uniform: (..., K)."""
  logits = tf.math.log(tf.maximum(probs, _TINY))
  return tf.nn.softmax((logits + gumbel_noise(uniform)) / tau, axis=-1)


def straight_through(soft):
  """Exactly one-hot forward (the argmax of `soft`), `soft`'s gradient backward."""
  hard = tf.one_hot(tf.argmax(soft, axis=-1), tf.shape(soft)[-1], dtype=soft.dtype)
  return hard - tf.stop_gradient(soft) + soft


def temperature(step, tau0: float, tau_min: float, rate: float, every: int):
  """τ at generator step `step`: max(τ_min, τ0 · exp(-r · t)) with t = step rounded down to a multiple of `every`."""
  t = tf.cast(step // every * every, tf.float32)
  return tf.maximum(tf.constant(tau_min, tf.float32), tau0 * tf.exp(-rate * t))


def make_relaxation(config):
  """None (the critic sees the softmax, as in the WGAN-GP paper), or fn(probs, uniform, step) -> the critic's input
  with --gumbel_softmax and/or --straight_through."""
  if not (config.gumbel_softmax or config.straight_through):
    return None

  def relax(probs, uniform, step):
    sample = probs
    if config.gumbel_softmax:
      tau = temperature(step, config.tau, config.tau_min, config.tau_decay, config.tau_every)
      sample = gumbel_softmax(probs, uniform, tau)
    return straight_through(sample) if config.straight_through else sample

  return relax
