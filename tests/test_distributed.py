"""tf.distribute: 2 mirrored CPU replicas and 2 local MultiWorker processes match 1 device on the same global
batch. Each case runs in subprocesses: logical devices must be configured before TensorFlow runs any op."""

import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # training runs in subprocesses (mirrored replicas, multi-worker)

# Compared columns: every loss term and score; grad norms are per-replica and so differ by design.
COMPARED = ('d_loss', 'g_loss', 'gradient_penalty', 'd_real', 'd_fake', 'wasserstein')

_MIRRORED_SCRIPT = r'''
import csv, json, os, sys
from training import strategies
strategies.split_cpu(2)  # before any op
from tests.conftest import tiny_config
from training import trainer
out = {}
for name, strategy, jit in (('one_device', 'one_device', False), ('mirrored', 'mirrored', False),
                            ('mirrored_jit', 'mirrored', True)):
  run_dir = os.path.join(sys.argv[1], name)
  config = tiny_config(run_dir, loss=sys.argv[2], strategy=strategy, steps=3, batch_size=16, jit=jit)
  trainer.train(config, log=lambda *_: None)
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    out[name] = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
print('RESULT ' + json.dumps(out))
'''


def _env():
  return {**os.environ, 'PYTHONPATH': str(REPO_ROOT), 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': ''}


def _assert_same_losses(rows_a, rows_b):
  assert len(rows_a) == len(rows_b) == 3
  for a, b in zip(rows_a, rows_b):
    for key in COMPARED:
      np.testing.assert_allclose(a[key], b[key], rtol=2e-3, atol=2e-4, err_msg=f'{key} at step {a["step"]}')


@pytest.mark.parametrize('loss', ['dcgan', 'wgan_gp'])  # synchronized BatchNorm critic / LayerNorm + penalty
def test_two_mirrored_replicas_match_one_device(tmp_path, loss):
  proc = subprocess.run([sys.executable, '-c', _MIRRORED_SCRIPT, str(tmp_path), loss], cwd=REPO_ROOT, env=_env(),
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout.split('RESULT ', 1)[1])
  _assert_same_losses(result['one_device'], result['mirrored'])
  # --jit with 2 replicas trains (without XLA: see training/steps.py) instead of failing in BatchNorm's all-reduce
  _assert_same_losses(result['one_device'], result['mirrored_jit'])


def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def _read_metrics(run_dir):
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def test_two_local_multi_worker_processes(tmp_path):
  cluster = {'worker': [f'127.0.0.1:{p}' for p in _free_ports(2)]}
  run_dir = tmp_path / 'mw'
  common = ['-m', 'training.main', '--flagfile=training/presets/smoke.flags', '--loss=dcgan', '--strategy=multi_worker',
            f'--run_dir={run_dir}']
  procs = []
  for index in range(2):
    env = {**_env(), 'TF_CONFIG': json.dumps({'cluster': cluster, 'task': {'type': 'worker', 'index': index}})}
    procs.append(subprocess.Popen([sys.executable, *common], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True))
  outputs = []
  for proc in procs:
    try:
      outputs.append(proc.communicate(timeout=300))
    except subprocess.TimeoutExpired:
      for p in procs:
        p.kill()
      pytest.fail('multi-worker run did not finish in 300 s')
  for proc, (_, err) in zip(procs, outputs):
    assert proc.returncode == 0, err[-3000:]
  assert 'MultiWorkerMirroredStrategy, 2 replica(s)' in outputs[0][0]
  # Only the chief (worker 0) wrote the run directory; worker 1 removed its scratch checkpoints.
  assert os.path.isfile(run_dir / 'generator' / 'generator.json')
  assert sorted(os.listdir(run_dir / 'checkpoints')) == ['checkpoint', 'ckpt-2.data-00000-of-00001', 'ckpt-2.index',
                                                        'ckpt-2.sha256', 'ckpt-3.data-00000-of-00001', 'ckpt-3.index',
                                                        'ckpt-3.sha256']

  # The same global batch on one process gives the same losses.
  single = tmp_path / 'single'
  from tests import warm
  proc = warm.run(*common[1:4], '--strategy=one_device', f'--run_dir={single}')
  assert proc.returncode == 0, proc.stderr[-3000:]
  _assert_same_losses(_read_metrics(run_dir), _read_metrics(single))


def test_sigterm_to_one_worker_stops_both_at_the_same_step(tmp_path):
  """A preemption notice to the non-chief worker only: the workers' stop vote (training/trainer.py) makes both
  stop at the same step, the chief checkpoints it, both exit 0 (a worker stopping alone would leave the other
  waiting at the next collective)."""
  import re
  import signal
  import time
  cluster = {'worker': [f'127.0.0.1:{p}' for p in _free_ports(2)]}
  run_dir = tmp_path / 'mw'
  common = ['-m', 'training.main', '--flagfile=training/presets/smoke.flags', '--loss=dcgan', '--strategy=multi_worker',
            '--steps=100000', '--sample_every=100000', '--ckpt_every=50', f'--run_dir={run_dir}']
  procs = []
  try:
    for index in range(2):
      env = {**_env(), 'TF_CONFIG': json.dumps({'cluster': cluster, 'task': {'type': 'worker', 'index': index}})}
      procs.append(subprocess.Popen([sys.executable, *common], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 240
    while not (os.path.isfile(run_dir / 'metrics.csv') and len(_read_metrics(run_dir)) >= 2):
      for p in procs:
        if p.poll() is not None:
          pytest.fail(f'a worker exited ({p.returncode}) before training: {p.stderr.read()[-2000:]}')
      assert time.monotonic() < deadline, 'the workers did not start training in 240 s'
      time.sleep(0.2)
    procs[1].send_signal(signal.SIGTERM)  # the non-chief worker only
    outputs = [p.communicate(timeout=120) for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()
  stopped = []
  for proc, (out, err) in zip(procs, outputs):
    assert proc.returncode == 0, err[-3000:]
    match = re.search(r'stopped at step (\d+) by a signal', out)
    assert match, out[-2000:] + err[-2000:]
    stopped.append(int(match.group(1)))
  assert 'SIGTERM: stopping after this step' in outputs[1][1] and 'SIGTERM' not in outputs[0][1]
  assert stopped[0] == stopped[1], stopped
  step = stopped[0]
  assert step % 50, f'stopped at a checkpoint step ({step}): the stop checkpoint is not distinguishable'
  assert os.path.isfile(run_dir / 'checkpoints' / f'ckpt-{step}.index')
  assert os.path.isfile(run_dir / 'checkpoints' / f'ckpt-{step}.sha256')  # complete: its manifest was written
  assert int(_read_metrics(run_dir)[-1]['step']) == step
