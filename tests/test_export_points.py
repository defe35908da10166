"""Toy (2-D points) generators export like image generators: `python -m export.to_onnx` on a trained toy run gives
z -> `points` (B, 2) with ONNX Runtime parity, a CUDA-clean MLP graph, metadata naming kind, dims, latent_dim and
dataset, a scatter sample.png and a SavedModel; the exported model is judged again by the trainer's own toy
evaluator with the same scores as the Keras generator; the serving app skips it with a warning, not a traceback."""

import csv
import json
import os
import shutil

import numpy as np
import pytest

from tests import warm

pytestmark = pytest.mark.slow  # a toy training run, exports and a server

DATASET = 'toy:8gaussians'
STEPS = 20
EVAL_POINTS = 200
NAME = 'toy-points'


def _run(module, *args):
  return warm.run(module, *args, timeout=600)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """A toy run trained STEPS steps in-process (with the toy evaluator at the last step), exported by the CLI:
  (run_dir, model folder, CLI stdout)."""
  from evaluation.toy_plugin import ToyEvaluator
  from training import trainer
  from training.config import TrainConfig, resolve
  root = tmp_path_factory.mktemp('toy-export')
  config = resolve(TrainConfig(dataset=DATASET, arch='mlp', latent_dim=2, width=16, batch_size=32, steps=STEPS,
                               sample_every=STEPS, ckpt_every=STEPS, log_every=STEPS, num_samples=32,
                               eval_every=STEPS, eval_samples=EVAL_POINTS, run_dir=str(root / 'run')))
  run_dir = trainer.train(config, log=lambda line: None, evaluator=ToyEvaluator(DATASET, EVAL_POINTS))
  proc = _run('export.to_onnx', f'--run_dir={run_dir}', f'--models_dir={root / "models"}', f'--name={NAME}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  return run_dir, str(root / 'models' / NAME), proc.stdout


def _session(folder):
  from export import onnx_export as ox
  with open(os.path.join(folder, 'model.onnx'), 'rb') as f:
    return ox.cpu_session(f.read())


def test_onnx_gives_the_keras_points(exported):
  from export import onnx_export as ox
  from training import generator_io
  run_dir, folder, stdout = exported
  assert 'parity vs TF on CPUExecutionProvider' in stdout and 'CUDA EP check: clean' in stdout
  generator, _ = generator_io.load(run_dir)
  session = _session(folder)
  assert [o.name for o in session.get_outputs()] == ['points'] and [i.name for i in session.get_inputs()] == ['z']
  worst = 0.0
  for batch in (1, 7, 256):
    z = ox.latents(batch, 2, seed=batch)
    points = session.run(['points'], {'z': z})[0]
    assert points.shape == (batch, 2) and points.dtype == np.float32
    expected = generator(z, training=False).numpy()
    np.testing.assert_allclose(points, expected, atol=ox.PARITY_TOLERANCE, rtol=0)
    worst = max(worst, float(np.max(np.abs(points - expected))))
  print(f'ONNX vs Keras, max abs diff over batches 1, 7, 256: {worst:.2e}')


def test_metadata_names_kind_shape_dataset_and_provenance(exported):
  import onnx
  from export import cuda_clean, onnx_export as ox
  from training import generator_io
  run_dir, folder, _ = exported
  run = generator_io.read_metadata(run_dir)
  metadata = json.loads(open(os.path.join(folder, 'metadata.json')).read())
  model = onnx.load(os.path.join(folder, 'model.onnx'))
  props = ox.read_metadata_props(model)
  assert (metadata['kind'], metadata['dims'], metadata['latent_dim']) == ('points', 2, 2)
  assert (metadata['dataset'], metadata['loss'], metadata['step'], metadata['arch']) == (DATASET, 'wgan_gp', STEPS,
                                                                                      'mlp')
  for field in ('kind', 'dims', 'latent_dim', 'dataset', 'loss', 'step', 'provenance', 'output_name'):
    assert props[field] == metadata[field], field
  assert metadata['provenance'] == run['provenance']  # git commit, package versions, the data function's name
  assert not [key for key in metadata if key.startswith('image_') or key in ('channels', 'layout')]
  assert (metadata['input_name'], metadata['output_name'], metadata['formats']) == ('z', 'points', ['onnx'])
  assert metadata['parity_max_abs_diff'] <= ox.PARITY_TOLERANCE
  assert 'points float32 (batch, dims)' in model.doc_string
  assert cuda_clean.cuda_fallback_nodes(model) == []
  assert {node.op_type for node in model.graph.node} <= {'MatMul', 'Add', 'Relu', 'Identity'}


def test_sample_png_is_a_scatter_of_the_exported_points(exported):
  from PIL import Image
  _, folder, _ = exported
  with open(os.path.join(folder, 'sample.png'), 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  assert Image.open(os.path.join(folder, 'sample.png')).size == (400, 400)  # data/toy_plots: 4 x 4 in at 100 dpi


def test_the_exported_model_is_judged_like_the_trained_one(exported):
  """The trainer's own toy evaluator (same latents, same real sets) scores the ONNX model exactly as it scored the
  Keras generator at the last step (eval.csv), and toy_scores of both point sets agree."""
  from common.latents import latents
  from evaluation import toy_metrics
  from common.artifacts import SAMPLE_SEED as LATENT_SEED
  from evaluation.toy_plugin import ToyEvaluator
  from data import toy_data
  from training import generator_io
  run_dir, folder, _ = exported
  generator, metadata = generator_io.load(run_dir)
  session = _session(folder)
  z = latents(LATENT_SEED, EVAL_POINTS, 2)
  onnx_points = session.run(['points'], {'z': z})[0]
  keras_points = generator(z, training=False).numpy()
  spec = toy_data.spec_of(DATASET)
  from_onnx = toy_metrics.toy_scores(onnx_points, spec, np.random.default_rng(0))
  from_keras = toy_metrics.toy_scores(keras_points, spec, np.random.default_rng(0))
  assert from_onnx.keys() == from_keras.keys()
  for key in from_keras:
    assert from_onnx[key] == pytest.approx(from_keras[key], rel=1e-5, abs=1e-6), key

  rejudged = ToyEvaluator(DATASET, EVAL_POINTS)(lambda z, training=False: session.run(['points'], {'z': z})[0],
                                                STEPS, metadata)
  with open(os.path.join(run_dir, 'eval.csv'), newline='') as f:
    logged = {k: float(v) for k, v in list(csv.DictReader(f))[-1].items()}
  assert logged['step'] == STEPS
  for key, value in rejudged.items():
    assert value == pytest.approx(logged[key], rel=1e-5), key  # eval.csv keeps 6 significant digits
  print(f'eval.csv at step {STEPS}: {logged}; the ONNX model rejudged: {rejudged}')


def test_savedmodel_of_a_points_run(exported):
  """to_savedmodel adds saved_model/ (same run and weights: no --overwrite); both signatures answer `points`, and
  `sample(seed, num)` gives the points the ONNX model gives for common.latents(seed, num)."""
  import tensorflow as tf
  from common.latents import latents
  from export.model_folder import export_model
  run_dir, folder, _ = exported
  export_model(run_dir, models_dir=os.path.dirname(folder), name=NAME, formats=('savedmodel',), log=lambda _: None)
  metadata = json.loads(open(os.path.join(folder, 'metadata.json')).read())
  assert metadata['formats'] == ['onnx', 'savedmodel'] and metadata['kind'] == 'points'
  loaded = tf.saved_model.load(os.path.join(folder, 'saved_model', '1'))
  sampled = loaded.signatures['sample'](seed=tf.constant(2024, tf.int64), num=tf.constant(5, tf.int32))['points']
  from_onnx = _session(folder).run(['points'], {'z': latents(2024, 5, 2)})[0]
  np.testing.assert_allclose(sampled.numpy(), from_onnx, atol=1e-5, rtol=0)


def test_a_kind_export_does_not_know_fails_in_one_line(tmp_path):
  from export.loader import ExportError
  from export.model_folder import export_model
  folder = tmp_path / 'run' / 'generator'
  folder.mkdir(parents=True)
  (folder / 'generator.weights.h5').write_bytes(b'')
  (folder / 'generator.json').write_text(json.dumps({'format_version': 1, 'kind': 'graph', 'arch': 'x',
                                                     'latent_dim': 8, 'loss': 'wgan_gp', 'dataset': 'x',
                                                     'step': 1}))
  with pytest.raises(ExportError, match=r"^the run holds a generator of kind 'graph'; this version exports image, "
                                        r"points, text$"):
    export_model(str(tmp_path / 'run'), models_dir=str(tmp_path / 'models'), log=lambda _: None)
  assert not (tmp_path / 'models').exists()


def test_serve_lists_the_image_model_and_reports_the_points_one(exported, tmp_path):
  from export.model_folder import export_model
  from serve import models as models_lib
  from serve import registry as registry_lib
  from tests.conftest import make_tiny_run_dir
  _, points_folder, _ = exported
  models_dir = tmp_path / 'models'
  make_tiny_run_dir(tmp_path / 'run')
  export_model(str(tmp_path / 'run'), models_dir=str(models_dir), name='tiny-gray', log=lambda _: None)
  shutil.copytree(points_folder, models_dir / NAME)
  odd = models_dir / 'odd-kind'  # a malformed kind is reported too, not raised
  odd.mkdir()
  shutil.copy(models_dir / NAME / 'model.onnx', odd / 'model.onnx')
  (odd / 'metadata.json').write_text(json.dumps({'kind': ['points'], 'latent_dim': 2}))
  models, warnings = registry_lib.discover_models(str(models_dir), 'cpu')
  assert list(models) == ['tiny-gray']
  assert warnings == [
      "skipped model folder 'odd-kind': a model of kind ['points']; this app serves image and text generators",
      f"skipped model folder '{NAME}': a 2-D points model ({DATASET}); this app serves image and text generators"]

  shutil.rmtree(models_dir / 'tiny-gray')
  shutil.rmtree(odd)
  proc = _run('serve.app', f'--models_dir={models_dir}', '--provider=cpu')  # only the points model: nothing to serve
  assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
  assert proc.stderr.splitlines() == [
      f"warning: skipped model folder '{NAME}': a 2-D points model ({DATASET}); this app serves image and text generators",
      f'error: no models in {models_dir}/: train with `python -m training.main` and export with '
      '`python -m export.to_onnx`']
