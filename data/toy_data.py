"""The WGAN-GP paper's 2-D toy distributions (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
Figures 1-2), sampled exactly as its code does: igul222/improved_wgan_training `gan_toy.py`, `inf_train_gen()`
(lines 173-226 at commit 3c8ba3c; the line numbers below refer to that file).

  8gaussians   8 modes on a circle of radius 2, std 0.02, every point divided by 1.414   (gan_toy.py 202-226)
  25gaussians  5x5 grid of modes (2x, 2y), x, y in {-2..2}, std 0.05, divided by 2.828  (gan_toy.py 174-189)
  swissroll    scikit-learn make_swiss_roll(noise=0.25), columns 0 and 2, divided by 7.5 (gan_toy.py 191-200)

Each dataset is a ToySpec in TOY_DATASETS with a pure, seeded `sample(rng, n) -> (n, 2) float32`; the two
mixtures also carry their `centres` (K, 2) and per-coordinate `std` as they are AFTER the division, which is
what the metrics in evaluation/toy_metrics.py need. NumPy only at import; scikit-learn is imported by the
Swiss-roll sampler when it is first called.

One deliberate difference, for 25gaussians: the original draws a fixed pool of 100000 points (4000 per mode),
shuffles it once and then serves consecutive batches of 256 from it forever, in the same order each pass, with
the last 160 points never served (gan_toy.py 176-189). Here every call draws fresh i.i.d. points from the same
mixture (uniform mode, Gaussian noise). The distribution is the same; what changes is only that a batch's mode
counts are multinomial rather than drawn without replacement from a balanced pool of 100000 (a finite-population
correction of sqrt((100000 - 256) / 99999) = 0.9987 on their spread: negligible). In return every sampler is
stateless and seeded by its `rng` alone, and the metrics can draw real sets that are independent of the
training batches and of each other (their real-vs-real baseline needs exactly that).
"""

import dataclasses
from typing import Callable, Optional

import numpy as np

# --- The original's constants, each with the gan_toy.py line it comes from ---------------------------------------

EIGHT_SCALE = 2.0        # line 204: `scale = 2.`
EIGHT_NOISE_STD = 0.02   # line 219: `np.random.randn(2)*.02`
EIGHT_DIVISOR = 1.414    # line 225: `dataset /= 1.414 # stdev` (1.414, not sqrt(2): kept as written)

GRID_SPACING = 2.0       # lines 181-182: `point[0] += 2*x`, `point[1] += 2*y`
GRID_RANGE = range(-2, 3)  # lines 178-179: `xrange(-2, 3)`
GRID_NOISE_STD = 0.05    # line 180: `np.random.randn(2)*0.05`
GRID_DIVISOR = 2.828     # line 186: `dataset /= 2.828 # stdev`

SWISS_NOISE = 0.25       # line 196: `noise=0.25`
SWISS_COLUMNS = [0, 2]   # line 198: `[:, [0, 2]]` (the roll's plane; column 1 is its uniform height)
SWISS_DIVISOR = 7.5      # line 199: `data /= 7.5 # stdev plus a little`


@dataclasses.dataclass(frozen=True)
class ToySpec:
  """One toy dataset: its seeded sampler and, for a Gaussian mixture, the modes the metrics score against.

  sample:  (rng: np.random.Generator, n: int) -> (n, 2) float32 points; the same generator state gives the same
           points.
  centres: (K, 2) float64 mode centres after the original's division, read-only; None for the Swiss roll.
  std:     per-coordinate standard deviation of every mode after the division; None for the Swiss roll.
  """
  name: str
  sample: Callable[[np.random.Generator, int], np.ndarray]
  centres: Optional[np.ndarray] = None
  std: Optional[float] = None

  @property
  def num_modes(self) -> Optional[int]:
    return None if self.centres is None else len(self.centres)


def _check_n(n) -> int:
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
    raise ValueError(f'number of toy samples must be an integer >= 0, got {n!r}')
  return int(n)


