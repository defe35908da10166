"""The generator signature: what a generator takes and what it gives, whichever stage holds it (a Keras model in a
run directory, model.onnx, a SavedModel). generator.json and metadata.json store it as flat fields; this module is
the one writer (`to_metadata`) and reader (`from_metadata`) of those fields.

Takes:  z float32 (B, latent_dim), rows of common.latents for a seed.
        labels float32 (B, K), class weights, only when `label_classes` names K classes (a conditional run,
        --conditioning): row i one-hot for class k asks for class k; a convex mixture morphs between classes.
        Weights, not int ids: nothing in the graph indexes by a label, so no value can read out of bounds, and the
        mixtures come for free. Empty `label_classes`: no label input. Kept apart from `data_classes`, the class
        names the training data merely has, which describe the data and are never fed to an unconditional
        generator.
Gives, per kind (common/kinds.py):
  image   'images' float32 (B, H, W, C), NHWC, in [-1, 1] (tanh)
  points  'points' float32 (B, dims), the data's coordinates
  text    'probs'  float32 (B, seq_len, vocab), per-position probabilities over `vocab` (and, exported, 'ids' int64
          (B, seq_len), their argmax); vocab[i] is the token of index i, 'unk' (UNK_TOKEN) for rare characters

What every stage derives from it is derived here, once, and asked of the object:
  num_classes              K, the label input's width (0: no label input)
  row_classes(7)           [0 1 2 0 1 2 0] for K = 3: row i of a sample asks for class i mod K when no class is
                           chosen (every class in turn); the one statement of that rule, which the app's /sample,
                           evaluation, export's parity feeds, the SavedModel's `sample` (in-graph, `arange=tf.range`)
                           and the EMA BatchNorm re-estimation all follow. row_weights(7): its one-hot rows (B, K).
  check_inputs(inputs)     a graph's inputs (GraphTensor: ONNX Runtime's, a SavedModel signature's) against the
                           signature, one strictness for every stage: exactly `z` and, with K classes, `labels`;
                           float32; (batch, latent_dim) and (batch, K), the batch and any axis the graph leaves
                           open accepted. SignatureError, one line, names the first mismatch.
"""

import dataclasses
from typing import Optional, Sequence, Tuple

import numpy as np

from common import kinds
from common import labels as common_labels

LATENT_INPUT, LABEL_INPUT = 'z', 'labels'  # the generator's input names (Keras, ONNX, SavedModel)
UNK_TOKEN, UNK_CHAR = 'unk', '\ufffd'  # the text vocabulary's token for rare characters, and how it reads

# kind -> (output name, layout, value range, metadata fields of the shape)
_OUTPUTS = {
    kinds.IMAGE: ('images', 'NHWC', (-1.0, 1.0), ('image_height', 'image_width', 'channels')),
    kinds.POINTS: ('points', None, None, ('dims',)),
    kinds.TEXT: ('probs', 'NLV', (0.0, 1.0), ('seq_len', 'vocab')),
}


class SignatureError(ValueError):
  """Metadata that does not describe a generator this version knows, or a graph that does not take what its
  metadata says; the message is one line for the user."""


# ONNX Runtime's type names -> NumPy's, which GraphTensor holds
_ONNX_DTYPES = {'tensor(float)': 'float32', 'tensor(float16)': 'float16', 'tensor(double)': 'float64',
                'tensor(int64)': 'int64', 'tensor(int32)': 'int32', 'tensor(bool)': 'bool'}


@dataclasses.dataclass(frozen=True)
class GraphTensor:
  """One input or output of a graph, as `check_inputs` reads it whatever runtime holds the graph."""
  name: str
  dtype: str  # NumPy's name: 'float32', 'int64', ...
  shape: Optional[tuple]  # per axis an int, or a str / None where the graph leaves it open; None: rank unknown

  @classmethod
  def of_onnx(cls, arg) -> 'GraphTensor':
    """An onnxruntime NodeArg (`session.get_inputs()[i]`): type 'tensor(float)', shape ['batch', 8]."""
    dtype = _ONNX_DTYPES.get(arg.type, arg.type.removeprefix('tensor(').removesuffix(')'))
    return cls(arg.name, dtype, None if arg.shape is None else tuple(arg.shape))

  @classmethod
  def of_tf(cls, name: str, spec) -> 'GraphTensor':
    """A tf.TensorSpec of a SavedModel signature (`structured_input_signature[1][name]`): shape [None, 8]."""
    rank = spec.shape.rank
    return cls(name, spec.dtype.name, None if rank is None else tuple(spec.shape.as_list()))


