"""Cheaper critic updates (issue 10): one critic call on [real; fake] is exact for per-example normalisation, and
the lazy penalty runs on every k-th critic update with its average strength kept."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_config
from training import trainer
from training.config import ConfigError


def _final_weights(run_dir):
  reader = tf.train.load_checkpoint(str(run_dir / 'checkpoints'))
  # Every saved value: both networks, BatchNorm statistics, both optimizers' slots.
  names = sorted(n for n in reader.get_variable_to_shape_map() if n != '_CHECKPOINTABLE_OBJECT_GRAPH')
  return {n: reader.get_tensor(n) for n in names}


@pytest.mark.slow
def test_fused_critic_call_trains_like_two_calls(tmp_path):
  # LayerNorm normalises each example alone, so scoring real and fake in one batch changes no number.
  runs = {}
  for fuse in (True, False):
    run_dir = tmp_path / f'fuse-{fuse}'
    trainer.train(tiny_config(run_dir, loss='wgan_gp', steps=3, ckpt_every=3, fuse_critic=fuse, ema_decay=0.0),
                  log=lambda *_: None)
    runs[fuse] = _final_weights(run_dir)
  assert runs[True].keys() == runs[False].keys() and len(runs[True]) > 10
  for name in runs[True]:
    np.testing.assert_allclose(runs[True][name], runs[False][name], rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.slow
def test_lazy_penalty_trains_and_is_refused_without_a_penalty(tmp_path):
  trainer.train(tiny_config(tmp_path / 'lazy', loss='wgan_gp', steps=2, n_critic=4, gp_every=2), log=lambda *_: None)
  lines = (tmp_path / 'lazy' / 'metrics.csv').read_text().splitlines()
  header, last = lines[0].split(','), lines[-1].split(',')
  assert float(last[header.index('gradient_penalty')]) > 0  # the last penalised update's penalty is reported
  with pytest.raises(ConfigError, match='--gp_every applies only with a gradient penalty'):
    tiny_config(tmp_path / 'x', loss='dcgan', gp_every=2)
  with pytest.raises(ConfigError, match='--gp_every must be >= 1'):
    tiny_config(tmp_path / 'x', loss='wgan_gp', gp_every=0)
