"""evaluation/ on the digits judge (and MNIST where the proof needs its size): held-out references and a floor
whose KID is ≈ 0, the geometry rule, the three sources judged alike, the copy check, the trainer's plug-in, and
every bad input as one line. FID has its own file (tests/test_fid.py)."""

import ast
import csv
import json
import os
import pathlib
import re

import numpy as np
import pytest

from common.latents import latents
from evaluation import evaluate, images, metrics, plugin, references, sources
from evaluation.images import EvaluationError
from evaluation.judge import JUDGES, JudgeError, load_judge
from tests import warm
from tests.conftest import REPO_ROOT, make_tiny_run_dir, tiny_config

N = 180  # digits samples per evaluation: above the 129 that FCD on 128 features needs; half the floor split


def run_evaluate(*args, timeout=300):
  """`python -m evaluation.evaluate *args` (in a warm interpreter: tests/warm.py)."""
  return warm.run('evaluation.evaluate', *args, timeout=timeout)


def assert_one_line_error(proc, code, fragment):
  assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
  assert 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
  assert len(errors) == 1 and fragment in errors[0], proc.stderr[-2000:]


def digits_split(split):
  return references.split_images('digits', split, 16)


@pytest.fixture(scope='module')
def held_out_digits():
  """N real digits the judge never saw and the floor at N does not hold: as good as real data gets."""
  floor_split = digits_split(JUDGES['digits'].floor_split)  # (360, 16, 16, 1)
  in_floor = set(references.subset_indices(len(floor_split), N))
  return floor_split[[i for i in range(len(floor_split)) if i not in in_floor]][:N]


# --- Held-out references: the floor is real data the judge never saw, and its KID is ≈ 0 -------------------------

def test_reference_and_floor_are_disjoint_from_the_judges_training_images():
  spec = JUDGES['digits']
  as_bytes = lambda array: {image.tobytes() for image in array}
  judged = as_bytes(digits_split(spec.judge_split))
  floor = digits_split(spec.floor_split)
  floor_at_n = as_bytes(floor[references.subset_indices(len(floor), N)])
  reference = as_bytes(digits_split(spec.reference_split))
  assert len(judged) == 1077 and len(reference) == 360 and len(floor_at_n) == N
  assert not judged & floor_at_n and not judged & reference and not floor_at_n & reference
  assert load_judge('digits').record['trained_on']['split'] == spec.judge_split
  for name, s in JUDGES.items():  # every judge: a slice of train, the floor the rest of it, the reference test
    assert s.judge_split.startswith('train[:') and s.floor_split == f'train[{s.judge_split[7:-1]}:]', name
    assert s.reference_split == 'test', name


def test_kid_floor_of_two_disjoint_real_digits_sets_is_zero_within_two_standard_errors():
  ref = references.resolve('digits', 360)
  assert ref.num_samples == 360 and len(ref.features) == 360  # N defaults to the whole reference
  assert abs(ref.floor['kid']) < 2 * ref.floor['kid_stderr'], (ref.floor['kid'], ref.floor['kid_stderr'])
  assert ref.floor['classes_covered'] == 10 and ref.floor['precision'] > 0.7 and ref.floor['recall'] > 0.7


@pytest.mark.slow
def test_kid_floor_on_mnist_is_zero_within_two_standard_errors(shared_data, tfds_data_dir):
  """The real proof: 2,000 MNIST images the judge never trained on, against all 10,000 test images."""
  ref = references.resolve('mnist', 2000, data_dir=tfds_data_dir, manual_dir=str(shared_data / 'mnist'),
                           copy_check=False)
  assert len(ref.features) == 10_000 and ref.num_samples == 2000
  assert abs(ref.floor['kid']) < 2 * ref.floor['kid_stderr'], (ref.floor['kid'], ref.floor['kid_stderr'])
  assert ref.floor['fcd'] < 2.0 and ref.floor['precision'] > 0.8 and ref.floor['recall'] > 0.8


