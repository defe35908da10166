"""A tiny command for tests/test_warm.py: `python -m tests.warm_probe --say=...` prints what a process can see of
itself (its flag, working directory, one environment variable, its pid) and exits as its flags ask."""

import os
import sys
import time

from absl import flags

from common import cli


def main(argv) -> int:
  FLAGS = flags.FLAGS
  print(f'say={FLAGS.say} cwd={os.getcwd()} probe_env={os.environ.get("PROBE_ENV", "")} pid={os.getpid()}')
  print('to stderr through the file descriptor', file=sys.stderr)
  os.write(2, b'written to fd 2\n')  # as TensorFlow's C++ log lines are
  if FLAGS.determinism:
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()
  if FLAGS.sleep:
    time.sleep(FLAGS.sleep)
  if FLAGS.crash:
    raise RuntimeError('a bug')
  if FLAGS.refuse:
    raise cli.UsageError('refused as asked')
  return FLAGS.code


if __name__ == '__main__':
  flags.DEFINE_string('say', 'default', 'What to print.')
  flags.DEFINE_integer('code', 0, 'The exit code.')
  flags.DEFINE_bool('determinism', False, 'Switch on TensorFlow op determinism (which no later command can undo).')
  flags.DEFINE_float('sleep', 0.0, 'Seconds to sleep.')
  flags.DEFINE_bool('crash', False, 'Raise an exception that is a bug (a traceback, exit 1).')
  flags.DEFINE_bool('refuse', False, 'A usage error: one line, exit 2.')
  flags.DEFINE_integer('cpu_replicas', 0, 'Unused: its name alone asks for a fresh process.')
  cli.run(main)
