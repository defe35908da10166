"""Export of tiny generators: ONNX parity and dynamic batch, metadata round trip, CUDA-clean graphs,
SavedModel signatures, float16 and the model folder's all-or-nothing writes.

The graph checks (a tiny generator converted and inspected: ~0.2 s each) are fast tests; whatever writes a model
folder through export_model is slow."""

import itertools
import json
import os

import numpy as np
import pytest

from training.architectures import ARCHITECTURES
from training.losses import LOSSES

LATENT_DIM = 8
RUN_FIELDS = ('arch', 'latent_dim', 'image_height', 'image_width', 'channels', 'layout', 'value_range', 'loss',
              'dataset', 'step')


FAMILY_OPTIONS = {'nonlinearity': 'softplus', 'depth': 5, 'generator_norm': 'none', 'generator_filters': 'constant'}


def make_run_dir(path, arch='dcgan', loss='wgan_gp', image_size=16, channels=1, step=3):
  """A run directory with an untrained tiny generator of `arch` (conftest's helper builds DCGAN only)."""
  import types
  import keras
  from training import generator_io
  keras.utils.set_random_seed(step)
  # An architecture with options gets non-default ones, so that generator.json must carry them for the rebuild.
  options = {name: FAMILY_OPTIONS[name] for name in ARCHITECTURES[arch].generator_options}
  generator = ARCHITECTURES[arch].build_generator(LATENT_DIM, image_size, channels, 4, **options)
  config = types.SimpleNamespace(arch=arch, latent_dim=LATENT_DIM, image_size=image_size, channels=channels,
                                 width=4, loss=loss, dataset='digits', **options)
  generator_io.save(generator, generator_io.generator_metadata(config, step), str(path))
  return generator


def quiet(_line):
  pass


IMAGE_ARCHITECTURES = [name for name, arch in ARCHITECTURES.items() if arch.kind == 'image']


# The loss changes a run's metadata (generator.json, the model's name, metadata.json, the ONNX props), never the
# generator's graph or weights (make_run_dir seeds every loss alike), and tf2onnx's conversion is most of an
# export's time: each distinct graph is converted once, and the loss-only variants get a copy of it, which their
# export still makes CUDA-clean, checks for parity against their own generator and stamps with their metadata.
_CONVERTED = {}  # (generator config, weights sha256, convert's arguments) -> serialized onnx.ModelProto


def _convert_once(convert):
  def convert_or_reuse(generator, latent_dim, *args, **kwargs):
    import onnx
    from export.model_folder import weights_sha256
    key = (json.dumps(generator.get_config(), sort_keys=True, default=str), weights_sha256(generator), latent_dim,
           repr(args), repr(sorted(kwargs.items())))
    if key not in _CONVERTED:
      _CONVERTED[key] = convert(generator, latent_dim, *args, **kwargs).SerializeToString()
    return onnx.ModelProto.FromString(_CONVERTED[key])  # a copy: the export rewrites and stamps its own
  return convert_or_reuse


# The loss reaches only the metadata: the families added later (hinge, ns_r1; issue 29) are exported with one
# architecture, which keeps make test inside its time (tests/test_new_losses.py exports trained runs of both).
_FIRST_LOSSES = ('dcgan', 'lsgan', 'wgan', 'wgan_gp')
_EXPORTS = [(loss, arch) for loss, arch in itertools.product(LOSSES, IMAGE_ARCHITECTURES)
            if loss in _FIRST_LOSSES or arch == 'dcgan']


@pytest.fixture(scope='module', params=_EXPORTS, ids=lambda p: f'{p[0]}-{p[1]}')
def onnx_export(request, tmp_path_factory):
  """One ONNX export per (loss, arch), one tf2onnx conversion per arch: (run_dir, model folder)."""
  from export import onnx_export as ox
  from export.model_folder import export_model
  loss, arch = request.param
  root = tmp_path_factory.mktemp(f'{loss}-{arch}')
  make_run_dir(root / 'run', arch=arch, loss=loss)
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(ox, 'convert', _convert_once(ox.convert))
    folder = export_model(str(root / 'run'), models_dir=str(root / 'models'), log=quiet)
  return root / 'run', folder


