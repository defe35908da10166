"""`python -m evaluation.evaluate` for text generators: the n-gram JSD (evaluation/text_metrics.py) of N generated
lines against the held-out part of the training file, beside the baseline of N real held-out lines.

Whatever form the generator is in (run directory, exported ONNX model, SavedModel), lines are the argmax of its
`probs` for latents rows 0..N-1 of the seed, decoded with the vocabulary of its metadata; the reference is the
file named by its dataset (`text:PATH`), split as training split it (data/text_data.py).
"""

import os

import numpy as np

from common.artifacts import SAMPLE_SEED
from evaluation import sources, text_metrics
from evaluation.images import EvaluationError


def evaluate_text(flag: str, path: str, num_lines: int = text_metrics.DEFAULT_LINES, seed: int = SAMPLE_SEED) -> dict:
  """Scores the text generator that --run_dir / --model / --saved_model (`flag`) names at `path`."""
  from data import text_data
  from evaluation.text_plugin import reference_split
  source = sources.SOURCES[flag](path)  # the one loader of the three forms (evaluation/sources.py)
  metadata = source.metadata
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
  probs = sources.generate(source, num_lines, seed, batch_size=256)  # (N, L, V)
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
