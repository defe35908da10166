"""`train(config)`: one top-to-bottom training run (strategy → data → models and optimizers → restore → loop →
save). The step math lives in training/steps.py, the files in training/run_dir.py."""

import dataclasses
import os
import shutil
import tempfile
import time
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from common import artifacts, labels
from common.latents import latents
from data import input_pipeline
from training import (checkpoints, conditioning, console, data_kinds, ema, generator_io, optimizers, provenance,
                      run_dir as rundir, score_plot, steps, stopping, strategies)
from training.architectures import ARCHITECTURES
from training.config import ConfigError, TrainConfig, n_critic_at, read_extras
from training.evaluator import Evaluator
from training.progress import Progress

_SHOWN = ('d_loss', 'g_loss', 'wasserstein')  # live in the progress bar


class TrainingError(Exception):
  """The run stopped for a reason the user must see (one line, exit code 1)."""


def _write_error(error: BaseException) -> str:
  """One line for a failed write (a full disk, a read-only folder, ...)."""
  if isinstance(error, checkpoints.CheckpointWriteError) or not isinstance(error, OSError):
    return str(error)
  where = f' {error.filename}' if error.filename else ''
  return f'cannot write{where}: {error.strerror or error}'


def _record_start(run_dir: str, config: TrainConfig, resume: bool, step: int, origin: dict) -> dict:
  """Writes config.json: for a new run its settings and provenance; for a resume, the settings as they now are
  and a history entry with the step, what changed (old and new values) and this process's provenance.
  Returns what changed."""
  now = time.strftime('%Y-%m-%dT%H:%M:%S%z')
  if not resume:
    rundir.write_config(run_dir, config.to_json(provenance={**origin, 'started_at': now}, history=[]))
    return {}
  text = rundir.read_config_text(run_dir)
  saved = TrainConfig.from_json(text)
  original, history = read_extras(text)
  changed = {name: [getattr(saved, name), value] for name, value in config.settings().items()
             if name != 'run_dir' and getattr(saved, name) != value}
  history = history + [{'resumed_at_step': step, 'changed': changed, 'provenance': {**origin, 'started_at': now}}]
  rundir.write_config(run_dir, dataclasses.replace(config, run_dir=saved.run_dir).to_json(original, history))
  return changed


