"""What benchmarks/quality.py prints and draws from its rows: the speed table, the markdown table of each row at
each quarter of the budget beside the floor, and the curves (FCD, KID, classes covered over wall time)."""


def speed_table(speeds: list) -> str:
  lines = ['| run | generator steps | wall time | generator steps/s | real images read/s | critic updates per step |',
           '|---|---|---|---|---|---|']
  for label, steps, seconds, images, n_critic in speeds:
    lines.append(f'| {label} | {steps} | {seconds / 60:.1f} min | {steps / seconds:.2f} | {images:.0f} | {n_critic} |')
  return '\n'.join(lines)


def plot(rows: list, floor: dict, path: str, title: str, num_classes: int) -> None:
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  panels = [('fcd', 'FCD (lower is better)'), ('kid', 'KID (lower is better)'),
            ('classes_covered', f'classes covered (of {num_classes})')]
  fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8))
  for ax, (key, label) in zip(axes, panels):
    for loss in dict.fromkeys(r['loss'] for r in rows):
      points = [r for r in rows if r['loss'] == loss]
      ax.plot([r['wall_s'] / 60 for r in points], [r[key] for r in points], marker='o', markersize=3, label=loss)
    ax.axhline(floor[key], color='gray', linestyle='--', label='held-out real (floor)')
    ax.set_xlabel('wall time (minutes)')
    ax.set_title(label)
    if key in ('fcd', 'kid') and all(r[key] > 0 for r in rows):
      ax.set_yscale('log')
  axes[0].legend(fontsize=8)
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def table(rows: list, floor: dict, seconds: float, num_classes: int) -> str:
  """Markdown: each loss at each quarter of the budget (its last checkpoint by then), then the floor."""
  conditional = any(r.get('agreement', '') != '' for r in rows)
  lines = ['| run | wall time | steps | FCD | FCD / floor | KID ± s.e. | precision | recall | classifier score | '
           'classes covered | KL to uniform |' + (' agreement (chance 1/K) |' if conditional else ''),
           '|---|---|---|---|---|---|---|---|---|---|---|' + ('---|' if conditional else '')]
  agreement = lambda r: (f' {r["agreement"]:.3f} |' if r.get('agreement', '') != '' else ' |') if conditional else ''
  cells = lambda r: (f'{r["fcd"]:.2f} | {r["fcd"] / floor["fcd"]:.1f} | {r["kid"]:.4f} ± {r["kid_stderr"]:.4f} | '
                     f'{r["precision"]:.3f} | '
                     f'{r["recall"]:.3f} | {r["classifier_score"]:.2f} | {r["classes_covered"]}/{num_classes} | '
                     f'{r["kl_to_uniform"]:.3f} |' + agreement(r))
  for loss in dict.fromkeys(r['loss'] for r in rows):
    points = [r for r in rows if r['loss'] == loss]  # in step order
    marks = [seconds * q / 4 for q in (1, 2, 3)]
    shown = {max((r['step'] for r in points if r['wall_s'] <= mark), default=None) for mark in marks}
    shown.add(points[-1]['step'])  # the last checkpoint: saved at the stop, just past the budget
    for r in (r for r in points if r['step'] in shown):
      lines.append(f'| {loss} | {r["wall_s"] / 60:.1f} min | {r["step"]} | {cells(r)}')
  lines.append(f'| held-out real images (floor) | | | {cells(floor)}')
  return '\n'.join(lines)
