"""The contract between the stages (common/): who may import whom, one definition of each shared name, the image
helpers' pixels as they were before common/images.py, and run directories / model folders written by the code of
before the move (tests/fixtures/v1, written at commit ccc0751) still loading, exporting, evaluating and serving.

Allowed imports (top-level and inside functions alike), the flow data -> training -> run dir -> evaluation/export
-> serve:
  common       common only (and no TensorFlow at import time)
  data         common, data
  training     common, data, training; training/main.py (the composition root) also evaluation
  evaluation   common, data, evaluation, and training.generator_io (rebuilding a generator from a run directory)
  export       common, data, export, and training.generator_io
  serve        common, serve; never TensorFlow
"""

import ast
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = REPO / 'tests' / 'fixtures'
STAGES = ('common', 'data', 'training', 'evaluation', 'export', 'serve')
REBUILD_MODULE = 'training.generator_io'  # the one public module of training that export and evaluation use
ALLOWED = {
    'common': {'common'},
    'data': {'common', 'data'},
    'training': {'common', 'data', 'training'},
    'evaluation': {'common', 'data', 'evaluation', REBUILD_MODULE},
    'export': {'common', 'data', 'export', REBUILD_MODULE},
    'serve': {'common', 'serve'},
}
COMPOSITION_ROOT = 'training.main'  # wires training and evaluation together
HEAVY = ('tensorflow', 'keras', 'tf2onnx')


def _modules():
  """{module name: path} of every stage's Python files."""
  found = {}
  for stage in STAGES:
    for path in sorted((REPO / stage).rglob('*.py')):
      name = '.'.join(path.relative_to(REPO).with_suffix('').parts)
      found[name[:-len('.__init__')] if name.endswith('.__init__') else name] = path
  return found


def _imports(path, modules=None):
  """Every module an import statement of `path` names: `from a import b` names a.b when that is a module of the
  project, else a."""
  modules = modules if modules is not None else _modules()
  names = []
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      names += [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      names += [f'{node.module}.{alias.name}' if f'{node.module}.{alias.name}' in modules else node.module
                for alias in node.names]
  return names


def _project_target(name, modules):
  """The project module `name` refers to (a.b.c -> the longest existing prefix), or None for a third party."""
  if name.split('.')[0] not in STAGES:
    return None
  parts = name.split('.')
  for end in range(len(parts), 0, -1):
    candidate = '.'.join(parts[:end])
    if candidate in modules:
      return candidate
  return name


def test_allowed_imports():
  modules = _modules()
  wrong = []
  for module, path in modules.items():
    stage = module.split('.')[0]
    allowed = ALLOWED[stage] | ({'evaluation'} if module == COMPOSITION_ROOT else set())
    for name in _imports(path, modules):
      target = _project_target(name, modules)
      if target is None:
        if stage == 'serve' and name.split('.')[0] in HEAVY:
          wrong.append(f'{module} imports {name} (serve runs without TensorFlow)')
        continue
      if not any(target == rule or target.startswith(rule + '.') or
                 (rule in STAGES and target.split('.')[0] == rule) for rule in allowed):
        wrong.append(f'{module} imports {target}')
  assert not wrong, 'imports against the stage rules:\n' + '\n'.join(sorted(set(wrong)))


def test_no_import_cycles():
  """What ../shared/tools/import_cycles.py checks: no strongly connected component of more than one module."""
  modules = _modules()
  graph = {m: {t for t in (_project_target(n, modules) for n in _imports(p, modules)) if t in modules and t != m
               and t not in STAGES} for m, p in modules.items()}
  index, low, stack, on_stack, cycles = {}, {}, [], set(), []
  sys.setrecursionlimit(10000)

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in graph[v]:
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        cycles.append(sorted(component))

  for module in graph:
    if module not in index:
      visit(module)
  assert not cycles, f'import cycles: {cycles}'


def test_common_and_serve_import_without_tensorflow():
  code = ('import sys, common.artifacts, common.cli, common.images, common.kinds, common.latents, common.signature, '
          'serve.app, serve.models, serve.registry, serve.handlers, serve.sampler, serve.sessions, evaluation.images, data.geometry\n'
          'heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx"))\n'
          'assert not heavy, heavy')
  result = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]


