"""Per-class scores of a class-conditional generator (a label input, common/signature.py): for each class k, its
samples (every one asked for class k) against the held-out real images of class k, beside the floor of class k.

  agreement     how often the judge reads a sample asked for class k as class k
  floor         the judge's accuracy on held-out real images of class k (the floor split's): the most agreement
                can mean, since the judge errs on real images too
  chance        1/K: a generator that ignores its label agrees this often on a balanced judge
  kid ± s.e.    the unbiased kernel distance of the class's samples to the reference split's images of class k
                (metrics.kernel_distance: unbiased at any N, so a small class is scored without bias), and the
                floor's: as many floor images of class k against the same reference images
  fcd           only where both the samples and the reference images of the class number at least
                MIN_FCD_PER_CLASS(D) = metrics.min_samples_for_covariance(D) (129 for the 128-feature judges): FCD
                needs a full-rank covariance of the D features, and is biased by N below and above it

Samples of class k: latents rows 0..n-1 of the seed with one-hot class k, the same z for every class; n = the
floor split's count of class k, capped at `per_class` (so samples and floor are scored at equal N per class).

The whole-generator scores ask sample i for the class of floor image i (`sample_classes`): samples and floor
then share one class histogram, the data's, on an imbalanced folder as on a balanced data set.
"""

from typing import Callable, Optional

import numpy as np

from common import labels as common_labels
from evaluation import metrics, references


def split_labels(dataset: str, split: str, image_size: int, judge, data_dir=None, manual_dir=None) -> np.ndarray:
  """(N,) int64 class ids of a judge's split, in the order evaluation.references reads its images, read here. An
  evaluation has them already: its Reference's reference_split.labels and floor_split.labels."""
  return references.read_split(dataset, split, image_size, judge.spec, data_dir, manual_dir)[1]


def _shown(values) -> str:
  """At most 10 class names, then '...': a folder may have hundreds."""
  values = list(values)
  return ', '.join(values[:10]) + (', ...' if len(values) > 10 else '')


def _classes(names) -> str:
  """'class a is' or 'classes a, b are': the subject of a sentence about them."""
  return f'class {names[0]} is' if len(names) == 1 else f'classes {_shown(names)} are'


def check_classes(classes, dataset: str, judge, description: str, data_dir=None, manual_dir=None,
                  names: Optional[tuple] = None) -> None:
  """EvaluationError unless a generator's label classes are the judge's, by name and in order: class i of one
  must be class i of the other for agreement and per-class scores to mean anything. names: the judge's classes
  where the caller has them (references.judge_class_names), read from the judge otherwise."""
  from evaluation.images import EvaluationError
  names = tuple(names) if names is not None else references.judge_class_names(dataset, judge, data_dir, manual_dir)
  if tuple(classes) != names:
    raise EvaluationError(f'{description} takes the classes {_shown(classes)}; the {dataset} judge tells '
                          f'{_shown(names)}: per-class scores need the same classes in the same order')


def data_classes_warning(data_classes, dataset: str, judge, description: str, data_dir=None,
                         manual_dir=None, names: Optional[tuple] = None) -> str:
  """'' when an unconditional generator's data classes (what its training folder held) are the judge's, in any
  order; else one 'warning: ...' line naming the classes that one side lacks.

  A warning, where check_classes refuses: an unconditional generator takes no class id, so no id can point at the
  wrong class. Its samples are still compared with real images of the judge's classes, and for the classes both
  know the numbers mean what they always do; a class only the run knows makes samples the reference lacks (FCD
  and precision worse), a class only the judge knows makes reference images no sample aims at (recall worse).
  The user should know why, not lose the table. names: as check_classes'."""
  names = tuple(names) if names is not None else references.judge_class_names(dataset, judge, data_dir, manual_dir)
  run_only = [c for c in data_classes if c not in names]
  judge_only = [c for c in names if c not in data_classes]
  if not run_only and not judge_only:
    return ''
  parts = [f'warning: {description} was trained on {len(data_classes)} classes ({_shown(data_classes)}) but the '
           f'{dataset} judge knows {len(names)} ({_shown(names)})']
  if run_only:
    parts.append(f'{_classes(run_only)} not in the judge: samples of {"it" if len(run_only) == 1 else "them"} '
                 f'count against FCD and precision')
  if judge_only:
    parts.append(f'the judge\'s {_classes(judge_only)} not in the run\'s data: no sample aims at '
                 f'{"its" if len(judge_only) == 1 else "their"} reference images, which lowers recall')
  return '; '.join(parts)


def sample_classes(judge, dataset: str, num_samples: int, data_dir=None, manual_dir=None, judges_dir=None):
  """(num_samples,) int64: the class of floor image i for sample i (references.floor_classes), the floor's labels
  read here. An evaluation asks its Reference instead (Reference.sample_classes)."""
  labels = split_labels(dataset, judge.spec.floor_split, judge.image_size, judge, data_dir, manual_dir)
  return references.floor_classes(labels, num_samples)


