"""The workspaces of the bad-input catalogue (tests/bad_inputs.py): what each case is given, built for real in a
folder of its own — a copy of a tiny two-step run (made once per session), damaged files, ONNX models built with
onnx.helper, model folders — and the matching rule of the catalogue's messages."""

import dataclasses
import hashlib
import json
import pathlib
import re
import shutil
import threading
from typing import Callable, Optional, Sequence

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# The run every checkpoint/run-directory case copies: ~15 s of training, made once per test session.
TINY_RUN_ARGS = ('--steps=2', '--ckpt_every=1', '--sample_every=1', '--log_every=1', '--width=4', '--batch_size=8')


class Shared:
  """Inputs several cases copy, built once on first use (thread-safe): a tiny real run directory."""

  def __init__(self, root: pathlib.Path):
    self.root, self._lock, self._run = pathlib.Path(root), threading.Lock(), None

  def run_dir(self) -> pathlib.Path:
    with self._lock:
      if self._run is None:
        path = self.root / 'tiny_run'
        shutil.rmtree(path, ignore_errors=True)
        from tests import warm
        result = warm.run('training.main', *TINY_RUN_ARGS, f'--run_dir={path}')
        if result.returncode:
          raise RuntimeError(f'the tiny run failed (exit {result.returncode}):\n{result.stderr[-3000:]}')
        self._run = path
      return self._run


@dataclasses.dataclass
class Workspace:
  tmp: pathlib.Path
  shared: Shared

  def write(self, rel: str, data) -> pathlib.Path:
    path = self.tmp / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path

  def run(self, rel: str = 'run') -> pathlib.Path:
    """A copy of the tiny two-step run (config.json, checkpoints ckpt-1 and ckpt-2, generator/, ...)."""
    return pathlib.Path(shutil.copytree(self.shared.run_dir(), self.tmp / rel))

  def edit_json(self, rel: str, **changes) -> None:
    path = self.tmp / rel
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}, indent=2))


def matches(pattern: str, text: str) -> bool:
  """`text` equals `pattern`, where each '...' in the pattern stands for any text."""
  return re.fullmatch('.*'.join(re.escape(part) for part in pattern.split('...')), text, re.S) is not None


def garbage(size: int, seed: int = 0) -> bytes:
  """`size` reproducible bytes that are no valid file of any format."""
  out, block = bytearray(), str(seed).encode()
  while len(out) < size:
    block = hashlib.sha256(block).digest()
    out += block
  return bytes(out[:size])


def garble(path: pathlib.Path) -> None:
  path.write_bytes(garbage(path.stat().st_size))


def truncate(path: pathlib.Path, fraction: float = 0.5) -> None:
  path.write_bytes(path.read_bytes()[:int(path.stat().st_size * fraction)])


def tiny_onnx(latent_dim: int = 8, image_shape: Sequence[int] = (16, 16, 1), dataset: Optional[str] = 'digits',
              props: bool = True) -> bytes:
  """A valid ONNX generator built with onnx.helper: z (B, latent_dim) -> tanh(z W) reshaped to (B, *image_shape),
  with the metadata_props export writes. Another shape than a run's makes a wrong-shape model."""
  import numpy as np
  import onnx
  from onnx import helper, numpy_helper, TensorProto
  size = int(np.prod(image_shape))
  weights = numpy_helper.from_array(np.linspace(-1, 1, latent_dim * size, dtype=np.float32).reshape(
      latent_dim, size), 'w')
  shape = numpy_helper.from_array(np.array([-1, *image_shape], np.int64), 'shape')
  graph = helper.make_graph(
      [helper.make_node('MatMul', ['z', 'w'], ['zw']), helper.make_node('Tanh', ['zw'], ['flat']),
       helper.make_node('Reshape', ['flat', 'shape'], ['images'])], 'tiny',
      [helper.make_tensor_value_info('z', TensorProto.FLOAT, ['batch', latent_dim])],
      [helper.make_tensor_value_info('images', TensorProto.FLOAT, ['batch', *image_shape])], [weights, shape])
  model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)], ir_version=8)
  if props:
    values = {'latent_dim': latent_dim, 'image_height': image_shape[0], 'channels': image_shape[-1],
              'dataset': dataset}
    helper.set_model_props(model, {k: str(v) for k, v in values.items() if v is not None})
  onnx.checker.check_model(model)
  return model.SerializeToString()


