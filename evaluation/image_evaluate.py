"""Judging image generators: samples against a data set's held-out reference with its judge, beside the floor.
`python -m evaluation.evaluate` runs this for image generators (evaluation/kinds.py); the module docstring of
evaluation/evaluate.py says what each number means and how N, the floor and FID are chosen."""

import time
from typing import Optional

import numpy as np

from common.artifacts import SAMPLE_SEED
from evaluation import metrics, references
from evaluation.fid import FidSettings, InceptionWeightsError
from evaluation.images import EvaluationError, geometry_rule, to_judge_input
from evaluation.sources import Source


def default_num_samples(dataset: str, data_dir=None, manual_dir=None, judges_dir=None) -> int:
  """The size of the reference split, capped at the floor split's (MNIST: 10,000; digits: 360)."""
  from evaluation.judge import load_judge
  spec = load_judge(dataset, judges_dir).spec
  return min(references.split_size(dataset, split, data_dir, manual_dir, judges_dir)
             for split in (spec.reference_split, spec.floor_split))


def _check_fid(dataset: str, fid: FidSettings, data_dir, manual_dir, judges_dir) -> None:
  from evaluation import fid as fid_lib
  from evaluation.judge import load_judge
  spec = load_judge(dataset, judges_dir).spec
  sizes = {s: references.split_size(dataset, s, data_dir, manual_dir, judges_dir)
           for s in (spec.reference_split, spec.floor_split)}
  fid_lib.check_settings(fid, spec, sizes)


def evaluate(samples, dataset: str, num_samples: Optional[int] = None, data_dir=None, manual_dir=None,
             judges_dir=None, copy_check: bool = True, fid: Optional[FidSettings] = None, log=print) -> dict:
  """Scores `samples` ((N, H, W, C) uint8, or float in [-1, 1]) against `dataset` with its judge.

  The first min(N, num_samples, floor split's size) samples are scored, and as many floor images. Returns
  {'dataset', 'num_samples', 'num_classes', 'reference', 'geometry', 'samples': {metric: value}, 'floor':
  {metric: value}, 'class_counts': {'samples': [K ints], 'floor': [K ints]} (the judge's argmax), 'seconds':
  {...}}; with `fid`, both hold 'fid' too (and the result 'fid_note'). Raises
  EvaluationError (InceptionWeightsError for FID settings), JudgeError, metrics.MetricsError or DatasetError.
  """
  from evaluation.judge import load_judge
  started = time.monotonic()
  judge = load_judge(dataset, judges_dir)
  samples = np.asarray(samples)
  if fid:
    _check_fid(dataset, fid, data_dir, manual_dir, judges_dir)  # before any Inception pass
    if len(samples) < fid.num_samples:
      raise InceptionWeightsError(f'FID needs {fid.num_samples:,} samples, got {len(samples):,}')
  n = min(num_samples or len(samples), len(samples))
  need = metrics.min_samples_for_covariance(judge.feature_dim)
  if n < need:
    raise metrics.MetricsError(f'{n} samples are too few: FCD on the {judge.feature_dim}-dimensional judge '
                               f'features needs at least {need} (use --num_samples >= {need})')
  ref = references.reference(dataset, n, data_dir, manual_dir, judges_dir, copy_check)  # cached per process
  reference_s = time.monotonic() - started
  images = to_judge_input(samples[:ref.num_samples], judge.image_size, judge.channels)
  features, probs = judge.predict(images)
  result = {'dataset': dataset, 'num_samples': len(images), 'num_classes': judge.num_classes,
            'reference': ref.description, 'geometry': geometry_rule(samples.shape[1], judge.image_size),
            'samples': ref.scores(features, probs), 'floor': dict(ref.floor),
            # which classes the judge reads the samples and the floor as: the reading (evaluation/reading.py) names
            # the classes the samples lack, against the floor's histogram (a folder's classes are not balanced)
            'class_counts': {'samples': np.bincount(probs.argmax(axis=1), minlength=judge.num_classes).tolist(),
                             'floor': list(ref.floor_class_counts)}}
  seconds = {'references': reference_s, 'samples': time.monotonic() - started - reference_s}
  if fid:
    from evaluation import fid as fid_lib
    fid_started = time.monotonic()
    fid_images = to_judge_input(samples[:fid.num_samples], judge.image_size, judge.channels)
    values = fid_lib.fid(fid_images, dataset, judge.spec, judge.image_size, fid, data_dir, manual_dir, log)
    result['samples']['fid'], result['floor']['fid'], result['fid_note'] = (
        values['samples'], values['floor'], values['note'])
    seconds['fid'] = time.monotonic() - fid_started
  result['seconds'] = seconds
  return result


