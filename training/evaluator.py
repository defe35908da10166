"""All the trainer knows about evaluation: an object it calls every --eval_every steps, and what it logs.

The trainer holds no judge, metric or best-model file; `training/main.py` builds an evaluator (evaluation/plugin.py
is the project's) and hands it to `train(config, evaluator=...)`. This keeps the flow one way: evaluation/ may
import training/, never the reverse.
"""

from typing import Mapping, Protocol, runtime_checkable


@runtime_checkable
class Evaluator(Protocol):
  """Scores a generator at a step. Called on the chief only, with the weights that export would write.

  It may also name, as a class attribute `console`, the scores the trainer prints in one line per evaluation
  (training/console.py), the first a distance whose lowest value is the best so far, e.g. ('fcd', 'recall',
  'agreement'); without it the line shows every score and no best. (Not a protocol member: an evaluator without
  it still is one.)"""

  def __call__(self, generator, step: int, metadata: dict) -> Mapping[str, float]:
    """generator: the Keras generator (z -> images in [-1, 1]); metadata: training.generator_io's for this step
    (what an evaluator needs to save the generator as a run directory). Returns scalars, logged to eval.csv and
    TensorBoard as eval/<name>. May keep state of its own (the best generator so far)."""

  def rewind(self, step: int) -> str:
    """A resumed run threw away the steps after `step`: set aside what was kept from them (a best generator of a
    stretch that will be trained again). Returns a line for the log, or ''."""

  @property
  def floor(self) -> Mapping[str, float]:
    """Reference values of the same scalars (what real data scores), logged beside as eval_floor/<name>;
    empty when there are none. Valid after the first call."""