def model_folder(ws: Workspace, rel: str, onnx_bytes: Optional[bytes] = None, **metadata) -> None:
  """A model folder as export writes it for the server: model.onnx and metadata.json (16x16x1, latent 8)."""
  values = dict(format_version=1, latent_dim=8, image_height=16, image_width=16, channels=1, loss='wgan_gp',
                dataset='digits', step=2, layout='NHWC', value_range=[-1.0, 1.0], run_name='run')
  ws.write(f'{rel}/model.onnx', tiny_onnx() if onnx_bytes is None else onnx_bytes)
  ws.write(f'{rel}/metadata.json', json.dumps({**values, **metadata}))


def run_without(*rels):
  def setup(ws):
    ws.run()
    for rel in rels:
      for path in (ws.tmp / 'run').glob(rel):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
  return setup


def run_with(rel_glob: str, damage: Callable[[pathlib.Path], None]):
  def setup(ws):
    ws.run()
    for path in sorted((ws.tmp / 'run').glob(rel_glob)):
      damage(path)
  return setup


def run_json(rel: str, **changes):
  def setup(ws):
    ws.run()
    ws.edit_json(f'run/{rel}', **changes)
  return setup


def image_folder(ws: Workspace) -> None:
  for i in range(3):
    ws.write(f'images/img{i}.png', garbage(200, seed=i))


def class_folders(counts: dict, loose: int = 0, unreadable: Sequence[str] = ()):
  """A setup writing <tmp>/images/<class>/img<i>.png: counts[class] small readable PNGs per class folder (an empty
  folder for 0), `loose` PNGs beside the class folders, and the classes in `unreadable` holding random bytes."""
  def setup(ws: Workspace) -> None:
    import io
    from PIL import Image
    buffer = io.BytesIO()
    Image.new('RGBA', (16, 16), (200, 100, 50, 128)).save(buffer, 'PNG')
    for name, count in counts.items():
      (ws.tmp / 'images' / name).mkdir(parents=True, exist_ok=True)
      for i in range(count):
        ws.write(f'images/{name}/img{i}.png', garbage(200, seed=i) if name in unreadable else buffer.getvalue())
    for i in range(loose):
      ws.write(f'images/loose{i}.png', buffer.getvalue())
  return setup


def judged_class_folders(ws: Workspace, per_class: int = 80) -> None:
  """<tmp>/images: 3 class folders of `per_class` distinct 16x16 RGBA PNGs each, and its judge (1 epoch,
  transparency over white, the default) in <tmp>/judges."""
  import io
  import numpy as np
  from PIL import Image
  from evaluation import folder_judge
  rng = np.random.default_rng(0)
  for c, name in enumerate(('a', 'b', 'c')):
    for i in range(per_class):  # 80: at least 5 per class in each part of the split
      pixels = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
      pixels[..., c] = 255  # one colour channel per class, something to learn
      buffer = io.BytesIO()
      Image.fromarray(pixels, 'RGBA').save(buffer, 'PNG')
      ws.write(f'images/{name}/img{i}.png', buffer.getvalue())
  folder_judge.train_folder_judge(f'folder:{ws.tmp / "images"}', image_size=16, epochs=1,
                                  judges_dir=str(ws.tmp / 'judges'), log=lambda line: None)


def distinct_pngs(ws: Workspace, rel: str, count: int, name=lambda i: f'img{i}.png', seed: int = 0) -> None:
  """`count` distinct 16x16 RGB PNGs in <tmp>/rel (random pixels: no two are near-duplicates)."""
  import io
  import numpy as np
  from PIL import Image
  rng = np.random.default_rng(seed)
  for i in range(count):
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), 'RGB').save(buffer, 'PNG')
    ws.write(f'{rel}/{name(i)}', buffer.getvalue())


def oversized_png(ws: Workspace, rel: str) -> None:
  """A valid one-colour 16000x16000 1-bit PNG (256 M px, above the 250 M px cap; ~30 KB on disk)."""
  from PIL import Image
  path = ws.tmp / rel
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.new('1', (16000, 16000), 1).save(path)


def grouped_people(ws: Workspace) -> None:
  """<tmp>/people/{cats,dogs}: 200 distinct PNGs each named <class>NN_MMM.png (20 groups NN of 10 files MMM), so
  that --group_by='strip:_\\d+$' makes 20 groups of 10 per class: a split of whole groups skews floor against
  reference."""
  for c, name in enumerate(('cats', 'dogs')):
    distinct_pngs(ws, f'people/{name}', 200, lambda i, n=name: f'{n}{i // 10:02d}_{i % 10:03d}.png', seed=c)
