"""The one seed → latent mapping of the project: z for (seed, row) is the same in every stage and runtime.

Used by the trainer's fixed-latent grids, the evaluator, export's sample.png, the SavedModel `sample` signature
and the app. Row i of a seed depends only on (seed, i, latent_dim), never on how many rows are asked for, so
`latents(s, 16)` is the first 16 rows of `latents(s, 64)`.

It is counter-based (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"): every value is a hash of
its coordinates, so NumPy (`latents`, importable without TensorFlow) and TF ops (`tf_latents`, inside a
SavedModel) compute the same numbers without sharing a generator state:

  bits(seed, row, j) = mix(mix(mix(seed ⊕ K) ⊕ row) ⊕ j)           uint32, wrap-around arithmetic
  mix                = "lowbias32" (C. Wellons' hash-prospector: xorshift-multiply, bias 0.17)
  u1 = (bits(2c) >> 8 + 1) / 2²⁴ ∈ (0, 1],  u2 = (bits(2c + 1) >> 8) / 2²⁴ ∈ [0, 1)
  z[row, c] = √(−2 ln u1) · cos(2π u2)                              Box–Muller, in float64, then float32

24-bit uniforms are exact in float32 and float64 alike, and the float64 transcendental functions of NumPy and
TensorFlow agree to well below float32 resolution, so both give the same float32 z (tests/test_latents.py).

The truncation trick (Brock et al. 2019, BigGAN, Sec. 3.1): `truncated_latents` / `tf_truncated_latents` resample
every component with |z| > threshold from fresh draws of the same hash under attempt keys 1, 2, ... (the first
draw within the threshold wins), so z is a truncated standard normal and its components already within the
threshold are those of `latents`. After TRUNCATION_ATTEMPTS draws a component still outside is clipped to
±threshold (at the smallest threshold, MIN_TRUNCATION, a probability of 0.803⁶⁴ ≈ 7.7·10⁻⁷ per component). This
differs from scaling z (the app's "latent scale"), which shrinks every component and changes the distribution's
shape.
"""

import numpy as np

MAX_SEED = 2**32 - 1  # seeds are uint32
_SEED_KEY = 0x9E3779B9  # golden-ratio constant: seed 0 does not start the hash chain at 0
_UNIFORM_KEY = 0x85EBCA6B  # another odd constant (murmur3's): the uniforms' chain differs from the latents'
_M1, _M2 = 0x7FEB352D, 0x846CA68B  # lowbias32 multipliers
_TRUNCATION_KEY = 0xC2B2AE35  # murmur3's other constant: attempt k of a truncated draw hashes with this key + k
TRUNCATION_ATTEMPTS = 64
MIN_TRUNCATION = 0.25  # P(|z| > 0.25) = 0.803: 64 attempts leave 0.803**64 = 7.7e-7 of the components clipped
_TWO_PI = 2.0 * np.pi
_INV_2_24 = 1.0 / (1 << 24)


class LatentError(ValueError):
  """A seed or shape that cannot be mapped; the message is one line for the user."""


def _check(seed, num: int, latent_dim: int) -> None:
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= MAX_SEED:
    raise LatentError(f'seed must be an integer from 0 to {MAX_SEED}, got {seed!r}')
  if int(num) < 0 or int(latent_dim) < 1:
    raise LatentError(f'need num >= 0 and latent_dim >= 1, got {num} and {latent_dim}')


def _mix(x: np.ndarray) -> np.ndarray:
  """lowbias32 on uint32 arrays (NumPy multiplies unsigned arrays modulo 2³²)."""
  x = x ^ (x >> np.uint32(16))
  x = x * np.uint32(_M1)
  x = x ^ (x >> np.uint32(15))
  x = x * np.uint32(_M2)
  return x ^ (x >> np.uint32(16))


def _normals(seed: int, num: int, latent_dim: int, start: int, key: int) -> np.ndarray:
  """Box-Muller normals of the hash chain keyed `key`: (num, latent_dim) float32."""
  rows = np.arange(start, start + int(num), dtype=np.uint32)[:, None]  # (N, 1)
  stream = np.arange(2 * int(latent_dim), dtype=np.uint32)[None, :]  # (1, 2D): two uniforms per value
  with np.errstate(over='ignore'):
    bits = _mix(_mix(_mix(np.uint32(int(seed)) ^ np.uint32(key)) ^ rows) ^ stream)  # (N, 2D)
  u1 = ((bits[:, 0::2] >> np.uint32(8)).astype(np.float64) + 1.0) * _INV_2_24  # (N, D) in (0, 1]
  u2 = (bits[:, 1::2] >> np.uint32(8)).astype(np.float64) * _INV_2_24  # (N, D) in [0, 1)
  return (np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)).astype(np.float32)


def latents(seed: int, num: int, latent_dim: int, start: int = 0) -> np.ndarray:
  """Rows start .. start+num-1 of `seed`'s latents: (num, latent_dim) float32, standard normal."""
  _check(seed, num, latent_dim)
  return _normals(seed, num, latent_dim, start, _SEED_KEY)