def _assigned_constants(path):
  """{string constant: [target names]} of module- and class-level assignments of string constants."""
  found = {}
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
      values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
      for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
          found.setdefault(value.value, []).append(ast.unparse(node).split('=')[0].strip())
  return found


@pytest.mark.parametrize('value, home', [
    ('model.onnx', 'common/artifacts.py'), ('model_fp16.onnx', 'common/artifacts.py'),
    ('metadata.json', 'common/artifacts.py'), ('generator.json', 'common/artifacts.py'),
    ('generator.weights.h5', 'common/artifacts.py'), ('config.json', 'common/artifacts.py'),
    ('eval.csv', 'common/artifacts.py'), ('saved_model', 'common/artifacts.py'),
    ('image', 'common/kinds.py'), ('points', 'common/kinds.py'), ('text', 'common/kinds.py'),
    ('toy:', 'common/kinds.py'), ('text:', 'common/kinds.py'), ('unk', 'common/signature.py'),
])
def test_one_definition_of_each_name(value, home):
  """A file name, kind name or token is assigned to a name in one module only (its home in common/)."""
  where = sorted(str(path.relative_to(REPO)) for path in _modules().values() if value in _assigned_constants(path))
  assert where == [home], f'{value!r} is defined in {where}, expected only {home}'


@pytest.mark.parametrize('function', ['to_uint8', 'grid', 'png_bytes', 'upscale', 'first_line'])
def test_one_image_and_error_helper(function):
  where = sorted(str(path.relative_to(REPO)) for path in _modules().values()
                 for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.FunctionDef) and node.name.lstrip('_') == function)
  assert len(where) == 1 and where[0].startswith('common/'), f'{function} is defined in {where}'


def test_one_gif_writer():
  """Animated GIFs are encoded in one place (Pillow's save_all); the trainer's samples.gif and the app's
  interpolation GIFs call it with their own frame time, order and size."""
  where = sorted(str(path.relative_to(REPO)) for path in _modules().values()
                 for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.keyword) and node.arg == 'save_all')
  assert where == ['common/images.py'], where


def test_sample_seed_and_opset_are_defined_once():
  literals = {}
  for path in _modules().values():
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in (2024, 17):
        literals.setdefault(node.value.value, []).append(f'{path.relative_to(REPO)}: {ast.unparse(node)}')
  assert [line.split(':')[0] for line in literals.get(2024, [])] == ['common/artifacts.py'], literals.get(2024)
  assert [line.split(':')[0] for line in literals.get(17, [])] == ['common/artifacts.py'], literals.get(17)


# --- The image helpers: every caller's pixels as before (tests/fixtures/image_helpers_v1.npz) -----------------

