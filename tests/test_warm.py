"""tests/warm.py runs commands in warm interpreters: they must look to the test exactly as a fresh process does."""

import os
import subprocess

import pytest

from tests import warm


def _pid(proc) -> int:
  return int(proc.stdout.split('pid=')[1].split()[0])


def test_a_command_sees_its_own_flags_cwd_and_environment_and_its_output_is_its_own(tmp_path):
  first = warm.run('tests.warm_probe', '--say=hello', '--code=3', cwd=tmp_path,
                   env={**warm.BASE_ENV, 'PROBE_ENV': 'x'})
  assert first.returncode == 3
  assert f'say=hello cwd={tmp_path} probe_env=x' in first.stdout
  assert first.stderr.splitlines() == ['to stderr through the file descriptor', 'written to fd 2']
  second = warm.run('tests.warm_probe')  # the flag, cwd and environment of the first are gone
  assert second.returncode == 0 and f'say=default cwd={warm.REPO_ROOT} probe_env= ' in second.stdout
  assert _pid(second) == _pid(first) and _pid(first) != os.getpid()  # one warm worker, not the test's process
  assert 'hello' not in second.stdout + second.stderr


def test_errors_are_reported_as_python_reports_them():
  usage = warm.run('tests.warm_probe', '--refuse')
  assert usage.returncode == 2 and usage.stderr.splitlines()[-1] == 'error: refused as asked'
  bad_flag = warm.run('tests.warm_probe', '--no_such_flag')
  assert bad_flag.returncode == 2 and 'no_such_flag' in bad_flag.stderr.splitlines()[-1]
  bug = warm.run('tests.warm_probe', '--crash')
  assert bug.returncode == 1 and 'Traceback' in bug.stderr and 'RuntimeError: a bug' in bug.stderr


def test_a_timeout_ends_the_worker_and_the_next_command_gets_a_new_one():
  before = _pid(warm.run('tests.warm_probe'))
  with pytest.raises(subprocess.TimeoutExpired):
    warm.run('tests.warm_probe', '--sleep=30', timeout=2)
  assert _pid(warm.run('tests.warm_probe')) != before


def test_fresh_processes_where_a_warm_one_would_differ():
  pid = _pid(warm.run('tests.warm_probe'))
  assert _pid(warm.run('tests.warm_probe', '--cpu_replicas=2')) != pid  # must split the CPU before TF starts
  assert _pid(warm.run('tests.warm_probe', env={**warm.BASE_ENV, 'TF_CPP_MIN_LOG_LEVEL': '0'})) != pid
  assert _pid(warm.run('tests.warm_probe', fresh=True)) != pid
  assert _pid(warm.run('tests.warm_probe')) == pid


@pytest.mark.slow  # imports TensorFlow in a worker
def test_a_worker_whose_command_switched_on_op_determinism_is_retired():
  tainted = _pid(warm.run('tests.warm_probe', '--determinism'))
  assert _pid(warm.run('tests.warm_probe')) != tainted
