"""The one way every command-line entry point reports bad input: one `error: ...` line on stderr and an exit code.

absl's own behaviour on a bad flag is a page of usage and exit 1; an exception escaping `main` is a traceback.
Every CLI of this project (training, evaluation, export, serve, benchmarks) runs through `run` instead:

  exit 2   usage errors: an unknown or malformed flag, a value out of range, conflicting flags, stray arguments,
           and any exception type the entry point maps to 2 (e.g. an unknown dataset)
  exit 1   the other errors the entry point names (an unreadable run directory, a failed export, ...)
  exit 130 Ctrl-C outside the places that handle it themselves

Nothing here imports TensorFlow: a usage error is reported before the heavy imports of the command.
"""

import sys
from typing import Callable, Dict, Sequence, Type

from absl import app, flags


class UsageError(Exception):
  """A usage error found after flag parsing (conflicting flags, a missing required one): exit code 2."""


def first_line(error, with_type: bool = False) -> str:
  """The first non-empty line of an exception's (or a text's) message, stripped: what a one-line error shows of a
  library's multi-line message (ORT, TensorFlow and Keras put the cause first and a dump after it).

  with_type: 'ValueError: <line>' (or the type's name alone for an empty message), for errors whose type says
  what went wrong (a decoder's, a file system's). Without: '' for an empty message."""
  line = next((line.strip() for line in str(error).splitlines() if line.strip()), '')
  if with_type and isinstance(error, BaseException):
    return f'{type(error).__name__}: {line}' if line else type(error).__name__
  return line


def listed(items, shown: int) -> str:
  """'a, b, c' for at most `shown` items, else the first `shown` and 'and K more': how a one-line message names
  files, classes or scores without growing with them."""
  items = list(items)
  more = len(items) - shown
  return ', '.join(items[:shown]) + (f' and {more} more' if more > 0 else '')


def error(message: str, code: int) -> int:
  """Prints `error: <message>` (one line: newlines in a library's message are folded) and returns `code`."""
  print(f'error: {" ".join(str(message).split())}', file=sys.stderr, flush=True)
  return code


def parse_flags(argv: Sequence[str]):
  """absl's flag parser with a one-line error and exit code 2 instead of a usage page and exit 1."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(error(str(e), 2))


def run(main: Callable[[Sequence[str]], int], errors: Dict[Type[BaseException], int] = None) -> None:
  """Parses flags and runs `main(argv)`, turning the exception types in `errors` into one line and their exit
  code (the first matching entry wins; UsageError is always 2). Other exceptions are bugs and keep their
  traceback."""
  table = {UsageError: 2, **(errors or {})}

  def guarded(argv):
    if len(argv) > 1:
      return error(f'unexpected arguments: {" ".join(argv[1:])} (flags are written --name=value)', 2)
    try:
      return main(argv)
    except tuple(table) as e:
      code = next(c for t, c in table.items() if isinstance(e, t))
      return error(str(e), code)
    except KeyboardInterrupt:
      return error('interrupted', 130)

  app.run(guarded, flags_parser=parse_flags)
