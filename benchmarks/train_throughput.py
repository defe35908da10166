r"""Training throughput and how far it is from this CPU's peak, measured side by side in one run:

  1. the keras-io WGAN-GP recipe (benchmarks/keras_io_recipe.py) on Fashion-MNIST, batch 64 (--keras_io);
  2. ours: training.main with a preset (--preset) plus pass-through flags (--extra), for every --losses x --jit
     x --threads, each in a fresh process;
  3. our WGAN-GP on 2 logical CPU replicas (MirroredStrategy) vs 1 device, same global batch (--replicas);
  4. a 2048x2048 float32 tf.matmul, the practical peak, measured just before and after each row with that row's
     thread settings: on a shared machine the peak moves with the load (2x here), so each row is compared with
     the mean of its own two.

Each row shows generator steps/s, critic images/s (real images through critic updates: the keras-io recipe
reuses one real batch for its 3 critic updates, ours reads a fresh one for each of n_critic, as Algorithm 1),
GFLOP per generator step (benchmarks/flops.py: matmul/conv FLOPs measured from the step's TF graphs), the
achieved GFLOP/s, the matmul's GFLOP/s and the ratio of the two. Runs of ours last --steps generator steps; the
first --warmup_steps (tracing, XLA compilation, data start-up) are left out and the rest are timed from
metrics.csv.
--threads runs with TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS set ('1x2': 1 intra-op, 2 inter-op).
On a shared machine, --repeats=N tries every row N times round-robin and shows the fastest try.
--parts times the step's parts in this process (default threads), to say where a step's time goes
(benchmarks/step_parts.py).

  python -m benchmarks.train_throughput --losses=wgan_gp --extra=--image_size=28,--n_critic=3 --threads=default,1x1
"""

import csv
import itertools
import math
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags, logging

from benchmarks import step_parts
from common import cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  # Data and what to run
  flags.DEFINE_string('manual_dir', os.path.join(_REPO, '..', 'shared', 'data', 'fashion_mnist'),
                      'Original Fashion-MNIST archives.')
  flags.DEFINE_string('data_dir', None, 'TFDS data_dir (default: a temporary one, prepared offline).')
  flags.DEFINE_string('preset', 'training/presets/fashion_mnist.flags', 'Flagfile of our runs (relative to the repo).')
  flags.DEFINE_list('extra', [], 'Training flags passed through after the preset, e.g. --image_size=28,--n_critic=3 '
                    '(a value holding a comma cannot be passed).')
  flags.DEFINE_list('losses', ['wgan_gp', 'wgan', 'lsgan', 'dcgan'], 'Losses of our rows.')
  flags.DEFINE_list('jit', ['off', 'on'], "XLA settings of our rows: off, on (forced, also on a CPU host), preset "
                    "(the preset's --jit as training.main applies it).")
  flags.DEFINE_list('threads', ['default'], "Thread settings of our rows: 'default' (TensorFlow's choice) or "
                    "INTRAxINTER, e.g. 1x1,2x1.")
  flags.DEFINE_bool('keras_io', True, 'Measure the keras-io recipe (in this process, default threads).')
  flags.DEFINE_bool('replicas', True, 'Also measure 2 logical CPU replicas vs 1 (WGAN-GP, default threads).')
  flags.DEFINE_string('baseline', None, 'Another checkout of this repository (e.g. a git worktree of an older commit): '
                      'each row of ours runs there too, with the same preset and flags, side by side, and the table '
                      'gives the ratio of real images/s.')
  flags.DEFINE_multi_string('variants', [], 'Extra rows beside each row of ours, as LABEL:FLAG+FLAG, one per '
                            '--variants, e.g. --variants=bf16:--mixed_precision '
                            '--variants=aug:--augment=color,translation,cutout.')
  flags.DEFINE_bool('parts', False, 'Time the step\'s parts (G forward, critic losses, penalty, generator update).')
  # Lengths
  flags.DEFINE_integer('steps', 150, 'Generator steps per run of ours.')
  flags.DEFINE_integer('warmup_steps', 50, 'Leading steps left out of the timing (XLA compiles in them).')
  flags.DEFINE_integer('keras_io_steps', 20, 'Timed train steps of the keras-io recipe (after 3 warm-up steps).')
  flags.DEFINE_integer('repeats', 1, 'Tries of each row of ours, round-robin; the fastest is shown.')
  flags.DEFINE_integer('parts_repeats', 10, 'Timed calls per part with --parts (median).')
  flags.DEFINE_integer('matmul_size', 2048, 'Side of the square float32 matmul that measures the peak.')