def train(config: TrainConfig, resume: bool = False, log=print, evaluator: Optional[Evaluator] = None) -> str:
  """Trains a GAN as `config` says and returns the run directory. Raises the project's one-line errors.

  evaluator: called every config.eval_every steps (and at the last step) on the chief; what it returns goes to
  eval.csv and TensorBoard (training/evaluator.py). Required when config.eval_every > 0.
  """
  started = time.monotonic()  # --max_minutes counts from here
  if config.eval_every and evaluator is None:
    raise ConfigError('--eval_every needs an evaluator (training.main builds one from the dataset\'s judge)')
  # --- Strategy -------------------------------------------------------------------------------------------------
  strategy = strategies.make(config.strategy)
  replicas = strategy.num_replicas_in_sync
  if config.batch_size % replicas:
    raise ConfigError(f'--batch_size={config.batch_size} does not divide over {replicas} replicas')
  chief = strategies.is_chief(strategy)

  # --- Data -----------------------------------------------------------------------------------------------------
  if config.deterministic:
    # Same inputs, same op order, same results on CPU; ops without a deterministic kernel raise instead of
    # running (on GPU some are slower). The data order is deterministic for a seed in any case.
    tf.config.experimental.enable_op_determinism()
  kind = data_kinds.kind_of(config.dataset)
  source, info = kind.open(config)
  config = dataclasses.replace(config, channels=info.channels, data_classes=tuple(info.class_names))
  input_pipeline.check_one_batch(info, config.batch_size)  # before the run directory: a refused start writes nothing
  # Only the chief evaluates: the evaluator may write into the run directory (best/), as only the chief does.
  evaluator = evaluator if chief and config.eval_every else None
  run_dir = config.run_dir
  origin = provenance.collect(info.checksum)
  if chief:
    rundir.prepare(run_dir, resume)
  log(f'run directory: {run_dir}')
  log(f'data: {kind.describe(info, config)}; strategy: {strategies.display_name(strategy)}, {replicas} replica(s), '
      f'global batch {config.batch_size}')
  _, no_xla = strategies.xla_applies(config.jit, config.jit_on_cpu, strategy)
  if no_xla:
    log(no_xla)

  # --- Models and optimizers, built inside the scope before the first step -------------------------------------
  arch = ARCHITECTURES[config.arch]
  policy = optimizers.dtype_policy(config)
  if strategies.mixed_precision_line(policy):
    log(strategies.mixed_precision_line(policy))
  keras.utils.set_random_seed(config.seed)
  with strategy.scope():
    generator = kind.build_generator(arch, config, policy)
    # The generator that is sampled, judged and saved: an EMA of `generator`'s weights (training/ema.py).
    ema_generator = kind.build_generator(arch, config, policy) if config.ema_decay else None
    if ema_generator is not None:
      ema.copy_weights(generator, ema_generator)
    critic = kind.build_critic(arch, config, policy)
    step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    g_optimizer, d_optimizer = optimizers.make(config, step_var)
    g_optimizer.build(generator.trainable_variables)
    d_optimizer.build(critic.trainable_variables)
    # The sample grid's latents: rows 0..num_samples-1 of the run's seed in the project's one mapping.
    fixed_latents = tf.Variable(latents(config.seed, config.num_samples, config.latent_dim), trainable=False,
                                name='fixed_latents')
    # With a lazy penalty that most steps skip: the last value computed, which their metrics report.
    penalty_memory = steps.penalty_memory(config)

  # --- Restore --------------------------------------------------------------------------------------------------
  # The checkpoint holds, and restores in this order: (1) generator and (2) critic weights, BatchNorm moving
  # statistics included; (3) generator and (4) critic optimizer slots and iteration counts; (5) the generator
  # step, from which the batch counter of the data order follows (the data is not saved: batch b is a function
  # of the seed and b, data/input_pipeline.py); (6) the fixed latents of the sample grid; (7) with
  # --ema_decay > 0, the EMA generator's weights (raw and averaged weights both: a resumed run continues the same
  # average); (8) with a lazy penalty on the global rule (--r1_every, --gp_every > 1), the last penalty computed,
  # which the metrics of the steps that skip it report. Under spectral normalisation the critic's weights include
  # each layer's power-iteration vector u (training/spectral_norm.py). The newest checkpoint that matches its
  # manifest is taken (training/checkpoints.py). The settings are in config.json, read by main before this. Only
  # the chief writes into the run directory; other workers save to a scratch directory they delete.
  ema_objects = {'ema_generator': ema_generator} if ema_generator is not None else {}
  memory_objects = {'penalty_memory': penalty_memory} if penalty_memory is not None else {}
  checkpoint = tf.train.Checkpoint(generator=generator, critic=critic, g_optimizer=g_optimizer,
                                   d_optimizer=d_optimizer, step=step_var, fixed_latents=fixed_latents,
                                   **ema_objects, **memory_objects)
  ckpt_dir = os.path.join(run_dir, artifacts.CHECKPOINTS_DIR) if chief else tempfile.mkdtemp(
      prefix=f'ckpt-{strategies.worker_id(strategy)}-')
  ckpts = checkpoints.Checkpoints(checkpoint, ckpt_dir, config.keep_checkpoints, log=log if chief else _quiet)
  if resume:
    restored = ckpts.restore_latest_good() if chief else _restore_from_chief(checkpoint, run_dir)
    if restored is None:
      raise TrainingError(f'--resume: no complete checkpoint in {ckpt_dir}; start a new run with another --run_dir')
    log(f'resumed from {restored} at step {int(step_var.numpy())}')
  start_step = int(step_var.numpy())
  if start_step >= config.steps:
    raise TrainingError(f'the run is already at step {start_step}; pass a larger --steps to continue it')
  if chief:
    changed = _record_start(run_dir, config, resume, start_step, origin)
    if changed:
      log('resumed with changed settings: ' + ', '.join(f'--{k} {old!r} -> {new!r}' for k, (old, new) in
                                                         changed.items()))
    if resume:
      _rewind_logs(run_dir, start_step, evaluator, log)

  # The data continues at the exact batch the run had reached (the batch counter follows from the step).
  iterator = _input_iterator(kind, source, info, config, strategy, start_step)
  train_step, extra_critic_step = steps.make_step_functions(config, strategy, generator, critic, g_optimizer,
                                                          d_optimizer, ema_generator, config.ema_decay,
                                                          penalty_memory)
  stop_vote = stopping.stop_vote(strategy)

  # --- Loop -----------------------------------------------------------------------------------------------------
  writer = tf.summary.create_file_writer(os.path.join(run_dir, 'tensorboard')) if chief else None
  metrics_log = rundir.MetricsLog(run_dir) if chief else None
  eval_log = rundir.MetricsLog(run_dir, artifacts.EVAL_FILE) if evaluator is not None else None
  out = _Outputs(config=config, kind=kind, chief=chief, origin=origin, generator=generator,
                 ema_generator=ema_generator, critic=critic, grid_inputs=_grid_inputs(config, fixed_latents),
                 ckpts=ckpts, log=log, writer=writer, evaluator=evaluator, eval_log=eval_log,
                 eval_lines=console.EvalLines(getattr(evaluator, 'console', ()), eval_log and eval_log.read()))
  budget = console.Budget(config.max_minutes, started)
  progress = Progress(config.steps, start=start_step, deadline=budget.deadline)
  shown = {}
  step, last_saved, window_t, window_images = start_step, start_step, time.monotonic(), 0
  checked = start_step  # the last step whose losses were read and found finite
  stopped = ''  # why the run stops early: a signal to this process (or to any worker), or the --max_minutes budget
  last_grid = _sample(out, step) if step == 0 else (start_step, time.monotonic())  # (step, time) of the last grid
  with stopping.StopRequest(log) as stop:
    try:
      while step < config.steps:
        spent = budget.spent()
        if stop_vote(stop.requested or spent):
          stopped = 'the --max_minutes budget' if spent else 'a signal'
          break
        n_critic = n_critic_at(config, step)
        for _ in range(n_critic - config.n_critic):
          extra_critic_step(iterator)
        step_metrics = train_step(iterator)  # tensors, still on the device
        window_images += n_critic * config.batch_size
        step += 1
        step_var.assign(step)
        if step % config.log_every == 0 or step == config.steps:
          metrics = _read_metrics(step_metrics, step, checked, progress, ckpts)
          checked = step
          shown = {k: metrics[k] for k in _SHOWN}
          now = time.monotonic()
          metrics['images_per_sec'] = window_images / max(now - window_t, 1e-9)  # real images seen by the critic
          window_t, window_images = now, 0
          if chief:
            metrics_log.append(step, metrics)
            with writer.as_default(step=step):
              for k, v in metrics.items():
                tf.summary.scalar(k, v)
        progress.update(step, shown)
        minutes = config.sample_every_minutes
        if step % config.sample_every == 0 or (minutes and time.monotonic() - last_grid[1] >= 60 * minutes):
          last_grid = _sample(out, step)
        if step % config.ckpt_every == 0:
          _read_metrics(step_metrics, step, checked, progress, ckpts)  # never checkpoint weights that went NaN
          checked = step
          _save(out, step)
          last_saved = step
        if evaluator is not None and step % config.eval_every == 0:
          _evaluate(out, step)
      progress.update(step, shown, force=True)
      progress.close()

      # --- Save ---------------------------------------------------------------------------------------------------
      # Each phase says what it does: on a big model they take tens of seconds, and after a stop request the
      # run should not look hung. A stopped run skips its final evaluation (a minute on 2 CPU cores) so that
      # it ends within a preemption's grace period; evaluate it later with the command the log prints.
      stopping_at = time.monotonic()
      if last_saved != step:
        log(f'saving the checkpoint and generator of step {step} ...')
        _save(out, step)
      if last_grid[0] != step:
        _sample(out, step)
      if evaluator is not None and step % config.eval_every:
        if stopped:
          log(f'final evaluation skipped (stopped early); run it with: python -m evaluation.evaluate '
              f'--run_dir={run_dir}')
        else:
          log(f'final evaluation at step {step} ...')
          _evaluate(out, step)
      if chief:
        log('writing samples.gif and the loss curve ...')
        writer.flush()
        rundir.write_gif(run_dir)
        rundir.plot_loss_curve(run_dir, f'{config.loss} on {config.dataset}')
        score_plot.plot_scores(run_dir)  # DCGAN's generator/discriminator scores (MATLAB example); '' otherwise
    except (OSError, checkpoints.CheckpointWriteError) as e:
      progress.close()
      raise TrainingError(f'{_write_error(e)}; training stopped at step {step}; last good checkpoint kept: '
                          f'{ckpts.latest_good or "none"}') from None
  if not chief:
    shutil.rmtree(ckpt_dir, ignore_errors=True)
  if stopped:
    log(f'stopped at step {step} by {stopped} ({time.monotonic() - stopping_at:.1f} s to save); checkpoint saved. '
        f'Continue with: python -m training.main --run_dir={run_dir} --resume')
  else:
    log(f'done: {step} steps. Samples: {os.path.join(run_dir, "samples")}; generator: '
        f'{os.path.join(run_dir, artifacts.GENERATOR_DIR)}')
  log(f'export with: python -m export.to_onnx --run_dir={run_dir}')
  return run_dir


