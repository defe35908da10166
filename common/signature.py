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
"""

import dataclasses
from typing import Tuple

from common import kinds

LATENT_INPUT, LABEL_INPUT = 'z', 'labels'  # the generator's input names (Keras, ONNX, SavedModel)
UNK_TOKEN, UNK_CHAR = 'unk', '\ufffd'  # the text vocabulary's token for rare characters, and how it reads

# kind -> (output name, layout, value range, metadata fields of the shape)
_OUTPUTS = {
    kinds.IMAGE: ('images', 'NHWC', (-1.0, 1.0), ('image_height', 'image_width', 'channels')),
    kinds.POINTS: ('points', None, None, ('dims',)),
    kinds.TEXT: ('probs', 'NLV', (0.0, 1.0), ('seq_len', 'vocab')),
}


class SignatureError(ValueError):
  """Metadata that does not describe a generator this version knows; the message is one line for the user."""


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
      return cls(kind, int(metadata['latent_dim']), shape, tuple(metadata.get('vocab', ())),
                 tuple(metadata.get('data_classes', ())), tuple(metadata.get('label_classes', ())))
    except (TypeError, ValueError):
      raise SignatureError(f'its metadata has malformed shape fields for a generator of kind {kind!r}') from None


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
