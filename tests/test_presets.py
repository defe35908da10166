"""Every preset is a flagfile of training.main that resolves to a valid configuration (no training run)."""

import glob
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

PRESETS = sorted(glob.glob(str(REPO_ROOT / 'training' / 'presets' / '*.flags')))
_CHECK = '''
import sys
from training import main
main.define_flags()
main.FLAGS(['main', '--flagfile=' + sys.argv[1]])
config = main.resolve(main.TrainConfig(**main._given_settings(only_present=False)))
print(config.loss, config.dataset, config.image_size, config.n_critic, config.ema_decay)
'''


@pytest.mark.parametrize('preset', PRESETS, ids=os.path.basename)
def test_every_preset_resolves_to_a_valid_config(preset):
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'CUDA_VISIBLE_DEVICES': '', 'PYTHONPATH': str(REPO_ROOT)}
  proc = subprocess.run([sys.executable, '-c', _CHECK, preset], cwd=REPO_ROOT, env=env, capture_output=True,
                        text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  loss, dataset, *_ = proc.stdout.split()
  with open(preset) as f:
    header = f.read()
  assert f'--loss={loss}' in header or loss == 'wgan_gp'
  assert f'--dataset={dataset}' in header
  assert 'python -m training.main --flagfile=training/presets/' in header  # the exact command is in its header


def test_the_recipes_of_the_time_to_quality_issue_are_28_pixel_wgan_gp():
  for name in ('fashion_mnist', 'mnist'):
    with open(REPO_ROOT / 'training' / 'presets' / f'{name}.flags') as f:
      lines = f.read().splitlines()
    assert {'--loss=wgan_gp', '--image_size=28', '--n_critic=1'} <= set(lines), name


def test_presets_name_only_settings_of_the_config():
  """Presets are flagfiles of TrainConfig's field names: nothing else can set a training setting."""
  from training import config
  names = {f.name for f in config.fields()}
  for preset in PRESETS:
    with open(preset) as f:
      flags_ = [line.split('=')[0].lstrip('-') for line in f.read().splitlines() if line.startswith('--')]
    flags_ = [name[2:] if name.startswith('no') and name[2:] in names else name for name in flags_]
    assert set(flags_) <= names, (preset, set(flags_) - names)