def _rewind_logs(run_dir: str, start_step: int, evaluator: Optional[Evaluator], log) -> None:
  """On the chief of a resumed run: rows and a best generator from after the restored step belong to a stretch
  that is thrown away."""
  dropped = rundir.MetricsLog(run_dir).truncate_after(start_step)
  dropped += rundir.MetricsLog(run_dir, artifacts.EVAL_FILE).truncate_after(start_step)
  if dropped:
    log(f'dropped {dropped} metric row(s) after step {start_step} (the resumed run writes them again)')
  if evaluator is not None and hasattr(evaluator, 'rewind'):
    line = evaluator.rewind(start_step)
    if line:
      log(line)


def _input_iterator(kind, source, info, config: TrainConfig, strategy, start_step: int):
  """The distributed iterator of batch dicts (training/steps.py attach_randomness), starting at the batch that
  generator step `start_step` reaches."""
  batches_done = sum(n_critic_at(config, s) for s in range(start_step))
  pipeline = kind.pipeline(source, info, config, batches_done)  # (B, ...) real samples
  pipeline = pipeline.enumerate(start=batches_done).map(steps.attach_randomness(config),
                                                        num_parallel_calls=tf.data.AUTOTUNE)
  options = tf.data.Options()
  # Every worker builds the same global batches and keeps its own slice: identical to a single-worker run.
  options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
  return iter(strategy.experimental_distribute_dataset(pipeline.with_options(options)))