def test_real_images_score_at_the_floor_and_noise_far_worse(held_out_digits):
  rng = np.random.default_rng(0)
  noisy = lambda sigma: np.clip(held_out_digits + sigma * rng.standard_normal(held_out_digits.shape), -1, 1)
  candidates = [held_out_digits, noisy(0.3), noisy(0.6), rng.uniform(-1, 1, held_out_digits.shape)]
  results = [evaluate.evaluate(x.astype(np.float32), 'digits', num_samples=N) for x in candidates]
  real, floor = results[0]['samples'], results[0]['floor']
  assert all(r['num_samples'] == N and r['floor'] == floor for r in results)
  assert real['fcd'] < 2 * floor['fcd'] and abs(real['kid']) < 2 * real['kid_stderr'] + abs(floor['kid'])
  assert real['classes_covered'] == 10 and real['classifier_score'] > 9
  for name in ('fcd', 'kid', 'kl_to_uniform'):  # more noise, worse on every metric
    values = [r['samples'][name] for r in results]
    assert values == sorted(values), (name, values)
  noise = results[-1]['samples']
  assert noise['fcd'] > 10 * floor['fcd'] and noise['classes_covered'] < 10


def test_uint8_and_float_samples_score_alike(held_out_digits):
  as_uint8 = np.round((held_out_digits + 1) * 127.5).astype(np.uint8)
  from_float = evaluate.evaluate(held_out_digits, 'digits', num_samples=N)['samples']
  from_uint8 = evaluate.evaluate(as_uint8, 'digits', num_samples=N)['samples']
  assert from_uint8['fcd'] == pytest.approx(from_float['fcd'], rel=0.05, abs=0.5)


# --- The copy check ----------------------------------------------------------------------------------------------

def test_copy_check_flags_a_generator_that_returns_training_images_and_not_held_out_ones():
  training = digits_split(JUDGES['digits'].gan_split)[:N]  # what the GAN trained on
  unseen = digits_split(JUDGES['digits'].reference_split)[N:2 * N]  # test images the held-out side does not hold
  copied = evaluate.evaluate(training, 'digits', num_samples=N)['samples']
  new = evaluate.evaluate(unseen, 'digits', num_samples=N)['samples']
  assert copied['copy_ratio'] < 0.1 and copied['near_copies'] > 0.9, copied
  assert 0.7 < new['copy_ratio'] < 1.4 and new['near_copies'] < 0.1, new
  assert copied['copy_queries'] == new['copy_queries'] == N


# --- Geometry: 28x28 is padded as the data was, other sizes resized, other channel counts refused ---------------

def test_28x28_samples_are_padded_by_background_not_resized():
  rng = np.random.default_rng(0)
  samples = rng.uniform(-1, 1, (5, 28, 28, 1)).astype(np.float32)
  by_hand = np.pad(samples, [(0, 0), (2, 2), (2, 2), (0, 0)], constant_values=-1.0)
  np.testing.assert_array_equal(images.to_judge_input(samples, 32, 1), by_hand)
  assert not np.allclose(images.to_judge_input(samples, 32, 1), images.resize(samples, 32), atol=0.05)
  # A 16x16 judge: padded to 32 first (as the data pipeline does), then area-averaged.
  np.testing.assert_allclose(images.to_judge_input(samples, 16, 1), images.resize(by_hand, 16), atol=1e-6)
  assert 'padded by 2 px' in images.geometry_rule(28, 32) and 'resized to' not in images.geometry_rule(28, 32)
  assert 'resized to 16x16 (area' in images.geometry_rule(32, 16)
  assert 'bilinear' in images.geometry_rule(8, 16)


def test_other_square_sizes_are_resized_to_the_judge(held_out_digits):
  at_32 = images.resize(held_out_digits, 32)
  result = evaluate.evaluate(at_32, 'digits', num_samples=N)
  assert result['samples']['fcd'] < 3 * result['floor']['fcd'] and result['samples']['classes_covered'] == 10
  assert 'resized to 16x16 (area averaging)' in result['geometry']


# --- Sources: a run directory, its ONNX model and its SavedModel are judged alike -------------------------------

@pytest.mark.slow
def test_run_dir_onnx_and_saved_model_are_judged_alike(tmp_path):
  from export.model_folder import export_model
  make_tiny_run_dir(tmp_path / 'run')
  folder = export_model(str(tmp_path / 'run'), models_dir=str(tmp_path / 'models'), name='m',
                        formats=('onnx', 'savedmodel'), log=lambda *_: None)
  results = [evaluate.evaluate_source(source, num_samples=N) for source in (
      sources.run_dir_source(str(tmp_path / 'run')), sources.onnx_source(os.path.join(folder, 'model.onnx')),
      sources.saved_model_source(folder), sources.saved_model_source(os.path.join(folder, 'saved_model', '1')))]
  from_tf = results[0]
  for other in results[1:]:
    assert other['dataset'] == 'digits' and other['floor'] == from_tf['floor']  # from each one's metadata
    for name in ('fcd', 'kid', 'precision', 'recall', 'classifier_score', 'copy_ratio'):
      assert other['samples'][name] == pytest.approx(from_tf['samples'][name], rel=1e-3, abs=1e-4), name
  assert from_tf['samples']['fcd'] > 10 * from_tf['floor']['fcd']  # an untrained generator is far off


