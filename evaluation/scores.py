"""Every metric of one set of judge outputs against a reference, and the table that prints them beside the floor.

  fcd               Fréchet Classifier Distance to the reference features (lower is better; biased by N,
                    so it is only compared with the floor taken at the same N)
  kid               kernel distance, unbiased: ≈ 0 for real data; ± its standard error over disjoint blocks
  precision         share of samples inside the reference's k-NN manifold: fidelity (Kynkäänniemi et al. 2019)
  recall            share of reference images inside the samples' manifold: diversity
  classifier_score  the Inception Score's formula on the judge (higher, up to the number of classes)
  classes_covered   classes reaching half their fair share of samples; fewer than all: mode collapse
  kl_to_uniform     KL of the predicted class histogram to uniform, in nats (0 is balanced)
  copy_ratio        median distance of samples to their nearest GAN-training image over the same for held-out
                    real images: ≈ 1 for new images, << 1 for a generator that copies its training set
  near_copies       share of samples nearer a training image than 99% of held-out real images are
"""

import numpy as np

from evaluation import metrics

METRICS = ('fcd', 'kid', 'precision', 'recall', 'classifier_score', 'classes_covered', 'kl_to_uniform',
           'copy_ratio', 'near_copies')
# Nearest-neighbour queries per side of the copy check: 2,000 x 60,000 MNIST training images is ~2 s; the
# medians it compares settle to ~1% well before. The table says how many were used.
COPY_QUERIES = 2000


def copy_queries(num_samples: int, num_reference: int) -> int:
  """Queries per side of the copy check: at most COPY_QUERIES, and half the reference, whose two halves are
  the held-out side and the floor's queries."""
  return min(COPY_QUERIES, num_samples, num_reference // 2)


def judge_scores(features: np.ndarray, probs: np.ndarray, reference_features: np.ndarray,
                 num_classes: int) -> dict:
  """The distribution metrics of samples (features (N, D), probabilities (N, K)) against reference (R, D)."""
  kid = metrics.kernel_distance(features, reference_features)
  pr = metrics.precision_recall(reference_features, features)
  coverage = metrics.class_coverage(probs, num_classes)
  return {
      'fcd': metrics.frechet_distance(features, reference_features),
      'kid': kid.mean,
      'kid_stderr': kid.stderr,
      'precision': pr.precision,
      'recall': pr.recall,
      'classifier_score': metrics.classifier_score(probs),
      'classes_covered': coverage.classes_covered,
      'kl_to_uniform': coverage.kl_to_uniform,
  }


def copy_scores(query_features: np.ndarray, heldout_features: np.ndarray, train_features: np.ndarray) -> dict:
  """The nearest-neighbour copy check: queries (Q, D) and held-out real images (Q', D) against the GAN's
  training images (G, D), in judge feature space."""
  check = metrics.copy_check(query_features, heldout_features, train_features)
  return {'copy_ratio': check.ratio, 'near_copies': check.near_copies, 'copy_sample_median': check.sample_median,
          'copy_heldout_median': check.heldout_median, 'copy_queries': len(query_features)}


# --- The table ---------------------------------------------------------------------------------------------------

def _cells(name: str, scores: dict, num_classes: int) -> str:
  value = scores[name]
  if name == 'kid':
    return f'{value:.4f} ± {scores["kid_stderr"]:.4f}'
  if name == 'classes_covered':
    return f'{value}/{num_classes}'
  if name == 'near_copies':
    return f'{100 * value:.1f}%'
  if name == 'fcd' or name == 'fid':
    return f'{value:.3f}'
  return f'{value:.4f}'


def format_table(result: dict) -> str:
  """The header (what was judged, N, the reference, the geometry rule), then metric | samples | floor."""
  samples, floor = result['samples'], result['floor']
  names = [m for m in METRICS + ('fid',) if m in samples]
  rows = [('metric', 'samples', 'floor (held-out real)')]
  rows += [(name, _cells(name, samples, result['num_classes']), _cells(name, floor, result['num_classes']))
           for name in names]
  widths = [max(len(r[i]) for r in rows) for i in range(3)]
  lines = [' | '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
  lines.insert(1, '-+-'.join('-' * w for w in widths))
  header = [f'{result["source"]}: N = {result["num_samples"]:,} samples (latent seed {result["seed"]}) judged on '
            f'{result["dataset"]}' if 'source' in result else
            f'N = {result["num_samples"]:,} samples judged on {result["dataset"]}',
            result['reference'], f'geometry: {result["geometry"]}']
  notes = []
  if 'copy_ratio' in samples:
    notes.append(f'copy check: {samples["copy_queries"]:,} queries per side (at most {COPY_QUERIES:,}, for speed) '
                 f'against the GAN\'s training images; held-out side: reference images; the floor\'s queries: '
                 f'other reference images')
  if 'fid' in samples:
    notes.append(result['fid_note'])
  return '\n'.join(header + lines + notes)
