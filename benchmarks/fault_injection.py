r"""Fault injection: a real training run killed with SIGKILL at random moments and resumed with --resume, --kills
times, then left to finish; its final checkpoint is compared bit for bit with an uninterrupted run of the same
length (both --deterministic).

Each kill is aimed, by a seeded draw, either at a random moment of training (a delay in [0, --max_delay] s after
the process has started training) or at a checkpoint write (a delay in [0, --save_window] s after the next
ckpt-N_temp folder appears, so the kill lands inside TensorFlow's write, its merge, the state file or the
manifest). Per kill it records, before resuming:
  reached     the step the killed process had reached (its last complete metrics.csv row; --log_every=1)
  complete    the newest checkpoint whose manifest verifies (training.checkpoints.verify): where a resume must
              continue from
  unfinished  what the kill left half-written (ckpt-N without a good manifest, *_temp / *.tmp leftovers)
and from the resumed process's output:
  resumed     the step of "resumed from ... at step X"; it agrees when X == complete (goal: every kill)
  ignored     its "ignoring checkpoint ckpt-N: reason" lines. Corrupt = an ignored checkpoint that had a manifest,
              i.e. one the trainer had declared complete (goal: 0). One named in TensorFlow's `checkpoint` state
              file but without a manifest is a write killed between TensorFlow's commit and the manifest: counted
              apart, as the design expects it to be ignored.
  lost        reached - resumed (goal: <= --ckpt_every)

  python -m benchmarks.fault_injection                                   # 20 kills, ~5 min on 2 CPU cores
  python -m benchmarks.fault_injection --kills=3 --steps=60 --ckpt_every=3 --json=/tmp/fi.json
"""

import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from common import cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  # The run: a tiny model on the embedded digits, one metrics row per step, grids only at the end.
  flags.DEFINE_integer('kills', 20, 'SIGKILLs (each followed by a --resume).', lower_bound=1, upper_bound=1000)
  flags.DEFINE_integer('steps', 500, 'Generator steps of the run (long enough to outlast every kill).', lower_bound=2)
  flags.DEFINE_integer('ckpt_every', 5, 'Checkpoint cadence in steps: small, so kills often land in a write.',
                       lower_bound=1)
  # The kills
  flags.DEFINE_float('max_delay', 1.5, 'Kills aimed at training: seconds after training started, drawn in [0, this].')
  flags.DEFINE_float('save_fraction', 0.5, 'Share of kills aimed at a checkpoint write [0, 1].')
  flags.DEFINE_float('save_window', 0.03, 'Kills aimed at a write: seconds after ckpt-N_temp appears, drawn in '
                     '[0, this] (a write takes 10-100 ms here).')
  flags.DEFINE_integer('seed', 0, 'Seed of the kill schedule (aims and delays).')
  # Files and limits
  flags.DEFINE_string('work_dir', '', 'Where the two runs and their logs go (must be empty or absent; default: a '
                      'temporary folder, removed unless --keep).')
  flags.DEFINE_bool('keep', False, 'Keep the temporary work folder.')
  flags.DEFINE_string('json', '', 'Write the figures (settings, every kill, summary) to this JSON file.')
  flags.DEFINE_float('timeout', 600.0, 'Seconds any one training process may take.')


TRAIN_FLAGS = ('--dataset=digits', '--image_size=16', '--latent_dim=8', '--width=8', '--batch_size=16',
               '--log_every=1', '--sample_every=1000', '--num_samples=4', '--deterministic')
_RESUMED = re.compile(r'resumed from (\S+) at step (\d+)')
_IGNORED = re.compile(r'ignoring checkpoint (ckpt-\d+): (.*)')
_CKPT = re.compile(r'^ckpt-(\d+)(?:\.|_temp)')
# Names of a checkpoint's files in the 'left unfinished' column (anything else is shown as it is).
_PART = {'_temp': 'temp', '.index': 'index', '.data': 'data', '.sha256': 'manifest', '.sha256.tmp': 'manifest.tmp'}
_POLL_S = 0.002  # a checkpoint write lasts 10-100 ms: polling must be finer