def test_latents_come_from_common_latents(tiny_run_dir):
  from training import generator_io
  source = sources.run_dir_source(str(tiny_run_dir))
  generator, _ = generator_io.load(str(tiny_run_dir))
  expected = generator(latents(7, 300, source.latent_dim), training=False).numpy()
  np.testing.assert_allclose(sources.generate(source, 300, seed=7), expected, atol=1e-5)


@pytest.mark.slow
def test_cli_judges_a_run_dir(tmp_path):
  make_tiny_run_dir(tmp_path / 'run')
  proc = run_evaluate(f'--run_dir={tmp_path / "run"}', f'--json={tmp_path / "r.json"}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  out = proc.stdout
  assert 'N = 360 samples (latent seed 2024) judged on digits' in out  # the default: the whole reference
  assert 'reference: all 360 digits test images; floor: 360 train[1077:] images' in out
  assert 'geometry: 16x16 samples fed as they are' in out and 'wall time: ' in out.splitlines()[-1]
  result = json.loads((tmp_path / 'r.json').read_text())
  assert {'fcd', 'kid', 'kid_stderr', 'precision', 'recall', 'copy_ratio'} <= set(result['floor'])
  # The reading under the table (evaluation/reading.py): an untrained generator draws one blob for every latent,
  # which the judge reads as one class and finds inside the real manifold: precision 1, recall 0.
  paragraph = ' '.join(out[out.index('reading: '):].splitlines()[:-1])  # up to the wall-time line
  assert paragraph.startswith('reading: FCD is ') and 'mode collapse' in paragraph
  assert 'the generator rarely makes these 9 of 10 classes' in paragraph and 'warning: ' not in out
  assert result['reading'] and all(sentence in paragraph for sentence in result['reading'])  # --json keeps them


# --- Refusals and bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize('args, channels, code, fragment', [
    (['--dataset=cifar10'], 1, 2, "no judge for dataset 'cifar10'"),
    (['--num_samples=50'], 1, 1, '50 samples are too few: FCD on the 128-dimensional judge features needs'),
    ([], 3, 1, 'the digits judge reads 1-channel images'),  # a generator of colour images
    (['--model={bad_onnx}'], 1, 2, 'pass exactly one of --run_dir'),  # two sources
])
@pytest.mark.slow
def test_cli_bad_input_is_one_line(tmp_path, args, channels, code, fragment):
  make_tiny_run_dir(tmp_path / 'run', channels=channels)
  args = [a.format(bad_onnx=tmp_path / 'bad.onnx') for a in args]
  assert_one_line_error(run_evaluate(f'--run_dir={tmp_path / "run"}', *args), code, fragment)


@pytest.mark.slow
def test_cli_bad_models_are_one_line(tmp_path):
  (tmp_path / 'bad.onnx').write_bytes(b'not an onnx model')
  assert_one_line_error(run_evaluate(f'--model={tmp_path / "bad.onnx"}'), 1, 'cannot load ONNX model')
  assert_one_line_error(run_evaluate(f'--saved_model={tmp_path}'), 1, 'no SavedModel (saved_model.pb)')
  assert_one_line_error(run_evaluate(), 2, 'pass exactly one of')
  # A path that is not there is a usage error (2); a file that is there but unreadable is not (1, above).
  assert_one_line_error(run_evaluate(f'--model={tmp_path / "missing.onnx"}'), 2, '--model: no such file or directory')
  assert_one_line_error(run_evaluate(f'--run_dir={tmp_path / "missing"}'), 2, '--run_dir: no such file or directory')


def test_library_bad_input():
  x = np.zeros((N, 16, 16, 1), np.float32)
  with pytest.raises(JudgeError, match="no judge for dataset 'celeb_a'"):
    evaluate.evaluate(x, 'celeb_a')
  with pytest.raises(metrics.MetricsError, match='100 samples are too few'):
    evaluate.evaluate(x[:100], 'digits')
  with pytest.raises(EvaluationError, match='the judge reads 1-channel images, the samples have 3'):
    evaluate.evaluate(np.zeros((N, 16, 16, 3), np.float32), 'digits')
  with pytest.raises(EvaluationError, match='must be square'):
    evaluate.evaluate(np.zeros((N, 16, 12, 1), np.float32), 'digits')
  with pytest.raises(EvaluationError, match=r'must lie in \[-1, 1\]'):
    evaluate.evaluate(x + 5, 'digits')


