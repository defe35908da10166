"""The app's API, driven through gradio_client against the real server (tests/serve_server.py): every endpoint's
outputs, determinism, bad requests answered with one clear message while the server keeps serving, concurrency.
"""

import concurrent.futures
import json
import os
import pathlib
import re

import numpy as np
import pytest
from PIL import Image

from common import images as common_images
from tests.serve_server import GRAY, READY_LINE, RGB, TEXT, Server, read_image, sample

pytestmark = pytest.mark.slow  # a real server


# ---------------------------------------------------------------------------------------------------------------
# Fixtures

@pytest.fixture(scope='module')
def models_dir(serve_models_dir) -> pathlib.Path:
  return serve_models_dir


@pytest.fixture(scope='module')
def server(models_dir, tmp_path_factory):
  server = Server(tmp_path_factory.mktemp('server') / 'server.log', f'--models_dir={models_dir}',
                  '--max_concurrency=4').wait_ready()
  yield server
  server.stop()


@pytest.fixture(scope='module')
def client(server):
  from gradio_client import Client
  return Client(server.url, verbose=False)


# ---------------------------------------------------------------------------------------------------------------
# Tests

def test_models_endpoint_lists_valid_models_and_warnings(client):
  result = client.predict(api_name='/models')
  by_name = {m['name']: m for m in result['models']}
  assert sorted(by_name) == [GRAY, RGB, TEXT]
  assert by_name[TEXT]['kind'] == 'text' and by_name[TEXT]['seq_len'] == 12 and by_name[TEXT]['vocab'][0] == 'unk'
  assert by_name[GRAY]['provider'] == 'CPUExecutionProvider' and by_name[GRAY]['device'] == 'CPU'
  assert (by_name[GRAY]['loss'], by_name[GRAY]['dataset'], by_name[GRAY]['step']) == ('wgan_gp', 'digits', 3)
  assert by_name[RGB]['channels'] == 3
  assert 'run_dir' not in by_name[GRAY]  # no host paths through the API
  warnings = '\n'.join(result['warnings'])
  assert "'broken-onnx'" in warnings and 'onnx.checker' in warnings
  assert "'wrong-latent-dim'" in warnings and 'metadata says (batch, 9)' in warnings


def test_malformed_folders_are_logged_at_startup(server):
  log = server.log()
  assert "warning: skipped model folder 'broken-onnx'" in log
  assert "warning: skipped model folder 'wrong-latent-dim'" in log
  assert 'Traceback' not in log
  assert f'{READY_LINE} http://127.0.0.1:{server.port}/' in log
  assert 'CUDAExecutionProvider' not in log  # auto on a CPU host never asks ORT for CUDA (no error spam)


def test_sample_returns_png_gallery_grid_and_time(client):
  images, grid_path, timing = sample(client, seed=42, count=5)
  assert images.shape == (5, 16, 16) and images.dtype == np.uint8  # grayscale: one channel, no RGB copy
  grid = read_image(grid_path)
  np.testing.assert_array_equal(grid, common_images.grid(images))  # the app's grid: white, no frame
  assert pathlib.Path(grid_path).name == f'{GRAY}-seed42-x5.png'
  assert re.fullmatch(r'5 images in [0-9.]+ ms on CPU \(fp32\) · weights [0-9a-f]{12}', timing), timing


def test_sample_matches_the_model_run_directly(client, models_dir):
  from serve import models as models_lib
  model = models_lib.load_model(str(models_dir / GRAY), 'cpu')
  images, _, _ = sample(client, seed=7, count=3, scale=0.7)
  np.testing.assert_array_equal(images, model.sample(7, 3, 0.7))


