"""--conditioning=projection|acgan (training/conditioning.py): where the class enters each network, the labels
through a training step, the export's label input (ONNX parity per class, CUDA-clean, SavedModel sample_class),
per-class evaluation, and the settings refused."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from common import labels
from tests.conftest import REPO_ROOT, tiny_config
from training.config import ConfigError


def quiet(*_):
  pass


# --- common/labels.py ------------------------------------------------------------------------------------------

def test_class_weights_are_one_hot_and_refuse_ids_out_of_range():
  np.testing.assert_array_equal(labels.class_weights([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
  for bad in ([3], [-1]):
    with pytest.raises(labels.LabelError, match=r'out of range: this generator has classes 0\.\.2$'):
      labels.class_weights(bad, 3)
  with pytest.raises(labels.LabelError, match=r'^class ids must be whole numbers, got float64 values such as 0\.5$'):
    labels.class_weights([0.5], 3)
  with pytest.raises(labels.LabelError, match=r'^unknown class inf;'):
    labels.class_index(float('inf'), ['a', 'b'])
  assert labels.class_index('Sneaker', ['Shirt', 'Sneaker']) == 1
  assert labels.class_index('1', ['a', 'b']) == 1
  with pytest.raises(labels.LabelError, match=r"^unknown class 'Boot'; this generator has Shirt, Sneaker$"):
    labels.class_index('Boot', ['Shirt', 'Sneaker'])
  with pytest.raises(labels.LabelError, match=r'^class 2 is out of range'):
    labels.class_index(2, ['a', 'b'])
  np.testing.assert_allclose(labels.morph_weights(0, 2, 3, 3), [[1, 0, 0], [.5, 0, .5], [0, 0, 1]])
  assert labels.grid_columns(64, 10) == 6 and labels.grid_columns(4, 10) == 1
  np.testing.assert_array_equal(labels.grid_labels(3, 2), [0, 0, 1, 1, 2, 2])


# --- Where the class enters ------------------------------------------------------------------------------------

def _build(tmp_path, **overrides):
  from training import data_kinds
  from training.architectures import ARCHITECTURES
  config = tiny_config(tmp_path, data_classes=tuple('0123456789'), channels=1, **overrides)
  kind = data_kinds.kind_of(config.dataset)
  arch = ARCHITECTURES[config.arch]
  return kind.build_generator(arch, config, 'float32'), kind.build_critic(arch, config, 'float32')


_IMAGE_ARCHS = [(name, {}) for name, arch in __import__('training.architectures', fromlist=['ARCHITECTURES'])
                .ARCHITECTURES.items() if arch.kind == 'image']
_IMAGE_ARCHS += [('dcgan_family', dict(generator_norm='none')), ('dcgan_family', dict(nonlinearity='gated'))]


@pytest.mark.parametrize('arch, options', _IMAGE_ARCHS, ids=lambda v: str(v))
def test_the_class_enters_every_image_architecture(tmp_path, arch, options):
  """Conditional BatchNorm where the generator has BatchNorm (zero-initialised: every class starts alike, and
  separates once its scale and shift move), else z and the labels concatenated: either way the image depends on
  the class at equal z."""
  generator, _ = _build(tmp_path, arch=arch, conditioning='projection', **options)
  assert [i.name for i in generator.inputs] == ['z', 'labels']
  affine = [layer for layer in generator.layers if type(layer).__name__ == 'ClassAffine']
  concatenated = [layer for layer in generator.layers if layer.name == 'z_and_labels']
  assert bool(affine) != bool(concatenated)  # one entry, never both, never neither
  z = np.repeat(labels_free_latents(1, 8), 2, axis=0)
  y = labels.class_weights([0, 7], 10)
  out = generator([z, y], training=False).numpy()
  if affine:
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # zero-initialised: the classes start alike
    rng = np.random.default_rng(0)
    for layer in affine:
      layer.gamma.assign(rng.normal(size=layer.gamma.shape))
      layer.beta.assign(rng.normal(size=layer.beta.shape))
    out = generator([z, y], training=False).numpy()
  assert not np.allclose(out[0], out[1], atol=1e-4), 'two classes gave the same image for the same z'


def labels_free_latents(n, dim):
  from common.latents import latents
  return latents(3, n, dim)


def test_projection_critic_adds_the_class_embedding_and_acgan_adds_a_classifier(tmp_path):
  _, critic = _build(tmp_path, conditioning='projection')
  images = tf.random.normal([2, 16, 16, 1], seed=1)
  critic.get_layer('class_embedding').kernel.assign(tf.random.normal(critic.get_layer('class_embedding').kernel.shape))
  a = critic([images, tf.constant(labels.class_weights([1, 1], 10))]).numpy()
  b = critic([images, tf.constant(labels.class_weights([2, 2], 10))]).numpy()
  assert a.shape == (2, 1) and not np.allclose(a, b)  # D(x, y) depends on y
  _, critic = _build(tmp_path, conditioning='acgan')
  logits, class_logits = critic(images)
  assert logits.shape == (2, 1) and class_logits.shape == (2, 10)


def test_auxiliary_classifier_loss_is_the_cross_entropy_of_the_asked_class():
  from training.losses import auxiliary_classifier_loss
  logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32))
  np.testing.assert_allclose(auxiliary_classifier_loss(logits, [0, 1]).numpy(), [-np.log(0.7), -np.log(0.1)],
                             rtol=1e-5)


def test_fake_labels_are_the_real_batch_or_uniform(tmp_path):
  from training import steps
  images = tf.zeros([16, 16, 16, 1])
  ids = tf.constant(np.arange(16) % 10, tf.int64)
  config = tiny_config(tmp_path, conditioning='projection', data_classes=tuple('0123456789'), g_batch_ratio=2)
  batch = steps.attach_randomness(config)(tf.constant(0, tf.int64), (images, ids))
  np.testing.assert_array_equal(batch['labels'], ids)
  assert batch['labels_gen'].shape == (16, 2)  # (B, r): the batch axis first, for the replicas' slices
  np.testing.assert_array_equal(batch['labels_gen'].numpy()[:, 0], ids)
  uniform = tiny_config(tmp_path, conditioning='acgan', data_classes=tuple('0123456789'), fake_labels='uniform')
  drawn = steps.attach_randomness(uniform)(tf.constant(0, tf.int64), (images, ids))['labels_gen'].numpy()
  assert drawn.min() >= 0 and drawn.max() < 10 and not np.array_equal(drawn, ids.numpy())


# --- Settings refused ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('overrides, message', [
    (dict(dataset='toy:8gaussians', arch='mlp', conditioning='projection'),
     r'^--conditioning applies to image data only'),
    (dict(acgan_weight=2.0), r'^--acgan_weight applies only with --conditioning=acgan \(got --conditioning=none\)$'),
    (dict(conditioning='projection', acgan_generator_weight=0.5), r'^--acgan_generator_weight applies only with '),
    (dict(fake_labels='uniform'), r'^--fake_labels applies only with --conditioning=projection or acgan$'),
    (dict(conditioning='cgan'), r'^--conditioning must be one of none, projection, acgan'),
])
def test_conditioning_settings_are_checked(tmp_path, overrides, message):
  with pytest.raises(ConfigError, match=message):
    tiny_config(tmp_path, **overrides)


def test_a_folder_without_two_classes_is_refused(tmp_path):
  from PIL import Image
  from data.datasets import DatasetError
  from training import data_kinds
  for i in range(3):
    (tmp_path / 'one' / 'cats').mkdir(parents=True, exist_ok=True)
    Image.new('RGB', (16, 16), (i, 0, 0)).save(tmp_path / 'one' / 'cats' / f'{i}.png')
    Image.new('RGB', (16, 16), (i, 0, 0)).save(tmp_path / f'{i}.png')
  config = tiny_config(tmp_path / 'run', dataset=f'folder:{tmp_path / "one"}', conditioning='projection')
  with pytest.raises(DatasetError, match=r'^--conditioning=projection needs at least 2 classes; .* has 1 \(cats\)'):
    data_kinds.kind_of(config.dataset).open(config)
  os.remove(tmp_path / 'one' / 'cats' / '0.png')
  loose = tiny_config(tmp_path / 'run', dataset=f'folder:{tmp_path / "one" / "cats"}', conditioning='acgan')
  with pytest.raises(DatasetError, match='has no labels'):
    data_kinds.kind_of(loose.dataset).open(loose)


# --- Train, export, serve the label input ----------------------------------------------------------------------

@pytest.fixture(scope='module')
def conditional_runs(tmp_path_factory):
  """Both modes trained 3 steps on digits (10 classes) with EMA, and exported as ONNX and SavedModel."""
  from export.model_folder import export_model
  from training import trainer
  root = tmp_path_factory.mktemp('conditional')
  out = {}
  for mode, extra in (('projection', dict(arch='dcgan', augment='translation')),
                      ('acgan', dict(arch='mlp_image', fake_labels='uniform', loss='lsgan'))):
    run_dir = root / mode
    trainer.train(tiny_config(run_dir, conditioning=mode, num_samples=20, sample_every=3, **extra), log=quiet)
    folder = export_model(str(run_dir), models_dir=str(root / 'models'), name=mode,
                          formats=('onnx', 'savedmodel'), log=quiet)
    out[mode] = (str(run_dir), folder)
  return out


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['projection', 'acgan'])
def test_each_mode_trains_and_exports_with_parity_for_every_class(conditional_runs, mode):
  import onnx
  import onnxruntime as ort
  from common.latents import latents
  from export import cuda_clean
  run_dir, folder = conditional_runs[mode]
  with open(os.path.join(run_dir, 'generator', 'generator.json')) as f:
    generator_json = json.load(f)
  assert generator_json['label_classes'] == list('0123456789') and generator_json['conditioning'] == mode
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    columns = set(next(csv.DictReader(f)))
  assert {'d_class_loss', 'g_class_loss'} <= columns if mode == 'acgan' else not {'d_class_loss'} & columns
  with open(os.path.join(folder, 'metadata.json')) as f:
    metadata = json.load(f)
  assert metadata['label_classes'] == list('0123456789') and metadata['label_input_name'] == 'labels'
  assert metadata['parity_max_abs_diff'] <= 1e-4 and metadata['parity_batches'] == [1, 7, 64]  # 64 rows: every class
  model = onnx.load(os.path.join(folder, 'model.onnx'))
  assert cuda_clean.cuda_fallback_nodes(model) == []  # the label path adds no CPU node
  session = ort.InferenceSession(os.path.join(folder, 'model.onnx'), providers=['CPUExecutionProvider'])
  assert [(i.name, i.type, i.shape[1]) for i in session.get_inputs()] == [('z', 'tensor(float)', 8),
                                                                           ('labels', 'tensor(float)', 10)]
  z = np.repeat(latents(5, 1, 8), 10, axis=0)
  images = session.run(['images'], {'z': z, 'labels': labels.class_weights(np.arange(10), 10)})[0]
  assert len({images[k].tobytes() for k in range(10)}) == 10  # the same z, ten different images
  int64_refused = r'Actual: \(tensor\(int64\)\) , expected: \(tensor\(float\)\)'
  for wrong, message in ((np.zeros((10, 11), np.float32), r'(?s)labels.*Got: 11 Expected: 10'),  # another K
                         (np.zeros((10, 10), np.int64), int64_refused)):
    with pytest.raises(Exception, match=message):  # ORT refuses them: nothing reads out of bounds
      session.run(['images'], {'z': z, 'labels': wrong})
  _check_sample_png_names_its_class_rows(folder, session, metadata)


def _check_sample_png_names_its_class_rows(folder, session, metadata):
  """sample.png: the ORT images of SAMPLE_SEED's first 8 latents for each of the 10 classes, one row per class on
  the dark frame, right of a margin holding each row's class name."""
  from PIL import Image
  from common import images as common_images
  from common.artifacts import SAMPLE_SEED
  from common.latents import truncated_latents
  grid = np.asarray(Image.open(os.path.join(folder, 'sample.png')))
  z = truncated_latents(SAMPLE_SEED, 8, 8, metadata.get('sample_truncation', 0.0))
  images = session.run(['images'], {'z': np.tile(z, (10, 1)),
                                    'labels': labels.class_weights(labels.grid_labels(10, 8), 10)})[0]
  plain = common_images.grid(common_images.to_uint8(images), 8, fill=common_images.TRAINING_BACKGROUND,
                             frame=True)[..., 0]  # (10·18 + 2, 8·18 + 2): 10 class rows of 8
  margin = grid.shape[1] - plain.shape[1]
  assert grid.shape[0] == plain.shape[0] and 8 <= margin <= 20  # a one-character name at 10 px, two 4 px gaps
  assert np.abs(grid[:, margin:].astype(int) - plain).max() <= 1  # ORT here and at export: one grey level at most
  for k in range(10):
    assert (grid[2 + k * 18:2 + k * 18 + 16, :margin] > 128).sum() >= 6, k  # class k's name, light on dark