@pytest.mark.parametrize('channels', [1, 3])
def test_image_helpers_are_pixel_identical_to_before(channels, tmp_path):
  """The outputs of training/run_dir.py's and serve/sampler.py's helpers before they became common/images.py,
  captured at ccc0751 on fixed inputs (NaN and ±Inf included for the app's), against the one helper with the
  parameters each caller now passes."""
  from PIL import Image
  from common import images
  golden = np.load(FIXTURES / 'image_helpers_v1.npz')
  x, xn = golden[f'x{channels}'], golden[f'xn{channels}']
  dark = dict(fill=images.TRAINING_BACKGROUND, frame=True)  # the trainer's and export's grids
  np.testing.assert_array_equal(images.to_uint8(x), golden[f'train_u8_{channels}'])
  np.testing.assert_array_equal(images.grid(images.to_uint8(x), **dark), golden[f'train_grid_{channels}'])
  np.testing.assert_array_equal(images.grid(images.to_uint8(x), cols=2, **dark), golden[f'train_grid_cols2_{channels}'])
  app = images.to_uint8(xn, squeeze_gray=True)  # the app's
  np.testing.assert_array_equal(app, golden[f'serve_u8_{channels}'])
  np.testing.assert_array_equal(images.grid(app), golden[f'serve_grid_{channels}'])
  np.testing.assert_array_equal(images.grid(app, cols=2), golden[f'serve_grid_cols2_{channels}'])
  assert images.png_bytes(images.grid(app)) == golden[f'serve_png_{channels}'].tobytes()
  gif = images.write_gif(app, str(tmp_path / 'app.gif'), frame_ms=80, pingpong=True, min_size=128)
  assert pathlib.Path(gif).read_bytes() == golden[f'serve_gif_{channels}'].tobytes()
  # The trainer's sample grids (save_sample_grid at steps 1 and 2 of x * 0.5 and x * 1.0) and their samples.gif.
  from training import run_dir as rundir
  (tmp_path / 'samples').mkdir()
  for step in (1, 2):
    png = rundir.save_sample_grid(str(tmp_path), step, x * (0.5 * step))
  assert pathlib.Path(png).read_bytes() == golden[f'train_png_{channels}'].tobytes()
  assert pathlib.Path(rundir.write_gif(str(tmp_path))).read_bytes() == golden[f'train_gif_{channels}'].tobytes()
  assert Image.open(png).size == (2 * (3 * (6 + 2) + 2), 2 * (2 * (8 + 2) + 2))  # 5 images of 8x6: 3 cols, 2 rows


def test_to_uint8_maps_nan_to_grey_and_infinities_to_the_ends():
  from common import images
  out = images.to_uint8(np.array([[[[np.nan], [np.inf], [-np.inf], [0.0]]]], np.float32))
  assert out.ravel().tolist() == [128, 255, 0, 128]


# --- The generator signature ----------------------------------------------------------------------------------

@pytest.mark.parametrize('metadata', [
    {'kind': 'image', 'latent_dim': 8, 'image_height': 16, 'image_width': 16, 'channels': 3},
    {'latent_dim': 8, 'image_height': 16, 'image_width': 16, 'channels': 1},  # before data kinds: an image
    {'kind': 'points', 'latent_dim': 4, 'dims': 2},
    {'kind': 'text', 'latent_dim': 8, 'seq_len': 5, 'vocab': ['unk', 'a', 'b']},
])
def test_signature_round_trips_through_metadata(metadata):
  from common.signature import GeneratorSignature
  signature = GeneratorSignature.from_metadata(metadata)
  again = GeneratorSignature.from_metadata(signature.to_metadata())
  assert again == signature and not signature.has_label_input
  for key, value in metadata.items():
    assert signature.to_metadata()[key] == value
  assert signature.output_name == {'image': 'images', 'points': 'points', 'text': 'probs'}[signature.kind]


def test_signature_refuses_incomplete_metadata():
  from common.signature import GeneratorSignature, SignatureError
  with pytest.raises(SignatureError, match='no image_width, channels'):
    GeneratorSignature.from_metadata({'kind': 'image', 'latent_dim': 8, 'image_height': 16})
  with pytest.raises(SignatureError, match="unknown data kind 'video'"):
    GeneratorSignature.from_metadata({'kind': 'video', 'latent_dim': 8})


def test_training_writes_the_signature_of_its_data():
  """generator.json's signature fields come from common/signature.py for every kind of data."""
  import types
  from training import data_kinds
  config = types.SimpleNamespace(latent_dim=8, image_size=16, channels=3)
  assert data_kinds.KINDS['image'].signature(config).to_metadata() == {
      'kind': 'image', 'latent_dim': 8, 'image_height': 16, 'image_width': 16, 'channels': 3, 'layout': 'NHWC',
      'value_range': [-1.0, 1.0]}
  assert data_kinds.KINDS['points'].signature(config).to_metadata() == {'kind': 'points', 'latent_dim': 8, 'dims': 2}
  assert sorted(data_kinds.KINDS) == sorted(__import__('common.kinds', fromlist=['NAMES']).NAMES)