@pytest.mark.slow
def test_onnx_matches_tf_at_any_batch(onnx_export):
  from export import onnx_export as ox
  from export.loader import load
  run_dir, folder = onnx_export
  generator, _ = load(str(run_dir))
  with open(os.path.join(folder, 'model.onnx'), 'rb') as f:
    session = ox.cpu_session(f.read())
  assert session.get_providers() == ['CPUExecutionProvider']
  for batch in (1, 5):
    z = ox.latents(batch, LATENT_DIM, seed=batch)
    images = session.run(['images'], {'z': z})[0]
    assert images.shape == (batch, 16, 16, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images, generator(z, training=False).numpy(), atol=ox.PARITY_TOLERANCE, rtol=0)


@pytest.mark.slow
def test_metadata_round_trip(onnx_export):
  import onnx
  from export import cuda_clean, onnx_export as ox
  from training.generator_io import read_metadata
  run_dir, folder = onnx_export
  run = read_metadata(str(run_dir))
  with open(os.path.join(folder, 'metadata.json')) as f:
    metadata = json.load(f)
  model = onnx.load(os.path.join(folder, 'model.onnx'))
  props = ox.read_metadata_props(model)
  for field in RUN_FIELDS:
    assert metadata[field] == run[field] == props[field], field
  for field in ('format_version', 'name', 'exported_at', 'tensorflow_version', 'tf2onnx_version', 'onnx_opset',
                'weights_sha256', 'input_name', 'output_name', 'parity_max_abs_diff'):
    assert props[field] == metadata[field], field
  assert metadata['format_version'] == 1 and metadata['onnx_opset'] == 17
  assert metadata['name'] == os.path.basename(folder) == f'{run["loss"]}-digits-step3'
  assert metadata['parity_max_abs_diff'] <= ox.PARITY_TOLERANCE
  assert (metadata['input_name'], metadata['output_name']) == ('z', 'images')
  assert len(metadata['weights_sha256']) == 64
  assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim[:1]] == ['batch']
  assert cuda_clean.cuda_fallback_nodes(model) == []


@pytest.mark.slow
def test_sample_png(onnx_export):
  from PIL import Image
  from export.model_folder import SAMPLE_GRID
  _, folder = onnx_export
  with open(os.path.join(folder, 'sample.png'), 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  image = Image.open(os.path.join(folder, 'sample.png'))
  side = SAMPLE_GRID * (16 + 2) + 2  # 16-px images with training.run_dir.grid's 2-px gaps
  assert image.size == (side, side) and image.mode == 'L'


def _to_onnx(generator, latent_dim=LATENT_DIM):
  from export import onnx_export as ox
  return ox.convert(generator, latent_dim)


@pytest.mark.parametrize('arch', IMAGE_ARCHITECTURES)
@pytest.mark.parametrize('image_size, channels', [(16, 1), (32, 3), (64, 3)])
def test_every_architecture_is_cuda_clean(arch, image_size, channels):
  from export import cuda_clean
  from export import onnx_export as ox
  generator = ARCHITECTURES[arch].build_generator(LATENT_DIM, image_size, channels, 4)
  model = _to_onnx(generator)
  rewritten = ox.make_cuda_clean(model)  # the export's own step; raises if a node would still go to the CPU
  assert cuda_clean.cuda_fallback_nodes(model) == []
  assert rewritten == 0 or arch == 'dcgan5'  # kernel 4 is symmetric by construction; dcgan5 keeps the published 5


def _asymmetric_generator():
  """Keras Conv2DTranspose(kernel 5, stride 2, "same") pads (1, 2): the case the CUDA EP sends to the CPU."""
  import keras
  from keras import layers
  keras.utils.set_random_seed(1)
  z = keras.Input((LATENT_DIM,), name='z')
  x = layers.Dense(4 * 4 * 4, name='project')(z)
  x = layers.Reshape((4, 4, 4))(x)
  x = layers.Conv2DTranspose(4, 5, strides=2, padding='same', name='up0')(x)
  x = layers.Conv2DTranspose(3, 5, strides=2, padding='same', name='to_image')(x)
  images = layers.Activation('tanh', name='images')(x)  # (B, 16, 16, 3)
  return keras.Model(z, images)


def test_asymmetric_conv_transpose_is_caught_and_rewritten():
  import onnx
  from export import cuda_clean, onnx_export as ox
  from export.loader import ExportError
  generator = _asymmetric_generator()
  model = _to_onnx(generator)
  found = cuda_clean.cuda_fallback_nodes(model)
  assert len(found) == 2 and all('ConvTranspose' in line and 'asymmetric' in line for line in found), found
  with pytest.raises(ExportError, match='would run on the CPU'):
    ox.make_cuda_clean(onnx.ModelProto.FromString(model.SerializeToString()), rewrite=False)

  assert ox.make_cuda_clean(model) == 2
  assert cuda_clean.cuda_fallback_nodes(model) == []
  ox.check(model)
  diffs = ox.verify_parity(generator, ox.cpu_session(model.SerializeToString()), LATENT_DIM,
                           ox.PARITY_TOLERANCE, 'the rewritten model')
  assert set(diffs) == set(ox.PARITY_BATCHES)


@pytest.mark.parametrize('auto_pad, kernel, caught', [('SAME_UPPER', 5, True), ('SAME_LOWER', 3, True),
                                                      ('SAME_UPPER', 4, False), ('VALID', 5, False)])
def test_auto_pad_conv_transpose(auto_pad, kernel, caught):
  from onnx import TensorProto, helper
  from export import cuda_clean
  node = helper.make_node('ConvTranspose', ['x', 'w'], ['y'], name='up', auto_pad=auto_pad,
                          kernel_shape=[kernel, kernel], strides=[2, 2])
  graph = helper.make_graph([node], 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 2, 4, 4]),
                                          helper.make_tensor_value_info('w', TensorProto.FLOAT,
                                                                        [2, 2, kernel, kernel])],
                            [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)])
  assert bool(cuda_clean.cuda_fallback_nodes(helper.make_model(graph))) == caught