def test_sample_truncated_is_the_truncation_trick_and_sample_at_zero(client, models_dir):
  """/sample_truncated (the Generate button's endpoint): at 0 the images and file names of /sample; at 0.5 the
  model's images of common.latents.truncated_latents, and other images than the plain ones."""
  from serve import models as models_lib
  model = models_lib.load_model(str(models_dir / GRAY), 'cpu')

  def truncated(threshold, seed=7, count=3):
    gallery, grid_path, _ = client.predict(GRAY, seed, count, 1.0, threshold, api_name='/sample_truncated')
    return np.stack([read_image(item['image']) for item in gallery]), pathlib.Path(grid_path).name

  plain, grid_name = truncated(0)
  np.testing.assert_array_equal(plain, sample(client, seed=7, count=3)[0])
  assert grid_name == f'{GRAY}-seed7-x3.png'
  cut, grid_name = truncated(0.5)
  np.testing.assert_array_equal(cut, model.sample(7, 3, 1.0, 0.5))
  assert grid_name == f'{GRAY}-seed7-t0.5-x3.png' and not np.array_equal(cut, plain)
  with pytest.raises(Exception, match='truncation threshold must be 0 \\(off\\) or at least 0.25, got 0.1'):
    truncated(0.1)


def test_sample_is_deterministic_and_seed_dependent(client):
  first, _, _ = sample(client, seed=123, count=8)
  again, _, _ = sample(client, seed=123, count=8)
  other, _, _ = sample(client, seed=124, count=8)
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)
  fewer, _, _ = sample(client, seed=123, count=2)  # image i depends on (seed, i), not on the count
  np.testing.assert_array_equal(fewer, first[:2])


def test_sample_rgb_model(client, models_dir):
  """Three colour channels of their own (not one grey channel copied three times), holding the model's pixels."""
  from serve import models as models_lib
  images, _, _ = sample(client, model=RGB, seed=1, count=64)
  assert images.shape == (64, 16, 16, 3) and images.dtype == np.uint8
  assert not np.array_equal(images[..., 0], images[..., 1]) and not np.array_equal(images[..., 1], images[..., 2])
  model = models_lib.load_model(str(models_dir / RGB), 'cpu')
  np.testing.assert_array_equal(images, model.sample(1, 64))


def test_interpolate_strip_gif_and_endpoints(client):
  steps = 6
  strip_path, gif_path, gif_file, timing = client.predict(GRAY, 11, 22, steps, 'slerp', 1.0, api_name='/interpolate')
  strip = read_image(strip_path)
  assert strip.shape == (16, steps * 16 + (steps - 1) * 2)
  frames = [strip[:, i * 18:i * 18 + 16] for i in range(steps)]
  np.testing.assert_array_equal(frames[0], sample(client, seed=11, count=1)[0][0])  # ends are the seeds' images
  np.testing.assert_array_equal(frames[-1], sample(client, seed=22, count=1)[0][0])
  with Image.open(gif_path) as gif:
    assert gif.format == 'GIF' and gif.n_frames == 2 * steps - 2 and gif.info.get('loop') == 0
  assert pathlib.Path(gif_file).read_bytes() == pathlib.Path(gif_path).read_bytes()
  assert pathlib.Path(gif_file).suffix == '.gif'
  assert timing.startswith(f'{steps} frames (slerp) in ')
  lerp_strip = read_image(client.predict(GRAY, 11, 22, steps, 'lerp', 1.0, api_name='/interpolate')[0])
  np.testing.assert_array_equal(lerp_strip[:, :16], frames[0])
  assert not np.array_equal(lerp_strip, strip)


