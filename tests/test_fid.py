"""The FID path end to end on MNIST with a random-weight InceptionV3 at 75 px (Keras' smallest input), its disk
cache, and its refusals before any Inception pass. The full 299 px path belongs to a benchmark: a random network
gives a finite, meaningless FID, which is all that the plumbing needs."""

import math
import os

import numpy as np
import pytest

from evaluation import evaluate, fid, sources
from evaluation.fid import FidSettings, InceptionWeightsError
from tests import warm
from tests.conftest import make_tiny_run_dir

SIZE = 75


@pytest.fixture(scope='module')
def inception_weights(tmp_path_factory):
  """Random InceptionV3 no-top weights under Keras' own file name. Keras 3's save_weights insists on a
  '.weights.h5' name; Model.save with a plain '.h5' name writes the legacy HDF5 layout, whose 'model_weights'
  group InceptionV3(weights=PATH) -> Model.load_weights reads back (keras.src.saving.saving_api.load_weights)."""
  import keras
  keras.utils.set_random_seed(0)
  model = keras.applications.InceptionV3(weights=None, include_top=False, pooling='avg',
                                         input_shape=(SIZE, SIZE, 3))
  path = tmp_path_factory.mktemp('inception') / fid.INCEPTION_FILE
  model.save(str(path))
  return str(path)


@pytest.mark.slow
def test_fid_runs_end_to_end_and_reuses_its_cache(tmp_path, inception_weights, shared_data, tfds_data_dir,
                                                  monkeypatch):
  make_tiny_run_dir(tmp_path / 'run', dataset='mnist', image_size=28, latent_dim=8, width=4)  # padded to 32
  settings = FidSettings(inception_weights, fid.MIN_SAMPLES, SIZE, str(tmp_path / 'cache'))
  source = sources.run_dir_source(str(tmp_path / 'run'))
  kwargs = dict(num_samples=fid.MIN_SAMPLES, data_dir=tfds_data_dir, manual_dir=str(shared_data / 'mnist'),
                copy_check=False, fid=settings)
  logged = []
  first = evaluate.evaluate_source(source, log=logged.append, **kwargs)
  assert f'FID: {3 * fid.MIN_SAMPLES:,} images through InceptionV3 at {SIZE} px' in logged[0]  # cost first
  assert math.isfinite(first['samples']['fid']) and math.isfinite(first['floor']['fid'])
  assert first['floor']['fid'] < first['samples']['fid']  # even random features tell real from untrained
  cached = sorted(os.listdir(tmp_path / 'cache'))
  sha = fid._weights_sha1(inception_weights)[:12]
  assert cached == [f'mnist-test-{fid.MIN_SAMPLES}-{sha}-{SIZE}.npy',
                    f'mnist-train_50000_-{fid.MIN_SAMPLES}-{sha}-{SIZE}.npy']
  assert np.load(tmp_path / 'cache' / cached[0]).shape == (fid.MIN_SAMPLES, 2048)
  assert 'not comparable to published FIDs' in first['fid_note']

  logged.clear()
  passed = []
  original = fid.inception_features
  monkeypatch.setattr(fid, 'inception_features',
                      lambda images, *rest: passed.append(len(images)) or original(images, *rest))
  second = evaluate.evaluate_source(source, log=logged.append, **kwargs)
  assert passed == [fid.MIN_SAMPLES] and 'cached: test, train[50000:]' in logged[0]  # only the samples
  assert second['samples']['fid'] == pytest.approx(first['samples']['fid'], rel=1e-4)
  assert second['floor']['fid'] == first['floor']['fid']


@pytest.mark.slow  # builds and saves an InceptionV3
def test_refusals_come_before_any_inception_pass(tmp_path, inception_weights, monkeypatch):
  def no_inception(*args):
    raise AssertionError('an Inception model was built before the refusal')
  monkeypatch.setattr(fid, '_inception', no_inception)
  not_hdf5 = tmp_path / 'inception.h5'
  not_hdf5.write_bytes(b'<html>not weights</html>')
  for path, message in [(None, 'never downloaded'), (tmp_path / 'missing.h5', 'no file at'),
                        (not_hdf5, 'not a Keras HDF5 weights file')]:
    with pytest.raises(InceptionWeightsError, match=message):
      fid.check_weights(path and str(path))
  with pytest.raises(InceptionWeightsError, match='needs at least 2,049 samples per set'):
    fid.check_settings(FidSettings(inception_weights, 2048, SIZE))
  with pytest.raises(InceptionWeightsError, match='--inception_size must be >= 75'):
    fid.check_settings(FidSettings(inception_weights, 2500, 64))
  make_tiny_run_dir(tmp_path / 'run')
  digits = sources.run_dir_source(str(tmp_path / 'run'))
  with pytest.raises(InceptionWeightsError, match="the reference split 'test' holds 360"):
    evaluate.evaluate_source(digits, fid=FidSettings(inception_weights, fid.MIN_SAMPLES, SIZE, str(tmp_path)))


def test_an_hdf5_file_of_other_weights_is_a_one_line_error(tmp_path):
  import h5py
  with h5py.File(tmp_path / 'other.h5', 'w') as f:
    f.create_dataset('x', data=np.zeros(3))
  with pytest.raises(InceptionWeightsError, match='cannot load InceptionV3 weights from'):
    fid._inception(str(tmp_path / 'other.h5'), SIZE)


def run_evaluate(*args):
  """`python -m evaluation.evaluate *args` (in a warm interpreter: tests/warm.py)."""
  return warm.run('evaluation.evaluate', *args)


@pytest.mark.parametrize('args, fragment', [
    (['--fid'], 'FID needs InceptionV3 weights, which are not shipped and never downloaded'),
    (['--inception_weights=/nonexistent/inception.h5'], '--inception_weights: no file at'),
    (['--inception_weights={weights}', '--fid_samples=100'], 'needs at least 2,049 samples per set'),
    (['--inception_weights={weights}', '--inception_size=299'], "the reference split 'test' holds 360"),
])
@pytest.mark.slow
def test_cli_refusals_are_one_line_usage_errors(tmp_path, inception_weights, args, fragment):
  make_tiny_run_dir(tmp_path / 'run')  # digits: 360 test images cannot give FID
  proc = run_evaluate(f'--run_dir={tmp_path / "run"}', *[a.format(weights=inception_weights) for a in args])
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
  assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  assert len(errors) == 1 and fragment in errors[0], proc.stderr[-2000:]


@pytest.mark.slow  # a subprocess
def test_help_says_this_fid_is_not_comparable_to_published_ones():
  proc = run_evaluate('--help')
  assert 'not comparable to published FIDs' in ' '.join(proc.stdout.split()), proc.stdout[-3000:]
  assert 'not comparable to published FIDs' in fid.__doc__ and 'not comparable to published FIDs' in evaluate.__doc__
