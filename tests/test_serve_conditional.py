"""Class-conditional generators in the app: the label input checked at load (fast, hand-built ONNX graphs), and the
class endpoints /sample_class, /sample_all_classes and /class_morph plus the old endpoints on both kinds of model,
driven through gradio_client against the real server (tests/serve_server.py) serving a conditional generator
trained and exported by the real commands (COND: digits, 10 classes '0'..'9') beside an unconditional one.
"""

import json
import pathlib
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from common import images as common_images
from common.labels import class_weights
from common.latents import latents
from tests.bad_input_workspaces import Workspace, model_folder, tiny_onnx
from tests.serve_server import COND, GRAY, Server, read_image, sample, tiny_conditional_onnx

DIGITS = [str(k) for k in range(10)]


# ---------------------------------------------------------------------------------------------------------------
# The label input at load (no server)

def _folder(tmp_path, name, onnx_bytes, **metadata) -> str:
  model_folder(Workspace(tmp_path, shared=None), f'models/{name}', onnx_bytes, **metadata)
  return str(tmp_path / 'models' / name)


@pytest.mark.parametrize('onnx_args, metadata, message', [
    (dict(num_classes=10), dict(label_classes=list('abcde')),
     "graph label input 'labels' has shape ['batch', 10], metadata says (batch, 5): its 5 label_classes"),
    (dict(label_type='int64'), dict(label_classes=DIGITS),
     "graph label input 'labels' is int64, expected float32"),
    (dict(), dict(), "the graph has 2 inputs (z, labels), expected one latent input 'z' (its metadata names no "
                     "label_classes)"),
    (None, dict(label_classes=DIGITS), "its metadata names 10 classes, but the graph has no 'labels' input"),
    (dict(), dict(label_classes=['0', '0'] + DIGITS[2:]),
     "label_classes must be a list of distinct class names, got ['0', '0', '2'"),
])
def test_a_label_input_that_disagrees_with_the_metadata_is_refused_at_load(tmp_path, onnx_args, metadata, message):
  """Another size or type of `labels` than metadata's label_classes say, a label input the metadata does not name
  or a named one the graph lacks: the folder is skipped with one line, as any other bad folder."""
  from serve import models as models_lib
  from serve import registry as registry_lib
  onnx_bytes = tiny_onnx() if onnx_args is None else tiny_conditional_onnx(**onnx_args)
  folder = _folder(tmp_path, 'bad', onnx_bytes, **metadata)
  with pytest.raises(models_lib.ModelError) as error:
    models_lib.load_model(folder, 'cpu')
  assert str(error.value).startswith(message) and '\n' not in str(error.value)
  models, warnings = registry_lib.discover_models(str(tmp_path / 'models'), 'cpu')
  assert models == {} and warnings == [f"skipped model folder 'bad': {error.value}"]


def test_a_conditional_model_feeds_class_weights(tmp_path):
  """Image i of a sample is class i mod K (the SavedModel's `sample`), of class k when asked; both are ORT fed the
  seed's latents and those one-hot rows. An unconditional model of the same folder layout takes no class."""
  import onnxruntime as ort
  from serve import models as models_lib
  folder = _folder(tmp_path, 'cond', tiny_conditional_onnx(num_classes=3), label_classes=['a', 'b', 'c'])
  model = models_lib.load_model(folder, 'cpu')
  assert (model.label_name, model.label_classes) == ('labels', ('a', 'b', 'c'))
  session = ort.InferenceSession(f'{folder}/model.onnx', providers=['CPUExecutionProvider'])

  def direct(seed, ids):
    out = session.run(None, {'z': latents(seed, len(ids), 8), 'labels': class_weights(ids, 3)})[0]
    return common_images.to_uint8(out, squeeze_gray=True)

  np.testing.assert_array_equal(model.sample(5, 4), direct(5, [0, 1, 2, 0]))
  np.testing.assert_array_equal(model.sample(5, 4, label=model.class_id('c')), direct(5, [2, 2, 2, 2]))
  assert model.class_id(1) == model.class_id('b') == 1
  for bad, message in (('d', "unknown class 'd'; this generator has a, b, c"),
                       (3, 'class 3 is out of range: this generator has classes 0..2'),
                       (True, 'class must be a class name or id, got True')):
    with pytest.raises(ValueError, match=message):
      model.class_id(bad)
  plain = models_lib.load_model(_folder(tmp_path, 'plain', tiny_onnx()), 'cpu')
  assert plain.label_name is None and plain.label_classes == ()
  with pytest.raises(models_lib.ModelError, match="model 'plain' has no label input"):
    plain.class_id('a')


# ---------------------------------------------------------------------------------------------------------------
# The real server: COND and GRAY, and a conditional folder whose labels input disagrees with its metadata

