r"""Runs the cases of the bad-input catalogue (tests/bad_inputs.py) and writes docs/bad_inputs.md from what they print.

  python -m tests.bad_inputs --write_docs           # runs every case, regenerates docs/bad_inputs.md
  python -m tests.bad_inputs --run=train_steps_zero,serve_bad_auth   # prints what those cases print
  python -m tests.bad_inputs --run=app_sample_seed_negative         # app cases start one server first
  python -m tests.bad_inputs --write_docs --one_process_per_case    # each case in a process of its own

The commands run in warm interpreters (tests/warm.py) unless --one_process_per_case.

A CLI case holds when its exit code is the catalogue's, the last non-empty line of stderr is `error: ...` matching
the case's message, no traceback was printed anywhere, and its workspace is unchanged: every file (path, size,
sha256) and folder as it was, and nothing new outside the case's `may_create` globs. An app case holds as
tests/bad_inputs_app.py says.
"""

import dataclasses
import fnmatch
import hashlib
import os
import pathlib
import re
import subprocess
import time
from typing import Optional, Sequence

from tests import warm
from tests.bad_input_workspaces import REPO_ROOT, TINY_RUN_ARGS, Shared, Workspace, matches
from tests.bad_inputs import (BY_ID, CASES, DOC_PATH, EVALUATE, EXPORT, GALLERY, QUALITY, SERVE, SWEEP, TRAIN,
                               TRAIN_JUDGE, WARNINGS, Case)
from tests.bad_inputs_app import APP, APP_BY_ID, CLASSES_MODEL, MODEL, WRONG_CLASSES, run_app_cases


# --- Running a case -------------------------------------------------------------------------------------------

_JUDGE_FILE = re.compile(r'\b(looked for [\w.-]+)-[0-9a-f]{8}\.json')
# absl's log line prefix: 'W1207 22:17:09.123456  4242 data_kinds.py:64] '
_ABSL_PREFIX = re.compile(r'^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w.]+:\d+\] ')


@dataclasses.dataclass
class Result:
  case: Case
  code: Optional[int]  # None: timed out
  stdout: str
  stderr: str
  seconds: float
  changed: list  # files of the workspace changed or removed, and new files outside may_create
  tmp: str
  setup_error: str = ''

  def normalise(self, text: str) -> str:
    for path in sorted({self.tmp, os.path.realpath(self.tmp)}, key=len, reverse=True):
      text = text.replace(path, '<tmp>')
    # A folder judge's file is named for a hash of the folder's absolute path, which holds the case's own <tmp>.
    text = _JUDGE_FILE.sub(r'\1-<path hash>.json', text)
    return text.replace(str(REPO_ROOT), '<repo>')

  @property
  def last_line(self) -> str:
    lines = [line for line in self.stderr.splitlines() if line.strip()]
    return self.normalise(lines[-1].rstrip()) if lines else ''

  @property
  def warning_line(self) -> str:
    """A warning case's line: the first of stdout and stderr matching the message, without absl's prefix."""
    for line in (self.stdout + '\n' + self.stderr).splitlines():
      line = _ABSL_PREFIX.sub('', self.normalise(line.rstrip()))
      if matches(self.case.message, line) or matches(self.case.message, '...' + line):
        return line
    return ''

  @property
  def shown_line(self) -> str:
    """What the doc shows: the warning of a warning case (exit 0), else the last stderr line."""
    return self.warning_line if self.case.code == 0 else self.last_line

  def problems(self) -> list:
    """What is wrong with this outcome, in words; [] when the case holds."""
    if self.setup_error:
      return [f'its setup failed: {self.setup_error}']
    found = []
    if self.code is None:
      found.append(f'timed out after {self.case.timeout_s:.0f} s')
    elif self.code != self.case.code:
      found.append(f'exit code {self.code}, expected {self.case.code}')
    if 'Traceback' in self.stdout + self.stderr:
      found.append('a traceback was printed')
    if self.case.code == 0:
      if not self.warning_line:
        found.append(f'no line of its output matches {self.case.message!r}')
    elif not self.last_line.startswith('error: '):
      found.append(f'the last stderr line is not "error: ...": {self.last_line!r}')
    elif not matches(self.case.message, self.last_line):
      found.append(f'message {self.last_line!r} does not match {self.case.message!r}')
    if self.changed:
      found.append(f'the workspace changed: {", ".join(self.changed)}')
    return found


