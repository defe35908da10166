"""`python -m serve.app` in a process of its own on a free loopback port, for the serving benchmarks."""

import os
import subprocess
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_server(models_dir: str, provider: str, log_path: str, extra_flags=()):
  """Starts serve.app on a free port, returns (process, url) once it printed its ready line."""
  import socket
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  log = open(log_path, 'w')
  env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'GRADIO_ANALYTICS_ENABLED': 'False'}
  proc = subprocess.Popen([sys.executable, '-m', 'serve.app', f'--models_dir={models_dir}', f'--port={port}',
                           f'--provider={provider}', *extra_flags], cwd=_REPO, stdout=log, stderr=subprocess.STDOUT,
                          env=env)
  deadline = time.monotonic() + 120
  while True:
    with open(log_path) as f:
      text = f.read()
    if 'GAN sampler ready:' in text:
      return proc, f'http://127.0.0.1:{port}/'
    if proc.poll() is not None or time.monotonic() > deadline:
      proc.kill()
      raise RuntimeError(f'serve.app did not start:\n{text}')
    time.sleep(0.2)