BAD_LABELS = 'wrong-label-size'


@pytest.fixture(scope='module')
def models_dir(serve_conditional_model, serve_models_dir, tmp_path_factory) -> pathlib.Path:
  models = tmp_path_factory.mktemp('conditional') / 'models'
  shutil.copytree(serve_conditional_model, models / COND)
  shutil.copytree(serve_models_dir / GRAY, models / GRAY)
  shutil.copytree(serve_conditional_model, models / BAD_LABELS)
  metadata = json.loads((models / BAD_LABELS / 'metadata.json').read_text())
  (models / BAD_LABELS / 'metadata.json').write_text(json.dumps({**metadata, 'label_classes': DIGITS[:5]}))
  return models


@pytest.fixture(scope='module')
def server(models_dir, tmp_path_factory):
  server = Server(tmp_path_factory.mktemp('server') / 'server.log', f'--models_dir={models_dir}').wait_ready()
  yield server
  server.stop()


@pytest.fixture(scope='module')
def client(server):
  from gradio_client import Client
  return Client(server.url, verbose=False)


@pytest.fixture(scope='module')
def direct(models_dir):
  """The conditional model.onnx run by ORT here: (seed, class ids) -> uint8 images of latents(seed, len(ids))."""
  import onnxruntime as ort
  session = ort.InferenceSession(str(models_dir / COND / 'model.onnx'), providers=['CPUExecutionProvider'])
  latent_dim = json.loads((models_dir / COND / 'metadata.json').read_text())['latent_dim']

  def run(seed, ids, start=0):
    z = latents(seed, len(ids), latent_dim, start=start)
    return common_images.to_uint8(session.run(None, {'z': z, 'labels': class_weights(ids, 10)})[0],
                                  squeeze_gray=True)
  return run


def _gallery(result):
  gallery, grid_path, timing = result
  return np.stack([read_image(item['image']) for item in gallery]), [item['caption'] for item in gallery], \
      grid_path, timing


def sample_class(client, label, seed=0, count=4, model=COND, truncation=0.0):
  return _gallery(client.predict(model, seed, count, 1.0, truncation, label, api_name='/sample_class'))


@pytest.mark.slow
def test_the_conditional_model_is_listed_and_the_mismatched_folder_skipped(client, server):
  result = client.predict(api_name='/models')
  by_name = {m['name']: m for m in result['models']}
  assert sorted(by_name) == [GRAY, COND]
  assert by_name[COND]['label_classes'] == DIGITS and by_name[COND]['conditioning'] == 'projection'
  assert 'label_classes' not in by_name[GRAY]
  assert result['warnings'] == [f"skipped model folder '{BAD_LABELS}': graph label input 'labels' has shape "
                                f"['batch', 10], metadata says (batch, 5): its 5 label_classes"]
  assert f"warning: skipped model folder '{BAD_LABELS}'" in server.log() and 'Traceback' not in server.log()


@pytest.mark.slow
def test_sample_class_is_the_model_fed_the_seeds_latents_and_one_class(client, direct):
  """/sample_class at seed s, class k: ORT on latents(s, count) with one-hot k (the SavedModel's
  sample_class(s, count, k)); the class as a name or an id alike; another class, other images."""
  sevens, captions, grid_path, timing = sample_class(client, '7', seed=3, count=5)
  np.testing.assert_array_equal(sevens, direct(3, [7] * 5))
  np.testing.assert_array_equal(sample_class(client, 7, seed=3, count=5)[0], sevens)
  twos = sample_class(client, '2', seed=3, count=5)[0]
  assert not np.array_equal(twos, sevens)
  np.testing.assert_array_equal(twos, direct(3, [2] * 5))
  assert captions == [f'7 · seed 3 · #{i}' for i in range(5)]  # the class name first, alone
  assert pathlib.Path(grid_path).name == f'{COND}-seed3-class7-x5.png'
  np.testing.assert_array_equal(read_image(grid_path), common_images.grid(sevens))
  assert timing.startswith('5 images of class 7 in ')
  truncated = sample_class(client, '7', seed=3, count=5, truncation=0.5)[0]  # the truncation trick applies too
  assert not np.array_equal(truncated, sevens)