class BenchmarkError(Exception):
  """The harness could not go on (a run failed to start, a timeout); the message is one line."""


class _Process:
  """One training process; stdout and stderr go to a log file, read while it runs."""

  def __init__(self, args, log_path):
    self.log_path, self.started = log_path, time.time()
    env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'TF_CPP_MIN_LOG_LEVEL': '2'}
    with open(log_path, 'w') as log:
      # A session of its own: a Ctrl-C to the benchmark must not reach it (it would checkpoint and exit cleanly).
      self.proc = subprocess.Popen([sys.executable, '-m', 'training.main', *args], cwd=_REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)

  def output(self) -> str:
    with open(self.log_path, errors='replace') as f:
      return f.read()

  def last_line(self) -> str:
    lines = [line for line in self.output().splitlines() if line.strip() and not line.startswith('[')]
    return lines[-1] if lines else '(no output)'

  def wait_for(self, condition, timeout: float, what: str, poll: float = 0.05):
    """Polls condition() until it returns something truthy (returned) or the process exits (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
      value = condition()
      if value:
        return value
      if self.proc.poll() is not None:
        return condition() or None
      time.sleep(poll)
    self.kill()
    raise BenchmarkError(f'timed out after {timeout:g} s waiting for {what} ({self.log_path})')

  def kill(self) -> None:
    if self.proc.poll() is None:
      self.proc.send_signal(signal.SIGKILL)
    self.proc.wait()

  def finish(self, timeout: float) -> int:
    try:
      return self.proc.wait(timeout)
    except subprocess.TimeoutExpired:
      self.kill()
      raise BenchmarkError(f'a run took more than {timeout:g} s ({self.log_path})') from None


def last_row_step(run_dir: str, newer_than: float = 0.0):
  """The step of metrics.csv's last complete row (None when there is none, or the file is older than
  `newer_than`, a time.time(): rows of a killed process before the resume has dropped them)."""
  path = os.path.join(run_dir, 'metrics.csv')
  try:
    if os.stat(path).st_mtime < newer_than:
      return None
    with open(path) as f:
      lines = f.read().split('\n')[1:-1]  # a line without its newline is a row the kill cut short
  except FileNotFoundError:
    return None
  return int(float(lines[-1].split(',', 1)[0])) if lines else None


def disk_state(ckpt_dir: str) -> dict:
  """What a kill left: the newest checkpoint matching its manifest, the state file's view, unfinished writes."""
  from training import checkpoints
  names = os.listdir(ckpt_dir) if os.path.isdir(ckpt_dir) else []
  numbers = sorted({int(m.group(1)) for m in map(_CKPT.match, names) if m}, reverse=True)
  complete, unfinished = None, []
  for number in numbers:
    prefix = f'ckpt-{number}'
    if checkpoints.verify(os.path.join(ckpt_dir, prefix)) is None:
      complete = number
      break
    parts = sorted({_PART.get(n[len(prefix):].split('-')[0], n[len(prefix):]) for n in names
                    if n.startswith(prefix + '.') or n.startswith(prefix + '_')})
    unfinished.append(f'{prefix} ({"+".join(parts)})')
  unfinished += sorted(n for n in names if '.tmp' in n and not n.startswith('ckpt-'))  # e.g. the state file's
  listed, latest = set(), None
  try:
    with open(os.path.join(ckpt_dir, 'checkpoint')) as f:
      for line in f:
        key, _, value = line.partition(':')
        value = value.strip().strip('"')
        if key == 'model_checkpoint_path':
          latest = value
        elif key == 'all_model_checkpoint_paths':
          listed.add(os.path.basename(value))
  except FileNotFoundError:
    pass
  return {'complete': complete, 'state_file_latest': latest, 'listed': sorted(listed), 'unfinished': unfinished}


def compare_checkpoints(a: str, b: str) -> dict:
  """Every variable of two checkpoints compared bit for bit (the object graph, a serialized proto, left out)."""
  import numpy as np
  import tensorflow as tf
  readers = tf.train.load_checkpoint(a), tf.train.load_checkpoint(b)
  names = [set(r.get_variable_to_shape_map()) - {'_CHECKPOINTABLE_OBJECT_GRAPH'} for r in readers]
  differ = sorted(names[0] ^ names[1])
  for name in sorted(names[0] & names[1]):
    x, y = (np.asarray(r.get_tensor(name)) for r in readers)
    if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
      differ.append(name)
  return {'variables': len(names[0] | names[1]), 'differ': differ}


