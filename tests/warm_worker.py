"""A Python process that runs `python -m MODULE ARGS` commands one after another, as `python -m tests.warm_worker`
(tests/warm.py starts it; nothing else should).

Each command costs ~3.5 s of CPU importing TensorFlow (and Keras, tf2onnx, Gradio) before it reads its first
flag. Here the imports are paid once per worker: a command re-runs its module as `__main__` (runpy) with its own
argv, working directory and environment, from absl flags back at their defaults (the flags the previous
command's module defined are removed, so each module defines and parses them as in a fresh process), with Keras'
global state cleared, and with file descriptors 1 and 2 redirected to files of its
own, so TensorFlow's C++ lines land with the command that printed them. Its exit code is what `python -m` would
have returned.

Protocol: one JSON request a line on stdin ({module, argv, cwd, env, stdout, stderr}); one JSON reply a line on
the worker's original stdout ({code, tainted}). `tainted` says the command changed what a fresh process would not
have (op determinism switched on, the CPU split into devices): the client then retires this worker.
"""

import importlib.util
import json
import os
import runpy
import sys
import traceback

from absl import app, flags, logging  # noqa: F401  (their flags exist in every fresh process: kept between commands)


def _exit_code(error: SystemExit) -> int:
  """What the interpreter makes of SystemExit(code): None is 0, an int itself, anything else printed and 1."""
  if error.code is None:
    return 0
  if isinstance(error.code, int):
    return error.code
  print(error.code, file=sys.stderr)
  return 1


def run_module(module: str, argv: list, base_flags: set) -> int:
  """Runs `python -m module *argv` in this process, as a fresh process would (see above); its exit code."""
  FLAGS = flags.FLAGS
  FLAGS.unparse_flags()
  for name in set(FLAGS) - base_flags:  # defined by the previous command's module: its define_flags runs again
    delattr(FLAGS, name)
  # absl.app.run initialises once per process and only re-parses flags after that, skipping what a fresh
  # process does on its first parse (the verbosity it sets, --only_check_args): each command gets the first run.
  app._run_init.done = False  # pylint: disable=protected-access
  app._register_and_parse_flags_with_usage.done = False  # pylint: disable=protected-access
  sys.argv = [importlib.util.find_spec(module).origin, *argv]  # as `python -m` sets it
  try:
    runpy.run_module(module, run_name='__main__', alter_sys=True)
    return 0
  except SystemExit as e:
    return _exit_code(e)
  except BaseException:  # pylint: disable=broad-except  (what the interpreter would print, then exit 1)
    traceback.print_exc()
    return 1


def _tainted() -> bool:
  """True when this process now differs from a fresh one in a way no later command could undo."""
  if 'tensorflow' not in sys.modules:
    return False
  import tensorflow as tf
  from tensorflow.python.framework import config as tf_config
  return tf_config.is_op_determinism_enabled() or len(tf.config.list_logical_devices('CPU')) > 1


def _reset_keras() -> None:
  """Layer-name counters and cached graphs as a fresh process has them."""
  if 'keras' in sys.modules:
    sys.modules['keras'].backend.clear_session()


def main() -> None:
  reply = os.fdopen(os.dup(1), 'w')  # the replies' channel; fd 1 itself is each command's stdout
  app.define_help_flags()
  base_flags = set(flags.FLAGS)
  home, base_env = os.getcwd(), dict(os.environ)
  for line in sys.stdin:
    request = json.loads(line)
    os.environ.clear()
    os.environ.update(request['env'])
    os.chdir(request['cwd'])
    _reset_keras()
    saved_stdin = sys.stdin
    sys.stdin = open(os.devnull)  # never the request pipe: a command that reads stdin sees an empty one
    with open(request['stdout'], 'wb') as out, open(request['stderr'], 'wb') as err:
      sys.stdout.flush()
      sys.stderr.flush()
      saved = os.dup(1), os.dup(2)
      os.dup2(out.fileno(), 1)
      os.dup2(err.fileno(), 2)
      try:
        code = run_module(request['module'], request['argv'], base_flags)
      finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        sys.stdin.close()
        sys.stdin = saved_stdin
    os.chdir(home)
    os.environ.clear()
    os.environ.update(base_env)
    reply.write(json.dumps({'code': code, 'tainted': _tainted()}) + '\n')
    reply.flush()


if __name__ == '__main__':
  main()