def snapshot(root: pathlib.Path) -> dict:
  """{relative path: (size, sha256)} of every file, and {relative path/: 'dir'} of every folder, under root."""
  state = {}
  for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames:
      state[os.path.relpath(os.path.join(dirpath, name), root) + '/'] = 'dir'
    for name in filenames:
      path = os.path.join(dirpath, name)
      with open(path, 'rb') as f:
        state[os.path.relpath(path, root)] = (os.path.getsize(path), hashlib.sha256(f.read()).hexdigest())
  return state


def compare(before: dict, after: dict, may_create: Sequence[str]) -> list:
  changed = [f'{p} changed' for p in before if p in after and after[p] != before[p]]
  changed += [f'{p} removed' for p in before if p not in after]
  changed += [f'{p} created' for p in after if p not in before and not any(
      fnmatch.fnmatch(p.rstrip('/'), g) for g in may_create)]
  return changed


@dataclasses.dataclass
class _Prepared:
  """A case whose workspace is built: its argv and the workspace's snapshot before the command ran."""
  case: Case
  tmp: pathlib.Path
  argv: list
  before: dict


def _prepare(case: Case, tmp: pathlib.Path, shared: Shared):
  """Builds the case's workspace in `tmp` (an empty folder): a _Prepared, or the Result of a failed setup."""
  tmp.mkdir(parents=True, exist_ok=True)
  try:
    if case.setup:
      case.setup(Workspace(tmp, shared))
  except Exception as e:  # reported as this case's failure, not as every case's (the tiny run is shared)
    return Result(case, None, '', '', 0.0, [], str(tmp), setup_error=f'{type(e).__name__}: {e}')
  return _Prepared(case, tmp, [a.replace('{tmp}', str(tmp)) for a in case.argv], snapshot(tmp))


def _run(prepared: _Prepared, fresh: bool = False) -> Result:
  """Runs a prepared case's command (in a warm interpreter, tests/warm.py, unless `fresh`) and records what
  happened: a case that outlives its timeout has code None."""
  case, started = prepared.case, time.monotonic()
  try:
    proc = warm.run(case.module, *prepared.argv, timeout=case.timeout_s, fresh=fresh)
    code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
  except subprocess.TimeoutExpired as e:
    code, stdout, stderr = None, _text(e.stdout), _text(e.stderr)
  return Result(case, code, stdout, stderr, time.monotonic() - started,
                compare(prepared.before, snapshot(prepared.tmp), case.may_create), str(prepared.tmp))


def run_case(case: Case, tmp: pathlib.Path, shared: Shared) -> Result:
  """Builds the case's workspace in `tmp` (an empty folder), runs its command, and records what happened."""
  prepared = _prepare(case, tmp, shared)
  return prepared if isinstance(prepared, Result) else _run(prepared)


def _text(data) -> str:
  return data.decode(errors='replace') if isinstance(data, bytes) else (data or '')


def run_cases(cases: Sequence[Case], root: pathlib.Path, shared: Shared, workers: int = 2,
              share_processes: bool = True) -> dict:
  """Runs `cases` in workspaces root/<id>, `workers` at once. Returns {id: Result}.

  share_processes: the commands run in warm interpreters (tests/warm.py: TensorFlow imported once per worker
  instead of once per case, a fifth of the catalogue's CPU time); False: a process per case, exactly as a user
  runs it (python -m tests.bad_inputs --one_process_per_case)."""
  from concurrent.futures import ThreadPoolExecutor
  workers = max(1, workers)
  with ThreadPoolExecutor(workers) as pool:
    prepared = list(pool.map(lambda case: _prepare(case, root / case.id, shared), cases))
    results = {p.case.id: p for p in prepared if isinstance(p, Result)}
    ready = [p for p in prepared if isinstance(p, _Prepared)]
    results.update({p.case.id: result for p, result in
                    zip(ready, pool.map(lambda p: _run(p, fresh=not share_processes), ready))})
  return {case.id: results[case.id] for case in cases}