def compare_metrics(a: str, b: str) -> dict:
  """metrics.csv of two runs: each step once and in order, and the same values (images_per_sec is a timing)."""
  def rows(run_dir):
    with open(os.path.join(run_dir, 'metrics.csv'), newline='') as f:
      return [{k: v for k, v in r.items() if k != 'images_per_sec'} for r in csv.DictReader(f)]
  rows_a, rows_b = rows(a), rows(b)
  steps = [int(r['step']) for r in rows_a]
  return {'rows': len(rows_a), 'each_step_once': steps == list(range(1, len(steps) + 1)),
          'identical': rows_a == rows_b}


def _train_args(run_dir: str) -> list:
  return [*TRAIN_FLAGS, f'--steps={FLAGS.steps}', f'--ckpt_every={FLAGS.ckpt_every}', f'--run_dir={run_dir}']


def _kill_once(process: _Process, rng: random.Random, ckpt_dir: str):
  """Waits for the moment the schedule draws, then SIGKILLs. Returns the aim and delay, or None if the process
  finished first."""
  aim = 'save' if rng.random() < FLAGS.save_fraction else 'time'
  fraction = rng.random()  # drawn for both aims: the schedule does not depend on timing
  if aim == 'save':
    def writing():  # TensorFlow writes ckpt-N into ckpt-N_temp/ first, then merges it beside the others
      return any(name.endswith('_temp') for name in os.listdir(ckpt_dir))
    if not process.wait_for(writing, FLAGS.timeout, 'a checkpoint write', poll=_POLL_S):
      return None
    delay = fraction * FLAGS.save_window
  else:
    delay = fraction * FLAGS.max_delay
  time.sleep(delay)
  if process.proc.poll() is not None:
    return None
  process.kill()
  return {'aim': aim, 'delay_s': round(delay, 4)}


def _resume(run_dir: str, log_path: str):
  """Starts `--resume` and waits until it has restored; returns the process and what it reported."""
  process = _Process(['--resume', f'--run_dir={run_dir}'], log_path)
  found = process.wait_for(lambda: _RESUMED.search(process.output()), FLAGS.timeout, 'the resume to restore')
  ignored = [{'checkpoint': name, 'reason': reason.strip()} for name, reason in _IGNORED.findall(process.output())]
  if not found:
    return process, None, None, ignored
  return process, os.path.basename(found.group(1)), int(found.group(2)), ignored