@pytest.mark.parametrize('api_name, args, message', [
    ('/sample', (GRAY, -1, 4, 1.0), 'seed must be an integer from 0 to 4294967295'),
    ('/sample', (GRAY, 'abc', 4, 1.0), 'seed must be an integer from 0 to 4294967295'),
    ('/sample', (GRAY, 2**32, 4, 1.0), 'seed must be an integer'),
    ('/sample', (GRAY, 1.5, 4, 1.0), 'seed must be an integer'),
    ('/sample', (GRAY, 1, 0, 1.0), 'count (number of images) must be an integer from 1 to 64, got 0'),
    ('/sample', (GRAY, 1, 10000, 1.0), 'count (number of images) must be an integer from 1 to 64, got 10000'),
    ('/sample', (GRAY, 1, 'many', 1.0), 'count (number of images) must be an integer from 1 to 64'),
    ('/sample', (GRAY, 1, 4, 5.0), 'latent scale must be a number in (0, 2], got 5.0'),
    ('/sample', ('no-such-model', 1, 4, 1.0), "unknown model 'no-such-model'; image models: tiny-gray, tiny-rgb"),
    ('/sample', (TEXT, 1, 4, 1.0), "model 'tiny-text' is a text model; image models: tiny-gray, tiny-rgb"),
    ('/text', (GRAY, 1, 4, 0.0), "model 'tiny-gray' is an image model; text models: tiny-text"),
    ('/text', (TEXT, 1, 0, 0.0), 'count (number of lines) must be an integer from 1 to 64, got 0'),
    ('/text', (TEXT, 1, 4, 7), 'temperature must be a number from 0 to 5, got 7'),
    ('/text', (TEXT, -1, 4, 0.0), 'seed must be an integer from 0 to 4294967295, got -1'),
    ('/sample', ('broken-onnx', 1, 4, 1.0), "model 'broken-onnx' is not served: model.onnx fails onnx.checker"),
    ('/sample', ('wrong-latent-dim', 1, 4, 1.0), "model 'wrong-latent-dim' is not served: graph input 'z' has shape"),
    ('/sample', ('../models/tiny-gray', 1, 4, 1.0), 'unknown model'),
    ('/interpolate', (GRAY, 1, 2, 1, 'slerp', 1.0), 'steps must be an integer from 2 to 64, got 1'),
    ('/interpolate', (GRAY, 1, 2, 100000, 'slerp', 1.0), 'steps must be an integer from 2 to 64, got 100000'),
    ('/interpolate', (GRAY, 1, -2, 4, 'slerp', 1.0), 'seed must be an integer from 0 to 4294967295, got -2'),
    ('/interpolate', (GRAY, 1, 2, 4, 'cubic', 1.0), "method must be one of slerp, lerp, got 'cubic'"),
    ('/interpolate', ('no-such-model', 1, 2, 4, 'slerp', 1.0), "unknown model 'no-such-model'"),
    ('/interpolate_path', (GRAY, '3:2', 4, 'slerp', 1.0), 'keyframes must be 2 to 8 items seed:index, got 1'),
    ('/interpolate_path', (GRAY, '3:2, 4:64', 4, 'slerp', 1.0), "index in '4:64' must be an integer from 0 to 63"),
    ('/interpolate_path', (GRAY, '', 4, 'slerp', 1.0), 'keyframes must be 2 to 8 items seed:index'),
])
def test_bad_input_is_a_clear_error_and_the_server_stays_up(client, server, api_name, args, message):
  from gradio_client.exceptions import AppError
  with pytest.raises(AppError) as error:
    client.predict(*args, api_name=api_name)
  assert message in str(error.value)
  assert 'Traceback' not in str(error.value)
  assert server.proc.poll() is None
  assert len(client.predict(api_name='/models')['models']) == 3


def test_text_endpoint_writes_lines_of_the_seed(client, models_dir):
  """/text: count lines of seq_len characters from the model's vocabulary; argmax lines equal the exported
  model's own `ids` output for the same latents; line i of a seed does not depend on the count; a temperature
  samples other lines, the same again for the same seed."""
  import onnxruntime as ort
  from common.latents import latents
  text, timing = client.predict(TEXT, 5, 6, 0, api_name='/text')
  lines = text.split('\n')
  metadata = json.loads((models_dir / TEXT / 'metadata.json').read_text())
  vocab = set(metadata['vocab']) | {'\ufffd'}
  assert len(lines) == 6 and all(len(line) == 12 and set(line) <= vocab for line in lines)
  assert re.fullmatch(r'6 lines \(argmax\) in [0-9.]+ ms on CPU \(fp32\) · weights [0-9a-f]{12}', timing)
  session = ort.InferenceSession(str(models_dir / TEXT / 'model.onnx'), providers=['CPUExecutionProvider'])
  ids = session.run(['ids'], {'z': latents(5, 6, metadata['latent_dim'])})[0]
  chars = ['\ufffd' if t == 'unk' else t for t in metadata['vocab']]
  assert lines == [''.join(chars[i] for i in row) for row in ids]
  assert client.predict(TEXT, 5, 2, 0, api_name='/text')[0].split('\n') == lines[:2]
  hot, hot_timing = client.predict(TEXT, 5, 6, 2.0, api_name='/text')
  assert hot != text and hot == client.predict(TEXT, 5, 6, 2.0, api_name='/text')[0]
  assert 'sampled at temperature 2' in hot_timing


