"""A terminal progress bar with ETA and live losses, and plain periodic lines when stderr is not a terminal."""

import sys
import time


def _clock(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  return f'{h}:{rem // 60:02d}:{rem % 60:02d}' if h else f'{rem // 60:02d}:{rem % 60:02d}'


class Progress:
  """Call update() every step; it redraws at most every `min_interval` seconds (a log line every
  `line_interval` seconds when not on a terminal, so CI logs stay short). deadline: time.monotonic() at which a
  wall-time budget (--max_minutes) stops the run, when sooner than the steps: the ETA counts to it."""

  def __init__(self, total: int, start: int = 0, stream=None, width: int = 24, min_interval: float = 0.2,
               line_interval: float = 15.0, deadline=None):
    self.total, self.start, self.width, self.deadline = total, start, width, deadline
    self.stream = stream or sys.stderr
    self.tty = hasattr(self.stream, 'isatty') and self.stream.isatty()
    self.interval = min_interval if self.tty else line_interval
    self.t0 = time.monotonic()
    self.last_draw, self.last_step = 0.0, None

  def update(self, step: int, metrics: dict, force: bool = False) -> None:
    now = time.monotonic()
    if step == self.last_step or (not force and now - self.last_draw < self.interval and step < self.total):
      return
    self.last_draw, self.last_step = now, step
    done = step - self.start
    rate = done / max(now - self.t0, 1e-9)
    eta = (self.total - step) / rate if rate > 0 else 0.0
    budget = ''
    if self.deadline is not None and (rate <= 0 or self.deadline - now < eta):
      eta, budget = self.deadline - now, ' (budget)'
    frac = step / max(self.total, 1)
    bar = '#' * int(frac * self.width)
    shown = '  '.join(f'{k} {v:.3f}' for k, v in metrics.items())
    line = (f'[{bar:<{self.width}}] {step}/{self.total} {100 * frac:5.1f}%  {rate:.2f} it/s  '
            f'ETA {_clock(eta)}{budget}  {shown}')
    if self.tty:
      self.stream.write('\r\033[K' + line)
    else:
      self.stream.write(line + '\n')
    self.stream.flush()

  def close(self) -> None:
    if self.tty:
      self.stream.write('\n')
      self.stream.flush()
