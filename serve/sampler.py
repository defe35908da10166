"""Pure sampling functions: latents from seeds, interpolation paths, and the checks of their inputs.

Nothing here knows about ONNX Runtime or Gradio: a generator is any function from latents (B, latent_dim)
float32 to images (B, H, W, C) float32 in [-1, 1], so every function is testable with plain numpy. The images
become uint8, grids, PNGs and GIFs through common/images.py, the helpers every stage shares.

Determinism: the latents of a seed come from `common.latents.latents`, the project's one seed → latent
mapping (counter-based, so row i is a function of (seed, i, latent_dim) alone). Image i of a sample therefore
depends only on the model, the seed, i and the scale: never on the count asked for, nor on what other
requests ran before; and at scale 1 it is the image i that export's SavedModel `sample` signature and any
runtime feeding `common.latents` to the ONNX model give for that seed (tests/test_seed_parity.py). Row 0 of
seed s is also the endpoint of any interpolation that starts or ends at seed s.
"""

import numbers

import numpy as np

from common import latents as common_latents  # NumPy only: serve/ never imports TensorFlow

MAX_SEED = common_latents.MAX_SEED  # 2**32 - 1: seeds are uint32
MIN_COUNT, MAX_COUNT = 1, 64
MIN_STEPS, MAX_STEPS = 2, 64
MAX_SCALE = 2.0  # the latent scale (a multiplier of z) lies in (0, MAX_SCALE]
MIN_TRUNCATION = common_latents.MIN_TRUNCATION  # 0.25: below it the resampling could still clip
MAX_TRUNCATION = 2.0  # the app's slider; the API takes any threshold >= common.latents.MIN_TRUNCATION
METHODS = ('slerp', 'lerp')
_PARALLEL_EPS = 1e-6  # |sin(angle)| below this: the two latents are (anti)parallel, the slerp formula divides by 0


# ---------------------------------------------------------------------------------------------------------------
# Validation: every public entry point checks its arguments and raises ValueError with a one-line message.

def as_int(value, name: str, low: int, high: int) -> int:
  """`value` as an int in [low, high]; accepts ints, integral floats and decimal strings (what a form sends)."""
  parsed = None
  if isinstance(value, bool):
    parsed = None
  elif isinstance(value, numbers.Integral):
    parsed = int(value)
  elif isinstance(value, numbers.Real) and float(value).is_integer():
    parsed = int(value)
  elif isinstance(value, str):
    try:
      parsed = int(value.strip())
    except ValueError:
      parsed = None
  if parsed is None or not low <= parsed <= high:
    raise ValueError(f'{name} must be an integer from {low} to {high}, got {value!r}')
  return parsed


def validate_seed(seed) -> int:
  return as_int(seed, 'seed', 0, MAX_SEED)


def validate_count(count) -> int:
  return as_int(count, 'count (number of images)', MIN_COUNT, MAX_COUNT)


def validate_steps(steps) -> int:
  return as_int(steps, 'steps', MIN_STEPS, MAX_STEPS)