def min_fcd_per_class(feature_dim: int) -> int:
  return metrics.min_samples_for_covariance(feature_dim)


def per_class_scores(generate: Callable, latent_dim: int, reference: 'references.Reference', classes, per_class: int,
                     seed: int, log=print) -> dict:
  """{'classes': [{'name', 'n', 'agreement', 'floor_agreement', 'kid', 'kid_stderr', 'floor_kid',
  'floor_kid_stderr', ['fcd', 'floor_fcd']}], 'chance', 'mean_agreement', 'mean_floor_agreement',
  'min_fcd_samples'} for a conditional generator.

  generate: (z (B, latent) float32, class weights (B, K) float32) -> images (B, H, W, C) in [-1, 1].
  classes: the generator's label classes, in the judge's order (a data set's classes are both). reference: the
  evaluation's (references.resolve): its judge, and its judge's outputs on the reference and floor splits.
  """
  from common.latents import latents
  from evaluation.images import to_judge_input
  judge, k_classes = reference.judge, len(classes)
  ref, floor = reference.reference_split, reference.floor_split
  ref_labels, floor_labels = ref.labels, floor.labels
  need = min_fcd_per_class(judge.feature_dim)
  rows = []
  for k, name in enumerate(classes):
    floor_k = np.flatnonzero(floor_labels == k)[:per_class]
    ref_k = ref.features[ref_labels == k]
    n = len(floor_k)
    if n < metrics.MIN_KID_SAMPLES or len(ref_k) < metrics.MIN_KID_SAMPLES:
      rows.append({'name': name, 'n': n, 'skipped': f'{n} floor / {len(ref_k)} reference images'})
      continue
    z = latents(seed, n, latent_dim)
    images = np.concatenate([generate(z[i:i + 250], common_labels.class_weights(np.full(len(z[i:i + 250]), k),
                                                                                 k_classes))
                             for i in range(0, n, 250)])
    features, probs = judge.predict(to_judge_input(images, judge.image_size, judge.channels))
    kid, floor_kid = (metrics.kernel_distance(f, ref_k) for f in (features, floor.features[floor_k]))
    row = {'name': name, 'n': n, 'agreement': float(np.mean(probs.argmax(axis=1) == k)),
           'floor_agreement': float(np.mean(floor.probs[floor_k].argmax(axis=1) == k)),
           'kid': kid.mean, 'kid_stderr': kid.stderr, 'floor_kid': floor_kid.mean,
           'floor_kid_stderr': floor_kid.stderr}
    if n >= need and len(ref_k) >= need:
      row.update(fcd=metrics.frechet_distance(features, ref_k),
                 floor_fcd=metrics.frechet_distance(floor.features[floor_k], ref_k))
    rows.append(row)
    log(f'  class {k} {name}: {n} samples, agreement {row["agreement"]:.3f} (floor {row["floor_agreement"]:.3f})')
  scored = [r for r in rows if 'agreement' in r]
  return {'classes': rows, 'chance': 1.0 / k_classes, 'min_fcd_samples': need,
          'mean_agreement': float(np.mean([r['agreement'] for r in scored])) if scored else float('nan'),
          'mean_floor_agreement': float(np.mean([r['floor_agreement'] for r in scored])) if scored else float('nan')}


def format_per_class(result: dict) -> str:
  """The per-class table: class | n | agreement | floor | KID ± s.e. | floor KID | FCD | floor FCD."""
  rows = [('class', 'n', 'agreement', 'floor', 'kid ± s.e.', 'floor kid ± s.e.', 'fcd', 'floor fcd')]
  for r in result['classes']:
    if 'agreement' not in r:
      rows.append((r['name'], str(r['n']), f'skipped: {r["skipped"]}', '', '', '', '', ''))
      continue
    rows.append((r['name'], str(r['n']), f'{r["agreement"]:.3f}', f'{r["floor_agreement"]:.3f}',
                 f'{r["kid"]:.4f} ± {r["kid_stderr"]:.4f}', f'{r["floor_kid"]:.4f} ± {r["floor_kid_stderr"]:.4f}',
                 f'{r["fcd"]:.2f}' if 'fcd' in r else '-', f'{r["floor_fcd"]:.2f}' if 'floor_fcd' in r else '-'))
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
  lines = [' | '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
  lines.insert(1, '-+-'.join('-' * w for w in widths))
  return '\n'.join([f'per class (each sample asked for its class; floor: held-out real images of that class; '
                    f'chance {result["chance"]:.3f}; FCD only where a class has >= {result["min_fcd_samples"]} '
                    f'samples):'] + lines +
                   [f'mean agreement {result["mean_agreement"]:.3f} (floor {result["mean_floor_agreement"]:.3f}, '
                    f'chance {result["chance"]:.3f})'])
