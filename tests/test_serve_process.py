"""The server as a process: start-up failures (no models, only broken ones, CUDA on a CPU host), the login, and
a short load run with a model file overwritten mid-run (benchmarks/serve_load.py)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from common import gpu
from tests.serve_server import _SERVER_ENV, GRAY, REPO_ROOT, Server, free_port, run_app

pytestmark = pytest.mark.slow  # server processes


@pytest.fixture(scope='module')
def models_dir(serve_models_dir) -> pathlib.Path:
  return serve_models_dir


def test_no_models_exits_1_with_a_message(tmp_path):
  empty = tmp_path / 'models'
  empty.mkdir()
  result = run_app(f'--models_dir={empty}', f'--port={free_port()}')
  assert result.returncode == 1
  assert (f'no models in {empty}/: train with `python -m training.main` and export with '
          '`python -m export.to_onnx`') in result.stderr
  assert 'Traceback' not in result.stderr + result.stdout


def test_missing_models_dir_and_only_malformed_models_exit_1(tmp_path, models_dir):
  bad = tmp_path / 'bad'
  shutil.copytree(models_dir / 'broken-onnx', bad / 'broken-onnx')
  result = run_app(f'--models_dir={bad}', f'--port={free_port()}')
  assert result.returncode == 1
  assert "skipped model folder 'broken-onnx'" in result.stderr and f'no models in {bad}/' in result.stderr
  assert 'Traceback' not in result.stderr


def test_cuda_provider_on_a_cpu_host_is_a_clear_error(models_dir):
  if gpu.cuda_driver_usable():
    pytest.skip('this host has a usable GPU')
  result = run_app(f'--models_dir={models_dir}', '--provider=cuda', f'--port={free_port()}')
  assert result.returncode == 1
  assert '--provider=cuda: no usable CUDA driver/GPU on this host' in result.stderr
  assert 'Traceback' not in result.stderr


def test_auth_from_the_environment(models_dir, tmp_path):
  from gradio_client import Client
  only_gray = tmp_path / 'models'
  shutil.copytree(models_dir / GRAY, only_gray / GRAY)
  server = Server(tmp_path / 'auth.log', f'--models_dir={only_gray}', env={'GAN_SERVE_AUTH': 'alice:s3cret'})
  try:
    server.wait_ready()
    assert '(login required)' in server.log()
    with pytest.raises(Exception):
      Client(server.url, verbose=False).predict(api_name='/models')
    with pytest.raises(Exception):
      Client(server.url, auth=('alice', 'wrong'), verbose=False)
    authed = Client(server.url, auth=('alice', 's3cret'), verbose=False)
    assert [m['name'] for m in authed.predict(api_name='/models')['models']] == [GRAY]
  finally:
    server.stop()


def test_max_sessions_bounds_the_sessions_the_server_holds(models_dir, tmp_path):
  """Each gradio_client is a session whose component state the server keeps (~140 KB): with --max_sessions=2 the
  third client's first call evicts the oldest, as /health reports."""
  from gradio_client import Client
  only_gray = tmp_path / 'models'
  shutil.copytree(models_dir / GRAY, only_gray / GRAY)
  server = Server(tmp_path / 'sessions.log', f'--models_dir={only_gray}', '--max_sessions=2')
  try:
    server.wait_ready()
    held = [Client(server.url, verbose=False).predict(api_name='/health') for _ in range(4)]
    assert [h['sessions'] for h in held] == [1, 2, 2, 2] and held[-1]['max_sessions'] == 2
  finally:
    server.stop()
  assert 'Traceback' not in server.log()


def test_bad_auth_value_is_a_usage_error(tmp_path):
  result = run_app(f'--models_dir={tmp_path}', '--auth=nocolon')
  assert result.returncode == 2 and '--auth / $GAN_SERVE_AUTH must look like user:password' in result.stderr


def test_a_short_load_run_with_a_model_file_overwritten_mid_run(models_dir, tmp_path):
  """benchmarks/serve_load.py for real, briefly: 4 clients, 2 rounds of 4 s, the served model's file replaced by
  garbage 1 s in; every request succeeds (the server keeps the version it loaded) and the figures are written."""
  out = tmp_path / 'load.json'
  done = subprocess.run([sys.executable, '-m', 'benchmarks.serve_load', f'--models_dir={models_dir}', '--clients=4',
                         '--seconds=4', '--rounds=2', '--warmup_rounds=0', '--garbage_at=1', f'--json={out}'],
                        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, env={**os.environ, **_SERVER_ENV})
  assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
  assert 'still serving the version loaded before' in done.stdout
  figures = json.loads(out.read_text())
  assert figures['model'] == GRAY and len(figures['rounds']) == 2
  assert all(r['errors'] == 0 and r['requests'] > 0 and r['p99_ms'] >= r['p50_ms'] > 0 for r in figures['rounds'])
  assert all(r['rss_max_mib'] >= r['rss_mean_mib'] > 100 for r in figures['rounds'])  # sampled during the round
  means = [r['rss_mean_mib'] for r in figures['rounds']]
  assert figures['rss_growth_percent'] == pytest.approx((means[1] - means[0]) / means[0] * 100)  # no warm-up round
  import onnx
  onnx.checker.check_model(str(models_dir / GRAY / 'model.onnx'))  # the load run copied the folder, never changed it


def test_a_load_run_needs_a_round_after_the_warm_up(tmp_path):
  done = subprocess.run([sys.executable, '-m', 'benchmarks.serve_load', f'--models_dir={tmp_path}', '--rounds=2',
                         '--warmup_rounds=2'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
  assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == (
      'error: --warmup_rounds=2 leaves no round to measure of --rounds=2'), done.stderr[-2000:]
