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