@pytest.mark.slow
def test_savedmodel_samples_a_class_and_refuses_a_class_it_does_not_have(conditional_runs):
  from common.latents import latents
  loaded = tf.saved_model.load(os.path.join(conditional_runs['projection'][1], 'saved_model', '1'))
  picked = loaded.signatures['sample_class'](seed=tf.constant(4, tf.int64), num=tf.constant(3),
                                             label=tf.constant(9, tf.int64))['images'].numpy()
  served = loaded.signatures['serving_default'](z=tf.constant(latents(4, 3, 8)),
                                                labels=tf.constant(labels.class_weights([9] * 3, 10)))['images']
  np.testing.assert_allclose(picked, served.numpy(), atol=1e-6)
  for bad in (10, -1):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r'label must be a class id in 0\.\.9'):
      loaded.signatures['sample_class'](seed=tf.constant(4, tf.int64), num=tf.constant(3),
                                        label=tf.constant(bad, tf.int64))
  assert set(loaded.signatures) == {'serving_default', 'sample', 'sample_truncated', 'sample_class'}


@pytest.mark.slow
def test_the_training_grid_has_one_row_per_class_and_per_class_evaluation_runs(conditional_runs):
  from PIL import Image
  from evaluation import image_evaluate, per_class, sources
  run_dir, folder = conditional_runs['projection']
  grid = np.asarray(Image.open(os.path.join(run_dir, 'samples', 'step_0000003.png')))
  assert grid.shape[0] == 2 * (10 * 18 + 2) and grid.shape[1] >= 2 * (2 * 18 + 2)  # 10 rows of 2 (20 samples)
  result = image_evaluate.evaluate_source(sources.onnx_source(os.path.join(folder, 'model.onnx')), num_samples=200,
                                          log=quiet)
  table = result['per_class']
  assert [row['name'] for row in table['classes']] == list('0123456789')
  assert table['chance'] == 0.1 and 0.9 <= table['mean_floor_agreement'] <= 1.0  # floor labels match the images
  assert all(row['n'] == 20 for row in table['classes'])  # ceil(200 / 10), every class has 20 floor images
  # Class 3's agreement again, by hand: the ONNX model asked for class 3 on latents 0..19, read by the judge.
  import onnxruntime as ort
  from common.artifacts import SAMPLE_SEED
  from common.latents import latents
  from evaluation.images import to_judge_input
  from evaluation.judge import load_judge
  session = ort.InferenceSession(os.path.join(folder, 'model.onnx'), providers=['CPUExecutionProvider'])
  feed = {'z': latents(SAMPLE_SEED, 20, 8), 'labels': labels.class_weights([3] * 20, 10)}
  images = session.run(['images'], feed)[0]
  judge = load_judge('digits')
  _, probs = judge.predict(to_judge_input(images, judge.image_size, judge.channels))
  assert table['classes'][3]['agreement'] == pytest.approx(np.mean(probs.argmax(axis=1) == 3))
  assert 'mean agreement' in per_class.format_per_class(table)
  # Whole-generator samples ask for the floor images' classes, in the floor's order.
  floor = per_class.split_labels('digits', judge.spec.floor_split, judge.image_size, judge)
  np.testing.assert_array_equal(per_class.sample_classes(judge, 'digits', len(floor)), floor)


