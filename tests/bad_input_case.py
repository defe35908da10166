"""A case of the bad-input catalogue (tests/bad_inputs.py): a command, the workspace it is given, and what the
user must see. Its own module so that each command's list of cases can live in a file of its own."""

import dataclasses
from typing import Callable, Optional, Tuple

# Keeps a case short should the tool wrongly accept it and start training (then the workspace check fails it).
TINY = ('--steps=1',)


@dataclasses.dataclass(frozen=True)
class Case:
  id: str
  module: str  # run as `python -m module`
  argv: Tuple[str, ...]  # '{tmp}' is the case's workspace
  code: int  # expected exit code: 2 usage error, 1 anything else
  message: str  # expected last stderr line; '<tmp>' is the workspace, '...' matches any text
  given: str = ''  # what the workspace holds, in words (for the doc)
  setup: Optional[Callable[['Workspace'], None]] = None  # tests/bad_input_workspaces.Workspace
  may_create: Tuple[str, ...] = ()  # globs (relative to the workspace) of files the case may create
  known_bug: str = ''  # non-empty: the tool gets this case wrong today (a strict xfail)
  timeout_s: float = 180

  def command(self, tmp: str = '<tmp>') -> str:
    args = [a.replace('{tmp}', tmp) for a in self.argv]
    return ' '.join(['python -m', self.module] + [f"'{a}'" if ' ' in a or not a else a for a in args])