def test_every_stage_registers_every_kind():
  from common import kinds
  from evaluation import kinds as evaluation_kinds
  from export import kinds as export_kinds
  from training import data_kinds
  for table in (data_kinds.KINDS, evaluation_kinds.KINDS, export_kinds.KINDS):
    assert sorted(table) == sorted(kinds.NAMES)


# --- Old formats: the v1 run directory and model folder (tests/fixtures/v1) -----------------------------------

@pytest.fixture
def v1(tmp_path):
  """A copy of the fixtures (tests must not write into the repository)."""
  shutil.copytree(FIXTURES / 'v1', tmp_path / 'v1')
  return tmp_path / 'v1'


def test_v1_run_directory_loads(v1):
  from training import generator_io
  generator, metadata = generator_io.load(str(v1 / 'run'))
  assert metadata['step'] == 4 and metadata['latent_dim'] == 8
  from common.latents import latents
  images = generator(latents(2024, 3, 8), training=False).numpy()
  assert images.shape == (3, 16, 16, 1) and np.abs(images).max() <= 1.0


@pytest.mark.slow
def test_v1_run_directory_exports_to_the_same_model_folder(v1, tmp_path):
  """Exporting the v1 run now gives the v1 folder's graph outputs and its sample.png pixel for pixel."""
  from PIL import Image
  from export.model_folder import export_model
  folder = export_model(str(v1 / 'run'), models_dir=str(tmp_path / 'models'), name='again',
                        formats=('onnx',), log=lambda line: None)
  new, old = json.loads((pathlib.Path(folder) / 'metadata.json').read_text()), json.loads(
      (v1 / 'model' / 'metadata.json').read_text())
  for key in ('kind', 'latent_dim', 'image_height', 'image_width', 'channels', 'layout', 'value_range',
              'input_name', 'output_name', 'onnx_opset', 'format_version', 'sample_seed', 'weights_sha256'):
    assert new[key] == old[key], key
  np.testing.assert_array_equal(np.asarray(Image.open(pathlib.Path(folder) / 'sample.png')),
                                np.asarray(Image.open(v1 / 'model' / 'sample.png')))


def test_v1_model_folder_serves_its_sample_png(v1):
  """The app loads the v1 folder; its /sample images of seed 2024, laid out as export lays sample.png out, are the
  v1 sample.png."""
  from PIL import Image
  from common import images
  from serve import models
  model = models.load_model(str(v1 / 'model'), provider='cpu')
  samples = model.sample(2024, 64)  # (64, 16, 16) uint8
  picture = images.grid(samples, cols=8, fill=images.TRAINING_BACKGROUND, frame=True)
  np.testing.assert_array_equal(picture, np.asarray(Image.open(v1 / 'model' / 'sample.png')))


@pytest.mark.slow
@pytest.mark.parametrize('flag, path', [('run_dir', 'run'), ('model', 'model/model.onnx'),
                                        ('saved_model', 'model')])
def test_v1_formats_evaluate_alike(v1, flag, path):
  """The three forms of the v1 generator give the same samples (the evaluator's loader reads each)."""
  from evaluation import sources
  source = sources.SOURCES[flag](str(v1 / path))
  assert source.kind == 'image' and source.dataset == 'digits' and source.latent_dim == 8
  samples = sources.generate(source, 5)
  reference = sources.generate(sources.run_dir_source(str(v1 / 'run')), 5)
  np.testing.assert_allclose(samples, reference, atol=1e-5)


@pytest.mark.slow
def test_v1_run_directory_evaluates_with_the_cli(v1, tmp_path):
  from tests import warm
  result = warm.run('evaluation.evaluate', f'--run_dir={v1 / "run"}', '--num_samples=150',
                    f'--json={tmp_path / "r.json"}', timeout=600)
  assert result.returncode == 0, result.stderr[-2000:]
  scores = json.loads((tmp_path / 'r.json').read_text())
  assert scores['dataset'] == 'digits' and scores['num_samples'] == 150 and 'fcd' in scores['samples']