@pytest.mark.slow
def test_the_training_grid_names_its_class_rows(conditional_runs):
  """samples/step_*.png of a conditional run: right of a margin naming each class row, the grid saved without
  names (2x, dark frame)."""
  from PIL import Image
  from common import images as common_images
  run_dir, _ = conditional_runs['projection']
  grid = np.asarray(Image.open(os.path.join(run_dir, 'samples', 'step_0000003.png')))
  margin = grid.shape[1] - 2 * (2 * 18 + 2)  # 10 rows of 2 images of 16 px, at scale 2
  assert 16 <= margin <= 40
  for k in range(10):
    band = grid[4 + k * 36:4 + k * 36 + 32, :margin]
    assert (band > 128).sum() >= 12, k  # class k's name, light on dark
  assert (grid[:, :margin][:4] == common_images.TRAINING_BACKGROUND).all()


def test_per_class_reference_labels_line_up_with_the_reference_features():
  """Held-out images of class k are nearer (KID) to reference images of class k than to those of another class:
  the labels per_class reads describe the features evaluation.references computes, image for image."""
  from evaluation import metrics, per_class, references
  from evaluation.judge import load_judge
  judge = load_judge('digits')
  split = lambda name: (references.split_features('digits', name).features,  # noqa: E731
                        per_class.split_labels('digits', name, judge.image_size, judge))
  (ref, ref_labels), (floor, floor_labels) = split(judge.spec.reference_split), split(judge.spec.floor_split)
  for k, other in ((0, 1), (3, 8), (7, 4)):
    same = metrics.kernel_distance(floor[floor_labels == k], ref[ref_labels == k]).mean
    assert same < metrics.kernel_distance(floor[floor_labels == k], ref[ref_labels == other]).mean


