"""`python -m MODULE ARGS` for the tests, as a user runs it, without paying TensorFlow's import every time.

    proc = warm.run('training.main', '--flagfile=training/presets/smoke.flags', f'--run_dir={tmp}')
    proc.returncode, proc.stdout, proc.stderr   # a subprocess.CompletedProcess

A command runs in a warm worker (tests/warm_worker.py): a Python process that has imported the stack once and runs
each command as `__main__` with its own argv, working directory, environment, stdout and stderr. Exit codes,
one-line errors and files written are those of a fresh process: the bad-input catalogue (which has run its cases
this way since it was written) produces the same docs/bad_inputs.md either way.

A fresh process is used instead where a warm one could not behave like one:
- `--cpu_replicas` (the CPU must be split into devices before TensorFlow starts);
- an environment that differs from the workers' in a variable TensorFlow reads when it is imported;
- `GAN_TESTS_FRESH_PROCESSES=1` in the environment: every command, as a user runs it.
A worker whose command switched on op determinism or split the CPU is retired after it, so the next command gets a
clean one. What must stay a real subprocess (signals, a server, a hang) uses subprocess directly.
"""

import atexit
import json
import os
import pathlib
import queue
import subprocess
import sys
import tempfile
import threading
from typing import Optional

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
BASE_ENV = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': '', 'PYTHONPATH': str(REPO_ROOT)}
# Read by TensorFlow (or the interpreter) once, when it starts: a command asking for other values needs a fresh one.
_IMPORT_TIME = ('TF_CPP_MIN_LOG_LEVEL', 'CUDA_VISIBLE_DEVICES', 'TF_ENABLE_ONEDNN_OPTS', 'OMP_NUM_THREADS',
                'TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS', 'TF_XLA_FLAGS', 'PYTHONHASHSEED',
                'TF_DETERMINISTIC_OPS')
_FRESH_FLAGS = ('--cpu_replicas',)
_MAX_USES = 60  # a worker is retired after this many commands, which bounds what it holds on to
_MAX_IDLE = 2  # workers kept between commands per process (the catalogue runs two commands at once)


class _Worker:
  def __init__(self):
    self.log = tempfile.TemporaryFile()  # the worker's own stderr outside commands: read when it dies
    self.proc = subprocess.Popen([sys.executable, '-m', 'tests.warm_worker'], cwd=REPO_ROOT, env=BASE_ENV,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
    self.replies = queue.Queue()
    self.uses = 0
    threading.Thread(target=self._read, daemon=True).start()

  def _read(self):
    for line in self.proc.stdout:
      self.replies.put(json.loads(line))
    self.replies.put(None)  # the worker ended

  def close(self):
    if self.proc.poll() is None:
      self.proc.stdin.close()
      try:
        self.proc.wait(timeout=10)
      except subprocess.TimeoutExpired:
        self.proc.kill()
    self.log.close()


_idle: list = []
_lock = threading.Lock()


def _take() -> _Worker:
  with _lock:
    while _idle:
      worker = _idle.pop()
      if worker.proc.poll() is None:
        return worker
  return _Worker()


def _give_back(worker: _Worker) -> None:
  with _lock:
    if len(_idle) < _MAX_IDLE:
      _idle.append(worker)
      return
  worker.close()


@atexit.register
def _close_all() -> None:
  with _lock:
    while _idle:
      _idle.pop().close()


def needs_fresh_process(args, env: dict) -> bool:
  if os.environ.get('GAN_TESTS_FRESH_PROCESSES') == '1':
    return True
  if any(str(a).startswith(_FRESH_FLAGS) for a in args):
    return True
  return any(env.get(key) != BASE_ENV.get(key) for key in _IMPORT_TIME)


def run(module: str, *args, cwd=REPO_ROOT, env: Optional[dict] = None, timeout: float = 300,
        fresh: bool = False) -> subprocess.CompletedProcess:
  """`python -m module *args` in `cwd` with `env` (default: BASE_ENV): returncode, stdout, stderr. Raises
  subprocess.TimeoutExpired as subprocess.run does. fresh: in a process of its own."""
  env = dict(BASE_ENV if env is None else env)
  args = [str(a) for a in args]
  command = [sys.executable, '-m', module, *args]
  if fresh or needs_fresh_process(args, env):
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
  worker = _take()
  with tempfile.TemporaryDirectory(prefix='warm-') as io:
    out, err = os.path.join(io, 'stdout'), os.path.join(io, 'stderr')
    request = {'module': module, 'argv': args, 'cwd': str(cwd), 'env': env, 'stdout': out, 'stderr': err}
    worker.proc.stdin.write(json.dumps(request) + '\n')
    worker.proc.stdin.flush()
    worker.uses += 1
    try:
      reply = worker.replies.get(timeout=timeout)
    except queue.Empty:
      worker.proc.kill()
      worker.close()
      raise subprocess.TimeoutExpired(command, timeout, output=_read(out), stderr=_read(err)) from None
    if reply is None:  # the command ended the process (os._exit, a crash): what a fresh process would report
      code = worker.proc.wait()
      worker.close()
    else:
      code = reply['code']
      if reply['tainted'] or worker.uses >= _MAX_USES:
        worker.close()
      else:
        _give_back(worker)
    return subprocess.CompletedProcess(command, code, _read(out), _read(err))


def _read(path: str) -> str:
  return pathlib.Path(path).read_bytes().decode(errors='replace') if os.path.exists(path) else ''
