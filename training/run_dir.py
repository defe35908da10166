"""What a training run writes, and where.

<run_dir>/
  config.json              every setting of the run (resolved defaults included), its provenance, and the history
                           of resumes (the step of each, what it changed, its provenance)
  checkpoints/             training/checkpoints.py: both networks, both optimizers, step, fixed latents, EMA
                           generator; each with a ckpt-N.sha256 manifest
  generator/               the latest generator, for export (training.generator_io)
  samples/step_XXXXXXX.png grids of the same fixed latents every --sample_every steps
  samples.gif              those grids as an animation, written at the end
  metrics.csv              one row per --log_every steps
  eval.csv                 one row per --eval_every steps: the evaluator's scores (evaluation/plugin.py)
  best/generator/          the generator with the lowest FCD so far, and best/scores.json (with --eval_every)
  loss_curve.png           plotted from metrics.csv at the end
  score_plot.png           --loss=dcgan: generator and discriminator scores (training/score_plot.py)
  tensorboard/             scalars and sample grids

Only the chief writes here. Nothing that exists is overwritten unless the run resumes; then rows of metrics.csv
and eval.csv after the restored step (the stretch that was thrown away) are dropped, since the resumed run
writes them again.
"""

import csv
import datetime
import glob
import os

import numpy as np

from training.generator_io import RunDirError  # one error type for every run-directory problem

CONFIG_FILE = 'config.json'
METRICS_FILE = 'metrics.csv'
EVAL_FILE = 'eval.csv'


def default_name(loss: str, dataset: str) -> str:
  dataset = dataset.replace('folder:', 'folder-').replace('/', '_').replace('~', '').strip('_-.') or 'data'
  stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
  return os.path.join('runs', f'{loss}-{dataset[:40]}-{stamp}')


def prepare(run_dir: str, resume: bool) -> None:
  """Creates run_dir for a new run (refusing a non-empty one) or checks it for --resume."""
  if resume:
    if not os.path.isfile(os.path.join(run_dir, CONFIG_FILE)):
      raise RunDirError(f'--resume: {run_dir!r} is not a run directory (no {CONFIG_FILE})')
  elif os.path.isdir(run_dir) and os.listdir(run_dir):
    raise RunDirError(f'{run_dir!r} already holds files; pass --resume to continue that run, or choose '
                      f'another --run_dir (nothing was changed)')
  try:
    os.makedirs(os.path.join(run_dir, 'samples'), exist_ok=True)
    probe = os.path.join(run_dir, '.write-test')
    with open(probe, 'w'):
      pass
    os.remove(probe)
  except OSError as e:
    raise RunDirError(f'cannot write to run directory {run_dir!r}: {e.strerror or e}') from None


def write_config(run_dir: str, config_json: str) -> None:
  """Replaces config.json atomically: a crash leaves the old or the new file, never half of one."""
  path = os.path.join(run_dir, CONFIG_FILE)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(config_json)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def read_config_text(run_dir: str) -> str:
  if not os.path.isfile(os.path.join(run_dir, CONFIG_FILE)):
    raise RunDirError(f'{run_dir!r} is not a run directory (no {CONFIG_FILE}); --resume continues a run that '
                      f'training.main started there')
  try:
    with open(os.path.join(run_dir, CONFIG_FILE)) as f:
      return f.read()
  except OSError as e:
    raise RunDirError(f'cannot read {CONFIG_FILE} of {run_dir!r}: {e.strerror or e}') from None


def to_uint8(images: np.ndarray) -> np.ndarray:
  """(N, H, W, C) float in [-1, 1] -> uint8 in [0, 255] (tanh outputs; values outside are clipped)."""
  return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images_uint8: np.ndarray, ncols: int = 0, pad: int = 2) -> np.ndarray:
  """(N, H, W, C) uint8 -> one (rows·(H+pad)+pad, cols·(W+pad)+pad, C) image on a dark background."""
  n, h, w, c = images_uint8.shape
  ncols = ncols or int(np.ceil(np.sqrt(n)))
  nrows = int(np.ceil(n / ncols))
  out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), 32, np.uint8)
  for i in range(n):
    r, col = divmod(i, ncols)
    out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + col * (w + pad):pad + col * (w + pad) + w] = \
        images_uint8[i]
  return out