def _read_metrics(step_metrics: dict, step: int, checked: int, progress: Progress,
                  ckpts: checkpoints.Checkpoints) -> dict:
  """The step's metrics as floats: a device-to-host sync, so only at log and checkpoint steps. Raises when a loss
  is NaN/Inf, naming the window of steps since `checked` (the last step read) in which it went bad."""
  values = {k: float(v) for k, v in step_metrics.items()}
  bad = [k for k in ('d_loss', 'g_loss') if not np.isfinite(values[k])]
  if bad:
    progress.close()
    window = f'step {step}' if checked + 1 == step else f'steps {checked + 1}..{step}'
    raise TrainingError(f'{bad[0]} became {values[bad[0]]} at step {step} (it went bad in {window}: losses are '
                        f'read at log steps only); training stopped; last good checkpoint kept: '
                        f'{ckpts.latest_good or "none (none written yet)"}')
  return values


@dataclasses.dataclass(frozen=True)
class _Outputs:
  """What saving, sampling and evaluating read, fixed once the run is restored. One record passed to the three
  helpers instead of the eight to ten arguments each would take, so the loop's lines stay as short as its steps;
  nothing in it is reassigned while the loop runs but `recalibrated`."""
  config: TrainConfig
  kind: 'data_kinds.DataKind'  # the data kind's samples writer and summary images
  chief: bool
  origin: dict  # provenance, written into the generator's metadata
  generator: keras.Model
  ema_generator: Optional[keras.Model]
  critic: keras.Model
  grid_inputs: object  # what the generator takes for the sample grid (_grid_inputs)
  ckpts: checkpoints.Checkpoints
  log: object  # the run's log function (print)
  eval_lines: console.EvalLines  # the console line of each --eval_every score
  writer: Optional[tf.summary.SummaryWriter]  # the chief's TensorBoard writer
  evaluator: Optional[Evaluator]  # the chief's, with --eval_every
  eval_log: Optional[rundir.MetricsLog]
  # {'step': s}: the BatchNorm statistics were last re-estimated for the weights of step s (_inference_generator)
  recalibrated: dict = dataclasses.field(default_factory=dict)


