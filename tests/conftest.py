"""Fixtures shared by the test files. Tiny models and few steps: the whole suite runs on 2 CPU cores."""

import os
import pathlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # before TensorFlow is imported by any test module
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')  # tests run on the CPU, also on a host with a GPU

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _find_shared_data() -> pathlib.Path:
  """$GAN_SHARED_DATA, else the nearest shared/data beside the checkout or one of its parents (../shared/data
  for the usual layout; a clone one folder deeper still finds it)."""
  if os.environ.get('GAN_SHARED_DATA'):
    return pathlib.Path(os.environ['GAN_SHARED_DATA'])
  for parent in REPO_ROOT.parents:
    if (parent / 'shared' / 'data' / 'mnist').is_dir():
      return parent / 'shared' / 'data'
  return REPO_ROOT.parent / 'shared' / 'data'


SHARED_DATA = _find_shared_data()


# The archives the data-dependent tests read, relative to the shared data folder. Tests never download them:
# a test that did would pass or fail with the network, and CI has none.
SHARED_ARCHIVES = tuple(f'{name}/{split}-{part}-idx{dims}-ubyte.gz' for name in ('mnist', 'fashion_mnist')
                        for split in ('train', 't10k') for part, dims in (('images', 3), ('labels', 1))) + (
                            'tinyshakespeare/input.txt',)


def missing_data_message(folder: pathlib.Path, missing) -> str:
  """What a data-dependent test says when the archives are absent: where it looked, what it lacks, how to fix it."""
  return (f'the shared data archives are missing from {folder}: {", ".join(missing)}. Tests never download data: '
          'put the original MNIST and Fashion-MNIST archives (train-images-idx3-ubyte.gz, '
          'train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz from '
          'yann.lecun.com/exdb/mnist and github.com/zalandoresearch/fashion-mnist) in mnist/ and fashion_mnist/ '
          'and Tiny Shakespeare as tinyshakespeare/input.txt, in ../shared/data beside the checkout or in the '
          'folder that $GAN_SHARED_DATA names (each folder\'s README.md there lists the sizes and checksums)')


@pytest.fixture(scope='session')
def shared_data() -> pathlib.Path:
  """../shared/data (or $GAN_SHARED_DATA): the original MNIST, Fashion-MNIST and Tiny Shakespeare files.

  Absent, the tests using it skip and say which files to put where; with $GAN_SHARED_DATA set they fail instead,
  since a folder named on purpose that lacks the files is a mistake to report, not a host without data."""
  missing = [name for name in SHARED_ARCHIVES if not (SHARED_DATA / name).is_file()]
  if missing:
    message = missing_data_message(SHARED_DATA, missing)
    if os.environ.get('GAN_SHARED_DATA'):
      pytest.fail(f'$GAN_SHARED_DATA={os.environ["GAN_SHARED_DATA"]}: {message}', pytrace=False)
    pytest.skip(message)
  return SHARED_DATA


def make_tiny_run_dir(path, loss='wgan_gp', dataset='digits', latent_dim=8, image_size=16, channels=1,
                      width=4, step=3, seed=0):
  """A run directory holding an untrained tiny generator, as training writes it (for export/serve tests)."""
  from benchmarks.bench_models import save_untrained_run
  return save_untrained_run(path, latent_dim, image_size, channels, width, loss=loss, dataset=dataset, step=step,
                            seed=seed)


def make_tiny_text_run_dir(path, text_path, seq_len=12, latent_dim=8, width=4, step=3, seed=0):
  """A run directory holding an untrained tiny resnet1d text generator over a small play written to text_path."""
  import pathlib
  import types
  import keras
  from training import generator_io
  from training.architectures import ARCHITECTURES
  lines = ['First Citizen:', 'Before we proceed any further, hear me speak.', 'All:', 'Speak, speak.'] * 5
  pathlib.Path(text_path).write_text('\n'.join(lines) + '\n', encoding='utf-8')
  config = types.SimpleNamespace(arch='resnet1d', latent_dim=latent_dim, seq_len=seq_len, max_vocab=128,
                                 text_unit='line', width=width, loss='wgan_gp', dataset=f'text:{text_path}')
  metadata = generator_io.generator_metadata(config, step)
  keras.utils.set_random_seed(seed)
  generator = ARCHITECTURES['resnet1d'].build_generator(latent_dim, seq_len, len(metadata['vocab']), width)
  generator_io.save(generator, metadata, str(path))
  return generator


@pytest.fixture
def tiny_run_dir(tmp_path):
  run_dir = tmp_path / 'run'
  make_tiny_run_dir(run_dir)
  return run_dir


def pytest_collection_modifyitems(items):
  """A test that reads a TFDS dataset prepares it from the archives first (MNIST: ~14 s on 2 cores, once per
  worker): such tests are slow, whatever their own marks say."""
  for item in items:
    if 'tfds_data_dir' in getattr(item, 'fixturenames', ()):
      item.add_marker(pytest.mark.slow)


@pytest.fixture(scope='session')
def tfds_data_dir(tmp_path_factory):
  """One TFDS data_dir per test session: each dataset is prepared from ../shared/data once, offline."""
  return str(tmp_path_factory.mktemp('tensorflow_datasets'))


def tiny_config(run_dir, **overrides):
  """A resolved TrainConfig small enough for a CPU test: 16x16 images, width 4, 3 steps."""
  from training.config import TrainConfig, resolve
  values = dict(dataset='digits', image_size=16, latent_dim=8, width=4, batch_size=16, steps=3,
                sample_every=2, ckpt_every=2, log_every=1, num_samples=4, strategy='one_device', run_dir=str(run_dir))
  values.update(overrides)
  return resolve(TrainConfig(**values))


@pytest.fixture(scope='session')
def serve_models_dir(tmp_path_factory):
  """The models dir the serving tests share (tests/serve_server.build_models_dir), built once per session."""
  from tests.serve_server import build_models_dir
  return build_models_dir(tmp_path_factory.mktemp('serve'))


@pytest.fixture(scope='session')
def serve_conditional_model(tmp_path_factory) -> pathlib.Path:
  """The folder of a class-conditional exported generator (tests/serve_server.build_conditional_model, COND),
  trained and exported once per session (~15 s); tests copy it into their models dirs."""
  from tests.serve_server import build_conditional_model
  return build_conditional_model(tmp_path_factory.mktemp('serve-conditional'))
