"""Where a training step's time goes, for `python -m benchmarks.train_throughput --parts`: flops.step_parts'
functions (loss and gradients), training/steps.py's whole train_step on a synthetic batch, and the host-side parts
(one cached batch of the input pipeline, the first epoch's decode, DiffAugment, the EMA update), timed round-robin
in this process beside a matmul, and printed against their graph-measured FLOPs."""

import time

_DECODE = {}  # dataset -> (seconds of the first epoch, images): read, decode, resize into the cache

_CACHE = {}  # step_flops: the FLOP count of each distinct model and penalty schedule


def step_flops(config):
  """benchmarks/flops.step_flops(config), computed once per distinct model and penalty schedule."""
  from benchmarks import flops
  key = (config.arch, config.loss, config.image_size, config.channels, config.width, config.latent_dim,
         config.batch_size, config.critic_norm, config.gp_weight > 0, config.n_critic, config.gp_every,
         config.lazy_rule, config.r1_gamma > 0, config.r1_every)
  if key not in _CACHE:
    _CACHE[key] = flops.step_flops(config)
  return _CACHE[key]


def _train_step(config, generator, critic, jit: bool):
  """training/steps.py's train_step on a synthetic batch (default strategy): (step function, its iterator)."""
  import dataclasses
  import keras
  import tensorflow as tf
  from training import steps
  config = dataclasses.replace(config, jit=jit, jit_on_cpu=jit)
  optimizers = [keras.optimizers.Adam(lr, beta_1=config.beta_1, beta_2=config.beta_2)
                for lr in (config.g_learning_rate, config.d_learning_rate)]
  optimizers[0].build(generator.trainable_variables)
  optimizers[1].build(critic.trainable_variables)
  train_step, _ = steps.make_step_functions(config, tf.distribute.get_strategy(), generator, critic, *optimizers)
  b, size = config.batch_size, config.image_size
  real = tf.random.stateless_uniform([b, size, size, config.channels], [0, 1], -1.0, 1.0)
  # The trainer's own batch dict, batch 0 on every call: a lazy penalty (due when j % k == 0) is computed each time.
  batch = steps.attach_randomness(config)(tf.constant(0, tf.int64), real)
  return train_step, iter(tf.data.Dataset.from_tensors(batch).repeat())