def _grid_inputs(config: TrainConfig, fixed_latents: tf.Variable):
  """The fixed latents (num_samples, latent_dim); for a conditional generator, one row per class instead: the
  first num_samples // K latents, each asked for every class (a column is one z), so a grid shows what the class
  changes at equal z."""
  classes = conditioning.num_classes(config)
  if not classes:
    return fixed_latents
  columns = labels.grid_columns(config.num_samples, classes)
  ids = labels.grid_labels(classes, columns)
  return [tf.tile(fixed_latents[:columns], [classes, 1]), tf.constant(labels.class_weights(ids, classes))]


def _inference_generator(out: _Outputs, step: int):
  """What grids, evaluation and saving use: the EMA generator (else the trained one), its BatchNorm moving
  statistics re-estimated on fixed latents for its current weights (training/ema.py): statistics gathered
  under other weights, or lagging a fast-moving generator, would describe other activations.

  The estimate depends on the weights alone, so the grid, checkpoint and evaluation of one step share it: it
  costs a forward pass over 1,024 latents (26 s for a depth-20, width-128 generator on 2 CPU cores)."""
  sampled = out.generator if out.ema_generator is None else out.ema_generator
  if out.recalibrated.get('step') != step:
    ema.recalibrate_batch_norm(sampled, out.config.latent_dim, num_classes=conditioning.num_classes(out.config))
    out.recalibrated['step'] = step
  return sampled


def _save(out: _Outputs, step: int) -> None:
  """A checkpoint on every worker (the chief's in the run directory, the others' in scratch) and, on the chief, the
  generator folder."""
  sampled = _inference_generator(out, step)  # before the checkpoint: it holds the re-estimated statistics too
  out.ckpts.save(step)
  if out.chief:
    generator_io.save(sampled, generator_io.generator_metadata(out.config, step, out.origin), out.config.run_dir)


def _evaluate(out: _Outputs, step: int) -> None:
  """The chief's evaluator on the inference generator, into eval.csv and TensorBoard beside real data's floor."""
  sampled = _inference_generator(out, step)
  scores = out.evaluator(sampled, step, generator_io.generator_metadata(out.config, step, out.origin))
  scores = {k: float(v) for k, v in scores.items()}
  out.eval_log.append(step, scores)
  floor = out.evaluator.floor  # what real data scores: the line to reach
  out.log(out.eval_lines.line(step, scores, floor))
  with out.writer.as_default(step=step):
    for k, v in scores.items():
      tf.summary.scalar(f'eval/{k}', v)
      if k in floor:
        tf.summary.scalar(f'eval_floor/{k}', floor[k])


def _sample(out: _Outputs, step: int) -> tuple:
  """The grid of the fixed latents: a device-to-host read, so only at sample steps; the chief writes it. Returns
  (step, time.monotonic()): when the last grid was drawn."""
  samples = _inference_generator(out, step)(out.grid_inputs, training=False).numpy()  # (N, ...) in [-1, 1], points
  if out.chief:
    out.kind.write_samples(out.config.run_dir, step, samples, out.critic, out.config)
    shown_images = out.kind.summary_images(samples)
    if shown_images is not None:
      with out.writer.as_default(step=step):
        tf.summary.image('samples', shown_images, max_outputs=16)
  return step, time.monotonic()


def _quiet(line: str) -> None:
  del line


def _restore_from_chief(checkpoint: tf.train.Checkpoint, run_dir: str):
  """A non-chief worker of a resumed multi-worker run restores what the chief restores: the newest good
  checkpoint in the run directory (the workers' own scratch checkpoints were deleted when they exited)."""
  probe = checkpoints.Checkpoints(checkpoint, os.path.join(run_dir, artifacts.CHECKPOINTS_DIR), max_to_keep=1,
                                  log=_quiet)
  return probe.restore_latest_good()
