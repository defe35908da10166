r"""Serving overhead: the /sample API end to end vs ONNX Runtime called directly, for one 16-image grid.

  raw ORT            session.run on the 16 latents (the floor)
  raw + PNG          latents from the seed, session.run, uint8, 16 PNGs + the grid PNG written to disk: the
                     same work the handler does, without Gradio
  HTTP API           the documented REST route against `python -m serve.app` in its own process, as curl or
                     a browser uses it: POST /gradio_api/call/sample, read the SSE result, then (second
                     variant) GET the 17 PNGs it names: queue, Gradio's file cache, HTTP, JSON
  gradio_client      `Client(url).predict(..., api_name="/sample")`, with and without downloading the files, and
                     /sample_npz: the whole batch as one .npz file, one download
                     gradio_client 2.7 polls its message queue with time.sleep(0.05), so a call costs at least
                     ~50-100 ms whatever the server does (a /models call returning a small JSON costs the same)

Medians over --runs rounds (a different seed each round; within a round every variant runs once, so load from
other processes hits all of them alike), after --warmup rounds; overhead = variant - raw + PNG.
The target (API adds <= 50 ms) is judged for the API result, for the result plus the 17 files fetched one
after the other (a browser fetches them in parallel, and only those in view), and for gradio_client.

  python -m benchmarks.serve_latency                          # first model under models/
  python -m benchmarks.serve_latency --models_dir=models --model=digits-wgan-gp --runs=50
"""

import json
import os
import statistics
import sys
import tempfile
import time

from absl import flags, logging

from benchmarks.app_server import start_server
from common import cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_string('models_dir', 'models', 'Folder of exported models (as serve.app reads it).')
  flags.DEFINE_string('model', None, 'Model folder name (default: the first valid one).')
  flags.DEFINE_integer('count', 16, 'Images per request (one grid).')
  flags.DEFINE_integer('runs', 30, 'Timed calls per variant.')
  flags.DEFINE_integer('warmup', 3, 'Untimed calls per variant first.')
  flags.DEFINE_enum('provider', 'cpu', ['auto', 'cuda', 'cpu'], 'ONNX Runtime provider, same for both sides.')


TARGET_OVERHEAD_MS = 50.0
API_RESULT, END_TO_END = 'HTTP API, result JSON only', 'HTTP API + GET the 17 PNGs'
RAW_ORT, RAW_PNG = 'raw ORT session.run', 'raw + PNG encoding'


def interleaved_medians(variants: dict, runs: int, warmup: int) -> dict:
  """Median ms per variant; the variants take turns within each round, so all see the same machine load."""
  for i in range(warmup):
    for fn in variants.values():
      fn(10**6 + i)
  times = {label: [] for label in variants}
  for seed in range(runs):
    for label, fn in variants.items():
      start = time.perf_counter()
      fn(seed)
      times[label].append((time.perf_counter() - start) * 1e3)
  return {label: statistics.median(t) for label, t in times.items()}


def http_call(http, url: str, api_name: str, data: list) -> list:
  """One call through Gradio's REST route (POST, then read the SSE result); returns the outputs."""
  event_id = http.post(f'{url}gradio_api/call/{api_name}', json={'data': data}).json()['event_id']
  stream = http.get(f'{url}gradio_api/call/{api_name}/{event_id}').text  # "event: complete\ndata: [...]"
  event, _, payload = stream.partition('\ndata: ')
  if event.strip() != 'event: complete':
    raise RuntimeError(f'/{api_name} failed: {stream[:300]}')
  return json.loads(payload)