# --- The trainer's plug-in ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_plugin_logs_eval_csv_and_keeps_the_best_generator(tmp_path):
  import tensorflow as tf
  from training import generator_io, trainer
  config = tiny_config(tmp_path / 'run', steps=3, eval_every=2, eval_samples=N)
  evaluator = plugin.JudgeEvaluator('digits', config.run_dir, num_samples=N)
  logged = []
  run_dir = trainer.train(config, log=logged.append, evaluator=evaluator)
  with open(os.path.join(run_dir, 'eval.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [int(r['step']) for r in rows] == [2, 3]  # every 2 steps, and the last one
  # ... and one console line each: FCD against the floor, recall, the best so far
  lines = [line for line in logged if line.startswith('eval step ')]
  floor = evaluator.floor['fcd']
  fcd = [float(r['fcd']) for r in rows]
  assert lines[0].startswith(f'eval step 2: fcd {fcd[0]:.4g} ({fcd[0] / floor:.2f}x the floor {floor:.4g}), '
                             f'recall ') and lines[0].endswith('; new best')
  assert lines[1].startswith('eval step 3: fcd ') and len(lines) == 2
  assert lines[1].endswith('; new best' if fcd[1] < fcd[0] else f'; best fcd {fcd[0]:.4g} at step 2')
  assert all({'fcd', 'kid', 'precision', 'recall', 'copy_ratio'} <= set(r) for r in rows)
  scores = json.loads((tmp_path / 'run' / 'best' / 'scores.json').read_text())
  assert scores['fcd'] == pytest.approx(min(float(r['fcd']) for r in rows), rel=1e-5)
  assert scores['num_samples'] == N
  generator, metadata = generator_io.load(os.path.join(run_dir, 'best'))
  assert metadata['step'] == scores['step']
  # The best generator, judged by the CLI's library path at the same N, gets the same score.
  again = evaluate.evaluate_source(sources.run_dir_source(os.path.join(run_dir, 'best')), num_samples=N)
  assert again['samples']['fcd'] == pytest.approx(scores['fcd'], rel=1e-4)
  # The sample grid's latents are common.latents' rows of the run's seed.
  reader = tf.train.load_checkpoint(os.path.join(run_dir, 'checkpoints'))
  np.testing.assert_array_equal(reader.get_tensor('fixed_latents/.ATTRIBUTES/VARIABLE_VALUE'),
                                latents(config.seed, config.num_samples, config.latent_dim))


@pytest.mark.slow
def test_eval_every_refuses_bad_settings_before_the_run_directory_exists(tmp_path):
  from training import trainer
  from training.config import ConfigError
  with pytest.raises(EvaluationError, match='50 samples per evaluation are too few'):
    plugin.JudgeEvaluator('digits', str(tmp_path / 'run'), num_samples=50)
  with pytest.raises(ConfigError, match='--eval_every needs an evaluator'):
    trainer.train(tiny_config(tmp_path / 'run', eval_every=1), log=lambda *_: None)
  proc = warm.run('training.main', '--flagfile=training/presets/smoke.flags', '--eval_every=1', '--eval_samples=50',
                  f'--run_dir={tmp_path / "run"}')
  assert_one_line_error(proc, 2, '--eval_every: 50 samples per evaluation are too few')
  assert not (tmp_path / 'run').exists()


def test_trainer_imports_nothing_from_evaluation():
  for name in ('trainer.py', 'evaluator.py', 'steps.py', 'run_dir.py', 'config.py'):
    tree = ast.parse((REPO_ROOT / 'training' / name).read_text())
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [m for m in imported if m and m.split('.')[0] == 'evaluation'], (name, imported)
  # The CLI moved to evaluation/evaluate.py with no alias left behind: a caller of the old name fails only when
  # it runs, so the code, the Makefile and the presets are searched for it (the docs may tell its history).
  old_name = re.compile(r'\btraining[./]evaluate\b')
  this_file = pathlib.Path(__file__).resolve()  # its message names the old name
  callers = [str(path.relative_to(REPO_ROOT)) for pattern in ('**/*.py', 'Makefile', '**/*.flags', '**/*.sh')
             for path in REPO_ROOT.glob(pattern) if '.venv' not in path.parts and path.resolve() != this_file
             and old_name.search(path.read_text(errors='replace'))]
  assert callers == [], f'{callers} still call the evaluation CLI by its old name training.evaluate'
