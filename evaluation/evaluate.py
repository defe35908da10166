r"""Judges a generator offline: FCD, KID, precision/recall, classifier score, coverage and a copy check, each
beside its floor (held-out real images scored the same way).

  python -m evaluation.evaluate --run_dir=runs/wgan_gp-digits-20261123-101500
  python -m evaluation.evaluate --model=models/digits-wgan-gp/model.onnx          # what is served is judged
  python -m evaluation.evaluate --saved_model=models/digits-wgan-gp                # its TF Serving SavedModel
  python -m evaluation.evaluate --run_dir=... --inception_weights=PATH/inception_v3_..._notop.h5   # adds FID

Text generators (--dataset=text:PATH) are scored by the n-gram JSD of N = 640 lines (default) against the held-out
part of their file, beside N real held-out lines (evaluation/text_evaluate.py).

Losses do not say whether a GAN is any good. These numbers do, on the features of the dataset's judge
(evaluation/judge.py). The references are held out from the judge's training: samples and floor are both
compared with the judge features of the whole reference split (MNIST/Fashion-MNIST: the 10,000 test images),
and the floor is N images of the floor split, which the judge never saw either (evaluation/references.py). The
sample count N defaults to the reference's size, because FCD is biased by N: numbers compare only at equal N,
and the floor is always taken at the samples' N. Latents come from common.latents with --seed.

FID (InceptionV3 features) has its own sample count, --fid_samples, and needs a local weights file; nothing is
downloaded (evaluation/fid.py). This FID is not comparable to published FIDs (other Inception weights, other
resizing): compare it only with its floor and with other runs of this tool.

Exit codes: 2 for a usage error (flags, an unknown dataset or one without a judge, FID without a readable
Inception file or with too few samples), 1 for a model or samples that cannot be judged (channel mismatch, too
few samples for the covariance, an unreadable model).
"""

import os
import time
from typing import Optional

import numpy as np

from evaluation import metrics, references
from evaluation.fid import FidSettings, InceptionWeightsError
from evaluation.images import EvaluationError, geometry_rule, to_judge_input
from evaluation.judge import JudgeError
from evaluation.sources import LATENT_SEED, Source


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
  {metric: value}, 'seconds': {...}}; with `fid`, both hold 'fid' too (and the result 'fid_note'). Raises
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
            'samples': ref.scores(features, probs), 'floor': dict(ref.floor)}
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
                    seed: int = LATENT_SEED, data_dir=None, manual_dir=None, judges_dir=None,
                    copy_check: bool = True, fid: Optional[FidSettings] = None, log=print) -> dict:
  """Generates samples from `source` (latents rows 0.. of `seed`) and evaluates them (see `evaluate`).

  num_samples None: default_num_samples. With FID, max(num_samples, fid.num_samples) are generated and FID
  takes the first fid.num_samples of them.
  """
  from evaluation.judge import load_judge
  dataset = dataset or source.dataset
  if not dataset:
    raise EvaluationError(f'{source.description} does not say which dataset it was trained on; pass --dataset')
  data_dir, manual_dir = data_dir or source.data_dir, manual_dir or source.manual_dir
  judge = load_judge(dataset, judges_dir)
  if source.channels != judge.channels:
    raise EvaluationError(f'the {dataset} judge reads {judge.channels}-channel images, {source.description} '
                          f'makes {source.channels}-channel ones')
  if fid:
    _check_fid(dataset, fid, data_dir, manual_dir, judges_dir)
  num_samples = num_samples or default_num_samples(dataset, data_dir, manual_dir, judges_dir)
  started = time.monotonic()
  from evaluation.sources import generate
  samples = generate(source, max(num_samples, fid.num_samples if fid else 0), seed)
  generate_s = time.monotonic() - started
  result = evaluate(samples, dataset, num_samples, data_dir, manual_dir, judges_dir, copy_check, fid, log)
  result.update(source=source.description, seed=seed)
  result['seconds']['generate'] = generate_s
  return result


# --- Entry point ------------------------------------------------------------------------------------------------
# Flags are defined only when this file runs as a program, so that importing the library defines none.

def _define_flags():
  from absl import flags
  from evaluation import fid
  flags.DEFINE_string('run_dir', None, 'Run directory whose generator/ to judge (or <run_dir>/best).')
  flags.DEFINE_string('model', None, 'Exported ONNX generator to judge (models/<name>/model.onnx).')
  flags.DEFINE_string('saved_model', None, 'Exported TF Serving SavedModel to judge: models/<name> or '
                      'models/<name>/saved_model/1 (its serving_default signature).')
  flags.DEFINE_string('dataset', None, 'Judge against this dataset (default: the one the model was trained on).')
  flags.DEFINE_string('data_dir', None, 'TFDS data directory (default: the run\'s, else ~/tensorflow_datasets).')
  flags.DEFINE_string('manual_dir', None, 'Original archives of a TFDS dataset, read offline (default: the run\'s).')
  flags.DEFINE_integer('num_samples', None, 'Samples generated and scored, and floor images; default: the '
                       'reference split\'s size (10,000 for MNIST/Fashion-MNIST, 360 for digits). FCD is biased by '
                       'N: compare numbers taken at the same N.')
  flags.DEFINE_integer('seed', LATENT_SEED, 'Seed of the latents (common.latents): rows 0..N-1 are the samples.')
  flags.DEFINE_bool('copy_check', True, 'Nearest-neighbour copy check against the GAN\'s training images.')
  flags.DEFINE_bool('fid', False, 'Also compute FID; needs --inception_weights (nothing is downloaded). '
                    + fid.NOT_COMPARABLE)
  flags.DEFINE_string('inception_weights', None, f'Local Keras InceptionV3 no-top weights ({fid.INCEPTION_FILE}); '
                      f'implies --fid. ~{fid.GFLOP_AT_299} GFLOP per image at 299 px.')
  flags.DEFINE_integer('fid_samples', fid.DEFAULT_SAMPLES, f'Samples (and real images per side) of FID: at least '
                       f'{fid.MIN_SAMPLES:,} for a full-rank 2048-d covariance.')
  flags.DEFINE_integer('inception_size', fid.DEFAULT_SIZE, f'InceptionV3 input side in px, >= {fid.MIN_SIZE}.')
  flags.DEFINE_string('fid_cache_dir', fid.DEFAULT_CACHE_DIR, 'Where the real images\' Inception features are '
                      'cached between runs.')
  flags.DEFINE_string('judges_dir', None, 'Directory of the judges (default: evaluation/judges).')
  flags.DEFINE_string('json', None, 'Also write the result as JSON to this file.')