def run_chain(work_dir: str, rng: random.Random, say) -> dict:
  """The killed run: a fresh start, --kills SIGKILLs each followed by --resume, then the last resume finishes."""
  run_dir = os.path.join(work_dir, 'killed')
  ckpt_dir = os.path.join(run_dir, 'checkpoints')
  logs = os.path.join(work_dir, 'logs')
  process = _Process(_train_args(run_dir), os.path.join(logs, 'life-00.log'))
  # The first life trains until its first checkpoint is complete: a resume needs one to start from.
  resumed_step = 0
  kills = []
  try:
    if not process.wait_for(lambda: disk_state(ckpt_dir)['complete'], FLAGS.timeout, 'the first checkpoint'):
      raise BenchmarkError(f'the first run ended before its first checkpoint: {process.last_line()}')
    for index in range(1, FLAGS.kills + 1):
      if index > 1:  # a resumed life: training has started once metrics.csv holds a new row past the resume
        started = process.wait_for(lambda: (last_row_step(run_dir, process.started) or 0) > resumed_step,
                                   FLAGS.timeout, 'training to start')
        if not started:
          break
      shot = _kill_once(process, rng, ckpt_dir)
      if shot is None:  # it finished first: --steps too small for --kills
        say(f'the run finished before kill {index}: pass a larger --steps for {FLAGS.kills} kills')
        break
      record = {'kill': index, **shot, 'reached_step': last_row_step(run_dir), **disk_state(ckpt_dir)}
      process, resumed_from, resumed_step, ignored = _resume(run_dir, os.path.join(logs, f'life-{index:02d}.log'))
      for entry in ignored:
        entry['had_manifest'] = not entry['reason'].startswith('no manifest')
        entry['listed_in_state_file'] = entry['checkpoint'] in record['listed']
      record.update(resumed_from=resumed_from, resumed_step=resumed_step, ignored=ignored,
                    corrupt=sum(e['had_manifest'] for e in ignored),
                    listed_ignored=sum(e['listed_in_state_file'] and not e['had_manifest'] for e in ignored),
                    agrees=resumed_step is not None and resumed_step == record['complete']
                    and resumed_from == f'ckpt-{resumed_step}',
                    steps_lost=None if resumed_step is None else record['reached_step'] - resumed_step)
      kills.append(record)
      say(_kill_line(record))
      if resumed_step is None:
        process.kill()
        return {'kills': kills, 'finished': False, 'error': f'resume failed: {process.last_line()}',
                'run_dir': run_dir}
    code = process.finish(FLAGS.timeout)
  finally:
    process.kill()
  done = code == 0 and f'done: {FLAGS.steps} steps' in process.output()
  return {'kills': kills, 'finished': done, 'error': '' if done else f'exit {code}: {process.last_line()}',
          'run_dir': run_dir}


def _kill_line(r: dict) -> str:
  resumed = 'FAILED' if r['resumed_step'] is None else f'step {r["resumed_step"]}'
  return (f'kill {r["kill"]:2d}/{FLAGS.kills} ({r["aim"]}, +{r["delay_s"]:.3f} s): reached step {r["reached_step"]}, '
          f'complete ckpt-{r["complete"]}, unfinished: {", ".join(r["unfinished"]) or "-"} -> resumed at {resumed} '
          f'({"agrees" if r["agrees"] else "DISAGREES"}), lost {r["steps_lost"]}, corrupt {r["corrupt"]}')


def table(kills: list) -> str:
  """The per-kill markdown table."""
  lines = ['| kill | aimed at | delay (s) | reached step | newest complete | left unfinished | resumed at | agrees '
           '| ignored on resume | corrupt | steps lost |', '|' + '---|' * 11]
  for r in kills:
    ignored = '; '.join(f'{e["checkpoint"]}: {e["reason"]}' for e in r['ignored']) or '-'
    lines.append(f'| {r["kill"]} | {"checkpoint write" if r["aim"] == "save" else "training"} | {r["delay_s"]:.3f} '
                 f'| {r["reached_step"]} | ckpt-{r["complete"]} | {", ".join(r["unfinished"]) or "-"} '
                 f'| {r["resumed_step"]} | {"yes" if r["agrees"] else "NO"} | {ignored} | {r["corrupt"]} '
                 f'| {r["steps_lost"]} |')
  return '\n'.join(lines)


def summarize(chain: dict, weights: dict, metrics: dict) -> dict:
  kills = chain['kills']
  lost = [r['steps_lost'] for r in kills if r['steps_lost'] is not None]
  return {'kills': len(kills), 'survived': sum(r['resumed_step'] is not None for r in kills),
          'agree': sum(r['agrees'] for r in kills), 'corrupt': sum(r['corrupt'] for r in kills),
          'listed_ignored': sum(r['listed_ignored'] for r in kills),
          'landed_in_write': sum(bool(r['unfinished']) for r in kills),
          'max_steps_lost': max(lost, default=None), 'mean_steps_lost': sum(lost) / len(lost) if lost else None,
          'finished': chain['finished'], 'error': chain['error'],
          'bit_identical': None if weights is None else not weights['differ'], 'weights': weights, 'metrics': metrics}


