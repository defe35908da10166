"""What a training run writes, and where.

<run_dir>/
  config.json              every setting of the run (resolved defaults included), its provenance, and the history
                           of resumes (the step of each, what it changed, its provenance)
  checkpoints/             training/checkpoints.py: both networks, both optimizers, step, fixed latents, EMA
                           generator; each with a ckpt-N.sha256 manifest
  generator/               the latest generator, for export (training.generator_io)
  samples/step_XXXXXXX.png grids of the same fixed latents every --sample_every steps (a conditional run's: one row
                           per class, its name on the left)
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

from common import artifacts, images as images_lib
from common.artifacts import RunDirError, read_run_config_text as read_config_text  # one error type for every
# run-directory problem, and the one reader of config.json (evaluation reads it too)


def default_name(loss: str, dataset: str) -> str:
  dataset = dataset.replace('folder:', 'folder-').replace('/', '_').replace('~', '').strip('_-.') or 'data'
  stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
  return os.path.join('runs', f'{loss}-{dataset[:40]}-{stamp}')


def prepare(run_dir: str, resume: bool) -> None:
  """Creates run_dir for a new run (refusing a non-empty one) or checks it for --resume."""
  if resume:
    if not os.path.isfile(os.path.join(run_dir, artifacts.RUN_CONFIG_FILE)):
      raise RunDirError(f'--resume: {run_dir!r} is not a run directory (no {artifacts.RUN_CONFIG_FILE})')
  elif os.path.isdir(run_dir) and os.listdir(run_dir):
    if not left_by_a_refused_start(run_dir):
      raise RunDirError(f'{run_dir!r} already holds files; pass --resume to continue that run, or choose '
                        f'another --run_dir (nothing was changed)')
    print(f'{run_dir} holds only what a refused start left ({artifacts.RUN_CONFIG_FILE}, an empty '
          f'{artifacts.SAMPLES_DIR}/, no checkpoint): starting this run there', flush=True)
  try:
    os.makedirs(os.path.join(run_dir, artifacts.SAMPLES_DIR), exist_ok=True)
    probe = os.path.join(run_dir, '.write-test')
    with open(probe, 'w'):
      pass
    os.remove(probe)
  except OSError as e:
    raise RunDirError(f'cannot write to run directory {run_dir!r}: {e.strerror or e}') from None


def left_by_a_refused_start(run_dir: str) -> bool:
  """Whether run_dir holds nothing but what a start refused after preparing it wrote: config.json and an empty
  samples/ (older versions checked the data after that). Nothing there can be lost; a checkpoint, a grid or any
  other file makes it a run to --resume or leave alone."""
  samples = os.path.join(run_dir, artifacts.SAMPLES_DIR)
  if not set(os.listdir(run_dir)) <= {artifacts.RUN_CONFIG_FILE, artifacts.SAMPLES_DIR}:
    return False
  return not os.path.exists(samples) or (os.path.isdir(samples) and not os.listdir(samples))


def write_config(run_dir: str, config_json: str) -> None:
  """Replaces config.json atomically: a crash leaves the old or the new file, never half of one."""
  path = os.path.join(run_dir, artifacts.RUN_CONFIG_FILE)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(config_json)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def save_sample_grid(run_dir: str, step: int, images: np.ndarray, scale: int = 2, cols=None, row_names=()) -> str:
  """Saves the grid of generated `images` (N, H, W, C) in [-1, 1] for `step` (`cols` per row; None: square);
  returns the PNG path. row_names: a conditional run's class names, one per row, drawn in a margin on the left
  (common.images.labelled_grid); () keeps the plain grid."""
  picture = images_lib.labelled_grid(images_lib.to_uint8(images), row_names, cols=cols,
                                     fill=images_lib.TRAINING_BACKGROUND, frame=True)
  path = os.path.join(run_dir, artifacts.SAMPLES_DIR, f'step_{step:07d}.png')
  return images_lib.save_png(picture, path, scale)  # scale: small images (16-32 px) are unreadable at 1:1


def write_gif(run_dir: str, frame_ms: int = 200) -> str:
  """Animates every saved sample grid, in step order, into samples.gif."""
  from PIL import Image
  paths = sorted(glob.glob(os.path.join(run_dir, artifacts.SAMPLES_DIR, 'step_*.png')))
  if not paths:
    return ''
  frames = [Image.open(p).convert('RGB') for p in paths]  # grids of any size and mode, as they were saved
  return images_lib.write_gif(frames, os.path.join(run_dir, artifacts.SAMPLES_GIF), frame_ms, optimize=True)


class MetricsLog:
  """metrics.csv (or eval.csv), appended to (a resumed run keeps the rows it had)."""

  def __init__(self, run_dir: str, file_name: str = artifacts.METRICS_FILE):
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
  keys = [k for k in ('d_loss', 'g_loss', 'wasserstein', 'gradient_penalty', 'r1_penalty') if k in columns]
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
