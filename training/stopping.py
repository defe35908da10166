"""How a training run stops cleanly: SIGTERM (a preemption) or Ctrl-C finishes the step, checkpoints and exits 0,
and in a multi-worker run a signal to any worker stops every worker at the same step (training/trainer.py)."""

import os
import signal

import tensorflow as tf

from training import strategies


class StopRequest:
  """Turns SIGTERM (a preemption) and Ctrl-C into a clean stop: finish the step, checkpoint, exit 0. A second
  signal exits at once (code 128 + signal), losing only the steps since the last checkpoint."""

  def __init__(self, log):
    self.requested = False
    self._previous = {}
    self._log = log

  def __enter__(self):
    for sig in (signal.SIGTERM, signal.SIGINT):
      try:
        self._previous[sig] = signal.signal(sig, self._handle)
      except ValueError:  # not the main thread: leave signals alone
        pass
    return self

  def _handle(self, signum, frame):
    if self.requested:
      os.write(2, f'\nsecond {signal.Signals(signum).name}: exiting now without a checkpoint\n'.encode())
      os._exit(128 + signum)
    self.requested = True
    os.write(2, f'\n{signal.Signals(signum).name}: stopping after this step with a checkpoint (send it again to '
                f'exit at once)\n'.encode())

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


def stop_vote(strategy):
  """A function (requested: bool) -> bool that every worker calls at every step: in a multi-worker run the
  workers all-reduce their stop requests, so a signal to any one of them stops all at the same step (a worker
  that stopped alone would leave the others waiting forever at the next collective). One process: no vote."""
  if not strategies.is_multi_worker(strategy):
    return lambda requested: requested

  @tf.function
  def vote(flag):
    per_replica = strategy.run(lambda: tf.identity(flag))
    return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)  # > 0: someone asked

  return lambda requested: bool(vote(tf.constant(1.0 if requested else 0.0)) > 0)
