"""The WGAN-GP paper's toy picture (Gulrajani et al. 2017, Figures 1a and 2; `gan_toy.py`'s generate_image): real
and generated 2-D points over the contours of the critic's value on a 128x128 grid of [-3, 3]²."""

import numpy as np

RANGE, GRID = 3.0, 128


def critic_grid(critic) -> tuple:
  """(xs, ys, values (GRID, GRID)) of the critic on the grid; critic: Keras model (B, 2) -> (B, 1)."""
  axis = np.linspace(-RANGE, RANGE, GRID, dtype=np.float32)
  xs, ys = np.meshgrid(axis, axis)
  points = np.stack([xs.ravel(), ys.ravel()], 1)  # (GRID², 2)
  values = np.asarray(critic(points, training=False)).reshape(GRID, GRID)
  return xs, ys, values


def draw(ax, real, fake, critic=None, title: str = '') -> None:
  """On a matplotlib Axes: critic contours (when given), real points orange, generated points green."""
  if critic is not None:
    xs, ys, values = critic_grid(critic)
    ax.contour(xs, ys, values, levels=12, linewidths=0.7, cmap='viridis')
  ax.scatter(real[:, 0], real[:, 1], s=4, c='orange', marker='+', label='real', linewidths=0.6)
  ax.scatter(fake[:, 0], fake[:, 1], s=4, c='green', marker='+', label='generated', linewidths=0.6)
  ax.set_xlim(-RANGE, RANGE)
  ax.set_ylim(-RANGE, RANGE)
  ax.set_aspect('equal')
  ax.set_xticks([])
  ax.set_yticks([])
  if title:
    ax.set_title(title, fontsize=8)


def save_scatter(path: str, real, fake, critic=None, title: str = '') -> str:
  import matplotlib
  matplotlib.use('Agg')  # no display on servers and CI
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
  draw(ax, np.asarray(real), np.asarray(fake), critic, title)
  ax.legend(loc='upper right', fontsize=6, markerscale=3)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path