def evaluate_source(source: Source, dataset: Optional[str] = None, num_samples: Optional[int] = None,
                    seed: int = SAMPLE_SEED, data_dir=None, manual_dir=None, judges_dir=None,
                    copy_check: bool = True, fid: Optional[FidSettings] = None, log=print) -> dict:
  """Generates samples from `source` (latents rows 0.. of `seed`) and evaluates them (see `evaluate`).

  num_samples None: default_num_samples. With FID, max(num_samples, fid.num_samples) are generated and FID
  takes the first fid.num_samples of them. The result also holds 'source', 'seed', 'class_names' (the judge's),
  'per_class' for a conditional generator, and 'class_warning' for an unconditional one whose data classes are
  not the judge's.
  """
  from evaluation.judge import load_judge
  dataset = dataset or source.dataset
  if not dataset:
    raise EvaluationError(f'{source.description} does not say which dataset it was trained on; pass --dataset')
  data_dir, manual_dir = data_dir or source.data_dir, manual_dir or source.manual_dir
  judges_dir = judges_dir or source.judges_dir
  judge = load_judge(dataset, judges_dir)
  from evaluation.folder_judge import check_background
  check_background(judge, source.metadata.get('alpha_background'), source.description)
  if source.channels != judge.channels:
    raise EvaluationError(f'the {dataset} judge reads {judge.channels}-channel images, {source.description} '
                          f'makes {source.channels}-channel ones')
  if fid:
    _check_fid(dataset, fid, data_dir, manual_dir, judges_dir)
  num_samples = num_samples or default_num_samples(dataset, data_dir, manual_dir, judges_dir)
  classes = source.signature.label_classes
  count = max(num_samples, fid.num_samples if fid else 0)
  asked = None
  from evaluation import per_class
  if classes:  # a conditional generator: sample i asked for the class of floor image i (evaluation/per_class.py)
    per_class.check_classes(classes, dataset, judge, source.description, data_dir, manual_dir)
    asked = per_class.sample_classes(judge, dataset, count, data_dir, manual_dir, judges_dir)
  data_classes = source.signature.data_classes  # an unconditional run's folder classes: a warning, not an error
  warning = (per_class.data_classes_warning(data_classes, dataset, judge, source.description, data_dir, manual_dir)
             if data_classes and not classes else '')
  started = time.monotonic()
  from evaluation.sources import generate
  samples = generate(source, count, seed, label_ids=asked)
  generate_s = time.monotonic() - started
  result = evaluate(samples, dataset, num_samples, data_dir, manual_dir, judges_dir, copy_check, fid, log)
  result.update(source=source.description, seed=seed,
                class_names=list(per_class.data_class_names(dataset, judge, data_dir, manual_dir)))
  if warning:
    result['class_warning'] = warning
  result['seconds']['generate'] = generate_s
  if classes:  # and each class against the real images of that class
    started = time.monotonic()
    per_class_n = -(-result['num_samples'] // len(classes))
    log(f'per-class scores: up to {per_class_n} samples of each of {len(classes)} classes ...')
    result['per_class'] = per_class.per_class_scores(source.generate_fn, source.latent_dim, judge, dataset, classes,
                                                     per_class_n, seed, data_dir, manual_dir, judges_dir, log)
    result['seconds']['per_class'] = time.monotonic() - started
  return result