KERAS_IO_BATCH = 64
# --jit rows: XLA off, XLA on (forced on a CPU host too: training/strategies.py xla_applies), or the preset's own.
_JIT_FLAGS = {'off': ('--jit=False',), 'on': ('--jit=True', '--jit_on_cpu=True'), 'preset': ()}
_JIT_LABEL = {'off': '--nojit', 'on': '--jit', 'preset': '(preset)'}


class BenchmarkError(Exception):
  """A run failed; the message is one line."""


def _thread_env(setting: str) -> dict:
  if setting == 'default':
    return {}
  intra, inter = setting.split('x')
  return {'TF_NUM_INTRAOP_THREADS': intra, 'TF_NUM_INTEROP_THREADS': inter}


def _last_line(text: str) -> str:
  lines = [line for line in text.strip().splitlines() if line.strip()]
  return lines[-1] if lines else '(no output)'


def matmul_peak(setting: str) -> float:
  """The matmul's GFLOP/s in a fresh process with `setting`'s threads, as our runs get them."""
  code = f'from benchmarks.flops import matmul_gflops; print(matmul_gflops({FLAGS.matmul_size}))'
  proc = subprocess.run([sys.executable, '-c', code], cwd=_REPO, capture_output=True, text=True,
                        env={**os.environ, **_thread_env(setting)})
  if proc.returncode:
    raise BenchmarkError(f'matmul peak ({setting} threads) failed: {_last_line(proc.stderr)}')
  return float(proc.stdout.split()[-1])


def keras_io_row(data_dir: str) -> dict:
  """The recipe's train step (3 critic updates on one real batch + 1 generator update), timed in this process."""
  import numpy as np
  import tensorflow as tf
  import tensorflow_datasets as tfds
  from benchmarks import flops, keras_io_recipe
  tfds.disable_progress_bar()
  builder = tfds.builder('fashion_mnist', data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=FLAGS.manual_dir))
  images = next(iter(tfds.as_numpy(builder.as_dataset(split='train', batch_size=KERAS_IO_BATCH * 4))))['image']
  images = (images.astype(np.float32) - 127.5) / 127.5  # (256, 28, 28, 1) in [-1, 1], as the example scales
  train_step = keras_io_recipe.make_train_step(keras_io_recipe.generator(), keras_io_recipe.discriminator())
  batches = [tf.constant(images[i * KERAS_IO_BATCH:(i + 1) * KERAS_IO_BATCH]) for i in range(4)]
  step_flops = flops.graph_flops(train_step, batches[0])  # the whole step, from its graph
  for i in range(3):  # trace and warm up
    train_step(batches[i % 4])
  peak_before = flops.matmul_gflops(FLAGS.matmul_size)
  t0 = time.perf_counter()
  for i in range(FLAGS.keras_io_steps):
    d_loss, _ = train_step(batches[i % 4])
  float(d_loss)  # sync point
  seconds = time.perf_counter() - t0
  peak = (peak_before + flops.matmul_gflops(FLAGS.matmul_size)) / 2
  return {'label': 'keras-io WGAN-GP recipe', 'threads': 'default', 'g_steps': FLAGS.keras_io_steps, 'peak': peak,
          'critic_images': FLAGS.keras_io_steps * keras_io_recipe.D_STEPS * KERAS_IO_BATCH, 'seconds': seconds,
          'flops': FLAGS.keras_io_steps * step_flops}