def test_unknown_op_is_reported():
  from onnx import TensorProto, helper
  from export import cuda_clean
  node = helper.make_node('NonMaxSuppression', ['boxes', 'scores'], ['selected'], name='nms')
  graph = helper.make_graph([node], 'g', [helper.make_tensor_value_info('boxes', TensorProto.FLOAT, [1, 4, 4]),
                                          helper.make_tensor_value_info('scores', TensorProto.FLOAT, [1, 1, 4])],
                            [helper.make_tensor_value_info('selected', TensorProto.INT64, None)])
  assert cuda_clean.cuda_fallback_nodes(helper.make_model(graph)) == [
      "NonMaxSuppression node 'nms': op type not known to have a CUDA EP kernel"]


@pytest.fixture(scope='module')
def both_formats(tmp_path_factory):
  """One run exported to SavedModel, then to ONNX with float16 into the same folder: (run_dir, folder)."""
  from export.model_folder import export_model
  root = tmp_path_factory.mktemp('both')
  make_run_dir(root / 'run', image_size=16, channels=3)
  export_model(str(root / 'run'), models_dir=str(root / 'models'), name='both', formats=('savedmodel',), log=quiet)
  folder = export_model(str(root / 'run'), models_dir=str(root / 'models'), name='both', formats=('onnx',),
                        fp16=True, log=quiet)  # adds a format the folder lacks: no overwrite needed
  return root / 'run', folder


@pytest.mark.slow
def test_savedmodel_signatures(both_formats):
  import tensorflow as tf
  from common import latents
  from export.loader import load
  run_dir, folder = both_formats
  generator, _ = load(str(run_dir))
  loaded = tf.saved_model.load(os.path.join(folder, 'saved_model', '1'))
  z = latents.latents(0, 5, LATENT_DIM)
  served = loaded.signatures['serving_default'](z=tf.constant(z))
  assert list(served) == ['images']
  np.testing.assert_allclose(served['images'].numpy(), generator(z, training=False).numpy(), atol=1e-6)

  def sample(seed, num=4):
    return loaded.signatures['sample'](seed=tf.constant(seed, tf.int64), num=tf.constant(num, tf.int32))['images']

  assert sample(3).shape == (4, 16, 16, 3)
  np.testing.assert_array_equal(sample(3).numpy(), sample(3).numpy())
  assert np.max(np.abs(sample(3).numpy() - sample(4).numpy())) > 1e-3
  # `sample` draws the NumPy latents of common.latents (the app's and sample.png's) in TF ops
  np.testing.assert_allclose(sample(3).numpy(), generator(latents.latents(3, 4, LATENT_DIM), training=False).numpy(),
                             atol=1e-6)
  np.testing.assert_allclose(sample(latents.MAX_SEED, 2).numpy(),
                             generator(latents.latents(2**32 - 1, 2, LATENT_DIM), training=False).numpy(), atol=1e-6)
  assert sample(3, 0).shape == (0, 16, 16, 3)

  def truncated(seed, threshold, num=4):
    return loaded.signatures['sample_truncated'](seed=tf.constant(seed, tf.int64), num=tf.constant(num, tf.int32),
                                                 threshold=tf.constant(threshold, tf.float32))['images'].numpy()

  # the truncation trick in TF ops: the images of common.latents.truncated_latents, 0 = `sample`'s own
  np.testing.assert_allclose(truncated(3, 0.5), generator(latents.truncated_latents(3, 4, LATENT_DIM, 0.5),
                                                          training=False).numpy(), atol=1e-6)
  np.testing.assert_array_equal(truncated(3, 0.0), sample(3).numpy())
  assert np.max(np.abs(truncated(3, 0.5) - sample(3).numpy())) > 1e-3
  with pytest.raises(tf.errors.InvalidArgumentError, match='threshold must be 0'):
    truncated(3, 0.1)