def validate_per_class(per_class, num_classes: int) -> int:
  """Images per class of an all-classes grid: 1 to ⌈MAX_COUNT ÷ K⌉, so that the Sample tab's largest count
  (MAX_COUNT, rounded up to whole class rows) is a grid too; it holds fewer than MAX_COUNT + K images."""
  return as_int(per_class, 'per_class (images per class)', 1, -(-MAX_COUNT // int(num_classes)))


def validate_index(index) -> int:
  """Image #index of a seed, as the Sample tab numbers them."""
  return as_int(index, 'index (image # of the seed)', 0, MAX_COUNT - 1)


def validate_scale(scale) -> float:
  try:
    parsed = float(scale)
  except (TypeError, ValueError):
    parsed = float('nan')
  if isinstance(scale, bool) or not 0.0 < parsed <= MAX_SCALE:  # also rejects NaN
    raise ValueError(f'latent scale must be a number in (0, {MAX_SCALE:g}], got {scale!r}')
  return parsed


def validate_truncation(threshold) -> float:
  """The truncation threshold: 0 (off) or at least common.latents.MIN_TRUNCATION."""
  if isinstance(threshold, bool):
    raise ValueError(f'truncation threshold must be 0 (off) or at least {common_latents.MIN_TRUNCATION}, got '
                     f'{threshold!r}')
  try:
    return common_latents.check_threshold(threshold)
  except common_latents.LatentError as e:
    raise ValueError(str(e).replace('the truncation', 'truncation')) from None


def validate_method(method) -> str:
  if method not in METHODS:
    raise ValueError(f'method must be one of {", ".join(METHODS)}, got {method!r}')
  return method


# ---------------------------------------------------------------------------------------------------------------
# Latents.

def latent_from_seed(seed, n: int, latent_dim: int, scale: float = 1.0, truncation: float = 0.0) -> np.ndarray:
  """The (n, latent_dim) float32 latents of `seed`: rows 0 .. n-1 of `common.latents.latents(seed)` times `scale`.

  Row i depends only on (seed, i, latent_dim), `scale` and `truncation`, so asking for fewer images gives the
  first rows of a larger request. `truncation` > 0 is the truncation trick (Brock et al. 2019): the components of
  z beyond ±truncation are redrawn (`common.latents.truncated_latents`, the SavedModel's `sample_truncated` and
  export's sample.png with --sample_truncation alike). `scale` multiplies z afterwards: s < 1 pulls samples
  towards the mode (cleaner, less varied), s > 1 spreads them out; at scale 1 and truncation 0 the latents are
  exactly those of every other stage.
  """
  seed = validate_seed(seed)
  n = validate_count(n)
  scale = validate_scale(scale)
  truncation = validate_truncation(truncation)
  z = common_latents.truncated_latents(seed, n, int(latent_dim), truncation)  # (n, latent_dim) float32
  return (z.astype(np.float64) * scale).astype(np.float32)  # one rounding: scale 1 returns z bit for bit


def lerp(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
  """Linear interpolation (1 - t) a + t b; t a scalar or a 1-D array (then one row per t)."""
  a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
  t64 = np.asarray(t, np.float64)[..., None]
  return ((1.0 - t64) * a64 + t64 * b64).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
  """Spherical interpolation between latent vectors a and b (D,); t a scalar or a 1-D array of fractions.

  slerp(a, b, t) = sin((1 - t) w) / sin(w) a + sin(t w) / sin(w) b, w the angle between a and b (White 2016,
  "Sampling Generative Networks"). It keeps intermediate latents at a typical norm for a Gaussian, where lerp
  cuts through the low-density centre. t = 0 and t = 1 give a and b exactly.
  Parallel a, b (w ~ 0): the formula is 0 / 0 and the great circle collapses, so lerp is exact.
  Antiparallel a, b (w ~ pi): every great circle through a and b is as short; this turns a towards a fixed
  direction orthogonal to it (the coordinate axis a is least aligned with) while the norm goes linearly from
  |a| to |b|, so the path is deterministic and never passes through the origin.
  """
  a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
  t64 = np.asarray(t, np.float64)[..., None]
  norm_a, norm_b = np.linalg.norm(a64), np.linalg.norm(b64)
  if norm_a == 0.0 or norm_b == 0.0:
    return lerp(a, b, t)
  cos_w = float(np.clip(np.dot(a64, b64) / (norm_a * norm_b), -1.0, 1.0))
  w = np.arccos(cos_w)
  sin_w = np.sin(w)
  if sin_w < _PARALLEL_EPS and cos_w > 0:
    return lerp(a, b, t)
  if sin_w < _PARALLEL_EPS:  # antiparallel
    u = a64 / norm_a
    axis = np.zeros_like(u)
    axis[np.argmin(np.abs(u))] = 1.0
    p = axis - np.dot(axis, u) * u  # Gram-Schmidt: unit vector orthogonal to a
    p /= np.linalg.norm(p)
    angle = t64 * np.pi
    out = (np.cos(angle) * u + np.sin(angle) * p) * ((1.0 - t64) * norm_a + t64 * norm_b)
    out = np.where(t64 == 0.0, a64, np.where(t64 == 1.0, b64, out))
    return out.astype(np.float32)
  return (np.sin((1.0 - t64) * w) / sin_w * a64 + np.sin(t64 * w) / sin_w * b64).astype(np.float32)


INTERPOLATORS = {'slerp': slerp, 'lerp': lerp}


def interpolation_latents(seed_a, seed_b, steps, method: str = 'slerp', *, latent_dim: int,
                          scale: float = 1.0) -> np.ndarray:
  """(steps, latent_dim) float32 latents from row 0 of seed_a to row 0 of seed_b, both ends included."""
  steps = validate_steps(steps)
  method = validate_method(method)
  z_a = latent_from_seed(seed_a, 1, latent_dim, scale)[0]
  z_b = latent_from_seed(seed_b, 1, latent_dim, scale)[0]
  return INTERPOLATORS[method](z_a, z_b, np.linspace(0.0, 1.0, steps))


MAX_KEYFRAMES = 8


def parse_keyframes(text) -> list:
  """'12:5, 40, 7:63' -> [(12, 5), (40, 0), (7, 63)]: image `index` of `seed` (index 0 when left out), the image
  the Sample tab shows as #index of that seed. 2 to MAX_KEYFRAMES keyframes."""
  if not isinstance(text, str) or not text.strip():
    raise ValueError(f'keyframes must be 2 to {MAX_KEYFRAMES} items seed:index separated by commas, e.g. '
                     f'"12:5, 40:0", got {text!r}')
  keyframes = []
  for item in text.split(','):
    seed, _, index = item.strip().partition(':')
    keyframes.append((validate_seed(seed), as_int(index or '0', f'index in {item.strip()!r}', 0, MAX_COUNT - 1)))
  if not 2 <= len(keyframes) <= MAX_KEYFRAMES:
    raise ValueError(f'keyframes must be 2 to {MAX_KEYFRAMES} items seed:index, got {len(keyframes)}')
  return keyframes


def keyframe_latents(keyframes, steps, method: str = 'slerp', *, latent_dim: int, scale: float = 1.0) -> np.ndarray:
  """A path through the keyframes' latents, `steps` frames per segment with the shared ends once:
  ((K - 1)(steps - 1) + 1, latent_dim) float32. Keyframe (seed, i) is row i of the seed's latents, so the path
  starts and ends exactly at images the Sample tab showed."""
  steps, method = validate_steps(steps), validate_method(method)
  points = [latent_from_seed_row(seed, index, latent_dim, scale) for seed, index in keyframes]
  t = np.linspace(0.0, 1.0, steps)
  segments = [INTERPOLATORS[method](a, b, t)[(1 if i else 0):] for i, (a, b) in enumerate(zip(points, points[1:]))]
  return np.concatenate(segments).astype(np.float32)


def latent_from_seed_row(seed, index: int, latent_dim: int, scale: float = 1.0) -> np.ndarray:
  """Row `index` of latent_from_seed(seed, ...): (latent_dim,) float32."""
  z = common_latents.latents(validate_seed(seed), 1, int(latent_dim), start=int(index))[0]
  return (z.astype(np.float64) * validate_scale(scale)).astype(np.float32)  # as latent_from_seed rounds
