"""What the resumable study benchmarks share (architecture_sweep, architecture_gallery): a CSV of finished rows
that a rerun continues, and the settings file that a rerun must match."""

import csv
import json
import os


def read_rows(path: str) -> list:
  """The rows written so far, as dicts of strings ([] before the first)."""
  if not os.path.isfile(path):
    return []
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


def append_row(path: str, row: dict, columns: tuple) -> None:
  """Appends `row` (the header first, for a new file) and syncs it: a study cut short keeps every finished row."""
  new = not os.path.isfile(path)
  with open(path, 'a', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=columns)
    if new:
      writer.writeheader()
    writer.writerow(row)
    f.flush()
    os.fsync(f.fileno())


def changed_settings(path: str, settings: dict, fixed: tuple) -> list:
  """['--name=saved value', ...] for the `fixed` settings a rerun changes against the study's saved ones; writes
  `settings` to `path` when there are none yet. A study's rows must all come from one set of settings."""
  if not os.path.isfile(path):
    with open(path, 'w') as f:
      json.dump(settings, f, indent=2)
    return []
  with open(path) as f:
    saved = json.load(f)
  text = lambda v: ','.join(map(str, v)) if isinstance(v, list) else v  # noqa: E731
  return [f'--{k}={text(saved.get(k))}' for k in fixed if saved.get(k) != settings[k]]