def _check_tensor(role: str, tensor: GraphTensor, dims, why: str = '') -> None:
  """`tensor` is float32 (batch, *dims): the batch axis anything, an axis the graph leaves open accepted."""
  if tensor.dtype != 'float32':
    raise SignatureError(f'graph {role} {tensor.name!r} is {tensor.dtype}, expected float32')
  shape = tensor.shape
  if shape is None or len(shape) != len(dims) + 1 or any(
      isinstance(s, int) and s != d for s, d in zip(shape[1:], dims)):
    shown = 'of unknown rank' if shape is None else list(shape)
    raise SignatureError(f'graph {role} {tensor.name!r} has shape {shown}, metadata says (batch, '
                         f'{", ".join(map(str, dims))}){why}')


def _int_range(count):
  return np.arange(count, dtype=np.int64)


def row_classes(count, num_classes: int, arange=_int_range):
  """The class ids (count,) of rows 0..count-1 of a sample in which no class is chosen: row i asks for class
  i mod K, so every class comes in turn and a batch of K or more rows holds them all. The one place this rule is
  written. arange: the range function of the array module the rows are in: NumPy's (int64 ids) by default, tf.range
  inside a tf.function, where `count` is a scalar tensor (the batch is dynamic) and the ids are tensors of its type.
  """
  if num_classes < 1:
    raise ValueError('a generator without a label input asks for no class')
  return arange(count) % num_classes


def row_weights(count: int, num_classes: int) -> np.ndarray:
  """(count, K) float32: the one-hot class weights of row_classes (common.labels.class_weights)."""
  return common_labels.class_weights(row_classes(count, num_classes), num_classes)


def label_classes_of(metadata: dict) -> Tuple[str, ...]:
  """The label input's class names that generator.json or metadata.json names, () for none: the one reader of
  `label_classes`. SignatureError unless they are distinct non-empty strings (for callers holding less metadata
  than a whole signature; the others ask `GeneratorSignature.from_metadata(...).label_classes`)."""
  names = metadata.get('label_classes', [])
  if (not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n for n in names) or
      len(set(names)) != len(names)):
    raise SignatureError(f'label_classes must be a list of distinct class names, got {str(names)[:80]}')
  return tuple(names)


