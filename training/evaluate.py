r"""Judges a trained generator offline: FCD, KID, classifier score and class coverage, beside their floor.

  python -m training.evaluate --run_dir=runs/wgan_gp-digits-20261123-101500
  python -m training.evaluate --model=models/digits-wgan-gp/model.onnx           # what is served is judged
  python -m training.evaluate --run_dir=... --manual_dir=../shared/data/fashion_mnist
  python -m training.evaluate --run_dir=... --fid --inception_weights=PATH/inception_v3_notop.h5

Losses do not say whether a GAN is any good (a critic at 0.5 is not convergence). These numbers do, on the
features of the dataset's judge (training/classifier.py, committed under training/judges/):

  fcd               Fréchet Classifier Distance of samples to real train images (lower is better)
  kid               Kernel (classifier) distance, unbiased: ≈ 0 when indistinguishable (lower is better)
  classifier_score  the Inception Score's formula on the judge (higher, up to the number of classes)
  classes_covered   classes reaching half their fair share of samples; fewer than all: mode collapse
  kl_to_uniform     KL of the predicted class histogram to uniform, in nats (0 is balanced)

Every number comes with its reference floor: the same metric between real train and real test images, at the
same sample count. A generator is as good as real data by a metric when it reaches the floor. FID (Inception
features) is computed only from a local weights file given with --inception_weights; nothing is downloaded.

What a judge accepts: images with its dataset's channel count, square. Another square size is resized to the
judge's (area averaging down, bilinear up): the size is a training choice (digits trained at 32x32 are still
digits), whereas another channel count is another kind of data and is refused. Exit codes: 2 for a usage error
(flags, an unknown dataset or one without a judge, FID without a readable Inception file), 1 for a model or
samples that cannot be judged (channel mismatch, too few samples for the covariance, an unreadable model).
"""

import dataclasses
import functools
import json
import os
import sys
from typing import Callable, Optional

import numpy as np

from training import metrics
from training.classifier import JudgeError

DEFAULT_NUM_SAMPLES = 2000  # the floor's FCD settles to a few percent by then; scoring takes seconds on a CPU
LATENT_SEED = 2024  # samples come from the same latents every time, so two evaluations differ by the model alone
INCEPTION_SIZE = 299
INCEPTION_FILE = 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5'  # Keras' no-top file name
BEST_DIR = 'best'
BEST_SCORES_FILE = 'scores.json'


class EvaluationError(ValueError):
  """Samples or a model that cannot be judged; the message is one line for the user."""


class InceptionWeightsError(EvaluationError):
  """FID was asked for without a usable local InceptionV3 file: a usage error (exit code 2), never a download."""


# --- Images -----------------------------------------------------------------------------------------------------

def to_judge_input(images, image_size: int, channels: int) -> np.ndarray:
  """(N, H, W, C) uint8 in [0, 255] or float in [-1, 1] -> float32 (N, S, S, C) in [-1, 1] at the judge's size.

  Other square sizes are resized (area averaging down, bilinear up), as the GAN may train at another size than
  the judge's; a channel mismatch means another kind of data and is refused.
  """
  images = np.asarray(images)
  if images.ndim != 4:
    raise EvaluationError(f'samples must be images of shape (N, H, W, C), got shape {images.shape}')
  n, height, width, c = images.shape
  if c != channels:
    raise EvaluationError(f'the judge reads {channels}-channel images, the samples have {c} channels '
                          f'(a model of another dataset?)')
  if height != width:
    raise EvaluationError(f'samples must be square, got {height}x{width}')
  if images.dtype == np.uint8:
    images = images.astype(np.float32) / 127.5 - 1.0
  elif np.issubdtype(images.dtype, np.floating):
    images = images.astype(np.float32)
    if n and (not np.all(np.isfinite(images)) or images.min() < -1.01 or images.max() > 1.01):
      raise EvaluationError(f'float samples must lie in [-1, 1] (tanh outputs), got values in '
                            f'[{np.nanmin(images):.3g}, {np.nanmax(images):.3g}]; pass uint8 for [0, 255]')
  else:
    raise EvaluationError(f'samples must be uint8 or float images, got dtype {images.dtype}')
  if height != image_size:
    images = _resize(images, image_size)
  return np.clip(images, -1.0, 1.0)


