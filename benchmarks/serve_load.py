r"""The app under load: N concurrent gradio_client clients for T seconds, several rounds, against a real server.

  python -m benchmarks.serve_load --models_dir=models                       # 20 clients, 3 rounds of 30 s
  python -m benchmarks.serve_load --models_dir=models --clients=8 --seconds=10 --rounds=2 --garbage_at=5

The server (`python -m serve.app`) runs in its own process on 127.0.0.1 (loopback only; counts and durations are
bounded by the flags). Every client loops /sample (--count images, a new seed each call) until the round ends.
Per round: requests/s, p50/p99 latency, errors; and the server's resident memory (VmRSS, read every 0.25 s: mean
and max per round). The goal is 0 errors and < 10% growth of the mean RSS from the first round after
--warmup_rounds to the last: under 20 clients the server's native heap rises for its first ~1,600 requests and
then holds (docs/benchmarks.md), so a run that should show a leak runs past that: --rounds=12 --warmup_rounds=4.
The server keeps request files for --seconds (--keep_outputs_s; its default is 900 s), so the rounds after the
first see files deleted as fast as new ones come. With --garbage_at=S the first model's model.onnx is overwritten
with random bytes S seconds into the first round and /models (a rescan) is called: the server must keep serving the
version it loaded, with no failed request. Prints one table; --json writes the figures.
"""

import concurrent.futures
import json
import os
import shutil
import statistics
import tempfile
import time

from absl import flags, logging

from common import artifacts, cli, kinds

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_string('models_dir', 'models', 'Folder of exported models (as serve.app reads it); copied, never '
                      'changed.')
  flags.DEFINE_string('model', None, 'Model folder name (default: the first image model).')
  flags.DEFINE_integer('clients', 20, 'Concurrent clients.', lower_bound=1, upper_bound=64)
  flags.DEFINE_integer('seconds', 30, 'Length of a round.', lower_bound=1, upper_bound=600)
  flags.DEFINE_integer('rounds', 3, 'Rounds, back to back.', lower_bound=1, upper_bound=40)
  flags.DEFINE_integer('warmup_rounds', 1, 'Rounds at the start that the RSS growth is not measured from (the server '
                       'warms up to a plateau under concurrency; see docs/benchmarks.md).', lower_bound=0)
  flags.DEFINE_integer('count', 16, 'Images per request.', lower_bound=1, upper_bound=64)
  flags.DEFINE_bool('download', False, 'Clients download every gallery file (as the default gradio_client does).')
  flags.DEFINE_float('garbage_at', None, 'Overwrite the model file with garbage this many seconds into round 1.')
  flags.DEFINE_string('json', None, 'Also write the figures as JSON here.')


def rss_mib(pid: int) -> float:
  with open(f'/proc/{pid}/status') as f:
    for line in f:
      if line.startswith('VmRSS:'):
        return int(line.split()[1]) / 1024
  return float('nan')


class RssSampler:
  """Reads the server's VmRSS every `every` seconds in a thread: RSS moves by tens of MiB within a round under
  concurrency (native buffers of the requests in flight), so one reading after a round is mostly noise."""

  def __init__(self, pid: int, every: float = 0.25):
    import threading
    self.pid, self.every, self.samples = pid, every, []
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True)
    self._thread.start()

  def _run(self):
    while not self._stop.wait(self.every):
      self.samples.append(rss_mib(self.pid))

  def stop(self) -> dict:
    self._stop.set()
    self._thread.join()
    samples = self.samples or [rss_mib(self.pid)]
    return {'rss_mean_mib': statistics.fmean(samples), 'rss_max_mib': max(samples)}


def run_round(url: str, name: str, clients: int, seconds: float, count: int, download: bool, seed0: int,
              at=None, action=None) -> dict:
  """`clients` threads, each with its own gradio_client.Client, calling /sample until the deadline."""
  from gradio_client import Client
  deadline = time.monotonic() + seconds
  files = tempfile.mkdtemp(prefix='serve-load-') if download else False

  def client_loop(k):
    client = Client(url, verbose=False, download_files=files)
    latencies, errors, seed = [], [], seed0 + 1000 * k
    while time.monotonic() < deadline:
      start = time.perf_counter()
      try:
        client.predict(name, seed, count, 1.0, api_name='/sample')
        latencies.append((time.perf_counter() - start) * 1e3)
      except Exception as e:  # noqa: BLE001 - every failure counts, whatever its type
        errors.append(f'{type(e).__name__}: {str(e)[:120]}')
      seed += 1
    return latencies, errors

  started = time.monotonic()
  with concurrent.futures.ThreadPoolExecutor(clients + 1) as pool:
    futures = [pool.submit(client_loop, k) for k in range(clients)]
    if action is not None:
      time.sleep(max(0.0, at))
      action()
    results = [f.result() for f in futures]
  elapsed = time.monotonic() - started
  if files:
    shutil.rmtree(files, ignore_errors=True)
  latencies = sorted(ms for lat, _ in results for ms in lat)
  errors = [e for _, err in results for e in err]
  p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float('nan')  # noqa: E731
  return {'requests': len(latencies), 'errors': len(errors), 'error_examples': errors[:3],
          'requests_per_s': len(latencies) / elapsed, 'p50_ms': p(0.5), 'p99_ms': p(0.99),
          'mean_ms': statistics.fmean(latencies) if latencies else float('nan')}


