"""What a training run prints besides its bar (training/console.py, training/progress.py): one line per
--eval_every score with its ratio to the floor and the best so far, and an ETA that counts to --max_minutes."""

import io
import os
import time

import numpy as np

from training import console
from training.progress import Progress


def test_eval_line_shows_the_headline_against_its_floor_and_the_best_so_far():
  lines = console.EvalLines(('fcd', 'recall', 'agreement'))
  floor = {'fcd': 29.0, 'recall': 0.7}
  first = lines.line(250, {'fcd': 180.2, 'kid': 0.1, 'recall': 0.62}, floor)
  assert first == 'eval step 250: fcd 180.2 (6.21x the floor 29), recall 0.62; new best'
  assert lines.line(500, {'fcd': 190.0, 'recall': 0.6}, floor) == \
      'eval step 500: fcd 190 (6.55x the floor 29), recall 0.6; best fcd 180.2 at step 250'
  assert lines.line(750, {'fcd': 100.0, 'recall': 0.7, 'agreement': 0.5}, floor).endswith(
      'recall 0.7, agreement 0.5; new best')


def test_a_resumed_run_counts_the_best_of_the_rows_it_kept():
  earlier = {'step': np.array([100.0, 200.0, 300.0]), 'fcd': np.array([50.0, 40.0, 45.0])}
  lines = console.EvalLines(('fcd',), earlier)
  assert lines.line(400, {'fcd': 41.0}, {}) == 'eval step 400: fcd 41; best fcd 40 at step 200'


def test_an_evaluator_without_console_keys_gets_every_score_and_no_best():
  line = console.EvalLines().line(10, {'emd': 0.5, 'modes': 24.0}, {'emd': 0.1})
  assert line == 'eval step 10: emd 0.5, modes 24'


def test_the_eta_counts_to_a_budget_that_ends_first():
  stream = io.StringIO()
  progress = Progress(100000, stream=stream, deadline=time.monotonic() + 90)
  time.sleep(0.05)
  progress.update(1, {}, force=True)
  assert 'ETA 01:2' in stream.getvalue() and '(budget)' in stream.getvalue()
  stream = io.StringIO()
  progress = Progress(2, stream=stream, deadline=time.monotonic() + 3600)
  time.sleep(0.05)
  progress.update(1, {}, force=True)
  assert '(budget)' not in stream.getvalue()


def test_budget_of_zero_minutes_is_none():
  assert console.Budget(0, time.monotonic()).deadline is None and not console.Budget(0, 0).spent()
  assert console.Budget(1e-9, time.monotonic() - 1).spent()


def test_grids_come_at_step_0_and_by_wall_time_as_well_as_by_steps(tmp_path):
  from tests.conftest import tiny_config
  from training import trainer
  run_dir = tmp_path / 'run'
  trainer.train(tiny_config(run_dir, steps=3, sample_every=1000, sample_every_minutes=1e-6), log=lambda *_: None)
  assert sorted(os.listdir(run_dir / 'samples')) == [f'step_000000{i}.png' for i in range(4)]
  trainer.train(tiny_config(tmp_path / 'by_steps', steps=3, sample_every=1000, sample_every_minutes=0),
                log=lambda *_: None)
  assert sorted(os.listdir(tmp_path / 'by_steps' / 'samples')) == ['step_0000000.png', 'step_0000003.png']