# --- docs/bad_inputs.md -----------------------------------------------------------------------------------------

_SECTIONS = (('Training: `python -m training.main`', TRAIN),
             ('Export: `python -m export.to_onnx` and `python -m export.to_savedmodel`', EXPORT),
             ('Evaluation: `python -m evaluation.evaluate`', EVALUATE),
             ('Judge training: `python -m evaluation.train_judge`', TRAIN_JUDGE),
             ('Serving: `python -m serve.app`', SERVE),
             ('Architecture sweep: `python -m benchmarks.architecture_sweep`', SWEEP),
             ('Architecture gallery: `python -m benchmarks.architecture_gallery`', GALLERY),
             ('Quality benchmark: `python -m benchmarks.quality`', QUALITY),
             ('Warnings: the command goes on (exit 0) and says what it noticed', WARNINGS))
DOC_ROW = re.compile(r'^\| `([a-z0-9_]+)` \|', re.M)


def _cell(text: str) -> str:
  """Plain text in a table cell: '<tmp>' would be read as an HTML tag."""
  return text.replace('|', '\\|').replace('<', '&lt;').replace('>', '&gt;').replace('\n', ' ')


def _code(text: str) -> str:
  """`text` as inline code in a table cell (a message quoting a command holds backticks itself)."""
  text = text.replace('|', '\\|').replace('\n', ' ')
  return f'`` {text} ``' if '`' in text else f'`{text}`'


def render_doc(results: dict, app_results: dict) -> str:
  """docs/bad_inputs.md from real `results` ({id: Result} of every CLI case) and `app_results` (of every app case)."""
  bugs = [c for c in CASES + APP if c.known_bug]
  lines = [
      '# Bad input: what each command and the app say', '',
      'Every bad input the command-line tools handle, with the one line the user sees (the last line on stderr) '
      'and the exit code: 2 for a usage error (a flag, a value out of range, conflicting flags, a name that does '
      'not exist), 1 for anything else (an unreadable run, model or checkpoint). No case prints a traceback or '
      'changes a file that was already there. The warnings section holds what a command that goes on (exit 0) '
      'says about its input; the last section the bad requests the running app handles, with the message its API '
      'answers.', '',
      f'Generated by `python -m tests.bad_inputs --write_docs` from real runs of the {len(CASES)} command cases of '
      f'`tests/bad_inputs.py` and the {len(APP)} app cases of `tests/bad_inputs_app.py`; '
      '`tests/test_bad_inputs.py` runs them all and checks the codes, the messages and that the files each case '
      'was given are unchanged. `<tmp>` is the case\'s own folder, prepared as the '
      f'*given* line says; "a 2-step run" is a real run of `python -m training.main {" ".join(TINY_RUN_ARGS)}`.',
      '']
  if bugs:
    lines += [f'**{len(bugs)} case(s) are open** (marked below): the tool does not yet do what the catalogue '
              'expects; the row shows what it does today.', '']
  for title, cases in _SECTIONS:
    lines += [f'## {title}', '', '| id | command | message the user sees | exit code |', '|---|---|---|---|']
    for case in cases:
      result = results[case.id]
      command = _code(case.command()) + (f'<br>*given:* {_cell(case.given)}' if case.given else '')
      message = _code(result.shown_line) if result.shown_line else '(nothing)'
      code = 'timeout' if result.code is None else str(result.code)
      if case.known_bug:
        message += f'<br>**open:** {_cell(case.known_bug)}; expected {_code(case.message)}, exit {case.code}'
      lines.append(f'| `{case.id}` | {command} | {message} | {code} |')
    lines.append('')
  return '\n'.join(lines + _app_section(app_results))


