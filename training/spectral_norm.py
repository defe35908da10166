"""Spectral normalisation of the critic, --critic_norm=spectral (Miyato et al. 2018, "Spectral Normalization for
Generative Adversarial Networks", Sec. 2 and Algorithm 1).

Every Conv2D and Dense layer of the critic computes with W_SN = W / σ(W), σ(W) the largest singular value of its
kernel viewed as a matrix (k·k·C_in, C_out) (a Dense kernel is that matrix already). σ is estimated by one power
iteration per training-mode call, from a vector u (C_out,) carried from call to call:

  v = W u / ‖W u‖,   u' = Wᵀ v / ‖Wᵀ v‖,   σ = vᵀ W u'

u, v and u' are constants for the gradient; σ is not, so the gradient of W / σ(W) with respect to W has the term
that Miyato et al. Eq. 12 analyse (it removes the component of the update along the first singular direction).
W stays the trained variable; W_SN is a value of the forward pass only.

Why not keras.layers.SpectralNormalization: Keras 3's wrapper assigns W / σ back into the kernel variable on each
training call and then runs the layer on that variable, so what is trained is the normalised kernel itself and
no gradient flows through σ: another algorithm than the paper's.

u is a non-trainable weight of its layer: it lives in the checkpoint with the critic (a resumed run continues the
same iteration, bit-identically). It advances on every training-mode call, the fused [real; fake] call, the
penalty's second critic call and the generator update's call alike: each call only makes σ more accurate, and each
is deterministic. Under MirroredStrategy every replica holds the same W and u and so computes the same u'; each
writes its own copy (aggregation 'none', synchronisation on write, as Keras' own random-seed state does), which
needs no cross-replica call and so is legal inside a tf.cond branch (the lazy penalty's) and an XLA cluster.
With training=False u is read, never written, as in Miyato's reference code (the chainer `sn_convolution_2d`):
the same one iteration, whose result is dropped.

σ is computed in float32 even under mixed precision: the kernel is created without autocasting, so it is read as
stored (float32), normalised, and only then cast to the compute dtype.
"""

import keras
import tensorflow as tf
from keras import layers

SPECTRAL = 'spectral'  # the --critic_norm value
_EPSILON = 1e-12  # keeps the normalisation of u and v finite for a vector of zeros (Miyato et al.'s code: 1e-12)


def normalised_kernel(kernel, u):
  """(W / σ(W), u') for a kernel (..., C_out) and its carried vector u (C_out,), both float32; one power iteration
  (module docstring). Gradients flow through σ to W, never through u, v or u'."""
  matrix = tf.reshape(kernel, [-1, kernel.shape[-1]])  # (k·k·C_in, C_out)
  constant = tf.stop_gradient(matrix)
  v = tf.math.l2_normalize(tf.linalg.matvec(constant, tf.stop_gradient(u)), epsilon=_EPSILON)  # (k·k·C_in,)
  u_next = tf.math.l2_normalize(tf.linalg.matvec(constant, v, transpose_a=True), epsilon=_EPSILON)  # (C_out,)
  sigma = tf.tensordot(v, tf.linalg.matvec(matrix, u_next), 1)  # vᵀ W u', differentiable in W
  return kernel / sigma, u_next


class _SpectralNorm:
  """What both layers share: the kernel kept float32 when read, the carried u, the normalised kernel of a call."""

  def add_weight(self, *args, **kwargs):
    if kwargs.get('name') == 'kernel':  # read as stored (float32) for σ, cast to the compute dtype after
      kwargs['autocast'] = False
    return super().add_weight(*args, **kwargs)

  def _build_u(self, units: int):
    # aggregation 'none': each replica writes its own copy (module docstring)
    self.sn_u = self.add_weight(name='sn_u', shape=(units,), initializer=keras.initializers.RandomNormal(stddev=1.0),
                                trainable=False, autocast=False, dtype='float32', aggregation='none')

  def _kernel_for_call(self, training):
    kernel, u_next = normalised_kernel(tf.cast(self.kernel, tf.float32), self.sn_u)
    if training:
      self.sn_u.assign(u_next)
    return tf.cast(kernel, self.compute_dtype)


@keras.saving.register_keras_serializable(package='gan_pipeline')
class SpectralConv2D(_SpectralNorm, layers.Conv2D):
  """Conv2D computing with W / σ(W) (module docstring)."""

  def build(self, input_shape):
    super().build(input_shape)
    self._build_u(self.filters)

  def call(self, inputs, training=None):
    outputs = self.convolution_op(inputs, self._kernel_for_call(training))
    if self.use_bias:
      outputs = outputs + self.bias  # channels_last: broadcasts over (B, H, W)
    return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package='gan_pipeline')
class SpectralDense(_SpectralNorm, layers.Dense):
  """Dense computing with W / σ(W) (module docstring)."""

  def build(self, input_shape):
    super().build(input_shape)
    self._build_u(self.units)

  def call(self, inputs, training=None):
    outputs = keras.ops.matmul(inputs, self._kernel_for_call(training))  # any rank, as Dense
    if self.use_bias:
      outputs = outputs + self.bias
    return self.activation(outputs) if self.activation is not None else outputs


_TWINS = {layers.Conv2D: SpectralConv2D, layers.Dense: SpectralDense}


def spectrally_normalised(critic: keras.Model) -> keras.Model:
  """A copy of the functional `critic` whose Conv2D and Dense layers are their spectrally normalised twins (same
  configuration, fresh weights); every other layer is shared. Raises ValueError for a layer with trainable weights
  that has no twin, rather than leave part of the critic unconstrained."""
  def clone(layer):
    twin = _TWINS.get(type(layer))
    if twin is not None:
      return twin.from_config(layer.get_config())
    if layer.trainable_weights:
      raise ValueError(f'spectral normalisation does not know layer {layer.name!r} ({type(layer).__name__}); build '
                       'the critic without normalisation layers')
    return layer
  return keras.models.clone_model(critic, clone_function=clone)


def builder_norm(critic_norm: str) -> str:
  """The normalisation an architecture's critic builder is asked for: none under spectral normalisation, which
  `apply` adds to the built critic; any other --critic_norm is the builder's own."""
  return 'none' if critic_norm == SPECTRAL else critic_norm


def apply(critic: keras.Model, critic_norm: str) -> keras.Model:
  """`critic`, spectrally normalised when --critic_norm is spectral."""
  return spectrally_normalised(critic) if critic_norm == SPECTRAL else critic