def check_threshold(threshold) -> float:
  """The truncation threshold as a float: 0 (off) or at least MIN_TRUNCATION. Raises LatentError."""
  try:
    value = float(threshold)
  except (TypeError, ValueError):
    raise LatentError(f'the truncation threshold must be a number, got {threshold!r}') from None
  if not (value == 0 or MIN_TRUNCATION <= value < float('inf')):
    raise LatentError(f'the truncation threshold must be 0 (off) or at least {MIN_TRUNCATION}, got {threshold!r}')
  return value


def _attempt_key(attempt: int) -> int:
  return (_TRUNCATION_KEY + attempt) & 0xFFFFFFFF


def truncated_latents(seed: int, num: int, latent_dim: int, threshold: float, start: int = 0) -> np.ndarray:
  """`latents` with every component beyond ±threshold resampled (the truncation trick, module docstring);
  threshold 0: `latents` itself. (num, latent_dim) float32."""
  threshold = check_threshold(threshold)
  z = latents(seed, num, latent_dim, start)
  if threshold == 0:
    return z
  t = np.float32(threshold)
  pending = np.abs(z) > t  # (N, D)
  for attempt in range(1, TRUNCATION_ATTEMPTS + 1):
    if not pending.any():
      break
    draw = _normals(seed, num, latent_dim, start, _attempt_key(attempt))
    take = pending & (np.abs(draw) <= t)
    z[take] = draw[take]
    pending &= ~take
  z[pending] = np.clip(z[pending], -t, t)
  return z


def uniforms(seed: int, num: int, width: int, start: int = 0) -> np.ndarray:
  """Rows start .. start+num-1 of `seed`'s uniforms in (0, 1): (num, width) float64, from the same hash as the
  latents under another key (so they are independent of them): what the app's temperature sampling of text draws.
  Row i depends only on (seed, i, j), never on num."""
  _check(seed, num, width)
  rows = np.arange(start, start + int(num), dtype=np.uint32)[:, None]  # (N, 1)
  stream = np.arange(int(width), dtype=np.uint32)[None, :]  # (1, W)
  with np.errstate(over='ignore'):
    bits = _mix(_mix(_mix(np.uint32(int(seed)) ^ np.uint32(_UNIFORM_KEY)) ^ rows) ^ stream)  # (N, W)
  return ((bits >> np.uint32(8)).astype(np.float64) + 0.5) * _INV_2_24


def tf_latents(seed, num, latent_dim: int, key: int = _SEED_KEY):
  """The same as `latents(seed, num, latent_dim)` in TF ops (for graphs such as the SavedModel's `sample`).

  seed: int64 or int32 scalar tensor in [0, MAX_SEED]; num: int32 scalar tensor. TensorFlow is imported here,
  not at module level, so serve/ can use this file without it. key: the hash chain (truncation attempts).
  """
  import tensorflow as tf

  def mix(x):
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(_M1, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(15, tf.uint32)))
    x = x * tf.constant(_M2, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))

  seed32 = tf.cast(tf.cast(seed, tf.int64), tf.uint32)  # int64 -> uint32 keeps the low 32 bits
  rows = tf.cast(tf.range(tf.cast(num, tf.int64), dtype=tf.int64), tf.uint32)[:, None]  # (N, 1)
  stream = tf.range(2 * latent_dim, dtype=tf.int64)
  stream = tf.cast(stream, tf.uint32)[None, :]  # (1, 2D)
  chain = mix(tf.bitwise.bitwise_xor(seed32, tf.constant(key, tf.uint32)))
  bits = mix(tf.bitwise.bitwise_xor(mix(tf.bitwise.bitwise_xor(chain, rows)), stream))  # (N, 2D)
  shifted = tf.cast(tf.bitwise.right_shift(bits, tf.constant(8, tf.uint32)), tf.float64)
  u1 = (shifted[:, 0::2] + 1.0) * _INV_2_24
  u2 = shifted[:, 1::2] * _INV_2_24
  return tf.cast(tf.sqrt(-2.0 * tf.math.log(u1)) * tf.cos(_TWO_PI * u2), tf.float32)


def tf_truncated_latents(seed, num, latent_dim: int, threshold):
  """`truncated_latents` in TF ops. threshold: float32 scalar tensor, 0 (off) or >= MIN_TRUNCATION (the caller
  checks the range). Every attempt is drawn and the first within ±threshold taken per component: the same
  float32 values, compared in float32, as the NumPy loop that stops early."""
  import tensorflow as tf
  t = tf.cast(threshold, tf.float32)

  def truncated():
    draws = tf.stack([tf_latents(seed, num, latent_dim)] + [tf_latents(seed, num, latent_dim, _attempt_key(k))
                                                            for k in range(1, TRUNCATION_ATTEMPTS + 1)])
    within = tf.abs(draws) <= t  # (K + 1, N, D)
    first = tf.argmax(tf.cast(within, tf.int32), axis=0)  # the first attempt within (0 when none is)
    chosen = tf.gather(tf.transpose(draws, [1, 2, 0]), first[..., None], batch_dims=2)[..., 0]  # (N, D)
    return tf.where(tf.reduce_any(within, axis=0), chosen, tf.clip_by_value(draws[0], -t, t))

  # Threshold 0 draws the plain latents only (the attempts would hold 65 times their memory).
  return tf.cond(t > 0, truncated, lambda: tf_latents(seed, num, latent_dim))