@pytest.mark.slow
@pytest.mark.parametrize('seed, num, message', [(-1, 2, 'seed must be >= 0'), (2**32, 2, 'seed must be <= 4294967295'),
                                                (2**40 + 3, 2, 'seed must be <= 4294967295'),
                                                (3, -1, 'num must be >= 0')])
def test_savedmodel_sample_refuses_out_of_range_input(both_formats, seed, num, message):
  # no silent wrap-around: 2**32 + 3 taken modulo 2**32 would be seed 3's images, which the app refuses to draw
  import tensorflow as tf
  _, folder = both_formats
  sample = tf.saved_model.load(os.path.join(folder, 'saved_model', '1')).signatures['sample']
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    sample(seed=tf.constant(seed, tf.int64), num=tf.constant(num, tf.int32))


@pytest.mark.slow
def test_metadata_names_the_latent_mapping(both_formats):
  from export.model_folder import LATENTS_SCHEME, SAMPLE_SEED
  _, folder = both_formats
  with open(os.path.join(folder, 'metadata.json')) as f:
    metadata = json.load(f)
  assert metadata['latents'] == LATENTS_SCHEME and 'common/latents.py' in LATENTS_SCHEME
  assert metadata['sample_seed'] == SAMPLE_SEED == 2024


@pytest.mark.slow
def test_fp16_parity_and_kept_formats(both_formats):
  import onnx
  from export import onnx_export as ox
  from export.loader import load
  run_dir, folder = both_formats
  with open(os.path.join(folder, 'metadata.json')) as f:
    metadata = json.load(f)
  assert metadata['formats'] == ['onnx', 'savedmodel']  # the SavedModel of the same weights stayed
  assert metadata['savedmodel_signatures'] == ['serving_default', 'sample', 'sample_truncated'] and metadata['fp16_tolerance'] == 1e-2
  model16 = onnx.load(os.path.join(folder, 'model_fp16.onnx'))
  io_types = [v.type.tensor_type.elem_type for v in (*model16.graph.input, *model16.graph.output)]
  assert io_types == [onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT]  # z and images stay float32
  assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model16.graph.initializer)
  generator, _ = load(str(run_dir))
  session = ox.cpu_session(model16.SerializeToString())
  z = ox.latents(5, LATENT_DIM)
  np.testing.assert_allclose(session.run(['images'], {'z': z})[0], generator(z, training=False).numpy(),
                             atol=ox.FP16_TOLERANCE, rtol=0)


@pytest.mark.slow
def test_existing_folder_is_refused_or_partly_replaced(both_formats):
  from export.loader import ExportError
  from export.model_folder import export_model
  run_dir, folder = both_formats
  models_dir = os.path.dirname(folder)

  def snapshot():
    return {os.path.join(d, f): open(os.path.join(d, f), 'rb').read() for d, _, fs in os.walk(folder) for f in fs}

  before = snapshot()
  with pytest.raises(ExportError, match='already holds the onnx format'):
    export_model(str(run_dir), models_dir=models_dir, name='both', formats=('onnx',), log=quiet)
  assert snapshot() == before
  export_model(str(run_dir), models_dir=models_dir, name='both', formats=('savedmodel',), overwrite=True, log=quiet)
  after = snapshot()
  for file in ('model.onnx', 'model_fp16.onnx'):
    assert after[os.path.join(folder, file)] == before[os.path.join(folder, file)]
  assert json.loads(after[os.path.join(folder, 'metadata.json')])['formats'] == ['onnx', 'savedmodel']
  assert sorted(os.listdir(models_dir)) == ['both']  # no temp folder left