def http_sample(http, url: str, name: str, seed: int, count: int, fetch_files: bool) -> None:
  """One /sample call, then (fetch_files) a GET of every file it names, as a browser would."""
  gallery, grid_file, _ = http_call(http, url, 'sample', [name, seed, count, 1.0])
  if fetch_files:
    for file in [item['image'] for item in gallery] + [grid_file]:
      http.get(file['url']).raise_for_status()


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  logging.set_verbosity(logging.WARNING)  # httpx logs every request at INFO
  import httpx
  from gradio_client import Client
  from common import images
  from serve import models as models_lib
  from serve import registry as registry_lib
  from serve import sampler

  models, warnings = registry_lib.discover_models(FLAGS.models_dir, FLAGS.provider)
  for warning in warnings:
    print(f'warning: {warning}', file=sys.stderr)
  if not models:
    return cli.error(f'no models in {FLAGS.models_dir}/: train with `python -m training.main` and export with '
                     '`python -m export.to_onnx`', 1)
  name = FLAGS.model or next(iter(models))
  if name not in models:
    return cli.error(f'no model {name!r} in {FLAGS.models_dir}/ (have: {", ".join(models)})', 1)
  model, count = models[name], FLAGS.count
  md = model.metadata
  print(f'model {name}: {md["image_height"]}x{md["image_width"]}x{md["channels"]}, latent {md["latent_dim"]}, '
        f'{model.provider}; {count} images per call, median of {FLAGS.runs} calls; {os.cpu_count()} CPU cores')

  out_dir = tempfile.mkdtemp(prefix='serve-latency-')
  latents = sampler.latent_from_seed(0, count, model.latent_dim)

  def raw_ort(seed):
    model.session.run(None, {model.input_name: latents})

  def raw_png(seed):
    batch = model.sample(seed, count)  # (count, H, W[, 3]) uint8
    for i, image in enumerate(batch):
      with open(os.path.join(out_dir, f'{i:02d}.png'), 'wb') as f:
        f.write(images.png_bytes(image))
    with open(os.path.join(out_dir, 'grid.png'), 'wb') as f:
      f.write(images.png_bytes(images.grid(batch)))  # the app's grid: white, no frame

  proc, url = start_server(FLAGS.models_dir, FLAGS.provider, os.path.join(out_dir, 'server.log'))
  try:
    with httpx.Client(timeout=60) as http:
      urls_only = Client(url, verbose=False, download_files=False)
      downloading = Client(url, verbose=False, download_files=tempfile.mkdtemp(dir=out_dir))
      results = interleaved_medians({
          RAW_ORT: raw_ort,
          RAW_PNG: raw_png,
          'HTTP API floor: /models (no model work)': lambda _: http_call(http, url, 'models', []),
          API_RESULT: lambda seed: http_sample(http, url, name, seed, count, False),
          END_TO_END: lambda seed: http_sample(http, url, name, seed, count, True),
          'gradio_client, URLs only': lambda seed: urls_only.predict(name, seed, count, 1.0, api_name='/sample'),
          'gradio_client, files downloaded': lambda seed: downloading.predict(name, seed, count, 1.0,
                                                                             api_name='/sample'),
          'gradio_client, /sample_npz (1 file downloaded)': lambda seed: downloading.predict(
              name, seed, count, 1.0, api_name='/sample_npz'),
      }, FLAGS.runs, FLAGS.warmup)
  finally:
    proc.terminate()
    proc.wait(10)

  base = results[RAW_PNG]
  print(f'{"variant":42s} {"median ms":>10s} {"overhead ms":>12s} {"ratio":>7s}')
  for label, ms in results.items():
    extra = f'{ms - base:12.1f} {ms / base:6.2f}x' if label not in (RAW_ORT, RAW_PNG) else ''
    print(f'{label:42s} {ms:10.1f} {extra}')
  for label in (API_RESULT, END_TO_END, 'gradio_client, URLs only', 'gradio_client, /sample_npz (1 file downloaded)'):
    overhead = results[label] - base
    verdict = 'within' if overhead <= TARGET_OVERHEAD_MS else 'OVER'
    print(f'overhead of {label}: {overhead:.1f} ms, {results[label] / base:.2f}x raw ORT + PNG '
          f'({verdict} the {TARGET_OVERHEAD_MS:.0f} ms target)')
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main)
