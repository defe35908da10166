"""What an export does differently per data kind (generator.json's `kind`, common/kinds.py): one record each.

Every exported generator honours one contract: input `z` float32 (batch, latent_dim) -> one float32 output named
after what it produces. The conversion, CUDA-clean check, parity check, SavedModel and model-folder code are the
same for every kind; only these differ:

  output_name    the ONNX output and SavedModel signature key (the Keras output layer's name; common/signature.py)
  output_doc     the ONNX graph's doc_string: what the output is
  sample_count   how many outputs of seed SAMPLE_SEED sample.png shows
  write_sample   (path, outputs, metadata) -> the sample file: an image grid, a scatter of points beside real ones,
                 or generated lines of text
  sample_file    its name in the model folder
  derived        outputs computed from the main one inside the exported graph: {name: (onnx op, tf function)}
                 (text: `ids`, the argmax of `probs`, as an ArgMax node and as tf.argmax in the SavedModel)

Runs written before data kinds have no `kind`: they are images.
"""

import dataclasses
from typing import Callable

import numpy as np

from common import images as common_images
from common import kinds as common_kinds
from common import signature
from export.loader import ExportError

SAMPLE_GRID = 8  # image sample.png: an 8 x 8 grid
SAMPLE_POINTS = 1000  # points sample.png: as many generated as real points, enough to show every mode's spread


@dataclasses.dataclass(frozen=True)
class ExportKind:
  name: str  # a common.kinds name
  output_doc: str
  sample_count: int
  write_sample: Callable[[str, np.ndarray, dict], None]
  sample_file: str = 'sample.png'
  derived: tuple = ()  # names of outputs derived from output_name: ('ids',) = argmax over the last axis

  @property
  def output_name(self) -> str:
    """'images', 'points' or 'probs': the signature's name for this kind's output."""
    return signature.GeneratorSignature.output_name_of(self.name)


def _write_image_grid(path: str, images: np.ndarray, metadata: dict) -> None:
  """images: (SAMPLE_GRID², H, W, C) in [-1, 1], or a conditional generator's (K·SAMPLE_GRID, H, W, C), one row per
  class -> the trainer's sample grid: dark frame, lossless PNG, each class row named on its left."""
  tiles = common_images.to_uint8(images)  # (N, H, W, C) uint8
  row_names = signature.GeneratorSignature.from_metadata(metadata).label_classes  # (): no label input, no margin
  common_images.save_png(common_images.labelled_grid(tiles, row_names, SAMPLE_GRID,
                                                     fill=common_images.TRAINING_BACKGROUND, frame=True), path)


def _write_points_scatter(path: str, points: np.ndarray, metadata: dict) -> None:
  """points: (SAMPLE_POINTS, 2) -> the trainer's scatter (data/toy_plots.py), without critic contours (an
  export holds no critic), beside as many real points of the dataset, drawn with a generator seeded by the
  sample seed so that sample.png is a function of the model alone."""
  from data import toy_data, toy_plots
  seed = metadata['sample_seed']
  real = toy_data.spec_of(metadata['dataset']).sample(np.random.default_rng(seed), len(points))  # (N, 2)
  toy_plots.save_scatter(path, real, points, title=f'{metadata["loss"]}, {metadata["dataset"]}, step '
                         f'{metadata["step"]} (exported; seed {seed})')


def _write_text_lines(path: str, probs: np.ndarray, metadata: dict) -> None:
  """probs: (N, seq_len, vocab) -> N lines, the argmax decoding ('unk' as U+FFFD), in sample.txt."""
  with open(path, 'w', encoding='utf-8') as f:
    f.write('\n'.join(signature.decode_ids(probs.argmax(axis=-1), metadata['vocab'])) + '\n')


KINDS = {kind.name: kind for kind in (
    ExportKind(common_kinds.IMAGE, 'images float32 (batch, H, W, C) NHWC in [-1, 1]', SAMPLE_GRID ** 2,
               _write_image_grid),
    ExportKind(common_kinds.POINTS, 'points float32 (batch, dims), the data\'s coordinates', SAMPLE_POINTS,
               _write_points_scatter),
    ExportKind(common_kinds.TEXT, 'probs float32 (batch, seq_len, vocab): per-position character probabilities; '
               'ids int64 (batch, seq_len): their argmax (the vocabulary is in metadata_props)', 64,
               _write_text_lines, sample_file='sample.txt', derived=('ids',)),
)}


def kind_of(metadata: dict) -> ExportKind:
  """The record of a run's (or model folder's) metadata; ExportError for a kind this version cannot export."""
  name = common_kinds.of_metadata(metadata)
  if name not in KINDS:
    raise ExportError(f'the run holds a generator of kind {name!r}; this version exports {", ".join(KINDS)}')
  return KINDS[name]