def _mixture_sampler(raw_centres: np.ndarray, raw_std: float, divisor: float):
  """sample(rng, n) for an equal-weight isotropic Gaussian mixture, in the original's order of operations:

    point = centre + raw_std * N(0, I)   (float64, as np.random.randn),  then float32,  then / divisor.
  """
  raw_centres = np.array(raw_centres, np.float64)  # (K, 2), before the division

  def sample(rng: np.random.Generator, n: int) -> np.ndarray:
    n = _check_n(n)
    mode = rng.integers(len(raw_centres), size=n)  # uniform over modes, as random.choice (line 220)
    points = raw_centres[mode] + raw_std * rng.standard_normal((n, 2))  # (n, 2) float64
    # float32 before the division, as lines 184/186 and 224/225 do.
    return points.astype(np.float32) / np.float32(divisor)

  return sample


def _read_only(array: np.ndarray) -> np.ndarray:
  array.setflags(write=False)  # the registry is shared: no caller may move a mode for everyone else
  return array


def _eight_raw_centres() -> np.ndarray:
  """Lines 205-215: scale * {(+-1, 0), (0, +-1), (+-1/sqrt 2, +-1/sqrt 2)}, in the original's order."""
  r = 1.0 / np.sqrt(2.0)
  unit = [(1, 0), (-1, 0), (0, 1), (0, -1), (r, r), (r, -r), (-r, r), (-r, -r)]
  return EIGHT_SCALE * np.array(unit, np.float64)  # (8, 2)


def _grid_raw_centres() -> np.ndarray:
  """Lines 178-182: (2x, 2y) for x, y in {-2..2}, x the outer loop."""
  return GRID_SPACING * np.array([(x, y) for x in GRID_RANGE for y in GRID_RANGE], np.float64)  # (25, 2)


def _sample_swissroll(rng: np.random.Generator, n: int) -> np.ndarray:
  """Lines 194-199: make_swiss_roll(n, noise=0.25)[0] as float32, columns 0 and 2, divided by 7.5.

  scikit-learn wants a RandomState or an int, not a Generator: one 32-bit seed drawn from `rng` keeps the
  points a function of `rng` alone.
  """
  import sklearn.datasets  # imported here, not at module import: only the Swiss roll needs it
  n = _check_n(n)
  seed = int(rng.integers(0, 2**32))
  if n == 0:  # scikit-learn refuses n_samples=0
    return np.zeros((0, 2), np.float32)
  data = sklearn.datasets.make_swiss_roll(n_samples=n, noise=SWISS_NOISE, random_state=seed)[0]  # (n, 3)
  return data.astype(np.float32)[:, SWISS_COLUMNS] / np.float32(SWISS_DIVISOR)  # (n, 2) float32


def _mixture_spec(name: str, raw_centres: np.ndarray, raw_std: float, divisor: float) -> ToySpec:
  return ToySpec(name=name,
                 sample=_mixture_sampler(raw_centres, raw_std, divisor),
                 centres=_read_only(raw_centres / divisor),
                 std=raw_std / divisor)


TOY_DATASETS = {
    '8gaussians': _mixture_spec('8gaussians', _eight_raw_centres(), EIGHT_NOISE_STD, EIGHT_DIVISOR),
    '25gaussians': _mixture_spec('25gaussians', _grid_raw_centres(), GRID_NOISE_STD, GRID_DIVISOR),
    'swissroll': ToySpec(name='swissroll', sample=_sample_swissroll),
}


def get(name: str) -> ToySpec:
  """The registry entry for `name`; an unknown name is a ValueError that lists the choices."""
  try:
    return TOY_DATASETS[name]
  except KeyError:
    raise ValueError(f'unknown toy dataset {name!r}; choices: {", ".join(TOY_DATASETS)}') from None


def spec_of(dataset: str) -> ToySpec:
  """The spec of a --dataset value 'toy:NAME'; DatasetError (a usage error) naming the closest choice."""
  import difflib
  from common.kinds import TOY_PREFIX
  from data.datasets import DatasetError
  name = dataset[len(TOY_PREFIX):] if dataset.startswith(TOY_PREFIX) else dataset
  if name not in TOY_DATASETS:
    close = difflib.get_close_matches(name, list(TOY_DATASETS), n=1, cutoff=0.6)
    hint = f' (did you mean {close[0]}?)' if close else ''
    raise DatasetError(f'unknown toy dataset {name!r}{hint}; choose toy:{", toy:".join(TOY_DATASETS)}')
  return TOY_DATASETS[name]