def _resize(images: np.ndarray, size: int, batch_size: int = 500) -> np.ndarray:
  import tensorflow as tf
  method = 'area' if size < images.shape[1] else 'bilinear'
  return np.concatenate([tf.image.resize(images[i:i + batch_size], [size, size], method=method).numpy()
                         for i in range(0, len(images), batch_size)])


# Real images are drawn from the first this-many images of a split: enough for any evaluation size, and 41 MB at
# 32x32 instead of the whole of a 60,000-image split.
_REAL_WINDOW = 10_000


@functools.lru_cache(maxsize=8)
def real_images(dataset: str, split: str, num_images: int, image_size: int, data_dir=None, manual_dir=None,
                seed: int = 0) -> np.ndarray:
  """`num_images` real images of a split (fewer if it is smaller), (N, S, S, C) float32 in [-1, 1].

  NumPy's generator seeded with `seed` picks them from the split's first max(_REAL_WINDOW, num_images) images,
  so every process gets the same ones (a tf.data shuffle would also depend on TensorFlow's global seed, which
  training sets). Cached in memory: a training run's evaluations all compare against the same images.
  """
  from training import datasets
  data, _ = datasets.load_images(dataset, image_size, split=split, data_dir=data_dir, manual_dir=manual_dir)
  batches = list(data.take(max(_REAL_WINDOW, num_images)).batch(1000).as_numpy_iterator())
  if not batches:
    raise EvaluationError(f'the {split} split of {dataset!r} holds no images')
  window = np.concatenate(batches)  # (W, S, S, C), the split's own order
  keep = np.random.default_rng(seed).choice(len(window), min(num_images, len(window)), replace=False)
  return window[np.sort(keep)]


# --- Scores -----------------------------------------------------------------------------------------------------

METRICS = ('fcd', 'kid', 'classifier_score', 'classes_covered', 'kl_to_uniform')