def test_interpolate_path_through_keyframes_with_mp4_and_frames(client):
  """/interpolate_path: 3 keyframes x 4 steps = 7 frames; the path starts and ends at the very images /sample
  showed as #2 of seed 3 and #5 of seed 9; the ZIP holds the 7 frames losslessly; the MP4 is an H.264 file."""
  import zipfile
  strip, gif, mp4, frames_zip, timing = client.predict(GRAY, '3:2, 0, 9:5', 4, 'slerp', 1.0,
                                                       api_name='/interpolate_path')
  assert timing.startswith('7 frames through 3 keyframes (slerp) in ')
  with zipfile.ZipFile(frames_zip) as archive:
    names = sorted(archive.namelist())
    frames = [np.asarray(Image.open(archive.open(name))) for name in names]
  assert len(frames) == 7 and all(name.endswith('.png') for name in names)
  np.testing.assert_array_equal(frames[0], sample(client, GRAY, seed=3, count=3)[0][2])
  np.testing.assert_array_equal(frames[-1], sample(client, GRAY, seed=9, count=6)[0][5])
  np.testing.assert_array_equal(frames[3], sample(client, GRAY, seed=0, count=1)[0][0])
  video = mp4['video'] if isinstance(mp4, dict) else mp4
  with open(video, 'rb') as f:
    head = f.read(12)
  assert head[4:8] == b'ftyp' and os.path.getsize(video) > 1000
  assert read_image(strip).ndim == 2 and open(gif, 'rb').read(6) in (b'GIF87a', b'GIF89a')


def test_sample_npz_is_the_whole_batch_in_one_file(client, models_dir):
  """/sample_npz: the same uint8 images as /sample's gallery, in one .npz download; the weights hash in the timing
  text is the model's."""
  path, timing = client.predict(GRAY, 7, 5, 1.0, api_name='/sample_npz')
  with np.load(path) as npz:
    images, seed = npz['images'], int(npz['seed'])
  assert images.shape == (5, 16, 16, 1) and images.dtype == np.uint8 and seed == 7
  gallery, _, _ = sample(client, GRAY, seed=7, count=5)
  np.testing.assert_array_equal(images[..., 0], gallery)
  weights = json.loads((models_dir / GRAY / 'metadata.json').read_text())['weights_sha256']
  assert timing.endswith(f'· weights {weights[:12]}')


def test_health_and_per_model_statistics(client):
  health = client.predict(api_name='/health')
  assert health['status'] == 'ok' and health['models'] == 3 and health['devices'] == ['CPU']
  assert health['uptime_s'] > 0
  before = {m['name']: m['requests'] for m in client.predict(api_name='/models')['models']}
  sample(client, RGB, count=2)
  after = {m['name']: m for m in client.predict(api_name='/models')['models']}
  assert after[RGB]['requests'] == before[RGB] + 1 and after[RGB]['mean_ms'] > 0
  assert after[GRAY]['precision'] == 'fp32'


def test_twenty_concurrent_clients(server):
  from gradio_client import Client
  seeds = [i % 4 for i in range(20)]

  def one_client(seed):
    c = Client(server.url, verbose=False)
    images, _, _ = sample(c, seed=seed, count=8)
    strip = read_image(c.predict(GRAY, seed, seed + 1, 4, 'slerp', 1.0, api_name='/interpolate')[0])
    return images, strip

  with concurrent.futures.ThreadPoolExecutor(20) as pool:
    futures = [pool.submit(one_client, seed) for seed in seeds]
    results = [f.result(timeout=120) for f in futures]  # any error raises here
  assert len(results) == 20
  for seed, (images, strip) in zip(seeds, results):  # same seed, same pixels, whatever ran beside it
    np.testing.assert_array_equal(images, results[seed][0])
    np.testing.assert_array_equal(strip, results[seed][1])
  assert server.proc.poll() is None and 'Traceback' not in server.log()
