"""Keras generator → TF Serving SavedModel (`saved_model/<version>/`), verified by loading it back.

Signatures (the output key is the data kind's output name, export/kinds.py: `images`, or `points` (batch, dims)):
  serving_default  z float32 (batch, latent_dim)      -> {'images': float32 (batch, H, W, C) in [-1, 1]}
  sample           seed int64 (), num int32 ()        -> {'images': float32 (num, H, W, C) in [-1, 1]}
  sample_truncated seed int64 (), num int32 (), threshold float32 () -> the same, z truncated at ±threshold
`sample` draws z with `common.latents.tf_latents`, the TF-ops twin of the NumPy `common.latents.latents` that
the app and export's sample.png use: image i of seed s is the same here, in the app (at scale 1) and from the
ONNX model fed `latents(s, num, latent_dim)`, on every call and host. A seed outside [0, 2**32 - 1] or a
negative num fails the call with InvalidArgumentError (the app refuses the same seeds) instead of wrapping
modulo 2**32 onto another seed's images. `sample_truncated` draws `common.latents.tf_truncated_latents` (the
truncation trick: components beyond ±threshold resampled; 0: off, else at least MIN_TRUNCATION), the twin of what
the app's /sample_truncated and export's sample.png with --sample_truncation use.

A conditional generator (K classes, common/signature.py) takes class weights beside z, and gains a signature:
  serving_default  z float32 (batch, latent_dim), labels float32 (batch, K) -> {'images': ...}
  sample, sample_truncated                           image i of class i mod K (GeneratorSignature.row_classes)
  sample_class     seed int64 (), num int32 (), label int64 () -> num images of class `label`
A label outside 0..K-1 fails the call with InvalidArgumentError (tf.one_hot would give a zero row: no class).
"""

import numpy as np

from common import labels as common_labels, latents as common_latents
from common.cli import first_line
from common.signature import GeneratorSignature, GraphTensor, SignatureError
from export.loader import ExportError

SIGNATURES = ('serving_default', 'sample', 'sample_truncated')
CONDITIONAL_SIGNATURES = SIGNATURES + ('sample_class',)


def signatures(num_classes: int = 0) -> tuple:
  """The signatures of a generator with K = num_classes classes (0: unconditional)."""
  return CONDITIONAL_SIGNATURES if num_classes else SIGNATURES
SERVING_VERSION = '1'  # TF Serving loads the highest numbered subfolder; one export is one version
TOLERANCE = 1e-5  # the same TF kernels run on both sides; anything above means the wrong weights or mode


def _module(generator, signature: GeneratorSignature, derived: tuple = ()):
  """The tf.Module to save (built in a function so that importing this file does not import TensorFlow).
  derived ('ids',): the signatures also return the argmax of the output over its last axis (text)."""
  import tensorflow as tf
  latent_dim, output_name, num_classes = signature.latent_dim, signature.output_name, signature.num_classes

  def outputs(z, labels=None):
    out = generator(z if labels is None else [z, labels], training=False)  # (B, H, W, C), (B, dims), (B, L, V)
    return {output_name: out, **({'ids': tf.argmax(out, axis=-1)} if 'ids' in derived else {})}

  def cycled(num):  # (num, K): the signature's class of each row, in-graph (num is the dynamic batch)
    return tf.one_hot(signature.row_classes(num, tf.range), num_classes, dtype=tf.float32)

  module = tf.Module()
  module.generator = generator  # tracked: its variables are saved with the module
  seed_spec, num_spec = tf.TensorSpec([], tf.int64, name='seed'), tf.TensorSpec([], tf.int32, name='num')
  threshold_spec = tf.TensorSpec([], tf.float32, name='threshold')

  if not num_classes:
    @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name='z')])
    def serving_default(z):
      return outputs(z)

    @tf.function(input_signature=[seed_spec, num_spec])
    def sample(seed, num):
      return outputs(sample_latents(seed, num, latent_dim))

    @tf.function(input_signature=[seed_spec, num_spec, threshold_spec])
    def sample_truncated(seed, num, threshold):
      return outputs(sample_latents(seed, num, latent_dim, threshold))
  else:
    @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name='z'),
                                  tf.TensorSpec([None, num_classes], tf.float32, name='labels')])
    def serving_default(z, labels):
      return outputs(z, labels)

    @tf.function(input_signature=[seed_spec, num_spec])
    def sample(seed, num):
      return outputs(sample_latents(seed, num, latent_dim), cycled(num))

    @tf.function(input_signature=[seed_spec, num_spec, threshold_spec])
    def sample_truncated(seed, num, threshold):
      return outputs(sample_latents(seed, num, latent_dim, threshold), cycled(num))

    @tf.function(input_signature=[seed_spec, num_spec, tf.TensorSpec([], tf.int64, name='label')])
    def sample_class(seed, num, label):
      valid = tf.logical_and(label >= 0, label < num_classes)
      check = tf.debugging.Assert(valid, [f'label must be a class id in 0..{num_classes - 1}, got', label])
      with tf.control_dependencies([check]):
        labels = tf.one_hot(tf.fill([num], tf.identity(label)), num_classes, dtype=tf.float32)
      return outputs(sample_latents(seed, num, latent_dim), labels)

    module.sample_class = sample_class
  module.serving_default, module.sample, module.sample_truncated = serving_default, sample, sample_truncated
  return module