def _app_section(app_results: dict) -> list:
  lines = [
      '## The app: requests to `python -m serve.app`', '',
      f'One real server on 127.0.0.1 serving `{MODEL}` (a valid 16x16x1 ONNX generator, latent 8) and '
      f'`{CLASSES_MODEL}` (the same with a label input of 10 classes); `{WRONG_CLASSES}` (a label input 10 wide, '
      'metadata naming 5 classes) is refused at start-up and never served. '
      'Each request is sent with gradio_client, `client = gradio_client.Client(url)` as in '
      '[serving.md](serving.md#from-python), and again as plain HTTP to Gradio\'s REST route (`POST '
      '/gradio_api/call/<endpoint>` with `{"data": [...]}`, then `GET /gradio_api/call/<endpoint>/<event_id>`); '
      'a `POST` row is sent as HTTP only, being what gradio_client does not send (JSON `NaN`; too few values, '
      'where it fills in the defaults; an endpoint the app lacks, which it refuses itself). The message is the text of '
      "gradio_client's `AppError` (for a `POST` row, the error text of the HTTP answer); the browser shows the "
      'same text in its error box when a form field holds such a value. After every case the server is still '
      'up and answers a good `/sample`.', '',
      '| id | request | message the user sees | what the API returns |', '|---|---|---|---|']
  for case in APP:
    result = app_results[case.id]
    message = _code(result.message) if result.message else '(nothing)'
    if case.known_bug:
      message += (f'<br>**open:** {_cell(case.known_bug)}; expected {_code(case.message)}, HTTP {case.status}')
    lines.append(f'| `{case.id}` | {_code(case.request())} | {message} | {_cell(result.answer())} |')
  return lines + ['']


def doc_ids(text: str) -> list:
  return DOC_ROW.findall(text)


def _main(argv):
  import tempfile
  from absl import flags
  from common import cli
  FLAGS = flags.FLAGS
  unknown = [i for i in FLAGS.run if i not in BY_ID and i not in APP_BY_ID]
  if unknown:
    raise cli.UsageError(f'unknown case id(s): {", ".join(unknown)}')
  if not (FLAGS.write_docs or FLAGS.run):
    raise cli.UsageError('pass --write_docs or --run=ID[,ID...]')
  cases = CASES if FLAGS.write_docs else [BY_ID[i] for i in FLAGS.run if i in BY_ID]
  app_cases = APP if FLAGS.write_docs else [APP_BY_ID[i] for i in FLAGS.run if i in APP_BY_ID]
  with tempfile.TemporaryDirectory(prefix='bad-inputs-') as root:
    started = time.monotonic()
    results = run_cases(cases, pathlib.Path(root) / 'cases', Shared(pathlib.Path(root)), FLAGS.workers,
                        share_processes=not FLAGS.one_process_per_case)
    for result in results.values():
      problems = result.problems()
      print(f'{result.case.id}: exit {result.code}, {result.seconds:.1f} s, {_verdict(result)}\n  {result.last_line}')
      for problem in problems:
        print(f'  - {problem}')
      if FLAGS.run and problems and 'Traceback' in result.stderr:
        print(result.normalise(result.stderr[result.stderr.index('Traceback'):]))
    app_results = run_app_cases(app_cases, pathlib.Path(root) / 'app') if app_cases else {}
    for result in app_results.values():
      print(f'{result.case.id}: {result.answer()}, {result.seconds:.2f} s, {_verdict(result)}\n  {result.message}')
      for problem in result.problems():
        print(f'  - {problem}')
      if FLAGS.run and 'Traceback' in result.log:
        print(result.log[result.log.index('Traceback'):][-3000:])
    if FLAGS.write_docs:
      DOC_PATH.write_text(render_doc(results, app_results) + '\n')
      print(f'wrote {DOC_PATH} ({len(cases)} + {len(app_cases)} cases) in {time.monotonic() - started:.0f} s')
  return 0


def _verdict(result) -> str:
  return 'ok' if not result.problems() else ('open (known bug)' if result.case.known_bug else 'FAILS')


def cli_main():
  from absl import flags
  flags.DEFINE_bool('write_docs', False, 'Run every case and rewrite docs/bad_inputs.md.')
  flags.DEFINE_list('run', [], 'Case ids to run and print (their output, what does not hold).')
  flags.DEFINE_integer('workers', 2, 'Processes run at once (each imports TensorFlow).')
  flags.DEFINE_bool('one_process_per_case', False, 'Run each case in a process of its own, exactly as a user runs '
                    'it, instead of in warm interpreters (tests/warm.py).')
  from common import cli
  cli.run(_main)


if __name__ == '__main__':
  cli_main()