def _pil(image_uint8: np.ndarray):
  from PIL import Image
  return Image.fromarray(image_uint8[..., 0] if image_uint8.shape[-1] == 1 else image_uint8)


def save_sample_grid(run_dir: str, step: int, images: np.ndarray, scale: int = 2) -> str:
  """Saves the grid of generated `images` (N, H, W, C) in [-1, 1] for `step`; returns the PNG path."""
  image = _pil(grid(to_uint8(images)))
  if scale > 1:  # small images (16-32 px) are unreadable at 1:1 in a viewer
    from PIL import Image
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
  path = os.path.join(run_dir, 'samples', f'step_{step:07d}.png')
  image.save(path)
  return path


def write_gif(run_dir: str, frame_ms: int = 200) -> str:
  """Animates every saved sample grid, in step order, into samples.gif."""
  from PIL import Image
  paths = sorted(glob.glob(os.path.join(run_dir, 'samples', 'step_*.png')))
  if not paths:
    return ''
  frames = [Image.open(p).convert('RGB') for p in paths]
  out = os.path.join(run_dir, 'samples.gif')
  frames[0].save(out, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
  return out


class MetricsLog:
  """metrics.csv (or eval.csv), appended to (a resumed run keeps the rows it had)."""

  def __init__(self, run_dir: str, file_name: str = METRICS_FILE):
    self.path = os.path.join(run_dir, file_name)

  def append(self, step: int, metrics: dict) -> None:
    row = {'step': step, **{k: f'{v:.6g}' for k, v in sorted(metrics.items())}}
    new = not os.path.isfile(self.path)
    with open(self.path, 'a', newline='') as f:
      writer = csv.DictWriter(f, fieldnames=list(row), extrasaction='ignore')
      if new:
        writer.writeheader()
      writer.writerow(row)

  def truncate_after(self, step: int) -> int:
    """Drops the rows after `step` (written by a stretch a resume throws away); returns how many."""
    if not os.path.isfile(self.path):
      return 0
    with open(self.path, newline='') as f:
      rows = list(csv.DictReader(f))
    kept = [r for r in rows if int(float(r['step'])) <= step]
    if len(kept) == len(rows):
      return 0
    tmp = self.path + '.tmp'
    with open(tmp, 'w', newline='') as f:
      writer = csv.DictWriter(f, fieldnames=list(rows[0]))
      writer.writeheader()
      writer.writerows(kept)
    os.replace(tmp, self.path)
    return len(rows) - len(kept)

  def read(self) -> dict:
    if not os.path.isfile(self.path):
      return {}
    with open(self.path, newline='') as f:
      rows = list(csv.DictReader(f))
    return {key: np.array([float(r[key]) for r in rows if r.get(key) not in (None, '')])
            for key in (rows[0] if rows else {})}


def plot_loss_curve(run_dir: str, title: str) -> str:
  """loss_curve.png: critic and generator losses (and the Wasserstein estimate when there is one)."""
  import matplotlib
  matplotlib.use('Agg')  # no display on servers and CI
  import matplotlib.pyplot as plt
  columns = MetricsLog(run_dir).read()
  if 'step' not in columns or not len(columns['step']):
    return ''
  keys = [k for k in ('d_loss', 'g_loss', 'wasserstein', 'gradient_penalty') if k in columns]
  fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
  for key in keys:
    ax.plot(columns['step'][:len(columns[key])], columns[key], label=key, linewidth=1)
  ax.set_xlabel('generator step')
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  out = os.path.join(run_dir, 'loss_curve.png')
  fig.savefig(out)
  plt.close(fig)
  return out