@pytest.mark.slow
def test_sample_all_classes_is_one_row_per_class(client):
  """Row k of the grid is class k, column j the same z_j: /sample_class of class k, image j; each row's class name
  stands in a margin left of the images, which are the plain grid's pixels."""
  per_class = 3
  images, captions, grid_path, timing = _gallery(client.predict(COND, 4, per_class, 1.0, 0.0,
                                                                api_name='/sample_all_classes'))
  assert images.shape == (10 * per_class, 16, 16)
  grid = read_image(grid_path)
  plain = common_images.grid(images, cols=per_class)
  assert plain.shape == (10 * 16 + 9 * 2, per_class * 16 + (per_class - 1) * 2)  # 10 rows, 3 columns, 2 px apart
  margin = grid.shape[1] - plain.shape[1]
  assert grid.shape[0] == plain.shape[0] and 8 <= margin <= 20  # one digit at 10 px and two 4 px gaps
  np.testing.assert_array_equal(grid[:, margin:], plain)
  for k in range(10):
    assert (grid[k * 18:k * 18 + 16, :margin] < 128).sum() >= 6, k  # class k's name, dark on white
  np.testing.assert_array_equal(grid, common_images.labelled_grid(images, DIGITS, cols=per_class))
  for k in (0, 6, 9):
    np.testing.assert_array_equal(images[k * per_class:(k + 1) * per_class], sample_class(client, k, 4, per_class)[0])
  assert captions[6 * per_class + 2] == '6 · seed 4 · #2'
  assert timing.startswith('30 images (10 classes × 3) in ')


@pytest.mark.slow
def test_generate_all_classes_rounds_the_count_up_to_whole_rows(models_dir, client, tmp_path):
  """The Sample tab's Generate with All classes (handlers.on_generate, which the page runs; its event is private,
  so no client can call it) asked for 16 images of the 10 classes: 2 per class, 20 images, and the timing text
  says so; they are the images and grid /sample_all_classes gives a client for per_class 2."""
  from serve import handlers as handlers_lib
  from serve import registry as registry_lib
  registry = registry_lib.ModelRegistry(str(models_dir), 'cpu')
  registry.scan()
  handlers = handlers_lib.Handlers(registry, str(tmp_path))
  gallery, grid_path, timing = handlers.on_generate(COND, 4, 16, 1.0, 0.0, handlers_lib.ALL_CLASSES)
  assert len(gallery) == 20 and timing.startswith('16 asked: 20 shown, 2 per class for 10 classes in ')
  images, captions, api_grid, api_timing = _gallery(client.predict(COND, 4, 2, 1.0, 0.0,
                                                                   api_name='/sample_all_classes'))
  np.testing.assert_array_equal(np.stack([read_image(path) for path, _ in gallery]), images)
  assert [caption for _, caption in gallery] == captions
  np.testing.assert_array_equal(read_image(grid_path), read_image(api_grid))
  assert api_timing.startswith('20 images (10 classes × 2) in ')
  gallery, _, timing = handlers.on_generate(COND, 4, 64, 1.0, 0.0, handlers_lib.ALL_CLASSES)
  assert len(gallery) == 70 and timing.startswith('64 asked: 70 shown, 7 per class for 10 classes in ')


@pytest.mark.slow
def test_class_morph_goes_from_class_a_to_class_b_at_one_latent(client):
  """The first frame is /sample_class's image #index of class A, the last that of class B, for the same z."""
  steps, index = 5, 2
  strip_path, gif_path, gif_file, timing = client.predict(COND, 9, index, '1', 8, steps, api_name='/class_morph')
  strip = read_image(strip_path)
  assert strip.shape == (16, steps * 16 + (steps - 1) * 2)
  frames = [strip[:, i * 18:i * 18 + 16] for i in range(steps)]
  np.testing.assert_array_equal(frames[0], sample_class(client, '1', seed=9, count=index + 1)[0][index])
  np.testing.assert_array_equal(frames[-1], sample_class(client, '8', seed=9, count=index + 1)[0][index])
  assert not np.array_equal(frames[0], frames[-1])
  with Image.open(gif_path) as gif:
    assert gif.format == 'GIF' and gif.n_frames == 2 * steps - 2
  assert pathlib.Path(gif_file).read_bytes() == pathlib.Path(gif_path).read_bytes()
  assert pathlib.Path(strip_path).name == f'{COND}-morph-9_2-class1-class8-x5.png'
  assert timing.startswith('5 frames from class 1 to class 8 in ')


