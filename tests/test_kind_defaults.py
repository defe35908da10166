"""Data kinds bring their defaults (issue 23): a bare toy or text command trains the kind's architecture with the
WGAN-GP paper's settings for it; flags a user gives (a flagfile's included) always win; images bring nothing. Each
kind's record (training/data_kinds.py) holds its defaults and the settings that are its own."""

import os

import pytest

from training import config as config_lib, data_kinds
from training.launch import with_kind_defaults
from tests import warm
from training.config import resolve

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Run length and cadence: the preset's own choice for its run, not settings of the model or its optimisation.
_CADENCE = {'dataset', 'steps', 'sample_every', 'ckpt_every', 'log_every'}


def _preset(name: str) -> dict:
  """{setting: TrainConfig value} of a preset flagfile."""
  values = {}
  with open(os.path.join(_REPO, 'training', 'presets', name)) as f:
    for line in f:
      line = line.strip()
      if not line.startswith('--'):
        continue
      key, _, text = line[2:].partition('=')
      kind = config_lib.field_type({f.name: f for f in config_lib.fields()}[key])
      values[key] = text.lower() != 'false' if kind is bool else kind(text)
  return values


def test_the_bare_toy_command_resolves_to_the_toy_presets_values():
  preset = _preset('toy.flags')
  config, taken = with_kind_defaults({'dataset': 'toy:25gaussians'})
  resolved = resolve(config)
  assert {name: getattr(resolved, name) for name in preset if name not in _CADENCE} == \
      {name: value for name, value in preset.items() if name not in _CADENCE}
  assert taken['arch'] == 'mlp' and taken['gp_weight'] == 0.1 and 'dataset' not in taken


def test_the_bare_text_command_resolves_to_the_text_presets_model_and_optimiser():
  preset = _preset('text.flags')
  config, taken = with_kind_defaults({'dataset': 'text:input.txt'})
  model = {'arch', 'loss', 'seq_len', 'width', 'batch_size', 'n_critic', 'beta_1', 'beta_2', 'ema_decay'}
  assert {name: getattr(config, name) for name in model} == {name: preset[name] for name in model}
  assert taken['arch'] == 'resnet1d' and taken['n_critic'] == 10


def test_flags_given_win_over_the_kinds_defaults_and_the_kinds_over_the_loss_familys():
  config, taken = with_kind_defaults({'dataset': 'toy:8gaussians', 'width': 64, 'batch_size': 32})
  assert (config.width, config.batch_size) == (64, 32) and 'width' not in taken and 'batch_size' not in taken
  resolved = resolve(config)
  assert resolved.beta_1 == 0.5  # the kind's, over the wgan_gp family's Adam default
  # Settings of one loss family come with that loss only: WGAN's clipping takes no gradient penalty.
  wgan = resolve(with_kind_defaults({'dataset': 'toy:8gaussians', 'loss': 'wgan'})[0])
  assert wgan.arch == 'mlp' and wgan.gp_weight == 0 and wgan.clip_value == 0.01


def test_images_bring_nothing():
  for dataset in ('digits', 'mnist', 'folder:/tmp/x'):
    config, taken = with_kind_defaults({'dataset': dataset})
    assert taken == {} and config == config_lib.TrainConfig(dataset=dataset)


def test_an_image_architecture_given_with_toy_data_is_still_refused_naming_the_kinds():
  config, _ = with_kind_defaults({'dataset': 'toy:8gaussians', 'arch': 'dcgan'})
  with pytest.raises(config_lib.ConfigError, match='choose --arch=mlp'):
    resolve(config)


def test_each_kind_names_settings_losses_and_kinds_that_exist():
  names = {f.name for f in config_lib.fields()}
  from training.losses import LOSSES
  for kind in data_kinds.KINDS.values():
    loss_settings = [name for values in kind.loss_defaults.values() for name in values]
    assert set(kind.defaults) | set(loss_settings) | set(kind.own_settings) <= names, kind.name
    assert set(kind.loss_defaults) <= set(LOSSES), kind.name
  assert data_kinds.owners_of('augment') == ('image',) and data_kinds.owners_of('tau') == ('text',)
  assert data_kinds.owners_of('steps') == ()


@pytest.mark.parametrize('settings, message', [
    (dict(dataset='digits', gumbel_softmax=True),
     '--gumbel_softmax applies to text data only (--dataset=digits is image data)'),
    (dict(dataset='toy:8gaussians', arch='mlp', augment='color'),
     '--augment applies to image data only (--dataset=toy:8gaussians is points data)'),
    (dict(dataset='text:x.txt', arch='resnet1d', conditioning='acgan'),
     '--conditioning applies to image data only (--dataset=text:x.txt is text data)'),
])
def test_a_setting_of_another_kind_is_refused_naming_its_kinds(settings, message):
  with pytest.raises(config_lib.ConfigError) as raised:
    resolve(config_lib.TrainConfig(**settings))
  assert str(raised.value) == message


@pytest.mark.slow
def test_the_start_up_line_lists_what_came_from_the_kind(tmp_path):
  result = warm.run('training.main', '--dataset=toy:8gaussians', '--steps=2', '--width=16',
                    f'--run_dir={tmp_path / "run"}', '--sample_every=2', '--ckpt_every=2')
  assert result.returncode == 0, result.stderr[-2000:]
  line = next(l for l in result.stdout.splitlines() if 'brings its kind' in l)
  assert '--arch=mlp' in line and '--latent_dim=2' in line and '--gp_weight=0.1' in line
  assert '--width' not in line  # given: not the kind's
  import json
  saved = json.load(open(tmp_path / 'run' / 'config.json'))
  assert saved['arch'] == 'mlp' and saved['width'] == 16 and saved['batch_size'] == 256