def _wall_time_line(result: dict, total_s: float) -> str:
  seconds = result['seconds']
  parts = [f'generating {result["num_samples"]:,} samples {seconds["generate"]:.1f} s',
           f'real side (judge features of the reference, floor and GAN-training splits, the floor\'s metrics; once '
           f'per process) {seconds["references"]:.1f} s',
           f'judging the samples and every metric {seconds["samples"]:.1f} s']
  if 'fid' in seconds:
    parts.append(f'FID {seconds["fid"]:.1f} s')
  parts.append(f'start-up (TensorFlow, models, data) {total_s - sum(seconds.values()):.1f} s')
  return f'wall time: {total_s:.1f} s on {os.cpu_count()} CPU cores ({"; ".join(parts)})'


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  started = time.monotonic()  # the wall time printed at the end: TensorFlow's import included
  import json
  from absl import flags, logging
  from common import cli
  from training import datasets
  from evaluation import sources
  FLAGS = flags.FLAGS
  logging.set_verbosity(logging.WARNING)
  given = [name for name in sources.SOURCES if FLAGS[name].value]
  if len(given) != 1:
    raise cli.UsageError('pass exactly one of --run_dir (a TF generator), --model (an ONNX file) and --saved_model')
  if not os.path.exists(FLAGS[given[0]].value):  # a path that is not there is a usage error; a corrupt one is not
    raise cli.UsageError(f'--{given[0]}: no such file or directory: {FLAGS[given[0]].value}')
  if FLAGS.num_samples is not None and FLAGS.num_samples < 2:
    raise cli.UsageError(f'--num_samples must be >= 2, got {FLAGS.num_samples}')
  fid = None
  if FLAGS.fid or FLAGS.inception_weights:
    from evaluation import fid as fid_lib
    fid = FidSettings(fid_lib.check_weights(FLAGS.inception_weights), FLAGS.fid_samples, FLAGS.inception_size,
                      FLAGS.fid_cache_dir)
    fid_lib.check_settings(fid)  # the count and size, before any model or data is loaded
  from evaluation import text_evaluate
  kind = text_evaluate.kind_of_source(given[0], FLAGS[given[0]].value)
  if kind == 'points':
    raise EvaluationError('toy 2-D generators are scored exactly during training (--eval_every) and by python -m '
                          'benchmarks.toy_compare, not by a judge')
  if kind == 'text':
    from evaluation import text_plugin
    try:
      result = text_evaluate.evaluate_text(given[0], FLAGS[given[0]].value, FLAGS.num_samples or 640, FLAGS.seed)
    except text_plugin.TextReferenceError as e:
      raise cli.UsageError(str(e)) from None
    print(text_evaluate.format_text_table(result))
    if FLAGS.json:
      with open(FLAGS.json, 'w') as f:
        f.write(json.dumps(result, indent=2) + '\n')
    return 0
  if FLAGS.dataset:
    from evaluation.judge import judge_spec
    judge_spec(FLAGS.dataset)
  try:
    source = sources.SOURCES[given[0]](FLAGS[given[0]].value)
    result = evaluate_source(source, FLAGS.dataset, FLAGS.num_samples, FLAGS.seed, FLAGS.data_dir,
                             FLAGS.manual_dir, FLAGS.judges_dir, FLAGS.copy_check, fid)
  except datasets.DatasetError as e:  # an unknown or unreadable dataset; its module imports TensorFlow, so
    raise cli.UsageError(str(e)) from None  # the type is caught here rather than named to cli.run
  from evaluation.scores import format_table
  print(format_table(result))
  print(_wall_time_line(result, time.monotonic() - started))
  if FLAGS.json:
    with open(FLAGS.json, 'w') as f:
      f.write(json.dumps(result, indent=2) + '\n')
  return 0


def run() -> None:
  """The command's entry point (common/cli.py): exit 2 for usage errors, 1 for what cannot be judged."""
  from common import cli
  from training.generator_io import RunDirError  # no TensorFlow at import
  _define_flags()
  # The first matching type wins: InceptionWeightsError is an EvaluationError, but a usage error.
  cli.run(main, errors={InceptionWeightsError: 2, JudgeError: 2, EvaluationError: 1, metrics.MetricsError: 1,
                        RunDirError: 1})


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  run()
