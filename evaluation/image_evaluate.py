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


def check_sample_count(n: int, judge) -> None:
  """MetricsError, naming the flag to raise, when N = n samples are too few for FCD on the judge's features."""
  need = metrics.min_samples_for_covariance(judge.feature_dim)
  if n < need:
    raise metrics.MetricsError(f'{n} samples are too few: FCD on the {judge.feature_dim}-dimensional judge '
                               f'features needs at least {need} (use --num_samples >= {need})')


def evaluate(samples, dataset: str, num_samples: Optional[int] = None, data_dir=None, manual_dir=None,
             judges_dir=None, copy_check: bool = True, fid: Optional[FidSettings] = None, log=print) -> dict:
  """Scores `samples` ((N, H, W, C) uint8, or float in [-1, 1]) against `dataset` with its judge: resolves the data
  set (references.resolve) and scores them (`score`).

  The first min(N, num_samples, floor split's size) samples are scored, and as many floor images. Returns
  {'dataset', 'num_samples', 'num_classes', 'reference', 'geometry', 'samples': {metric: value}, 'floor':
  {metric: value}, 'class_counts': {'samples': [K ints], 'floor': [K ints]} (the judge's argmax), 'seconds':
  {...}}; with `fid`, both hold 'fid' too (and the result 'fid_note'). Raises
  EvaluationError (InceptionWeightsError for FID settings), JudgeError, metrics.MetricsError or DatasetError.
  """
  from evaluation.judge import load_judge
  samples = np.asarray(samples)
  if fid and len(samples) < fid.num_samples:
    raise InceptionWeightsError(f'FID needs {fid.num_samples:,} samples, got {len(samples):,}')
  judge = load_judge(dataset, judges_dir)
  n = min(num_samples or len(samples), len(samples))
  check_sample_count(n, judge)
  reference = references.resolve(dataset, n, judge=judge, data_dir=data_dir, manual_dir=manual_dir,
                                 copy_check=copy_check, fid=fid, log=log)
  return score(samples, reference)


def score(samples, reference: references.Reference) -> dict:
  """Scores samples (at least reference.num_samples of them; reference.fid's count for FID) against a resolved
  data set: the first reference.num_samples. Returns `evaluate`'s dict."""
  started = time.monotonic()
  judge = reference.judge
  samples = np.asarray(samples)
  images = to_judge_input(samples[:reference.num_samples], judge.image_size, judge.channels)
  features, probs = judge.predict(images)
  result = {'dataset': reference.dataset, 'num_samples': len(images), 'num_classes': judge.num_classes,
            'reference': reference.description, 'geometry': geometry_rule(samples.shape[1], judge.image_size),
            'samples': reference.scores(features, probs), 'floor': dict(reference.floor),
            # which classes the judge reads the samples and the floor as: the reading (evaluation/reading.py) names
            # the classes the samples lack, against the floor's histogram (a folder's classes are not balanced)
            'class_counts': {'samples': np.bincount(probs.argmax(axis=1), minlength=judge.num_classes).tolist(),
                             'floor': list(reference.floor_class_counts)}}
  seconds = {'references': reference.seconds, 'samples': time.monotonic() - started}
  if reference.fid:
    from evaluation import fid as fid_lib
    fid_started = time.monotonic()
    fid_images = to_judge_input(samples[:reference.fid.settings.num_samples], judge.image_size, judge.channels)
    values = fid_lib.fid(fid_images, reference.fid)
    result['samples']['fid'], result['floor']['fid'], result['fid_note'] = (
        values['samples'], values['floor'], values['note'])
    seconds['fid'] = reference.fid.seconds + time.monotonic() - fid_started  # its real side's passes too
  result['seconds'] = seconds
  return result


def evaluate_source(source: Source, dataset: Optional[str] = None, num_samples: Optional[int] = None,
                    seed: int = SAMPLE_SEED, data_dir=None, manual_dir=None, judges_dir=None,
                    copy_check: bool = True, fid: Optional[FidSettings] = None, log=print) -> dict:
  """Generates samples from `source` (latents rows 0.. of `seed`) and evaluates them (see `evaluate`), the data set
  resolved once (references.resolve) for the scores, the per-class scores and FID.

  num_samples None: the reference split's size, capped at the floor split's (MNIST: 10,000; digits: 360). With FID,
  max(num_samples, fid.num_samples) are generated and FID takes the first fid.num_samples of them. The result also holds 'source', 'seed', 'class_names' (the judge's),
  'per_class' for a conditional generator, and 'class_warning' for an unconditional one whose data classes are
  not the judge's.
  """
  from evaluation.judge import load_judge
  dataset = dataset or source.dataset
  if not dataset:
    raise EvaluationError(f'{source.description} does not say which dataset it was trained on; pass --dataset')
  data_dir, manual_dir = data_dir or source.data_dir, manual_dir or source.manual_dir
  judges_dir = judges_dir or source.judges_dir
  judge = load_judge(dataset, judges_dir)  # the one load of this evaluation: everything below takes it
  from evaluation.folder_judge import check_background
  check_background(judge, source.metadata.get('alpha_background'), source.description)
  if source.channels != judge.channels:
    raise EvaluationError(f'the {dataset} judge reads {judge.channels}-channel images, {source.description} '
                          f'makes {source.channels}-channel ones')
  if num_samples:
    check_sample_count(num_samples, judge)
  names = references.judge_class_names(dataset, judge, data_dir, manual_dir)
  classes = source.signature.label_classes
  from evaluation import per_class
  if classes:  # before the real side is computed: a generator of other classes is refused at once
    per_class.check_classes(classes, dataset, judge, source.description, names=names)
  data_classes = source.signature.data_classes  # an unconditional run's folder classes: a warning, not an error
  warning = (per_class.data_classes_warning(data_classes, dataset, judge, source.description, names=names)
             if data_classes and not classes else '')
  # The data set resolved once: the scores, the per-class scores and FID all read this Reference.
  reference = references.resolve(dataset, num_samples, judge=judge, class_names=names, data_dir=data_dir,
                                 manual_dir=manual_dir, copy_check=copy_check, fid=fid, log=log)
  count = max(num_samples or reference.num_samples, fid.num_samples if fid else 0)
  # a conditional generator: sample i asked for the class of floor image i (the data's class mix)
  asked = reference.sample_classes(count) if classes else None
  started = time.monotonic()
  from evaluation.sources import generate
  samples = generate(source, count, seed, label_ids=asked)
  generate_s = time.monotonic() - started
  result = score(samples, reference)
  result.update(source=source.description, seed=seed, class_names=list(reference.class_names))
  if warning:
    result['class_warning'] = warning
  result['seconds']['generate'] = generate_s
  if classes:  # and each class against the real images of that class
    started = time.monotonic()
    per_class_n = -(-result['num_samples'] // len(classes))
    log(f'per-class scores: up to {per_class_n} samples of each of {len(classes)} classes ...')
    result['per_class'] = per_class.per_class_scores(source.generate_fn, source.latent_dim, reference, classes,
                                                     per_class_n, seed, log)
    result['seconds']['per_class'] = time.monotonic() - started
  return result