def scores_from_judge(features: np.ndarray, probs: np.ndarray, reference_features: np.ndarray,
                      num_classes: int) -> dict:
  """Every metric of samples (features (N, D), probabilities (N, K)) against real reference features."""
  # Subsets of half the samples (at most KID's usual 1,000): with subsets as large as the sets, all 100 would be
  # the same draw and the spread printed beside KID would always read 0.
  kid = metrics.kernel_distance(features, reference_features,
                                subset_size=max(2, min(1000, len(features) // 2, len(reference_features) // 2)))
  coverage = metrics.class_coverage(probs, num_classes)
  return {
      'fcd': metrics.frechet_distance(features, reference_features),
      'kid': kid.mean,
      'kid_std': kid.std,
      'classifier_score': metrics.classifier_score(probs),
      'classes_covered': coverage.classes_covered,
      'kl_to_uniform': coverage.kl_to_uniform,
  }


@dataclasses.dataclass(frozen=True)
class Reference:
  """The real side of every comparison, computed once per dataset and sample count."""
  judge: object  # training.classifier.Judge
  num_samples: int  # samples compared per side: min(requested, train split, test split)
  features: np.ndarray  # (N, D) judge features of real train images
  floor: dict  # the metrics of real test images against those train images


@functools.lru_cache(maxsize=4)
def reference(dataset: str, num_samples: int = DEFAULT_NUM_SAMPLES, data_dir=None, manual_dir=None,
              judges_dir=None) -> Reference:
  """Loads the judge and real images of `dataset`, and scores test against train: the floor. Cached."""
  from training import classifier
  judge = classifier.load_judge(dataset, judges_dir)
  train = real_images(dataset, 'train', num_samples, judge.image_size, data_dir, manual_dir)
  test = real_images(dataset, 'test', num_samples, judge.image_size, data_dir, manual_dir)
  n = min(len(train), len(test))
  train_features, _ = judge.predict(train[:n])
  test_features, test_probs = judge.predict(test[:n])
  floor = scores_from_judge(test_features, test_probs, train_features, judge.num_classes)
  return Reference(judge, n, train_features, floor)


# --- FID: only from a local Inception file ----------------------------------------------------------------------

def check_inception_weights(path: Optional[str]) -> str:
  """The refusal: FID needs Keras' InceptionV3 no-top weights as a local file; this project never downloads."""
  import h5py
  if not path:
    raise InceptionWeightsError(f'FID needs InceptionV3 weights, which are not shipped and never downloaded '
                                f'here: pass --inception_weights=PATH to a local {INCEPTION_FILE}')
  path = os.path.expanduser(path)
  if not os.path.isfile(path):
    raise InceptionWeightsError(f'--inception_weights: no file at {path}')
  if not h5py.is_hdf5(path):  # checked before the slow work; Keras' own error would come minutes later
    raise InceptionWeightsError(f'--inception_weights: {path} is not a Keras HDF5 weights file '
                                f'(expected {INCEPTION_FILE})')
  return path


@functools.lru_cache(maxsize=1)
def _inception(path: str):
  import keras
  try:
    # include_top=False, pooling='avg': the 2048 pool3 features of FID (Heusel et al. 2017).
    return keras.applications.InceptionV3(weights=path, include_top=False, pooling='avg',
                                          input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
  except (OSError, ValueError) as e:
    raise InceptionWeightsError(f'cannot load InceptionV3 weights from {path}: {str(e).splitlines()[0]}') from None


def inception_features(images: np.ndarray, weights_path: str, batch_size: int = 50) -> np.ndarray:
  """(N, S, S, C) in [-1, 1] -> (N, 2048) pool3 features: resized to 299 x 299, gray repeated to RGB.

  [-1, 1] is already InceptionV3's input range (keras.applications.inception_v3.preprocess_input).
  """
  import tensorflow as tf
  model = _inception(check_inception_weights(weights_path))
  features = []
  for start in range(0, len(images), batch_size):  # batches: 50 images at 299x299x3 are 54 MB
    x = tf.image.resize(images[start:start + batch_size], [INCEPTION_SIZE, INCEPTION_SIZE], method='bilinear')
    if x.shape[-1] == 1:
      x = tf.image.grayscale_to_rgb(x)
    features.append(model(tf.clip_by_value(x, -1.0, 1.0), training=False).numpy())
  return np.concatenate(features)


@functools.lru_cache(maxsize=2)
def _inception_reference(dataset, num_samples, image_size, data_dir, manual_dir, weights_path):
  train = real_images(dataset, 'train', num_samples, image_size, data_dir, manual_dir)
  test = real_images(dataset, 'test', num_samples, image_size, data_dir, manual_dir)
  train_features = inception_features(train[:num_samples], weights_path)
  return train_features, metrics.frechet_distance(inception_features(test[:num_samples], weights_path),
                                                   train_features)


# --- The library entry points -----------------------------------------------------------------------------------

def evaluate(samples, dataset: str, data_dir=None, manual_dir=None, judges_dir=None, fid: bool = False,
             inception_weights: Optional[str] = None, num_samples: Optional[int] = None) -> dict:
  """Scores `samples` ((N, H, W, C) uint8 or float in [-1, 1]) against `dataset` with its judge.

  The first min(N, num_samples, split sizes) samples are used, and as many real images on the floor side.
  Returns {'dataset', 'num_samples', 'samples': {metric: value}, 'floor': {metric: value}}; with fid=True
  (which needs `inception_weights`, a local file) both also hold 'fid'. Raises EvaluationError, JudgeError,
  metrics.MetricsError or datasets.DatasetError with a one-line message.
  """
  from training import classifier
  if fid:
    inception_weights = check_inception_weights(inception_weights)  # refuse before any slow work
  judge = classifier.load_judge(dataset, judges_dir)
  samples = np.asarray(samples)
  n = min(num_samples or len(samples), len(samples))
  need = metrics.min_samples_for_covariance(judge.feature_dim)
  if n < need:
    raise metrics.MetricsError(f'{n} samples are too few: FCD on the {judge.feature_dim}-dimensional judge '
                               f'features needs at least {need} (use --num_samples >= {need})')
  ref = reference(dataset, n, data_dir, manual_dir, judges_dir)
  images = to_judge_input(samples[:ref.num_samples], judge.image_size, judge.channels)
  features, probs = judge.predict(images)
  result = {'dataset': dataset, 'num_samples': len(images), 'num_classes': judge.num_classes,
            'samples': scores_from_judge(features, probs, ref.features, judge.num_classes),
            'floor': dict(ref.floor)}
  if fid:
    train_features, floor_fid = _inception_reference(dataset, len(images), judge.image_size, data_dir,
                                                     manual_dir, inception_weights)
    result['samples']['fid'] = metrics.frechet_distance(inception_features(images, inception_weights),
                                                        train_features)
    result['floor']['fid'] = floor_fid
  return result


class TrainingJudge:
  """What the trainer calls every --eval_every steps: scores a generator on fixed latents against the floor.

  Building it loads the judge and the real images and computes the floor (seconds); each `score` then
  generates `num_samples` images and takes ~1-3 s on a CPU at 1,000 samples.
  """

  def __init__(self, dataset: str, data_dir=None, manual_dir=None, channels: Optional[int] = None,
               num_samples: int = 1000, judges_dir=None):
    from training import classifier
    judge = classifier.load_judge(dataset, judges_dir)
    need = metrics.min_samples_for_covariance(judge.feature_dim)
    if num_samples < need:
      raise EvaluationError(f'{num_samples} samples per evaluation are too few: FCD on the {judge.feature_dim}-'
                            f'dimensional judge features needs at least {need}')
    if channels is not None and channels != judge.channels:
      raise EvaluationError(f'the {dataset} judge reads {judge.channels}-channel images, the generator makes '
                            f'{channels}-channel ones')
    self.reference = reference(dataset, num_samples, data_dir, manual_dir, judges_dir)  # the slow part
    self.dataset = dataset
    self.floor = dict(self.reference.floor)

  def score(self, samples) -> dict:
    """samples: a Keras generator (z -> images in [-1, 1]) or an array of images. Returns {metric: value}."""
    n = self.reference.num_samples
    if hasattr(samples, 'input_shape'):  # a Keras model: always the same latents
      generator = samples
      samples = generate(lambda z: generator(z, training=False).numpy(), generator.input_shape[-1], n)
    judge = self.reference.judge
    images = to_judge_input(np.asarray(samples)[:n], judge.image_size, judge.channels)
    features, probs = judge.predict(images)
    return scores_from_judge(features, probs, self.reference.features, judge.num_classes)


def make_judge(dataset: str, data_dir=None, manual_dir=None, channels=None, num_samples: int = 1000,
               judges_dir=None) -> TrainingJudge:
  """The trainer's hook: `make_judge(...).score(generator)` every --eval_every steps (see TrainingJudge).

  Generated images of another size than the judge's are resized; another channel count is refused here.
  """
  return TrainingJudge(dataset, data_dir, manual_dir, channels, num_samples, judges_dir)


def save_if_best(run_dir: str, step: int, scores: dict, generator, metadata: dict) -> bool:
  """Keeps the generator with the lowest FCD so far in <run_dir>/best/ (a run directory of its own: evaluate and
  export read it with --run_dir=<run_dir>/best). Returns whether this one was kept."""
  from training import generator_io
  best_dir = os.path.join(run_dir, BEST_DIR)
  scores_path = os.path.join(best_dir, BEST_SCORES_FILE)
  if os.path.isfile(scores_path):
    with open(scores_path) as f:
      if json.load(f)['fcd'] <= scores['fcd']:
        return False
  generator_io.save(generator, metadata, best_dir)
  with open(scores_path + '.tmp', 'w') as f:
    f.write(json.dumps({'step': int(step), **scores}, indent=2) + '\n')
  os.replace(scores_path + '.tmp', scores_path)  # after the weights: scores never describe weights not there
  return True


# --- Generators: a run directory or an exported ONNX model -------------------------------------------------------

def generate(generate_fn: Callable, latent_dim: int, num_samples: int, seed: int = LATENT_SEED,
             batch_size: int = 250) -> np.ndarray:
  """Samples (N, H, W, C) float32 from z ~ N(0, I) (the trainer's latent prior), fixed by `seed`."""
  z = np.random.default_rng(seed).standard_normal((num_samples, latent_dim)).astype(np.float32)
  return np.concatenate([np.asarray(generate_fn(z[i:i + batch_size]), np.float32)
                         for i in range(0, num_samples, batch_size)])


@dataclasses.dataclass(frozen=True)
class Source:
  """A generator to judge, whatever it is stored as."""
  description: str
  generate_fn: Callable  # (B, latent_dim) float32 -> (B, H, W, C) in [-1, 1]
  latent_dim: int
  image_size: int
  channels: int
  dataset: Optional[str]  # what it was trained on, from its metadata
  data_dir: Optional[str] = None
  manual_dir: Optional[str] = None


def run_dir_source(run_dir: str) -> Source:
  """The TF generator of a run directory (training.generator_io), with the data paths of its config.json."""
  from training import generator_io, run_dir as rundir
  generator, metadata = generator_io.load(run_dir)
  data_dir = manual_dir = None
  # <run_dir>/best holds a generator only; its run's config.json is one level up.
  for directory in (run_dir, os.path.dirname(os.path.normpath(run_dir))):
    try:
      config = json.loads(rundir.read_config_text(directory))
    except (generator_io.RunDirError, ValueError):
      continue
    data_dir, manual_dir = config.get('data_dir'), config.get('manual_dir')
    break
  return Source(f'{run_dir} (step {metadata["step"]}, {metadata["loss"]})',
                lambda z: generator(z, training=False).numpy(), metadata['latent_dim'], metadata['image_height'],
                metadata['channels'], metadata['dataset'], data_dir, manual_dir)


def onnx_source(model_path: str) -> Source:
  """An exported ONNX generator on ONNX Runtime's CPU provider: input z (B, latent), output images NHWC.

  Reads the metadata_props that export writes: dataset, image_height, channels, latent_dim.
  """
  import onnxruntime as ort
  if not os.path.isfile(model_path):
    raise EvaluationError(f'--model: no file at {model_path}')
  try:
    session = ort.InferenceSession(model_path, providers=['CPUExecutionProvider'])
  except Exception as e:  # ORT raises its own untyped errors (InvalidProtobuf, Fail, ...)
    raise EvaluationError(f'cannot load ONNX model {model_path}: {str(e).splitlines()[0]}') from None
  props = session.get_modelmeta().custom_metadata_map
  z_input, images_output = session.get_inputs()[0], session.get_outputs()[0]
  try:
    latent_dim = int(props.get('latent_dim') or z_input.shape[-1])
    image_size = int(props.get('image_height') or images_output.shape[1])
    channels = int(props.get('channels') or images_output.shape[-1])
  except (TypeError, ValueError):
    raise EvaluationError(f'{model_path} does not say its latent size and image shape (metadata_props '
                          f'latent_dim, image_height, channels)') from None
  z_dtype = np.float16 if z_input.type == 'tensor(float16)' else np.float32

  def generate_fn(z):
    images = session.run([images_output.name], {z_input.name: z.astype(z_dtype)})[0]
    if images.ndim != 4 or images.shape[1:] != (image_size, image_size, channels):
      raise EvaluationError(f'{model_path} outputs images of shape {images.shape[1:]}, its metadata says '
                            f'{(image_size, image_size, channels)} (NHWC)')
    return images.astype(np.float32)

  return Source(model_path, generate_fn, latent_dim, image_size, channels, props.get('dataset'))


def evaluate_source(source: Source, dataset: Optional[str] = None, num_samples: int = DEFAULT_NUM_SAMPLES,
                    data_dir=None, manual_dir=None, judges_dir=None, fid: bool = False,
                    inception_weights: Optional[str] = None, seed: int = LATENT_SEED) -> dict:
  """Generates `num_samples` images from `source` and evaluates them (see `evaluate`)."""
  from training import classifier
  dataset = dataset or source.dataset
  if not dataset:
    raise EvaluationError(f'{source.description} does not say which dataset it was trained on; pass --dataset')
  if fid:
    check_inception_weights(inception_weights)
  judge = classifier.load_judge(dataset, judges_dir)
  if source.channels != judge.channels:
    raise EvaluationError(f'the {dataset} judge reads {judge.channels}-channel images, {source.description} '
                          f'makes {source.channels}-channel ones')
  samples = generate(source.generate_fn, source.latent_dim, num_samples, seed)
  result = evaluate(samples, dataset, data_dir or source.data_dir, manual_dir or source.manual_dir, judges_dir,
                    fid, inception_weights, num_samples)
  result['source'] = source.description
  return result


def format_table(result: dict) -> str:
  """metric | samples | floor, for the terminal."""
  names = [m for m in METRICS + ('fid',) if m in result['samples']]
  rows = [('metric', 'samples', 'floor (train vs test)')]
  for name in names:
    value, floor = result['samples'][name], result['floor'][name]
    if name == 'kid':
      rows.append((name, f'{value:.4f} ± {result["samples"]["kid_std"]:.4f}',
                   f'{floor:.4f} ± {result["floor"]["kid_std"]:.4f}'))
    elif name == 'classes_covered':
      rows.append((name, f'{value}/{result["num_classes"]}', f'{floor}/{result["num_classes"]}'))
    else:
      rows.append((name, f'{value:.4f}', f'{floor:.4f}'))
  widths = [max(len(r[i]) for r in rows) for i in range(3)]
  lines = [' | '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
  lines.insert(1, '-+-'.join('-' * w for w in widths))
  return '\n'.join(lines)


# --- Entry point ------------------------------------------------------------------------------------------------
# Flags are defined only when this file runs as a program, so that the trainer can import the library.

def _define_flags():
  from absl import flags
  flags.DEFINE_string('run_dir', None, 'Run directory whose generator/ to judge (or <run_dir>/best).')
  flags.DEFINE_string('model', None, 'Exported ONNX generator to judge (models/<name>/model.onnx).')
  flags.DEFINE_string('dataset', None, 'Judge against this dataset (default: the one the model was trained on).')
  flags.DEFINE_string('data_dir', None, 'TFDS data directory (default: the run\'s, else ~/tensorflow_datasets).')
  flags.DEFINE_string('manual_dir', None, 'Original archives of a TFDS dataset, read offline (default: the run\'s).')
  flags.DEFINE_integer('num_samples', DEFAULT_NUM_SAMPLES, 'Samples generated, and real images per side of the floor; at most the test '
                       'split\'s size (digits: 360).')
  flags.DEFINE_integer('seed', LATENT_SEED, 'Seed of the latents.')
  flags.DEFINE_bool('fid', False, 'Also compute FID; needs --inception_weights (nothing is downloaded).')
  flags.DEFINE_string('inception_weights', None, f'Local Keras InceptionV3 no-top weights ({INCEPTION_FILE}); '
                      'implies --fid. Slow on a CPU: ~5.7 GFLOP per image.')
  flags.DEFINE_string('judges_dir', None, 'Directory of the judges (default: training/judges).')
  flags.DEFINE_string('json', None, 'Also write the result as JSON to this file.')


class UsageError(Exception):
  pass


def main(argv):
  from absl import flags, logging
  from training import datasets, generator_io
  FLAGS = flags.FLAGS
  logging.set_verbosity(logging.WARNING)
  try:
    if len(argv) > 1:
      raise UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
    if bool(FLAGS.run_dir) == bool(FLAGS.model):
      raise UsageError('pass exactly one of --run_dir (a TF generator) and --model (an ONNX file)')
    if FLAGS.num_samples < 2:
      raise UsageError(f'--num_samples must be >= 2, got {FLAGS.num_samples}')
    fid = FLAGS.fid or bool(FLAGS.inception_weights)
    if fid:
      check_inception_weights(FLAGS.inception_weights)
    if FLAGS.dataset:
      from training import classifier
      classifier.judge_spec(FLAGS.dataset)
  except (UsageError, InceptionWeightsError, JudgeError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  try:
    source = run_dir_source(FLAGS.run_dir) if FLAGS.run_dir else onnx_source(FLAGS.model)
    result = evaluate_source(source, FLAGS.dataset, FLAGS.num_samples, FLAGS.data_dir, FLAGS.manual_dir,
                             FLAGS.judges_dir, fid, FLAGS.inception_weights, FLAGS.seed)
  except (JudgeError, InceptionWeightsError, datasets.DatasetError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  except (EvaluationError, metrics.MetricsError, generator_io.RunDirError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  print(f'{result["source"]}: {result["num_samples"]} samples judged on {result["dataset"]}')
  print(format_table(result))
  if FLAGS.json:
    with open(FLAGS.json, 'w') as f:
      f.write(json.dumps(result, indent=2) + '\n')
  return 0


def _parse_flags(argv):
  from absl import flags
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  from absl import app
  _define_flags()
  app.run(main, flags_parser=_parse_flags)