@pytest.mark.slow
def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
  from export import onnx_export as ox
  from export.loader import ExportError
  from export.model_folder import export_model
  make_run_dir(tmp_path / 'run')
  monkeypatch.setattr(ox, 'PARITY_TOLERANCE', -1.0)  # every parity check fails
  with pytest.raises(ExportError, match='differs from the TF generator'):
    export_model(str(tmp_path / 'run'), models_dir=str(tmp_path / 'models'), log=quiet)
  assert not os.path.exists(tmp_path / 'models')  # not even the models dir it would have created


@pytest.mark.slow
def test_other_weights_under_the_same_run_name_are_refused(tmp_path):
  # `best/` of two runs, or a run dir replaced by another run: same run name and step, other weights
  from tests.conftest import make_tiny_run_dir
  from export.loader import ExportError
  from export.model_folder import export_model
  make_tiny_run_dir(tmp_path / 'a' / 'best', seed=0)
  make_tiny_run_dir(tmp_path / 'b' / 'best', seed=1)
  models_dir = str(tmp_path / 'models')
  folder = export_model(str(tmp_path / 'a' / 'best'), models_dir=models_dir, name='m', formats=('savedmodel',),
                        log=quiet)
  (tmp_path / 'models' / 'm' / 'NOTES.txt').write_text('kept')  # the user's file beside the model
  before = {f: open(os.path.join(d, f), 'rb').read() for d, _, fs in os.walk(folder) for f in fs}
  with pytest.raises(ExportError, match=r"holds saved_model exported from other weights than this run's \(same "
                     r'run name and step\); pass --overwrite'):
    export_model(str(tmp_path / 'b' / 'best'), models_dir=models_dir, name='m', log=quiet)
  assert {f: open(os.path.join(d, f), 'rb').read() for d, _, fs in os.walk(folder) for f in fs} == before
  assert sorted(os.listdir(models_dir)) == ['m']
  export_model(str(tmp_path / 'a' / 'best'), models_dir=models_dir, name='m', log=quiet)  # the same weights
  assert sorted(os.listdir(folder)) == ['NOTES.txt', 'metadata.json', 'model.onnx', 'sample.png', 'saved_model']
  assert (tmp_path / 'models' / 'm' / 'NOTES.txt').read_text() == 'kept'


@pytest.mark.slow
def test_provenance_reaches_metadata_json_and_onnx_props(tmp_path):
  import onnx
  from export import onnx_export as ox
  from export.model_folder import export_model
  make_run_dir(tmp_path / 'run')
  path = tmp_path / 'run' / 'generator' / 'generator.json'
  provenance = {'git_commit': '0123456789abcdef0123456789abcdef01234567', 'git_dirty': True,
                'packages': {'tensorflow': '2.21.0', 'keras': '3.12.0'}, 'dataset_checksum': 'sha256:ab12'}
  path.write_text(json.dumps({**json.loads(path.read_text()), 'provenance': provenance}))
  folder = export_model(str(tmp_path / 'run'), models_dir=str(tmp_path / 'models'), fp16=True, log=quiet)
  with open(os.path.join(folder, 'metadata.json')) as f:
    assert json.load(f)['provenance'] == provenance
  for file in ('model.onnx', 'model_fp16.onnx'):
    props = {p.key: p.value for p in onnx.load(os.path.join(folder, file)).metadata_props}
    assert json.loads(props['provenance']) == provenance  # a JSON string, as every non-string field
    assert ox.read_metadata_props(onnx.load(os.path.join(folder, file)))['provenance'] == provenance
  # older runs have no provenance: the export has none either (not a made-up one)
  make_run_dir(tmp_path / 'old')
  folder = export_model(str(tmp_path / 'old'), models_dir=str(tmp_path / 'models'), name='old', log=quiet)
  with open(os.path.join(folder, 'metadata.json')) as f:
    assert 'provenance' not in json.load(f)