@dataclasses.dataclass(frozen=True)
class GeneratorSignature:
  kind: str
  latent_dim: int
  output_shape: Tuple[int, ...]  # one example's: (H, W, C), (dims,) or (seq_len, vocab)
  vocab: Tuple[str, ...] = ()  # text only
  data_classes: Tuple[str, ...] = ()  # what the data set's labels are called; not an input
  label_classes: Tuple[str, ...] = ()  # the label input's classes; () = no label input

  @property
  def output_name(self) -> str:
    return _OUTPUTS[self.kind][0]

  @staticmethod
  def output_name_of(kind: str) -> str:
    """The output name of a kind's generators ('images', 'points', 'probs')."""
    return _OUTPUTS[kind][0]

  @property
  def has_label_input(self) -> bool:
    return bool(self.label_classes)

  @property
  def num_classes(self) -> int:
    """K, the width of the label input; 0: none."""
    return len(self.label_classes)

  def row_classes(self, count, arange=_int_range):
    """(count,) class ids of a sample's rows when no class is chosen: i mod K (module function row_classes)."""
    return row_classes(count, self.num_classes, arange)

  def row_weights(self, count: int) -> np.ndarray:
    """(count, K) float32 one-hot rows of row_classes, the label input of such a sample."""
    return row_weights(count, self.num_classes)

  def check_inputs(self, inputs: Sequence[GraphTensor]) -> None:
    """SignatureError, one line, unless a graph's inputs are what this signature takes: exactly `z` float32
    (batch, latent_dim) and, for K label classes, `labels` float32 (batch, K); the batch axis may be anything, an
    axis the graph leaves open is accepted. Serve, evaluation and export ask this of every graph they load."""
    names = [tensor.name for tensor in inputs]
    classes = self.num_classes
    if classes and LABEL_INPUT not in names:
      raise SignatureError(f'its metadata names {classes} classes, but the graph has no {LABEL_INPUT!r} input')
    expected = [LATENT_INPUT, LABEL_INPUT] if classes else [LATENT_INPUT]
    if sorted(names) != sorted(expected):
      if not classes:
        raise SignatureError(f'the graph has {len(names)} input{"s" * (len(names) != 1)} ({", ".join(names)}), '
                             f'expected one latent input {LATENT_INPUT!r} (its metadata names no label_classes)')
      raise SignatureError(f'the graph has inputs ({", ".join(names)}), expected {LATENT_INPUT!r} and '
                           f'{LABEL_INPUT!r} (its metadata names {classes} label_classes)')
    by_name = {tensor.name: tensor for tensor in inputs}
    _check_tensor('input', by_name[LATENT_INPUT], [self.latent_dim])
    if classes:
      _check_tensor('label input', by_name[LABEL_INPUT], [classes], f': its {classes} label_classes')

  def check_output(self, output: GraphTensor) -> None:
    """SignatureError, one line, unless a graph's output is float32 (batch, *output_shape), with check_inputs's
    leniency for the batch and open axes."""
    _check_tensor('output', output, list(self.output_shape))

  def describe(self) -> str:
    """'16×16×1 images', '2-D points', '32 characters, vocabulary 65'."""
    if self.kind == kinds.IMAGE:
      return '×'.join(str(v) for v in self.output_shape) + ' images'
    if self.kind == kinds.POINTS:
      return f'{self.output_shape[0]}-D points'
    return f'{self.output_shape[0]} characters, vocabulary {len(self.vocab)}'

  def to_metadata(self) -> dict:
    """The flat fields generator.json and metadata.json hold for this signature (their names are a file format:
    never rename one)."""
    name, layout, value_range, _ = _OUTPUTS[self.kind]
    if self.kind == kinds.IMAGE:
      height, width, channels = self.output_shape
      shape = {'image_height': height, 'image_width': width, 'channels': channels}
    elif self.kind == kinds.POINTS:
      shape = {'dims': self.output_shape[0]}
    else:
      shape = {'seq_len': self.output_shape[0], 'vocab': list(self.vocab)}
    fields = {'kind': self.kind, 'latent_dim': self.latent_dim, **shape}
    if layout:
      fields.update(layout=layout, value_range=list(value_range))
    if self.data_classes:
      fields['data_classes'] = list(self.data_classes)
    if self.label_classes:
      fields['label_classes'] = list(self.label_classes)
    return fields

  @classmethod
  def from_metadata(cls, metadata: dict) -> 'GeneratorSignature':
    """The signature generator.json or metadata.json describes; SignatureError naming what is missing."""
    kind = kinds.of_metadata(metadata)
    if kind not in _OUTPUTS:
      raise SignatureError(f'unknown data kind {kind!r} (this version knows {", ".join(_OUTPUTS)})')
    missing = [key for key in ('latent_dim',) + _OUTPUTS[kind][3] if key not in metadata]
    if missing:
      raise SignatureError(f'its metadata has no {", ".join(missing)} (a generator of kind {kind!r} needs them)')
    try:
      if kind == kinds.IMAGE:
        shape = (int(metadata['image_height']), int(metadata['image_width']), int(metadata['channels']))
      elif kind == kinds.POINTS:
        shape = (int(metadata['dims']),)
      else:
        shape = (int(metadata['seq_len']), len(metadata['vocab']))
      signature = cls(kind, int(metadata['latent_dim']), shape, tuple(metadata.get('vocab', ())),
                      tuple(metadata.get('data_classes', ())))
    except (TypeError, ValueError):
      raise SignatureError(f'its metadata has malformed shape fields for a generator of kind {kind!r}') from None
    return dataclasses.replace(signature, label_classes=label_classes_of(metadata))


def image(latent_dim: int, size: int, channels: int, data_classes=(), label_classes=()) -> GeneratorSignature:
  return GeneratorSignature(kinds.IMAGE, int(latent_dim), (int(size), int(size), int(channels)),
                            data_classes=tuple(data_classes), label_classes=tuple(label_classes))


def points(latent_dim: int, dims: int) -> GeneratorSignature:
  return GeneratorSignature(kinds.POINTS, int(latent_dim), (int(dims),))


def text(latent_dim: int, seq_len: int, vocab) -> GeneratorSignature:
  return GeneratorSignature(kinds.TEXT, int(latent_dim), (int(seq_len), len(vocab)), tuple(vocab))


def readable_vocab(vocab) -> list:
  """The vocabulary as characters to print: UNK_TOKEN reads as UNK_CHAR."""
  return [UNK_CHAR if token == UNK_TOKEN else token for token in vocab]


def decode_ids(ids, vocab) -> list:
  """(N, L) token ids -> N strings over `vocab` (UNK_TOKEN as UNK_CHAR)."""
  chars = readable_vocab(vocab)
  return [''.join(chars[int(i)] for i in row) for row in ids]
