"""Runs several cases of the bad-input catalogue that share a command in one Python process, as
`python -m tests.bad_inputs_batch RESULTS_FILE` with a JSON list of cases on stdin (tests/bad_inputs_runner.py
starts it; nothing else should).

A case's command is `python -m MODULE ARGS`; each one costs ~3.5 s of CPU importing TensorFlow before it reads
its first flag. Here the imports are paid once: every case re-runs its module as `__main__` (runpy) with its own
argv, from absl flags back at their defaults and with the flags the previous case defined removed, so that each
module defines and parses them as in a fresh process. Each case's stdout and stderr go to files of its own
(file descriptors 1 and 2 are redirected, so TensorFlow's C++ log lines land with the case that printed them),
and its exit code is what `python -m` would have returned: SystemExit's code, 1 and a traceback for an
exception. One JSON line per finished case is appended to RESULTS_FILE: a case that hangs or kills the process
leaves no line, and the runner runs the cases without one in a process of their own.
"""

import importlib.util
import json
import os
import runpy
import sys
import time
import traceback

from absl import app, flags, logging  # noqa: F401  (their flags exist in every fresh process: kept between cases)


def _exit_code(error: SystemExit) -> int:
  """What the interpreter makes of SystemExit(code): None is 0, an int itself, anything else printed and 1."""
  if error.code is None:
    return 0
  if isinstance(error.code, int):
    return error.code
  print(error.code, file=sys.stderr)
  return 1


def _run(module: str, argv: list, base_flags: set) -> int:
  FLAGS = flags.FLAGS
  FLAGS.unparse_flags()
  for name in set(FLAGS) - base_flags:  # defined by the previous case's module: its define_flags runs again
    delattr(FLAGS, name)
  # absl.app.run initialises once per process and only re-parses flags after that, skipping what a fresh
  # process does on its first parse (the verbosity it sets, --only_check_args): each case gets the first run.
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


def main() -> None:
  results_path = sys.argv[1]
  cases = json.load(sys.stdin)
  app.define_help_flags()  # once per process (idempotent): as in a fresh process, the flags every case has
  base_flags = set(flags.FLAGS)
  saved = os.dup(1), os.dup(2)
  for case in cases:
    started = time.monotonic()
    with open(case['stdout'], 'wb') as out, open(case['stderr'], 'wb') as err:
      sys.stdout.flush()
      sys.stderr.flush()
      os.dup2(out.fileno(), 1)
      os.dup2(err.fileno(), 2)
      try:
        code = _run(case['module'], case['argv'], base_flags)
      finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
    with open(results_path, 'a') as f:
      f.write(json.dumps({'id': case['id'], 'code': code, 'seconds': time.monotonic() - started}) + '\n')


if __name__ == '__main__':
  main()