def summary_line(s: dict) -> str:
  weights = ('not compared' if s['bit_identical'] is None else
             f'bit-identical ({s["weights"]["variables"]} variables)' if s['bit_identical'] else
             f'DIFFER in {len(s["weights"]["differ"])} of {s["weights"]["variables"]} variables')
  lost = 'n/a' if s['max_steps_lost'] is None else f'max {s["max_steps_lost"]}, mean {s["mean_steps_lost"]:.1f}'
  return (f'{s["survived"]}/{s["kills"]} kills survived; resumed from the last complete checkpoint: '
          f'{s["agree"]}/{s["kills"]}; corrupt checkpoints: {s["corrupt"]}; steps lost per kill: {lost} '
          f'(--ckpt_every={FLAGS.ckpt_every}); {s["landed_in_write"]} kills left a write unfinished; final weights '
          f'vs uninterrupted: {weights}' + (f'; metrics.csv identical: {"yes" if s["metrics"]["identical"] else "NO"}'
                                            if s['metrics'] else '') + (f'; {s["error"]}' if s['error'] else ''))


def _check_flags() -> None:
  if not 0 <= FLAGS.save_fraction <= 1:
    raise cli.UsageError(f'--save_fraction must be in [0, 1], got {FLAGS.save_fraction:g}')
  for name in ('max_delay', 'save_window', 'timeout'):
    if not FLAGS[name].value > 0:
      raise cli.UsageError(f'--{name} must be > 0 seconds, got {FLAGS[name].value:g}')
  if FLAGS.ckpt_every >= FLAGS.steps:
    raise cli.UsageError(f'--ckpt_every={FLAGS.ckpt_every} must be below --steps={FLAGS.steps}')
  if FLAGS.work_dir and os.path.exists(FLAGS.work_dir) and (not os.path.isdir(FLAGS.work_dir)
                                                            or os.listdir(FLAGS.work_dir)):
    raise cli.UsageError(f'--work_dir {FLAGS.work_dir!r} is not an empty folder (nothing was changed)')
  if FLAGS.json and not os.path.isdir(os.path.dirname(os.path.abspath(FLAGS.json))):
    raise cli.UsageError(f'--json: no folder {os.path.dirname(os.path.abspath(FLAGS.json))!r}')


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  _check_flags()
  work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix='fault_injection-')
  os.makedirs(os.path.join(work_dir, 'logs'), exist_ok=True)

  def say(line):
    print(line, flush=True)

  try:
    say(f'work folder: {work_dir}; run: {" ".join(TRAIN_FLAGS)} --steps={FLAGS.steps} --ckpt_every={FLAGS.ckpt_every}')
    t0 = time.monotonic()
    reference_dir = os.path.join(work_dir, 'reference')
    reference = _Process(_train_args(reference_dir), os.path.join(work_dir, 'logs', 'reference.log'))
    if reference.finish(FLAGS.timeout):
      raise BenchmarkError(f'the uninterrupted run failed: {reference.last_line()}')
    say(f'uninterrupted run: {FLAGS.steps} steps in {time.monotonic() - t0:.0f} s')
    t0 = time.monotonic()
    chain = run_chain(work_dir, random.Random(FLAGS.seed), say)
    say(f'killed run: {len(chain["kills"])} kills, {"finished" if chain["finished"] else "NOT finished"} in '
        f'{time.monotonic() - t0:.0f} s')
    weights = metrics = None
    if chain['finished']:
      last = f'checkpoints/ckpt-{FLAGS.steps}'
      weights = compare_checkpoints(os.path.join(chain['run_dir'], last), os.path.join(reference_dir, last))
      metrics = compare_metrics(chain['run_dir'], reference_dir)
    summary = summarize(chain, weights, metrics)
    say('\n' + table(chain['kills']) + '\n')
    say(summary_line(summary))
    if FLAGS.json:
      settings = {name: FLAGS[name].value for name in ('kills', 'steps', 'ckpt_every', 'max_delay', 'save_fraction',
                                                       'save_window', 'seed')}
      with open(FLAGS.json, 'w') as f:
        json.dump({'settings': settings, 'train_flags': list(TRAIN_FLAGS), 'kills': chain['kills'],
                   'summary': summary}, f, indent=1)
  finally:
    if not FLAGS.work_dir and not FLAGS.keep:
      shutil.rmtree(work_dir, ignore_errors=True)
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors={BenchmarkError: 1})