def test_per_class_scores_refuse_other_classes(tmp_path):
  from evaluation import per_class
  from evaluation.images import EvaluationError
  from evaluation.judge import load_judge
  with pytest.raises(EvaluationError, match=r"^g takes the classes a, b; the digits judge tells 0, 1, 2, 3, 4, 5, 6, "
                                            r'7, 8, 9: per-class scores need the same classes in the same order$'):
    per_class.check_classes(['a', 'b'], 'digits', load_judge('digits'), 'g')
  per_class.check_classes(list('0123456789'), 'digits', load_judge('digits'), 'g')


@pytest.mark.slow
def test_both_modes_train_in_mixed_precision(tmp_path):
  from training import trainer
  for mode in ('projection', 'acgan'):
    config = tiny_config(tmp_path / mode, conditioning=mode, mixed_precision=True, steps=2)
    trainer.train(config, log=quiet)
    with open(tmp_path / mode / 'metrics.csv') as f:
      rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(np.isfinite(float(r['d_loss'])) and np.isfinite(float(r['g_loss'])) for r in rows)


_MIRRORED = r'''
import csv, json, os, sys
from training import strategies
strategies.split_cpu(2)  # before any op
from tests.conftest import tiny_config
from training import trainer
out, mode = {}, sys.argv[2]
for strategy in ('one_device', 'mirrored'):
  run_dir = os.path.join(sys.argv[1], strategy)
  trainer.train(tiny_config(run_dir, strategy=strategy, steps=3, batch_size=16, conditioning=mode, g_batch_ratio=2),
                log=lambda *_: None)
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    out[strategy] = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
print('RESULT ' + json.dumps(out))
'''


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['projection', 'acgan'])
def test_two_mirrored_replicas_match_one_device_with_labels(tmp_path, mode):
  # One mode per process: two MirroredStrategy runs of differently shaped models in one process share collective
  # instance keys (TensorFlow's), and the second then fails with a shape mismatch.
  env = {**os.environ, 'PYTHONPATH': str(REPO_ROOT), 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}
  proc = subprocess.run([sys.executable, '-c', _MIRRORED, str(tmp_path), mode], cwd=REPO_ROOT, env=env,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout.split('RESULT ', 1)[1])
  assert len(result['one_device']) == len(result['mirrored']) == 3
  for a, b in zip(result['one_device'], result['mirrored']):
    for key in ('d_loss', 'g_loss', 'gradient_penalty', 'wasserstein') + (('d_class_loss', 'g_class_loss')
                                                                           if mode == 'acgan' else ()):
      np.testing.assert_allclose(a[key], b[key], rtol=2e-3, atol=2e-4, err_msg=f'{mode} {key} step {a["step"]}')


