"""`python -m evaluation.evaluate` for text generators: the n-gram JSD (evaluation/text_metrics.py) of N generated
lines against the held-out part of the training file, beside the baseline of N real held-out lines.

Whatever form the generator is in (run directory, exported ONNX model, SavedModel), lines are the argmax of its
`probs` for latents rows 0..N-1 of the seed, decoded with the vocabulary of its metadata; the reference is the
file named by its dataset (`text:PATH`), split as training split it (training/text_data.py).
"""

import json
import os

import numpy as np

from evaluation import text_metrics
from evaluation.images import EvaluationError

_METADATA_FILE = 'metadata.json'


def _folder_metadata(path: str) -> dict:
  """metadata.json of the model folder holding `path` (model.onnx, or saved_model/<version>), or {}."""
  for folder in (os.path.dirname(path), path, os.path.dirname(os.path.dirname(os.path.normpath(path))),
                 os.path.dirname(os.path.normpath(path))):
    candidate = os.path.join(folder, _METADATA_FILE)
    if os.path.isfile(candidate):
      try:
        with open(candidate) as f:
          return json.load(f)
      except (OSError, ValueError):
        return {}
  return {}


def kind_of_source(flag: str, path: str) -> str:
  """'image', 'points' or 'text': the data kind of what --run_dir / --model / --saved_model names."""
  if flag == 'run_dir':
    from training import generator_io
    return generator_io.read_metadata(path).get('kind', 'image')
  return _folder_metadata(path).get('kind', 'image')


def _generator(flag: str, path: str):
  """(z -> probs (B, L, V), metadata) of a text generator in any of the three forms."""
  if flag == 'run_dir':
    from training import generator_io
    generator, metadata = generator_io.load(path)
    return (lambda z: np.asarray(generator(z, training=False))), metadata
  metadata = _folder_metadata(path)
  if flag == 'model':
    from export.onnx_export import cpu_session
    with open(path, 'rb') as f:
      session = cpu_session(f.read())
    return (lambda z: session.run(['probs'], {'z': z})[0]), metadata
  import tensorflow as tf
  from evaluation.sources import saved_model_dir
  serving = tf.saved_model.load(saved_model_dir(path)).signatures['serving_default']
  return (lambda z: serving(z=tf.constant(z))['probs'].numpy()), metadata


def evaluate_text(flag: str, path: str, num_lines: int = text_metrics.DEFAULT_LINES, seed: int = 2024) -> dict:
  from common.latents import latents
  from evaluation.text_plugin import reference_split
  from training import text_data
  generate, metadata = _generator(flag, path)
  for key in ('vocab', 'seq_len', 'dataset', 'latent_dim'):
    if key not in metadata:
      raise EvaluationError(f'{path}: its metadata has no {key!r}; export it again from its run directory')
  file = metadata.get('text_file') or metadata['dataset'].partition(':')[2]  # absolute since it was recorded
  try:
    corpus = text_data.load_corpus(os.path.abspath(file), metadata['seq_len'], metadata.get('max_vocab', 128),
                                   metadata.get('text_unit', 'line'))
  except text_data.TextError as e:
    raise EvaluationError(f'the reference text of {path}: {e}') from None
  if list(corpus.vocab) != list(metadata['vocab']):
    raise EvaluationError(f'{file} no longer gives the vocabulary {path} was trained with (the file changed)')
  baseline, reference = reference_split(corpus.heldout, num_lines)
  z = latents(seed, num_lines, metadata['latent_dim'])
  probs = np.concatenate([generate(z[i:i + 256]) for i in range(0, num_lines, 256)])  # (N, L, V)
  lines = corpus.decode(probs.argmax(axis=-1))
  return {'source': path, 'dataset': metadata['dataset'], 'num_lines': num_lines, 'seed': seed,
          'reference_lines': len(reference), 'samples': text_metrics.ngram_jsd(lines, reference),
          'floor': text_metrics.ngram_jsd(baseline, reference), 'examples': lines[:8]}


def format_text_table(result: dict) -> str:
  lines = [f'{result["source"]}: N = {result["num_lines"]} generated lines (latent seed {result["seed"]}, argmax) '
           f'against {result["reference_lines"]} held-out lines of {result["dataset"]}',
           'metric | samples | floor (N other held-out lines)', '-------+---------+------']
  for name in result['samples']:
    lines.append(f'{name}   | {result["samples"][name]:.4f}  | {result["floor"][name]:.4f}')
  lines.append('n-gram JSD in bits (0: same distribution, 1: disjoint); compare only at equal N')
  lines += ['examples:'] + [f'  {line!r}' for line in result['examples']]
  return '\n'.join(lines)