def time_parts(config, jits: tuple, repeats: int, matmul_size: int) -> tuple:
  """({jit: {name: median seconds per call}}, matmul GFLOP/s around the timing) for flops.step_parts' functions
  (loss and gradients, no optimizer update) and the whole train_step of training/steps.py (optimizer updates
  included, input pipeline excluded), with and without XLA. Every function is called round-robin, so that load
  from other processes falls on all of them, XLA on and off, alike."""
  import tensorflow as tf
  from benchmarks import flops
  calls = {}
  for jit in jits:
    parts, specs, (generator, critic) = flops.step_parts(config)
    for name, fn in parts.items():
      fn = tf.function(fn, jit_compile=jit)
      args = [tf.random.stateless_uniform(s.shape, [i, 7]) for i, s in enumerate(specs[name])]
      calls[jit, name] = lambda fn=fn, args=args: fn(*args)
    try:
      train_step, iterator = _train_step(config, generator, critic, jit)
      calls[jit, 'train_step'] = lambda train_step=train_step, iterator=iterator: train_step(iterator)
    except (TypeError, ValueError) as e:  # training/steps.py changed its interface: time the parts only
      print(f'  (train_step of training/steps.py not timed: {e})')
  calls.update(_host_side_calls(config, jits, generator))
  samples = {key: [] for key in calls}
  peak_before = None
  for repeat in range(3 + repeats):  # the first 3: trace, compile, warm up
    if repeat == 3:
      peak_before = flops.matmul_gflops(matmul_size)
    for key, call in calls.items():
      t0 = time.perf_counter()
      tf.nest.flatten(call())[0].numpy()  # sync point
      if repeat >= 3:
        samples[key].append(time.perf_counter() - t0)
  peak = (peak_before + flops.matmul_gflops(matmul_size)) / 2
  times = {jit: {} for jit in (*jits, None)}
  for (jit, name), v in samples.items():
    times[jit][name] = sorted(v)[len(v) // 2]
  for jit in jits:  # the host-side parts are the same whatever the XLA setting
    times[jit].update(times[None])
  del times[None]
  return times, peak


def _host_side_calls(config, jits: tuple, generator) -> dict:
  """The parts of a step that are not the loss and gradient math, each its own call (jit key None): one batch of
  the input pipeline from the data's in-memory cache (a fresh data set read, shuffled, batched, with
  attach_randomness's random numbers; the first epoch also decodes, timed once in `decode_seconds`), DiffAugment
  of one batch (the policy color,translation,cutout, whether the preset uses it or not), and the generator EMA's
  update (training/ema.py)."""
  import keras
  import tensorflow as tf
  from training import augment, data_kinds, ema, steps
  from training.architectures import ARCHITECTURES
  calls = {}
  kind = data_kinds.kind_of(config.dataset)
  try:
    source, info = kind.open(config)
  except Exception as e:  # noqa: BLE001 - a benchmark part, not the run: say why and time the rest
    print(f'  (input pipeline not timed: {e})')
  else:
    pipeline = kind.pipeline(source, info, config, 0).enumerate().map(steps.attach_randomness(config))
    iterator = iter(pipeline)
    t0 = time.perf_counter()
    for _ in range(max(1, -(-info.num_examples // config.batch_size))):  # one epoch: decodes and fills the cache
      next(iterator)
    _DECODE[config.dataset] = (time.perf_counter() - t0, info.num_examples)
    calls[None, 'input_pipeline'] = lambda: next(iterator)['real']
  if config.image_size:
    policy = augment.policies('color,translation,cutout')
    shape = [config.batch_size, config.image_size, config.image_size, config.channels]
    images = tf.random.stateless_uniform(shape, [1, 2], -1.0, 1.0)

    @tf.function
    def augmented(images):
      return augment.apply(images, augment.draw(policy, shape, tf.constant([3, 4], tf.int64)))
    calls[None, 'augment'] = lambda: augmented(images)
  copy = ARCHITECTURES[config.arch].build_generator(config.latent_dim, config.image_size, config.channels,
                                                    config.width)
  step = tf.Variable(100, dtype=tf.int64)

  @tf.function
  def ema_update():
    ema.update(copy.trainable_variables, generator.trainable_variables, 0.999, step)
    return copy.trainable_variables[0]
  calls[None, 'ema_update'] = ema_update
  del keras, jits
  return calls



def print_parts(config, jit: bool, t: dict, peak: float, measured_step_s: float, repeats: int) -> None:
  f = step_flops(config)
  n, k = f.n_critic, f.penalised_updates
  split = [('G forward (in critic updates)', n * t['generator_forward'], n * f.generator_forward),
           ('critic losses fwd+bwd', n * (t['critic_losses'] - t['generator_forward']), n * f.critic_losses),
           ('gradient penalty', k * (t['critic_update'] - t['critic_losses']), k * f.gradient_penalty),
           ('generator update', t['generator_update'], f.generator_update)]
  step_s = t.get('train_step', sum(s for _, s, _ in split))
  print(f'\nWhere a generator step\'s time goes, {config.loss} --jit={jit}, default threads, in this process '
        f'(median of {repeats} round-robin calls; parts are differences of nested graphs; % of the '
        f'train_step of training/steps.py on a synthetic batch, {step_s * 1e3:.1f} ms; matmul {peak:.1f} GFLOP/s):')
  for name, seconds, part_flops in split:
    if not part_flops:  # no penalty in this loss family
      continue
    rate = (f'{part_flops / seconds / 1e9:>7.1f} GFLOP/s {part_flops / seconds / 1e9 / peak:>6.1%} of matmul'
            if seconds > 0 else '(a difference below the timing noise)')
    print(f'  {name:<32} {seconds * 1e3:>8.1f} ms {seconds / step_s:>6.1%} {rate}')
  if 'train_step' in t:
    rest = step_s - sum(s for _, s, _ in split)
    # Each part is its own call (dispatch overhead each); train_step is one call that may overlap independent ops:
    # for tiny models this rest can come out negative.
    print(f'  {"rest: optimizer updates, metrics":<32} {rest * 1e3:>8.1f} ms {rest / step_s:>6.1%}')
  whole = f.per_generator_step / step_s / 1e9
  print(f'  whole step {whole:.1f} GFLOP/s here ({whole / peak:.1%} of matmul); the training run above: '
        f'{measured_step_s * 1e3:.1f} ms per step (input pipeline, Python loop and read-back included)')
  gap = measured_step_s - step_s
  print(f'  host side of the training run: {gap * 1e3:.1f} ms per step ({gap / measured_step_s:.1%} of it) beyond '
        f'train_step: the Python loop, progress, metric read-back, summaries, and the input pipeline\'s threads '
        f'competing for the cores')
  print('  beside the step, each alone (the input pipeline runs in tf.data threads, overlapped with the step):')
  host = [('input pipeline, one batch (cached)', 'input_pipeline', n), ('generator EMA update', 'ema_update', 1),
          ('DiffAugment color,translation,cutout, one batch', 'augment', 0)]
  for name, key, per_step in host:
    if key in t:
      note = f'{per_step} per step' if per_step else f'{3} per step with --augment'
      print(f'  {name:<48} {t[key] * 1e3:>8.2f} ms ({note}: {t[key] * (per_step or 3) / step_s:.1%} of train_step)')
  if config.dataset in _DECODE:
    seconds, images = _DECODE[config.dataset]
    print(f'  first epoch, read + decode + resize into the cache: {seconds:.1f} s for {images} images '
          f'({images / seconds:.0f} images/s; once per run)')
