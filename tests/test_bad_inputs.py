"""Walks the bad-input catalogue (tests/bad_inputs.py): every case's command run with its own argv, workspace, stdout
and stderr; and its app part (tests/bad_inputs_app.py): every bad request sent to one real server, as
tests/bad_inputs_app.py says.

For each case: the catalogue's exit code; a last stderr line `error: ...` matching the catalogue's message; no
traceback anywhere; every file the case was given unchanged (path, size, sha256) and nothing new outside the
case's `may_create`. A case the tool gets wrong today is a strict xfail (its `known_bug`), so a fix shows up as
an XPASS failure until the mark is removed.

The selected cases (`-k` still selects) all run when the first of them is checked, one warm interpreter per core
(up to 4; $BAD_INPUTS_WORKERS; tests/warm.py), which pays the ~3.5 s of CPU of importing TensorFlow once instead
of once per case; a case that outlives its timeout ends its interpreter. `python -m tests.bad_inputs --write_docs
--one_process_per_case` runs each case exactly as a user does. The app cases share one server started for them:
~10 s in all. The cases are slow tests (make test); the checks of the catalogue itself are fast.
"""

import os
import pathlib

import pytest

from tests import bad_input_workspaces as workspaces, bad_inputs, bad_inputs_app, bad_inputs_runner as runner

WORKERS = int(os.environ.get('BAD_INPUTS_WORKERS', min(4, os.cpu_count() or 1)))  # one subprocess per core


def _params(cases):
  return [pytest.param(case.id, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.known_bug)]
                       if case.known_bug else []) for case in cases]


def _selected(request, test_name: str) -> list:
  """The case ids of `test_name` this session selected (`-k` still selects)."""
  # This module's items only: other test files have tests of the same name (test_export_cli.test_bad_input).
  return [item.callspec.params['case_id'] for item in request.session.items
          if getattr(item, 'originalname', '') == test_name and hasattr(item, 'callspec') and
          item.module is request.module]


@pytest.fixture(scope='module')
def results(request, tmp_path_factory):
  """{case id: Result} of the cases this session selected, each run in its own workspace."""
  shared = workspaces.Shared(tmp_path_factory.mktemp('bad_inputs_shared'))
  return runner.run_cases([bad_inputs.BY_ID[i] for i in _selected(request, 'test_bad_input')],
                          tmp_path_factory.mktemp('bad_inputs'), shared, WORKERS)


@pytest.fixture(scope='module')
def app_results(request, tmp_path_factory):
  """{case id: AppResult} of the app cases this session selected, all sent to one server started here."""
  cases = [bad_inputs_app.APP_BY_ID[i] for i in _selected(request, 'test_app_bad_input')]
  return bad_inputs_app.run_app_cases(cases, tmp_path_factory.mktemp('bad_inputs_app'))


@pytest.mark.slow
@pytest.mark.parametrize('case_id', _params(bad_inputs.CASES))
def test_bad_input(case_id, results):
  result = results[case_id]
  problems = result.problems()
  assert not problems, (f'{result.case.command(result.tmp)}\n' + '\n'.join(f'- {p}' for p in problems) +
                        f'\n--- stderr (last 3000 characters) ---\n{result.stderr[-3000:]}')


@pytest.mark.slow  # a real server
@pytest.mark.parametrize('case_id', _params(bad_inputs_app.APP))
def test_app_bad_input(case_id, app_results):
  """Refused with the catalogue's message, no traceback, and the server then still answers a good /sample."""
  result = app_results[case_id]
  problems = result.problems()
  assert not problems, (f'{result.case.request()}\n' + '\n'.join(f'- {p}' for p in problems) +
                        f'\n--- server log meanwhile (last 3000 characters) ---\n{result.log[-3000:]}')


def test_catalogue_is_well_formed():
  ids = [case.id for case in bad_inputs.CASES]
  assert len(ids) == len(set(ids)), 'duplicate case ids'
  assert len(ids) >= 30
  for case in bad_inputs.CASES:
    assert runner.DOC_ROW.match(f'| `{case.id}` |'), f'{case.id}: ids are lowercase words joined by _'
    expected = (0,) if case in bad_inputs.WARNINGS else (1, 2)
    assert case.code in expected, f'{case.id}: exit 2 is a usage error, 1 anything else, 0 a warning'
    assert case.message.startswith('error: ') or case.code == 0, case.id
  modules = {case.module for case in bad_inputs.CASES}
  assert {'training.main', 'export.to_onnx', 'export.to_savedmodel', 'evaluation.evaluate',
          'evaluation.train_judge', 'serve.app'} <= modules


def test_app_catalogue_is_well_formed():
  ids = [case.id for case in bad_inputs_app.APP]
  assert len(set(ids)) == len(ids) >= 8, 'app case ids are unique, at least 8'
  assert not set(ids) & set(bad_inputs.BY_ID), 'an app case id repeats a command case id'
  for case in bad_inputs_app.APP:
    assert case.id.startswith('app_') and runner.DOC_ROW.match(f'| `{case.id}` |'), case.id
    assert case.message, f'{case.id}: what should the user be told?'
    assert case.body or case.status == 200, f'{case.id}: gradio_client requests are answered through the queue'
  assert {'/sample', '/interpolate'} <= {case.api_name for case in bad_inputs_app.APP}


def test_doc_lists_exactly_the_catalogue():
  """docs/bad_inputs.md is generated (python -m tests.bad_inputs --write_docs): a case added, renamed or removed
  without regenerating it fails here."""
  documented = runner.doc_ids(bad_inputs.DOC_PATH.read_text())
  expected = [case.id for case in bad_inputs.CASES + bad_inputs_app.APP]
  missing, stale = sorted(set(expected) - set(documented)), sorted(set(documented) - set(expected))
  assert not missing and not stale and documented == expected, (
      f'docs/bad_inputs.md is stale (missing {missing}, not in the catalogue {stale}, or out of order): run '
      f'python -m tests.bad_inputs --write_docs')


def test_message_patterns():
  assert workspaces.matches('error: a ... b', 'error: a x|y (z) b')
  assert workspaces.matches('error: (1+1)', 'error: (1+1)')
  assert not workspaces.matches('error: a', 'error: ab')
  assert not workspaces.matches('error: ...x', 'error: y')


def test_snapshot_sees_every_change(tmp_path: pathlib.Path):
  (tmp_path / 'a').write_text('1')
  (tmp_path / 'd').mkdir()
  (tmp_path / 'd' / 'b').write_text('2')
  before = runner.snapshot(tmp_path)
  (tmp_path / 'a').write_text('3')  # same size, other content
  (tmp_path / 'd' / 'b').unlink()
  (tmp_path / 'new').mkdir()
  (tmp_path / 'new' / 'c').write_text('')
  changed = runner.compare(before, runner.snapshot(tmp_path), may_create=('new',))
  assert changed == ['a changed', 'd/b removed', 'new/c created']
