"""training/evaluate.py on the digits judge: the metrics mean something on real images, a run directory and its
exported ONNX model are judged alike, --eval_every keeps the best generator, and every bad input is one line."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT, make_tiny_run_dir, tiny_config
from training import evaluate, metrics
from training.classifier import JudgeError

N = 200  # digits samples per evaluation: above the 129 that FCD on 128 features needs, and fast


def run_evaluate(*args, timeout=300):
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': '', 'PYTHONPATH': str(REPO_ROOT)}
  return subprocess.run([sys.executable, '-m', 'training.evaluate', *args], cwd=REPO_ROOT, env=env,
                        capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc, code, fragment):
  assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
  assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
  assert len(errors) == 1 and fragment in errors[0], proc.stderr[-2000:]


@pytest.fixture(scope='module')
def held_out_digits():
  """Real digits train images that the reference (N train images) does not hold: as good as real data gets."""
  reference = {image.tobytes() for image in evaluate.real_images('digits', 'train', N, 16)}
  every = evaluate.real_images('digits', 'train', 10_000, 16)  # the whole split, 1,437 images
  held_out = np.stack([image for image in every if image.tobytes() not in reference])
  assert len(held_out) == len(every) - N
  return held_out[:N]


# --- The metrics mean something -----------------------------------------------------------------------------------

def test_real_images_score_near_the_floor_and_noise_far_worse(held_out_digits):
  rng = np.random.default_rng(0)
  noisy = lambda sigma: np.clip(held_out_digits + sigma * rng.standard_normal(held_out_digits.shape), -1, 1)
  candidates = [held_out_digits, noisy(0.3), noisy(0.6), rng.uniform(-1, 1, held_out_digits.shape)]
  results = [evaluate.evaluate(images.astype(np.float32), 'digits', num_samples=N) for images in candidates]
  real, floor = results[0]['samples'], results[0]['floor']
  assert all(r['num_samples'] == N and r['floor'] == floor for r in results)
  # Real images: at the floor (FCD at N = 200 is biased upwards and noisy, hence a factor, not an equality).
  assert real['fcd'] < 2 * floor['fcd'] and abs(real['kid']) < 1 + abs(floor['kid'])
  assert real['classes_covered'] == floor['classes_covered'] == 10 and real['classifier_score'] > 9
  # More noise, worse on every metric; pure noise is over ten floors away and reaches few classes.
  for name in ('fcd', 'kid', 'kl_to_uniform'):
    values = [r['samples'][name] for r in results]
    assert values == sorted(values), (name, values)
  assert [r['samples']['classifier_score'] for r in results] == sorted(
      (r['samples']['classifier_score'] for r in results), reverse=True)
  noise = results[-1]['samples']
  assert noise['fcd'] > 10 * floor['fcd'] and noise['classes_covered'] < 10


def test_uint8_and_float_samples_score_alike(held_out_digits):
  as_uint8 = np.round((held_out_digits + 1) * 127.5).astype(np.uint8)
  from_float = evaluate.evaluate(held_out_digits, 'digits', num_samples=N)['samples']
  from_uint8 = evaluate.evaluate(as_uint8, 'digits', num_samples=N)['samples']
  assert from_uint8['fcd'] == pytest.approx(from_float['fcd'], rel=0.05, abs=0.5)


# --- A run directory and its ONNX export ------------------------------------------------------------------------

def test_a_run_dir_and_its_onnx_export_are_judged_alike(tmp_path):
  from export.model_folder import export_model
  make_tiny_run_dir(tmp_path / 'run')
  folder = export_model(str(tmp_path / 'run'), models_dir=str(tmp_path / 'models'), name='m', log=lambda *_: None)
  from_tf = evaluate.evaluate_source(evaluate.run_dir_source(str(tmp_path / 'run')), num_samples=N)
  from_onnx = evaluate.evaluate_source(evaluate.onnx_source(os.path.join(folder, 'model.onnx')), num_samples=N)
  assert from_tf['dataset'] == from_onnx['dataset'] == 'digits'  # read from the run's and the model's metadata
  assert from_tf['floor'] == from_onnx['floor']
  for name in evaluate.METRICS:  # same latents, same weights: the same images up to float rounding
    assert from_onnx['samples'][name] == pytest.approx(from_tf['samples'][name], rel=1e-3, abs=1e-4), name
  # An untrained generator is far from real digits.
  assert from_tf['samples']['fcd'] > 10 * from_tf['floor']['fcd']


def test_cli_judges_a_run_dir(tmp_path):
  make_tiny_run_dir(tmp_path / 'run')
  proc = run_evaluate(f'--run_dir={tmp_path / "run"}', f'--num_samples={N}', f'--json={tmp_path / "r.json"}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert f'{N} samples judged on digits' in proc.stdout and 'floor (train vs test)' in proc.stdout
  result = json.loads((tmp_path / 'r.json').read_text())
  assert set(evaluate.METRICS) <= set(result['samples']) and result['floor']['classes_covered'] == 10


# --- Refusals and bad input -------------------------------------------------------------------------------------

def test_fid_is_refused_without_a_usable_local_inception_file(tmp_path):
  samples = np.zeros((N, 16, 16, 1), np.float32)
  not_hdf5 = tmp_path / 'inception.h5'
  not_hdf5.write_bytes(b'<html>not weights</html>')
  for path, message in [(None, 'never downloaded'), (tmp_path / 'missing.h5', 'no file at'),
                        (not_hdf5, 'not a Keras HDF5 weights file')]:
    with pytest.raises(evaluate.InceptionWeightsError, match=message):
      evaluate.evaluate(samples, 'digits', fid=True, inception_weights=path and str(path))


@pytest.mark.parametrize('args, channels, code, fragment', [
    (['--fid'], 1, 2, 'FID needs InceptionV3 weights, which are not shipped and never downloaded'),
    (['--inception_weights=/nonexistent/inception.h5'], 1, 2, '--inception_weights: no file at'),
    (['--inception_weights={bad}'], 1, 2, 'is not a Keras HDF5 weights file'),
    (['--dataset=cifar10'], 1, 2, "no judge for dataset 'cifar10'"),
    (['--num_samples=50'], 1, 1, '50 samples are too few: FCD on the 128-dimensional judge features needs'),
    ([], 3, 1, 'the digits judge reads 1-channel images'),  # a generator of colour images
])
def test_cli_bad_input_is_one_line(tmp_path, args, channels, code, fragment):
  make_tiny_run_dir(tmp_path / 'run', channels=channels)
  (tmp_path / 'bad.h5').write_bytes(b'not hdf5')
  args = [a.format(bad=tmp_path / 'bad.h5') for a in args]
  assert_one_line_error(run_evaluate(f'--run_dir={tmp_path / "run"}', *args), code, fragment)


def test_library_bad_input():
  images = np.zeros((N, 16, 16, 1), np.float32)
  with pytest.raises(JudgeError, match="no judge for dataset 'celeb_a'"):
    evaluate.evaluate(images, 'celeb_a')
  with pytest.raises(metrics.MetricsError, match='100 samples are too few'):
    evaluate.evaluate(images[:100], 'digits')
  with pytest.raises(evaluate.EvaluationError, match='the judge reads 1-channel images, the samples have 3'):
    evaluate.evaluate(np.zeros((N, 16, 16, 3), np.float32), 'digits')
  with pytest.raises(evaluate.EvaluationError, match='must be square'):
    evaluate.evaluate(np.zeros((N, 16, 12, 1), np.float32), 'digits')
  with pytest.raises(evaluate.EvaluationError, match=r'must lie in \[-1, 1\]'):
    evaluate.evaluate(images + 5, 'digits')


def test_other_square_sizes_are_resized_to_the_judge(held_out_digits):
  import tensorflow as tf
  at_32 = tf.image.resize(held_out_digits, [32, 32], 'bilinear').numpy()
  result = evaluate.evaluate(at_32, 'digits', num_samples=N)
  assert result['samples']['fcd'] < 3 * result['floor']['fcd'] and result['samples']['classes_covered'] == 10


# --- --eval_every in training -----------------------------------------------------------------------------------

def test_eval_every_logs_scores_and_keeps_the_best_generator(tmp_path):
  from training import generator_io, trainer
  config = tiny_config(tmp_path / 'run', steps=3, eval_every=2, eval_samples=N)
  run_dir = trainer.train(config, log=lambda *_: None)
  with open(os.path.join(run_dir, 'eval.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [int(r['step']) for r in rows] == [2, 3]  # every 2 steps, and the last one
  assert all(set(evaluate.METRICS) <= set(r) for r in rows)
  scores = json.loads((tmp_path / 'run' / 'best' / 'scores.json').read_text())
  assert scores['fcd'] == pytest.approx(min(float(r['fcd']) for r in rows), rel=1e-5)
  generator, metadata = generator_io.load(os.path.join(run_dir, 'best'))
  assert metadata['step'] == scores['step']
  # The best generator is judged as any run directory is, to the same score.
  again = evaluate.make_judge('digits', num_samples=N).score(generator)
  assert again['fcd'] == pytest.approx(scores['fcd'], rel=1e-4)


def test_eval_every_refuses_too_few_samples_before_training(tmp_path):
  from training import trainer
  from training.config import ConfigError
  with pytest.raises(ConfigError, match='--eval_every: 50 samples per evaluation are too few'):
    trainer.train(tiny_config(tmp_path / 'run', eval_every=1, eval_samples=50), log=lambda *_: None)
  assert not (tmp_path / 'run').exists()