@pytest.mark.slow
def test_a_stopped_and_resumed_conditional_run_is_bit_identical(tmp_path):
  """--deterministic, EMA (recalibrated over the classes), --eval_every: 2 steps then a resume to 3 equal 3."""
  from evaluation.plugin import JudgeEvaluator
  from training import trainer
  settings = dict(steps=3, ckpt_every=1, keep_checkpoints=3, deterministic=True, conditioning='acgan', eval_every=3,
                  eval_samples=200)

  def run(name, resume=False, **extra):
    config = tiny_config(tmp_path / name, **{**settings, **extra})
    trainer.train(config, resume=resume, log=quiet, evaluator=JudgeEvaluator('digits', config.run_dir, 200))

  run('straight')
  run('resumed', steps=2)
  run('resumed', resume=True)
  agreements = []
  for name in ('straight', 'resumed'):
    with open(tmp_path / name / 'eval.csv') as f:
      agreements.append([row['agreement'] for row in csv.DictReader(f) if row['step'] == '3'])
  assert agreements[0] == agreements[1] and len(agreements[0]) == 1  # scored alike: the same weights at step 3
  path = lambda name: str(tmp_path / name / 'checkpoints' / 'ckpt-3')  # noqa: E731
  names = [n for n, _ in tf.train.list_variables(path('straight')) if 'VARIABLE_VALUE' in n]
  assert any('ema_generator' in n for n in names)
  for n in names:
    np.testing.assert_array_equal(tf.train.load_variable(path('straight'), n),
                                  tf.train.load_variable(path('resumed'), n), err_msg=n)
