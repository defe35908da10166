"""Every preset is a flagfile of training.main that resolves to a valid configuration (no training run), and the
time-to-quality recipes resolve to the settings they were measured with."""

import glob
import os

import pytest

from tests.conftest import REPO_ROOT

PRESETS = sorted(glob.glob(str(REPO_ROOT / 'training' / 'presets' / '*.flags')))


def resolve_presets(paths) -> dict:
  """{preset path: the resolved TrainConfig as a dict, or {'error': ...}}: each flagfile parsed as training.main
  parses it (absl flags, the kind's defaults, then resolve: training/launch.py's path, less the check that a
  folder:/text: preset was given its path), in this process; the flags are back at their defaults afterwards, so
  the presets stay apart."""
  import dataclasses
  from absl import flags
  from training import launch, main
  from training.config import resolve
  if 'loss' not in flags.FLAGS:
    main.define_flags()
  out = {}
  for preset in paths:
    flags.FLAGS.unparse_flags()
    try:
      flags.FLAGS(['main', f'--flagfile={preset}'])
      config = resolve(launch.with_kind_defaults(main._given_settings(only_present=True))[0])
      out[str(preset)] = dataclasses.asdict(config)
    except Exception as e:  # this preset's failure, reported by its own test
      out[str(preset)] = {'error': f'{type(e).__name__}: {e}'}
    finally:
      flags.FLAGS.unparse_flags()
  return out


@pytest.fixture(scope='module')
def resolved() -> dict:
  """{preset path: the resolved TrainConfig as a dict, or {'error': ...}} of every preset."""
  return resolve_presets(PRESETS)


@pytest.mark.parametrize('preset', PRESETS, ids=os.path.basename)
def test_every_preset_resolves_to_a_valid_config(preset, resolved):
  config = resolved[preset]
  assert 'error' not in config, config.get('error')
  loss, dataset = config['loss'], config['dataset']
  with open(preset) as f:
    header = f.read()
  assert f'--loss={loss}' in header or loss == 'wgan_gp'
  assert f'--dataset={dataset}' in header
  assert 'python -m training.main --flagfile=training/presets/' in header  # the exact command is in its header


@pytest.mark.parametrize('name', ['fashion_mnist', 'mnist'])
def test_the_time_to_quality_recipes_resolve_to_what_was_measured(name, resolved):
  """What training runs for the recipe of the time-to-quality issue: WGAN-GP with the paper's penalty (λ 10 on a
  LayerNorm critic, no clipping, Adam betas 0/0.9) on the native 28-pixel model, one critic step per generator
  step with TTUR (the critic at twice the generator's rate), and the EMA generator. A changed family default
  shows here, where the preset's own lines would not."""
  from training.architectures import ARCHITECTURES
  config = resolved[str(REPO_ROOT / 'training' / 'presets' / f'{name}.flags')]
  assert 'error' not in config, config.get('error')
  assert (config['loss'], config['dataset'], config['image_size'], config['n_critic']) == ('wgan_gp', name, 28, 1)
  assert (config['gp_weight'], config['critic_norm']) == (10, 'layer') and not config['clip_value']
  assert (config['beta_1'], config['beta_2']) == (0, 0.9)
  assert config['d_learning_rate'] == 2 * config['g_learning_rate'] == 4e-4
  assert config['ema_decay'] == 0.999
  generator = ARCHITECTURES[config['arch']].build_generator(config['latent_dim'], 28, 1, config['width'])
  assert generator.output_shape == (None, 28, 28, 1)  # the 7 -> 14 -> 28 model: no padding to 32 and back


def test_presets_name_only_settings_of_the_config():
  """Presets are flagfiles of TrainConfig's field names: nothing else can set a training setting."""
  from training import config
  names = {f.name for f in config.fields()}
  for preset in PRESETS:
    with open(preset) as f:
      flags_ = [line.split('=')[0].lstrip('-') for line in f.read().splitlines() if line.startswith('--')]
    flags_ = [name[2:] if name.startswith('no') and name[2:] in names else name for name in flags_]
    assert set(flags_) <= names, (preset, set(flags_) - names)