def main(argv):
  del argv
  if FLAGS.warmup_rounds >= FLAGS.rounds:
    raise cli.UsageError(f'--warmup_rounds={FLAGS.warmup_rounds} leaves no round to measure of '
                         f'--rounds={FLAGS.rounds}')
  if not os.path.isdir(FLAGS.models_dir):
    raise cli.UsageError(f'--models_dir={FLAGS.models_dir!r} is not a folder of exported models')
  logging.set_verbosity(logging.WARNING)
  from benchmarks.app_server import start_server
  from serve import models as models_lib
  from serve import registry as registry_lib
  work = tempfile.mkdtemp(prefix='serve-load-')
  models_dir = os.path.join(work, 'models')
  shutil.copytree(FLAGS.models_dir, models_dir)  # the garbage step must not touch the user's models
  models, _ = registry_lib.discover_models(models_dir, 'cpu')
  images = [n for n, m in models.items() if m.kind == kinds.IMAGE]
  if not images:
    return cli.error(f'no image model in {FLAGS.models_dir}/', 1)
  name = FLAGS.model or images[0]
  if name not in images:
    raise cli.UsageError(f'no image model {name!r} in {FLAGS.models_dir}/ (have: {", ".join(images)})')
  del models
  # Request files are kept for one round (the app's default is 15 minutes): see the docstring.
  proc, url = start_server(models_dir, 'cpu', os.path.join(work, 'server.log'), [f'--keep_outputs_s={FLAGS.seconds}'])

  def garbage():
    from gradio_client import Client
    with open(os.path.join(models_dir, name, artifacts.ONNX_FILE), 'wb') as f:
      f.write(os.urandom(4096))
    warnings = Client(url, verbose=False).predict(api_name='/models')['warnings']
    print(f'  {artifacts.ONNX_FILE} of {name} overwritten with garbage; /models says: {"; ".join(warnings)}',
          flush=True)

  rounds = []
  try:
    rss_start = rss_mib(proc.pid)
    print(f'{FLAGS.clients} clients x {FLAGS.rounds} rounds of {FLAGS.seconds} s, /sample of {FLAGS.count} images '
          f'on {name} (CPU, {os.cpu_count()} cores); server RSS at start {rss_start:.0f} MiB', flush=True)
    for r in range(FLAGS.rounds):
      action = garbage if (r == 0 and FLAGS.garbage_at is not None) else None
      sampler = RssSampler(proc.pid)
      result = run_round(url, name, FLAGS.clients, FLAGS.seconds, FLAGS.count, FLAGS.download, 10**6 * r,
                         FLAGS.garbage_at, action)
      result.update(sampler.stop(), rss_mib=rss_mib(proc.pid))
      rounds.append(result)
      print(f'round {r + 1}: {result["requests"]} requests, {result["requests_per_s"]:.1f}/s, p50 '
            f'{result["p50_ms"]:.0f} ms, p99 {result["p99_ms"]:.0f} ms, {result["errors"]} errors, RSS '
            f'mean {result["rss_mean_mib"]:.0f} / max {result["rss_max_mib"]:.0f} / after {result["rss_mib"]:.0f} MiB '
            f'{result["error_examples"] or ""}', flush=True)
  finally:
    proc.terminate()
    proc.wait(20)
  base = rounds[FLAGS.warmup_rounds]
  growth = (rounds[-1]['rss_mean_mib'] - base['rss_mean_mib']) / base['rss_mean_mib'] * 100
  total_errors = sum(r['errors'] for r in rounds)
  print(f'RSS {rss_start:.0f} MiB at start, {rounds[-1]["rss_mean_mib"]:.0f} mean in round {len(rounds)}, max '
        f'{max(r["rss_max_mib"] for r in rounds):.0f}; from round {FLAGS.warmup_rounds + 1} (after '
        f'{FLAGS.warmup_rounds} warm-up round(s)) to round {len(rounds)}: {growth:+.1f}% (goal < 10%); errors '
        f'{total_errors} (goal 0)')
  if FLAGS.json:
    with open(FLAGS.json, 'w') as f:
      json.dump({'clients': FLAGS.clients, 'seconds': FLAGS.seconds, 'count': FLAGS.count, 'model': name,
                 'warmup_rounds': FLAGS.warmup_rounds, 'rss_start_mib': rss_start, 'rss_growth_percent': growth,
                 'rounds': rounds}, f, indent=2)
  shutil.rmtree(work, ignore_errors=True)
  return 0 if total_errors == 0 else 1


if __name__ == '__main__':
  _define_flags()
  cli.run(main)