def sample_latents(seed, num, latent_dim: int, threshold=None):
  """z of the `sample` signature: (num, latent_dim) float32 = `common.latents.latents(seed, num, latent_dim)`;
  with `threshold` (a float32 scalar tensor), `sample_truncated`'s: `common.latents.truncated_latents`.

  The range checks are graph ops (tf.debugging asserts run inside the saved tf.function), so TF Serving
  answers a bad request with an error rather than images of seed mod 2**32.
  """
  import tensorflow as tf
  seed = tf.cast(seed, tf.int64)
  num = tf.cast(num, tf.int32)
  checks = [
      tf.debugging.assert_greater_equal(seed, tf.constant(0, tf.int64), message='seed must be >= 0'),
      tf.debugging.assert_less_equal(seed, tf.constant(common_latents.MAX_SEED, tf.int64),
                                     message=f'seed must be <= {common_latents.MAX_SEED}'),
      tf.debugging.assert_non_negative(num, message='num must be >= 0'),
  ]
  if threshold is not None:
    t = tf.cast(threshold, tf.float32)
    valid = tf.logical_or(tf.equal(t, 0.0), tf.logical_and(t >= common_latents.MIN_TRUNCATION, t < float('inf')))
    checks.append(tf.debugging.Assert(valid, [f'threshold must be 0 (off) or at least '
                                              f'{common_latents.MIN_TRUNCATION}, got', t]))
  with tf.control_dependencies(checks):  # eager calls run them at once; in a graph they gate z
    if threshold is None:
      return common_latents.tf_latents(tf.identity(seed), num, latent_dim)  # (num, latent_dim)
    return common_latents.tf_truncated_latents(tf.identity(seed), num, latent_dim, tf.identity(t))


def write(generator, signature: GeneratorSignature, path: str, derived: tuple = ()) -> None:
  """Saves the signatures of a generator of `signature` to `path` (the version folder, e.g. .../saved_model/1)."""
  import tensorflow as tf
  module = _module(generator, signature, derived)
  try:
    tf.saved_model.save(module, path, signatures={name: getattr(module, name)
                                                  for name in signatures(signature.num_classes)})
  except (OSError, ValueError, tf.errors.OpError) as e:
    raise ExportError(f'cannot write the SavedModel to {path}: {first_line(e)}') from None


def verify(path: str, generator, signature: GeneratorSignature) -> float:
  """Loads `path` back, checks serving_default's inputs against `signature` (GeneratorSignature.check_inputs) and
  compares every signature with the live generator; returns the max abs diff."""
  import tensorflow as tf
  latent_dim, output_name, num_classes = signature.latent_dim, signature.output_name, signature.num_classes
  loaded = tf.saved_model.load(path)
  missing = set(signatures(num_classes)) - set(loaded.signatures)
  if missing:
    raise ExportError(f'the written SavedModel lacks signature(s) {sorted(missing)}')
  inputs = loaded.signatures['serving_default'].structured_input_signature[1]  # {name: TensorSpec}
  try:
    signature.check_inputs([GraphTensor.of_tf(name, spec) for name, spec in inputs.items()])
  except SignatureError as e:
    raise ExportError(f'the written SavedModel: {e}') from None

  def live(z, ids=None):  # the live generator on z (and, conditional, classes `ids`, default the rows' classes)
    if not num_classes:
      return generator(z, training=False).numpy()
    ids = signature.row_classes(len(z)) if ids is None else ids
    return generator([z, common_labels.class_weights(ids, num_classes)], training=False).numpy()

  worst = 0.0
  for batch in (1, 7) + ((num_classes,) if num_classes > 7 else ()):  # a batch of K covers every class
    z = common_latents.latents(batch, batch, latent_dim)  # (batch, latent_dim) test input
    feed = {'z': tf.constant(z)}
    if num_classes:
      feed['labels'] = tf.constant(signature.row_weights(batch))
    served = loaded.signatures['serving_default'](**feed)[output_name].numpy()
    worst = max(worst, float(np.max(np.abs(served - live(z)))))
  sample = loaded.signatures['sample']
  first = sample(seed=tf.constant(7, tf.int64), num=tf.constant(3, tf.int32))[output_name].numpy()
  again = sample(seed=tf.constant(7, tf.int64), num=tf.constant(3, tf.int32))[output_name].numpy()
  if not np.array_equal(first, again):
    raise ExportError(f'the SavedModel `sample` signature gives different {output_name} for the same seed')
  worst = max(worst, float(np.max(np.abs(first - live(common_latents.latents(7, 3, latent_dim))))))  # its NumPy twin
  truncated = loaded.signatures['sample_truncated'](seed=tf.constant(7, tf.int64), num=tf.constant(3, tf.int32),
                                                    threshold=tf.constant(0.5))[output_name].numpy()
  worst = max(worst, float(np.max(np.abs(truncated - live(common_latents.truncated_latents(7, 3, latent_dim, 0.5))))))
  if num_classes:
    last = num_classes - 1
    picked = loaded.signatures['sample_class'](seed=tf.constant(7, tf.int64), num=tf.constant(3, tf.int32),
                                               label=tf.constant(last, tf.int64))[output_name].numpy()
    worst = max(worst, float(np.max(np.abs(picked - live(common_latents.latents(7, 3, latent_dim), [last] * 3)))))
  if not worst <= TOLERANCE:
    raise ExportError(f'the SavedModel differs from the live generator: max abs diff {worst:.3g} > {TOLERANCE:g}')
  return worst
