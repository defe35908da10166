"""The paragraph `python -m evaluation.evaluate` prints under its tables (issue 31): the table read for the user.

Every sentence is derived from the numbers and appears only when its condition holds:

  floor ratio      FCD (and FID) over its floor: how far the samples are from what held-out real images score;
                   at the floor when within AT_FLOOR either way; below it on a folder, a hint of copying (the GAN
                   trained on the reference part, and the copy check is off there)
  collapse         recall below COLLAPSE_RECALL of the floor's while precision keeps COLLAPSE_PRECISION of it:
                   samples that look real but cover little of the data, a few modes of good-looking images
  off the data     precision below OFF_DATA_PRECISION of the floor's: most samples look like no real image
  missing classes  classes the judge reads in fewer than MISSING_SHARE of the floor's count of them (the floor
                   carries the data's class mix, so an imbalanced folder's rare classes are not called missing);
                   for a generator without per-class rows (a conditional one's say it class by class)
  per class        a conditional generator's classes whose agreement is below MISSING_SHARE of the floor's (the
                   label input does not steer to them), and the classes skipped for too few held-out images
  negative KID     KID is unbiased, so near a distance of 0 it falls below 0 about as often as above

`read(result)` is a pure function of evaluate's result dict (evaluation/image_evaluate.py); `format_reading`
adds the warning of a run whose data classes are not the judge's and wraps the paragraph.
"""

import math
import textwrap
from typing import List, Optional

from common import cli
from evaluation.judge import FOLDER_PREFIX

AT_FLOOR = 1.1  # FCD within 10% of its floor, either way, reads as at it: a margin for the floor's own noise
COLLAPSE_RECALL = 0.25  # recall under a quarter of the floor's ...
COLLAPSE_PRECISION = 0.75  # ... while precision keeps three quarters of it
OFF_DATA_PRECISION = 0.5  # precision under half the floor's
MISSING_SHARE = 0.5  # a class read in under half the floor's count (as classes_covered uses half a fair share)
MIN_FLOOR_IMAGES = 5  # a class the floor holds fewer of is too small to call missing
LISTED = 8  # classes named in one sentence; the rest are counted
DETAILED = 3  # up to this many classes are named with their numbers; more, by name alone (the tables hold the rest)
WIDTH = 116  # the paragraph's line width (the tables above are about as wide)


def _names(result: dict, count: int) -> list:
  names = list(result.get('class_names') or [])
  return names if len(names) == count else [f'class {k}' for k in range(count)]


def _listed(items: list) -> str:
  return cli.listed(items, LISTED)


def _named(pairs: list) -> str:
  """[(name, its numbers)] as "'a' 2 (floor 25), 'b' ..." when few, as "'a', 'b', ..." when many."""
  return _listed([f'{name} {numbers}' if len(pairs) <= DETAILED else name for name, numbers in pairs])


def _floor_sentence(result: dict, metric: str, label: str) -> Optional[str]:
  samples, floor = result['samples'].get(metric), result['floor'].get(metric)
  if samples is None or floor is None or not floor > 0 or not math.isfinite(samples):
    return None
  ratio = samples / floor
  if ratio > AT_FLOOR:
    return (f'{label} is {ratio:.1f}x its floor ({samples:.1f} against {floor:.1f} for held-out real images at the '
            f'same N): the judge tells the samples from real images.')
  if ratio >= 1 / AT_FLOOR:
    return (f'{label} is at its floor ({samples:.1f} against {floor:.1f}): the judge tells the samples from real '
            f'images no better than other real images.')
  if result['dataset'].startswith(FOLDER_PREFIX):
    return (f'{label} is below its floor ({ratio:.2f}x): the GAN trained on the reference part too, so its samples '
            f'may be copies of training images (the copy check is off for folders).')
  copies = ('; copy_ratio says whether they are copies of training images' if 'copy_ratio' in result['samples']
            else '')
  return f'{label} is below its floor ({ratio:.2f}x): as close to the reference as held-out real images{copies}.'


def _precision_recall_sentence(result: dict) -> Optional[str]:
  samples, floor = result['samples'], result['floor']
  if not {'precision', 'recall'} <= set(samples) or not {'precision', 'recall'} <= set(floor):
    return None
  p, r, floor_p, floor_r = samples['precision'], samples['recall'], floor['precision'], floor['recall']
  if floor_r > 0 and r < COLLAPSE_RECALL * floor_r and p >= COLLAPSE_PRECISION * floor_p:
    return (f'Precision {p:.2f} with recall {r:.3f} (floor {floor_p:.2f} and {floor_r:.2f}): the samples look like '
            f'real images but cover little of them, a few modes of good-looking images (mode collapse).')
  if floor_p > 0 and p < OFF_DATA_PRECISION * floor_p:
    return (f'Precision {p:.2f} against the floor\'s {floor_p:.2f}: most samples lie outside every real image\'s '
            f'neighbourhood, so they do not look like the data yet.')
  return None