@pytest.mark.slow
@pytest.mark.parametrize('model', [GRAY, COND])
def test_the_old_endpoints_called_as_the_docs_do(client, models_dir, direct, model):
  """/sample, /sample_truncated, /sample_npz, /interpolate and /interpolate_path keep their parameters on both
  kinds of model: an unconditional one gives ORT's images of z alone (as before); a conditional one image i of
  class i mod K (the SavedModel's `sample`), and interpolations of class 0."""
  images, grid_path, timing = sample(client, model=model, seed=42, count=12)
  if model == COND:
    np.testing.assert_array_equal(images, direct(42, [i % 10 for i in range(12)]))
  else:
    import onnxruntime as ort
    session = ort.InferenceSession(str(models_dir / GRAY / 'model.onnx'), providers=['CPUExecutionProvider'])
    expected = common_images.to_uint8(session.run(None, {'z': latents(42, 12, 8)})[0], squeeze_gray=True)
    np.testing.assert_array_equal(images, expected)
  assert pathlib.Path(grid_path).name == f'{model}-seed42-x12.png' and timing.startswith('12 images in ')
  truncated = _gallery(client.predict(model, 42, 12, 1.0, 0, api_name='/sample_truncated'))
  np.testing.assert_array_equal(truncated[0], images)
  npz_path, _ = client.predict(model, 42, 12, 1.0, api_name='/sample_npz')
  with np.load(npz_path) as npz:
    np.testing.assert_array_equal(npz['images'][..., 0], images)

  strip_path, _, _, timing = client.predict(model, 11, 22, 4, 'slerp', 1.0, api_name='/interpolate')
  strip = read_image(strip_path)
  assert strip.shape == (16, 4 * 16 + 3 * 2) and timing.startswith('4 frames (slerp) in ')
  first, last = strip[:, :16], strip[:, -16:]
  if model == COND:  # class 0 at both ends
    np.testing.assert_array_equal(first, direct(11, [0])[0])
    np.testing.assert_array_equal(last, direct(22, [0])[0])
  else:
    np.testing.assert_array_equal(first, sample(client, model=model, seed=11, count=1)[0][0])
  _, _, _, frames_zip, timing = client.predict(model, '42:3, 5:0', 3, 'lerp', 1.0, api_name='/interpolate_path')
  assert timing.startswith('3 frames through 2 keyframes (lerp) in ')
  with zipfile.ZipFile(frames_zip) as archive:
    frames = [np.asarray(Image.open(archive.open(name))) for name in sorted(archive.namelist())]
  expected_first = direct(42, [0], start=3)[0] if model == COND else images[3]
  np.testing.assert_array_equal(frames[0], expected_first)


@pytest.mark.slow
@pytest.mark.parametrize('api_name, args, message', [
    ('/sample_class', (COND, 0, 4, 1.0, 0, 'seven'), "unknown class 'seven'; this generator has 0, 1, 2, 3, 4, 5, "
                                                     "6, 7, 8, 9"),
    ('/sample_class', (COND, 0, 4, 1.0, 0, 10), 'class 10 is out of range: this generator has classes 0..9'),
    ('/sample_class', (COND, 0, 4, 1.0, 0, -1), 'class -1 is out of range: this generator has classes 0..9'),
    ('/sample_class', (GRAY, 0, 4, 1.0, 0, '3'), f"model '{GRAY}' has no label input (not a class-conditional "
                                                 'generator): it cannot be asked for a class'),
    ('/sample_class', (COND, 0, 0, 1.0, 0, '3'), 'count (number of images) must be an integer from 1 to 64, got 0'),
    ('/sample_all_classes', (GRAY, 0, 2, 1.0, 0), f"model '{GRAY}' has no label input"),
    ('/sample_all_classes', (COND, 0, 8, 1.0, 0), 'per_class (images per class) must be an integer from 1 to 7, '
                                                  'got 8'),
    ('/class_morph', (COND, 0, 0, '1', 'eleven', 4), "unknown class 'eleven'"),
    ('/class_morph', (COND, 0, 64, '1', '2', 4), 'index (image # of the seed) must be an integer from 0 to 63'),
    ('/class_morph', (GRAY, 0, 0, '1', '2', 4), f"model '{GRAY}' has no label input"),
    ('/sample_class', (BAD_LABELS, 0, 4, 1.0, 0, '3'), f"model '{BAD_LABELS}' is not served: graph label input "
                                                       "'labels' has shape ['batch', 10], metadata says (batch, 5)"),
])
def test_bad_class_requests_are_one_line_errors(client, server, api_name, args, message):
  from gradio_client.exceptions import AppError
  with pytest.raises(AppError) as error:
    client.predict(*args, api_name=api_name)
  assert message in str(error.value) and '\n' not in str(error.value).strip()
  assert server.proc.poll() is None and 'Traceback' not in server.log()


def test_clicking_a_class_image_picks_its_latent():
  """A conditional model's caption names the class first; a click still adds seed:index to the keyframes (the
  Interpolate tab's paths are latents)."""
  import types
  from serve.handlers import Handlers
  click = types.SimpleNamespace(value={'caption': '7 · seed 3 · #2'})
  assert Handlers.pick(None, '1:0', click) == '1:0, 3:2'
  assert Handlers.pick(None, '1:0', types.SimpleNamespace(value={'caption': 'seed 4 · #5'})) == '1:0, 4:5'
