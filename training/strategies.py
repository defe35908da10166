"""tf.distribute strategies, registered by `--strategy` name.

All of them are used the same way by the trainer: the global batch is split over replicas, per-example losses
are averaged over the *global* batch, gradients are summed across replicas by the optimizer, and BatchNorm
layers are built with `synchronized=True` so every replica normalises with global-batch statistics.
"""

import json
import os

import tensorflow as tf


class StrategyError(ValueError):
  """A strategy that cannot be created here; one line for the user."""


def split_cpu(num_devices: int) -> None:
  """Splits the physical CPU into `num_devices` logical devices, so MirroredStrategy can be tested and
  benchmarked without GPUs. Must run before TensorFlow executes any op."""
  cpus = tf.config.list_physical_devices('CPU')
  try:
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_devices)
  except RuntimeError as e:  # raised once the runtime is initialised
    raise StrategyError(f'cannot split the CPU into {num_devices} devices after TensorFlow started: {e}') from None


def _one_device():
  device = '/gpu:0' if tf.config.list_physical_devices('GPU') else '/cpu:0'
  return tf.distribute.OneDeviceStrategy(device)


def _mirrored():
  if tf.config.list_physical_devices('GPU'):
    return tf.distribute.MirroredStrategy()
  # No GPU: mirror over the logical CPU devices (see split_cpu), or the one CPU.
  cpus = [d.name for d in tf.config.list_logical_devices('CPU')]
  return tf.distribute.MirroredStrategy(devices=cpus)


def _multi_worker():
  try:
    tf_config = json.loads(os.environ.get('TF_CONFIG', ''))
    tf_config['cluster'], tf_config['task']
  except (ValueError, KeyError, TypeError):
    raise StrategyError('--strategy=multi_worker needs TF_CONFIG with "cluster" and "task" set for each worker '
                        '(see BUILD.md)') from None
  return tf.distribute.MultiWorkerMirroredStrategy()


def _auto():
  return _mirrored() if tf.config.list_physical_devices('GPU') else _one_device()


STRATEGIES = {
    'auto': _auto,  # MirroredStrategy over the visible GPUs, else one CPU device
    'mirrored': _mirrored,
    'multi_worker': _multi_worker,
    'one_device': _one_device,
}


def make(name: str) -> tf.distribute.Strategy:
  if name not in STRATEGIES:
    raise StrategyError(f'unknown --strategy {name!r}; choose one of {", ".join(STRATEGIES)}')
  return STRATEGIES[name]()


def display_name(strategy: tf.distribute.Strategy) -> str:
  """The public class name: MultiWorkerMirroredStrategy is CollectiveAllReduceStrategy inside TensorFlow."""
  if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    return 'MultiWorkerMirroredStrategy'
  return type(strategy).__name__


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Only the chief writes the run directory; other workers write checkpoints to a scratch path."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not getattr(resolver, 'task_type', None):
    return True
  return resolver.task_type == 'chief' or (resolver.task_type == 'worker' and resolver.task_id == 0 and
                                           'chief' not in resolver.cluster_spec().as_dict())


def worker_id(strategy: tf.distribute.Strategy) -> str:
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not getattr(resolver, 'task_type', None):
    return 'local'
  return f'{resolver.task_type}{resolver.task_id}'


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
  """Whether the strategy spans more than one process (workers must then agree on when to stop)."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not getattr(resolver, 'task_type', None):
    return False
  return sum(len(tasks) for tasks in resolver.cluster_spec().as_dict().values()) > 1


def xla_applies(jit: bool, jit_on_cpu: bool, strategy: tf.distribute.Strategy) -> tuple:
  """(whether the step is XLA-compiled, a line saying why not when --jit asked for it and it is not).

  XLA was slower on the CPU than TensorFlow's own (oneDNN) kernels for every architecture measured with TF 2.21 on a
  2-core host (benchmarks/train_throughput.py, docs/benchmarks.md): 0.40x for the emoji preset's 64x64 DCGAN, 0.61x
  Fashion-MNIST's 28x28, 0.45x the digits', 0.22x dcgan5, 0.64x the 32x32 ResNet, 0.78x the toy MLP, 0.6x the text
  ResNet. Its convolutions and their gradients run on XLA's own CPU kernels, not oneDNN's. So --jit compiles on GPUs
  only, unless --jit_on_cpu says otherwise (to measure it again)."""
  if not jit:
    return False, ''
  replicas = strategy.num_replicas_in_sync
  if replicas > 1:
    # With more than one replica the synchronized BatchNorm all-reduces inside the loss computation (a merge_call),
    # which TensorFlow cannot run inside a nested jit-compiled tf.function.
    return False, f'--jit: XLA is used on one replica only; training on {replicas} replicas without it'
  if not tf.config.list_physical_devices('GPU') and not jit_on_cpu:
    return False, ('--jit: not applied on a CPU host, where XLA measured slower than without it for every '
                   'architecture (0.2-0.8x, docs/benchmarks.md); --jit_on_cpu forces it')
  return True, ''


# CPU features that execute bfloat16 arithmetic natively: x86's AVX512-BF16 and AMX-BF16 (/proc/cpuinfo "flags"),
# Arm's BF16 extension ("Features": bf16). Without one, oneDNN emulates bfloat16 in float32 and the conversions
# only cost time.
_NATIVE_BF16 = ('amx_bf16', 'avx512_bf16', 'bf16')


def native_bfloat16(cpuinfo: str = '/proc/cpuinfo') -> str:
  """The first CPU feature of `_NATIVE_BF16` this host reports, or '' (none, or no /proc/cpuinfo to read)."""
  try:
    with open(cpuinfo) as f:
      words = {w for line in f if line.split(':')[0].strip() in ('flags', 'Features') for w in line.split()}
  except OSError:
    return ''
  return next((feature for feature in _NATIVE_BF16 if feature in words), '')


def mixed_precision_line(policy: str) -> str:
  """What the start-up says of --mixed_precision: the policy, and on a CPU whether bfloat16 is native here."""
  if policy != 'mixed_bfloat16':
    return f'mixed precision: {policy}' if policy != 'float32' else ''
  feature = native_bfloat16()
  if feature:
    return f'mixed precision: bfloat16 on the CPU, native here ({feature})'
  return ('mixed precision: bfloat16 on the CPU, which has no native bfloat16 instructions (no amx_bf16, avx512_bf16 '
          'or bf16 in /proc/cpuinfo): emulated, expect it slower than float32; drop --mixed_precision')