def _missing_classes_sentence(result: dict) -> Optional[str]:
  counts = result.get('class_counts') or {}
  samples, floor = counts.get('samples'), counts.get('floor')
  if not samples or not floor or len(samples) != len(floor) or not sum(samples) or not sum(floor):
    return None
  scale = sum(samples) / sum(floor)  # equal N in evaluate; kept for results of other sizes
  names = _names(result, len(samples))
  missing = [(f"'{names[k]}'", f"{samples[k]} (floor {floor[k]})") for k in range(len(samples))
             if floor[k] >= MIN_FLOOR_IMAGES and samples[k] < MISSING_SHARE * floor[k] * scale]
  if not missing:
    return None
  which = 'this class' if len(missing) == 1 else f'these {len(missing)} of {len(samples)} classes'
  return (f'The judge reads few or no samples as {_named(missing)}, under half the floor\'s count: the generator '
          f'rarely makes {which}.')


def _per_class_sentences(result: dict) -> List[str]:
  rows = (result.get('per_class') or {}).get('classes', [])
  low = [(f"'{r['name']}'", f"{r['agreement']:.2f} (floor {r['floor_agreement']:.2f})") for r in rows
         if 'agreement' in r and r['agreement'] < MISSING_SHARE * r['floor_agreement']]
  skipped = [(f"'{r['name']}'", f"({r['skipped']})") for r in rows if 'skipped' in r]
  sentences = []
  if low:
    sentences.append(f'Asked for {_named(low)}, the samples are read as that class in under half the floor\'s '
                     f'share: the label input does not yet steer the generator to {_them(low)}.')
  if skipped:
    sentences.append(f'No per-class scores for {_named(skipped)}: too few held-out images of {_them(skipped)}.')
  return sentences


def _them(items: list) -> str:
  return 'it' if len(items) == 1 else 'them'


def _kids(result: dict) -> list:
  """(label, kid, stderr, per class?) of every KID in the result: samples, floor, and each per-class row's two."""
  found = [(side, result[side]['kid'], result[side]['kid_stderr'], False) for side in ('samples', 'floor')
           if 'kid' in result[side]]
  for r in (result.get('per_class') or {}).get('classes', []):
    if 'kid' in r:
      found += [(f"'{r['name']}'", r['kid'], r['kid_stderr'], True),
                (f"'{r['name']}' floor", r['floor_kid'], r['floor_kid_stderr'], True)]
  return found


def _negative_kid_sentence(result: dict) -> Optional[str]:
  negative = [found for found in _kids(result) if found[1] < 0]
  if not negative:
    return None
  shown = _named([(label, f'{kid:.4f} ± {stderr:.4f}') for label, kid, stderr, _ in negative])
  small = (' (per-class KIDs rest on few images, so their errors are large)'
           if any(per_class for *_, per_class in negative) else '')
  near = [label for label, kid, stderr, _ in negative if kid >= -2 * stderr]
  far = [label for label, kid, stderr, _ in negative if kid < -2 * stderr]
  tails = []
  if near:
    subject = ('it is' if len(negative) == 1 else 'all are' if not far else
               f'{_listed(near)} {"is" if len(near) == 1 else "are"}')
    tails.append(f'{subject} within 2 standard errors of 0: read {_them(near)} as 0')
  if far:
    tails.append(f'{_listed(far)} {"lies" if len(far) == 1 else "lie"} more than 2 standard errors below 0, which '
                 f'chance seldom gives: the standard error, from few blocks of few images, is itself uncertain')
  return (f'KID below 0 ({shown}) is no error: KID is an unbiased estimate of a squared distance, so near a '
          f'distance of 0 it falls below 0 about as often as above{small}; {"; ".join(tails)}.')


def read(result: dict) -> List[str]:
  """The sentences that hold for `result` (evaluate's dict), in the order of the table's rows."""
  sentences = [_floor_sentence(result, 'fcd', 'FCD'), _precision_recall_sentence(result)]
  # A conditional generator's samples ask for the floor's classes, so a class they lack is one its label does not
  # reach: the per-class rows say so more precisely than the histogram.
  sentences += _per_class_sentences(result) if result.get('per_class') else [_missing_classes_sentence(result)]
  sentences += [_negative_kid_sentence(result), _floor_sentence(result, 'fid', 'FID')]
  return [s for s in sentences if s]


def format_reading(result: dict) -> str:
  """The class warning (when there is one) and 'reading: ...' wrapped to WIDTH; '' when nothing holds."""
  lines = [result['class_warning']] if result.get('class_warning') else []
  sentences = read(result)
  if sentences:
    lines.append(textwrap.fill('reading: ' + ' '.join(sentences), WIDTH, break_on_hyphens=False))
  return '\n'.join(lines)
