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

Under the tables a `reading:` paragraph reads them (evaluation/reading.py): the distance to the floor, collapse,
classes the samples lack, negative KIDs; each sentence only when the numbers make it true. An unconditional run
whose data classes are not the judge's gets a `warning:` line there too (evaluation/per_class.py).

Exit codes: 2 for a usage error (flags, an unknown dataset or one without a judge, FID without a readable
Inception file or with too few samples), 1 for a model or samples that cannot be judged (channel mismatch, too
few samples for the covariance, an unreadable model).
"""

import os
import time
import types

from common.artifacts import SAMPLE_SEED
from evaluation import metrics
from evaluation.fid import InceptionWeightsError
from evaluation.image_evaluate import FidSettings, evaluate, evaluate_source  # re-exported:
# the library API of this command (benchmarks and the trainer's tests call evaluation.evaluate.evaluate)
from evaluation.images import EvaluationError
from evaluation.judge import JudgeError

__all__ = ['FidSettings', 'evaluate', 'evaluate_source']


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
  flags.DEFINE_integer('seed', SAMPLE_SEED, 'Seed of the latents (common.latents): rows 0..N-1 are the samples.')
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
  flags.DEFINE_string('judges_dir', None, 'Directory of the judges (default: a run directory\'s own --judges_dir, '
                      'else evaluation/judges/ for digits, mnist and fashion_mnist and ./judges/ for folder:PATH).')
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
  from data import quiet_start
  quiet_start.load_tensorflow()  # without a CPU host's CUDA probe errors (common/gpu.py)
  import json
  from absl import flags, logging
  from common import cli
  from data import datasets
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
  from evaluation import kinds as evaluation_kinds, text_plugin
  kind = evaluation_kinds.of_source(given[0], FLAGS[given[0]].value)
  options = types.SimpleNamespace(dataset=FLAGS.dataset, num_samples=FLAGS.num_samples, seed=FLAGS.seed,
                                  data_dir=FLAGS.data_dir, manual_dir=FLAGS.manual_dir, judges_dir=FLAGS.judges_dir,
                                  copy_check=FLAGS.copy_check, fid=fid)
  try:
    result, table = kind.evaluate(given[0], FLAGS[given[0]].value, options)
  except (datasets.DatasetError, text_plugin.TextReferenceError) as e:  # an unknown or unreadable dataset; the
    raise cli.UsageError(str(e)) from None  # module imports TensorFlow, so the type is caught here, not in run()
  print(table)
  if 'seconds' in result:
    print(_wall_time_line(result, time.monotonic() - started))
  if FLAGS.json:
    with open(FLAGS.json, 'w') as f:
      f.write(json.dumps(result, indent=2) + '\n')
  return 0


def run() -> None:
  """The command's entry point (common/cli.py): exit 2 for usage errors, 1 for what cannot be judged."""
  from common import cli
  from common.artifacts import RunDirError
  _define_flags()
  # The first matching type wins: InceptionWeightsError is an EvaluationError, but a usage error.
  cli.run(main, errors={InceptionWeightsError: 2, JudgeError: 2, EvaluationError: 1, metrics.MetricsError: 1,
                        RunDirError: 1})


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  run()