def _read_config(run_dir: str):
  """The run's config.json as a TrainConfig. Settings this process does not know (training/ changed since it
  started) are left out with a note: the FLOP count may then miss what they change."""
  import dataclasses
  import json
  from training.config import TrainConfig
  with open(os.path.join(run_dir, 'config.json')) as f:
    values = json.load(f)
  known = {f.name for f in dataclasses.fields(TrainConfig)}
  unknown = sorted(set(values) - known)
  if unknown:
    print(f'  note: settings unknown to this process ignored in the FLOP count: {", ".join(unknown)}')
  # from_json fills what older runs did not record as they ran (the lazy penalty's rule, ...).
  return TrainConfig.from_json(json.dumps({k: v for k, v in values.items() if k in known}))


def ours(data_dir: str, work: str, label: str, threads: str, *row_flags: str, repo: str = _REPO) -> dict:
  """Runs training.main of the checkout `repo` in a fresh process; returns the figures of its steps after
  --warmup_steps."""
  from benchmarks import flops
  from training.config import n_critic_at
  run_dir = os.path.join(work, f'run{len(os.listdir(work))}')
  log_every = math.gcd(FLAGS.warmup_steps, FLAGS.steps)  # a metrics.csv row falls on the end of the warm-up
  cmd = [sys.executable, '-m', 'training.main', f'--flagfile={os.path.join(_REPO, FLAGS.preset)}',
         f'--manual_dir={FLAGS.manual_dir}',
         f'--data_dir={data_dir}', *FLAGS.extra, f'--steps={FLAGS.steps}', f'--log_every={log_every}',
         '--sample_every=1000000', '--ckpt_every=1000000', '--eval_every=0', f'--run_dir={run_dir}', *row_flags]
  peak_before = matmul_peak(threads)
  proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True,
                        env={**os.environ, **_thread_env(threads), 'PYTHONPATH': repo})
  if proc.returncode:
    raise BenchmarkError(f'{label} ({threads} threads) failed: {_last_line(proc.stderr)}')
  peak = (peak_before + matmul_peak(threads)) / 2
  config = _read_config(run_dir)
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    rows = list(csv.DictReader(f))
  parts = step_parts.step_flops(config)
  g_steps = critic_updates = step_flops = 0
  seconds, previous = 0.0, 0
  batch_index = 0  # critic updates of the run before generator step `previous`: the lazy penalty's clock
  for row in rows:  # one row per log window (previous, step]; images_per_sec is that window's rate
    step = int(row['step'])
    updates = [n_critic_at(config, s) for s in range(previous, step)]
    firsts = list(itertools.accumulate(updates[:-1], initial=batch_index))  # each step's first critic update
    batch_index += sum(updates)
    if previous >= FLAGS.warmup_steps:
      seconds += sum(updates) * config.batch_size / float(row['images_per_sec'])
      g_steps, critic_updates = g_steps + step - previous, critic_updates + sum(updates)
      step_flops += sum(parts.generator_step(n, flops.penalised_updates(config, n, first))
                        for n, first in zip(updates, firsts))
    previous = step
  return {'label': label, 'threads': threads, 'g_steps': g_steps, 'critic_images': critic_updates * config.batch_size,
          'seconds': seconds, 'config': config, 'peak': peak, 'flops': step_flops}


def _rate(row) -> float:
  return row['g_steps'] / row['seconds']


def _of_peak(row) -> float:
  return row['flops'] / row['seconds'] / 1e9 / row['peak']


def print_rows(rows: list) -> None:
  print(f'\n{"run":<30} {"threads":>7} {"G steps/s":>10} {"critic img/s":>13} {"GFLOP/G step":>13} {"GFLOP/s":>8} '
        f'{"matmul GFLOP/s":>15} {"of matmul":>10}')
  for r in rows:
    print(f'{r["label"]:<30} {r["threads"]:>7} {_rate(r):>10.3f} {r["critic_images"] / r["seconds"]:>13.1f} '
          f'{r["flops"] / r["g_steps"] / 1e9:>13.2f} {r["flops"] / r["seconds"] / 1e9:>8.1f} {r["peak"]:>15.1f} '
          f'{_of_peak(r):>10.1%}')


