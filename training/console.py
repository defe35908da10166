"""What a training run says on the console besides its progress bar (training/progress.py): one line per
--eval_every score, and the wall-time budget of --max_minutes.

The trainer knows no metric names: an evaluator may name the scores worth a console line (`console`, the first
one a distance whose lowest value is the best, e.g. ('fcd', 'recall', 'agreement')); one without gets every score
on the line and no best.
"""

import time
from typing import Mapping, Optional, Sequence


def _number(value: float) -> str:
  return f'{value:.4g}'


class EvalLines:
  """Formats `eval step 500: fcd 180.2 (6.21x the floor 29.02), recall 0.62; best fcd 170.1 at step 250`."""

  def __init__(self, keys: Sequence[str] = (), earlier: Optional[Mapping] = None):
    """keys: the evaluator's `console` (empty: every score, no best). earlier: eval.csv's columns ({name: array})
    of the steps this run keeps, so that a resumed run's best so far counts them."""
    self.keys = tuple(keys)
    self.best_value, self.best_step = None, None
    earlier = earlier or {}
    if self.keys and len(earlier.get(self.keys[0], ())) and len(earlier.get('step', ())):
      values, at = earlier[self.keys[0]], earlier['step'][:len(earlier[self.keys[0]])]
      i = min(range(len(values)), key=lambda j: values[j])
      self.best_value, self.best_step = float(values[i]), int(at[i])

  def line(self, step: int, scores: Mapping[str, float], floor: Mapping[str, float]) -> str:
    shown = [k for k in (self.keys or scores) if k in scores]
    parts = []
    for key in shown:
      text = f'{key} {_number(scores[key])}'
      if floor.get(key, 0) > 0 and key == (self.keys[:1] or (None,))[0]:
        text += f' ({scores[key] / floor[key]:.2f}x the floor {_number(floor[key])})'
      parts.append(text)
    line = f'eval step {step}: {", ".join(parts)}'
    if not self.keys or self.keys[0] not in scores:
      return line
    headline = self.keys[0]
    if self.best_value is None or scores[headline] < self.best_value:
      self.best_value, self.best_step = scores[headline], step
    best = 'new best' if self.best_step == step else f'best {headline} {_number(self.best_value)} at step ' \
                                                      f'{self.best_step}'
    return f'{line}; {best}'


class Budget:
  """--max_minutes: a wall-time budget counted from `started` (time.monotonic() at the process's start of the
  run); 0 is none."""

  def __init__(self, minutes: float, started: float):
    self.deadline = started + 60 * minutes if minutes > 0 else None

  def spent(self) -> bool:
    return self.deadline is not None and time.monotonic() >= self.deadline
