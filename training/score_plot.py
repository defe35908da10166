"""score_plot.png: the generator and discriminator scores of the MathWorks DCGAN example's training plot.

MATLAB "Train Generative Adversarial Network (GAN)" plots, per iteration, instead of the losses:
  generator score      mean σ(D(G(z)))                              (the probability D gives the fakes of "real")
  discriminator score  (mean σ(D(x)) + mean(1 − σ(D(G(z))))) / 2    (how often D is right, in probability)
training/steps.py logs them as `g_score` and `d_score` for --loss=dcgan; 0.5 for both is the balance the
example aims at, and a discriminator score near 1 with a generator score near 0 means D has won.
"""

import os

from training import run_dir as rundir

PLOT_FILE = 'score_plot.png'
_COLUMNS = (('g_score', 'Generator'), ('d_score', 'Discriminator'))


def plot_scores(run_dir: str) -> str:
  """Draws the two score columns of `run_dir`/metrics.csv into score_plot.png; returns its path, or '' when the
  run has no scores (a loss other than dcgan, or no rows yet)."""
  columns = rundir.MetricsLog(run_dir).read()
  if 'step' not in columns or not all(len(columns.get(key, ())) for key, _ in _COLUMNS):
    return ''
  import matplotlib
  matplotlib.use('Agg')  # no display on servers and CI
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
  for key, label in _COLUMNS:
    ax.plot(columns['step'][:len(columns[key])], columns[key], label=label, linewidth=1)
  ax.set_ylim(0, 1)  # both are probabilities
  ax.set_xlabel('generator step')
  ax.set_ylabel('score')
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  out = os.path.join(run_dir, PLOT_FILE)
  fig.savefig(out)
  plt.close(fig)
  return out