def print_flops(config) -> None:
  parts = step_parts.step_flops(config)
  print(f'\nFLOPs of one generator step, {config.loss} {config.image_size}x{config.image_size}x{config.channels} '
        f'width {config.width} batch {config.batch_size} n_critic {config.n_critic}, penalty on '
        f'{parts.penalised_updates:g} of them (graph-measured; D forward of one batch = '
        f'{parts.critic_forward / 1e9:.3f} GFLOP, G forward = {parts.generator_forward / 1e9:.3f} GFLOP):')
  for name, share in parts.shares().items():
    print(f'  {name:<32} {share * parts.per_generator_step / 1e9:>7.2f} GFLOP {share:>6.1%}')
  penalty = f', gradient penalty {parts.gradient_penalty / parts.critic_forward:.2f}' if parts.gradient_penalty else ''
  print(f'  {"total":<32} {parts.per_generator_step / 1e9:>7.2f} GFLOP; in D forwards of one batch: critic losses '
        f'{parts.critic_losses / parts.critic_forward:.2f}{penalty}, generator update '
        f'{parts.generator_update / parts.critic_forward:.2f}')


def run_all(work: str) -> None:
  data_dir = FLAGS.data_dir or os.path.join(work, 'tfds')
  runs = os.path.join(work, 'runs')
  os.makedirs(runs)
  print(f'machine: {os.cpu_count()} CPU cores; preset {FLAGS.preset}; extra: {" ".join(FLAGS.extra) or "none"}; '
        f'{FLAGS.steps} generator steps per run of ours, the last {FLAGS.steps - FLAGS.warmup_steps} timed',
        flush=True)
  rows = [keras_io_row(data_dir)] if FLAGS.keras_io else []
  specs = [(f'ours {loss} {_JIT_LABEL[jit]}', threads, f'--loss={loss}', *_JIT_FLAGS[jit])
           for loss in FLAGS.losses for jit in FLAGS.jit for threads in FLAGS.threads]
  if FLAGS.replicas:
    specs += [('ours wgan_gp 1 device', 'default', '--loss=wgan_gp', '--strategy=one_device'),
              ('ours wgan_gp 2 CPU replicas', 'default', '--loss=wgan_gp', '--strategy=mirrored', '--cpu_replicas=2')]
  variants = [v.split(':', 1) for v in FLAGS.variants]
  specs = [s for spec in specs for s in (spec, *((f'{spec[0]} {label}', spec[1], *spec[2:], *extra.split('+'))
                                                 for label, extra in variants))]
  if FLAGS.baseline:  # the same rows in the other checkout, interleaved with ours
    specs = [s for spec in specs for s in (spec, (spec[0].replace('ours', 'baseline', 1), *spec[1:]))]
  tries = {spec[:2]: [] for spec in specs}
  for repeat in range(FLAGS.repeats):  # round-robin: a busy spell of the shared machine hits one try of each
    for label, threads, *row_flags in specs:
      repo = os.path.abspath(FLAGS.baseline) if label.startswith('baseline') else _REPO
      if repo != _REPO:  # an older checkout may not know --jit_on_cpu; its --jit compiled on any device
        row_flags = [f for f in row_flags if not f.startswith('--jit_on_cpu')]
      r = ours(data_dir, runs, label, threads, *row_flags, repo=repo)
      tries[label, threads].append(r)
      print(f'  {label}, {threads} threads, try {repeat + 1}: {_rate(r):.3f} G steps/s, '
            f'{r["flops"] / r["seconds"] / 1e9:.1f} GFLOP/s, matmul {r["peak"]:.1f}: {_of_peak(r):.1%}', flush=True)
  # Other processes can only slow a run down: the fastest try is the estimate of what a setting does.
  rows += [min(runs_, key=lambda r: r['seconds'] / r['g_steps']) for runs_ in tries.values()]
  print_rows(rows)
  if FLAGS.baseline:
    by_label = {(r['label'], r['threads']): r for r in rows}
    for (label, threads), r in by_label.items():
      base = by_label.get((label.replace('ours', 'baseline', 1), threads))
      if label.startswith('ours') and base is not None:
        new, old = r['critic_images'] / r['seconds'], base['critic_images'] / base['seconds']
        print(f'{label}, {threads} threads: {new:.1f} real images/s vs {old:.1f} in {FLAGS.baseline}: '
              f'x{new / old:.2f}')
  rows = [r for r in rows if not r['label'].startswith('baseline')]
  ours_rows = [r for r in rows if 'config' in r]
  for loss in FLAGS.losses:
    by = {(r['label'].split()[-1], r['threads']): r for r in ours_rows if r['label'].startswith(f'ours {loss} --')}
    for threads in FLAGS.threads:
      if ('--jit', threads) in by and ('--nojit', threads) in by:
        on, off = by['--jit', threads], by['--nojit', threads]
        print(f'{loss}, {threads} threads: --jit {_rate(on):.3f} vs --nojit {_rate(off):.3f} G steps/s: XLA '
              f'x{_rate(on) / _rate(off):.2f}; of matmul {_of_peak(on):.1%} vs {_of_peak(off):.1%}')
    if len(FLAGS.threads) > 1:
      for jit in sorted({k[0] for k in by}):
        candidates = [k for k in by if k[0] == jit]
        fastest, best = max(candidates, key=lambda k: _rate(by[k])), max(candidates, key=lambda k: _of_peak(by[k]))
        print(f'{loss} {jit}: fastest threads {fastest[1]} ({_rate(by[fastest]):.3f} G steps/s); highest share of '
              f'the matmul measured beside it: {best[1]} ({_of_peak(by[best]):.1%})')
  if FLAGS.replicas:
    one, two = rows[-2], rows[-1]  # the last two specs
    print(f'WGAN-GP, 2 logical CPU replicas vs 1 device: G steps/s ratio '
          f'{(two["g_steps"] / two["seconds"]) / (one["g_steps"] / one["seconds"]):.2f} (same 2 cores: this '
          f'measures the overhead of mirroring, not a speed-up)')
  for loss in FLAGS.losses:
    first = next(r for r in ours_rows if r['label'].startswith(f'ours {loss}'))
    print_flops(first['config'])
    if FLAGS.parts:
      measured = {r['label'].endswith('--jit'): r for r in ours_rows
                  if r['label'] in (f'ours {loss} --jit', f'ours {loss} --nojit') and r['threads'] == 'default'}
      if measured:
        times, peak = step_parts.time_parts(first['config'], tuple(measured), FLAGS.parts_repeats, FLAGS.matmul_size)
        for jit, r in measured.items():
          step_parts.print_parts(r['config'], jit, times[jit], peak, r['seconds'] / r['g_steps'], FLAGS.parts_repeats)


