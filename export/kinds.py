"""What an export does differently per data kind (generator.json's `kind`, training/data_kinds.py): one record each.

Every exported generator honours one contract: input `z` float32 (batch, latent_dim) -> one float32 output named
after what it produces. The conversion, CUDA-clean check, parity check, SavedModel and model-folder code are the
same for every kind; only these differ:

  output_name    the ONNX output and SavedModel signature key (the Keras output layer's name)
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

from export.loader import ExportError

DEFAULT_KIND = 'image'  # generator.json of runs older than training/data_kinds.py
SAMPLE_GRID = 8  # image sample.png: an 8 x 8 grid
SAMPLE_POINTS = 1000  # points sample.png: as many generated as real points, enough to show every mode's spread


@dataclasses.dataclass(frozen=True)
class ExportKind:
  name: str
  output_name: str
  output_doc: str
  sample_count: int
  write_sample: Callable[[str, np.ndarray, dict], None]
  sample_file: str = 'sample.png'
  derived: tuple = ()  # names of outputs derived from output_name: ('ids',) = argmax over the last axis


def _write_image_grid(path: str, images: np.ndarray, metadata: dict) -> None:
  """images: (SAMPLE_GRID², H, W, C) in [-1, 1] -> the run's own sample grid (training/run_dir.py)."""
  del metadata
  from PIL import Image
  from training.run_dir import grid, to_uint8
  image = grid(to_uint8(images), ncols=SAMPLE_GRID)  # (H', W', C) uint8
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


def _write_points_scatter(path: str, points: np.ndarray, metadata: dict) -> None:
  """points: (SAMPLE_POINTS, 2) -> the trainer's scatter (training/toy_plots.py), without critic contours (an
  export holds no critic), beside as many real points of the dataset, drawn with a generator seeded by the
  sample seed so that sample.png is a function of the model alone."""
  from training import data_kinds, toy_plots
  seed = metadata['sample_seed']
  real = data_kinds.toy_spec(metadata['dataset']).sample(np.random.default_rng(seed), len(points))  # (N, 2)
  toy_plots.save_scatter(path, real, points, title=f'{metadata["loss"]}, {metadata["dataset"]}, step '
                         f'{metadata["step"]} (exported; seed {seed})')


def _write_text_lines(path: str, probs: np.ndarray, metadata: dict) -> None:
  """probs: (N, seq_len, vocab) -> N lines, the argmax decoding ('unk' as U+FFFD), in sample.txt."""
  from training.text_data import UNK, UNK_CHAR
  chars = [UNK_CHAR if token == UNK else token for token in metadata['vocab']]
  with open(path, 'w', encoding='utf-8') as f:
    f.write('\n'.join(''.join(chars[i] for i in row) for row in probs.argmax(axis=-1)) + '\n')


KINDS = {kind.name: kind for kind in (
    ExportKind('image', 'images', 'images float32 (batch, H, W, C) NHWC in [-1, 1]', SAMPLE_GRID ** 2,
               _write_image_grid),
    ExportKind('points', 'points', 'points float32 (batch, dims), the data\'s coordinates', SAMPLE_POINTS,
               _write_points_scatter),
    ExportKind('text', 'probs', 'probs float32 (batch, seq_len, vocab): per-position character probabilities; '
               'ids int64 (batch, seq_len): their argmax (the vocabulary is in metadata_props)', 64,
               _write_text_lines, sample_file='sample.txt', derived=('ids',)),
)}


def kind_of(metadata: dict) -> ExportKind:
  """The record of a run's (or model folder's) metadata; ExportError for a kind this version cannot export."""
  name = metadata.get('kind', DEFAULT_KIND)
  if name not in KINDS:
    raise ExportError(f'the run holds a generator of kind {name!r}; this version exports {", ".join(KINDS)}')
  return KINDS[name]