def _validate() -> None:
  for setting in FLAGS.threads:
    intra, _, inter = setting.partition('x')
    if setting != 'default' and not (intra.isdigit() and inter.isdigit() and int(intra) > 0 and int(inter) > 0):
      raise cli.UsageError(f"--threads: {setting!r} is neither 'default' nor INTRAxINTER (e.g. 1x2)")
  if not set(FLAGS.jit) <= set(_JIT_FLAGS):
    raise cli.UsageError(f'--jit takes any of {", ".join(_JIT_FLAGS)}, got {",".join(FLAGS.jit)}')
  if FLAGS.repeats < 1 or FLAGS.parts_repeats < 1:
    raise cli.UsageError('--repeats and --parts_repeats must be >= 1')
  if not 0 <= FLAGS.warmup_steps < FLAGS.steps:
    raise cli.UsageError(f'--warmup_steps must be in [0, --steps), got {FLAGS.warmup_steps} with --steps={FLAGS.steps}')
  if not os.path.isfile(os.path.join(_REPO, FLAGS.preset)):
    raise cli.UsageError(f'--preset: no file {FLAGS.preset} in {_REPO}')
  for variant in FLAGS.variants:
    label, _, extra = variant.partition(':')
    if not label or not extra.startswith('--'):
      raise cli.UsageError(f'--variants: {variant!r} is not LABEL:--FLAG[+--FLAG...]')
  if FLAGS.baseline and not os.path.isfile(os.path.join(FLAGS.baseline, 'training', 'main.py')):
    raise cli.UsageError(f'--baseline: {FLAGS.baseline} is not a checkout of this repository (no training/main.py)')


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  logging.set_verbosity(logging.WARNING)  # TFDS's INFO lines while it prepares the data
  _validate()
  with tempfile.TemporaryDirectory() as work:
    run_all(work)
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors={BenchmarkError: 1})
