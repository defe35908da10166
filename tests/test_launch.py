"""One launch path (training/launch.py, STYLE 30): settings -> the data kind's defaults -> absolute paths -> resolve
-> train, for training.main and every benchmark that trains; no benchmark resolves or trains on its own. Fast: the
trainer is replaced by a recorder where a test would otherwise train."""

import ast
import dataclasses
import os

import pytest

from tests.conftest import REPO_ROOT
from training import launch
from training.config import ConfigError, TrainConfig


def _bypasses(source: str) -> list:
  """The places in `source` that resolve or train without training/launch.py: a call of training.config's
  `resolve` or training.trainer's `train`, however imported (TrainingError and the rest of trainer stay usable)."""
  targets = {'training.config': 'resolve', 'training.launch': 'resolve', 'training.trainer': 'train'}
  modules, found = {}, []  # local name -> training.config / training.trainer
  for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.ImportFrom) and node.module in targets:
      found += [f'line {node.lineno}: from {node.module} import {a.name}' for a in node.names
                if a.name == targets[node.module]]
    elif isinstance(node, ast.ImportFrom) and node.module == 'training':
      modules.update({a.asname or a.name: f'training.{a.name}' for a in node.names})
    elif isinstance(node, ast.Import):
      modules.update({a.asname: a.name for a in node.names if a.asname})
  for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.Attribute):
      value = node.value
      name = (value.id if isinstance(value, ast.Name) else
              f'{value.value.id}.{value.attr}' if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
              else None)
      module = modules.get(name, name)
      if module in targets and node.attr == targets[module]:
        found.append(f'line {node.lineno}: {name}.{node.attr}')
  return found


def test_the_bypass_check_finds_each_way_of_writing_one():
  assert _bypasses('from training.config import TrainConfig, resolve') == [
      'line 1: from training.config import resolve']
  assert len(_bypasses('from training import trainer\ntrainer.train(c)')) == 1
  assert len(_bypasses('from training import config as config_lib\nconfig_lib.resolve(c)')) == 1
  assert len(_bypasses('import training.trainer\ntraining.trainer.train(c)')) == 1
  assert len(_bypasses('from training import launch\nlaunch.resolve(c)')) == 1
  assert _bypasses('from training import launch, trainer\nlaunch.launch(s)\nerror = trainer.TrainingError') == []
  assert _bypasses('import pathlib\npathlib.Path(".").resolve()') == []


def test_no_benchmark_resolves_or_trains_but_through_launch():
  found = {str(path.relative_to(REPO_ROOT)): _bypasses(path.read_text())
           for path in sorted((REPO_ROOT / 'benchmarks').glob('*.py'))}
  assert {path: lines for path, lines in found.items() if lines} == {}
  for name in ('architecture_gallery', 'architecture_sweep', 'toy_compare'):  # the benchmarks that train here
    assert 'launch.launch(' in (REPO_ROOT / 'benchmarks' / f'{name}.py').read_text(), name


def test_a_bare_toy_row_of_toy_compare_trains_with_the_toy_kinds_defaults():
  """toy_compare gives the run's length and cadence only; the MLP, its batch and gan_toy.py's WGAN-GP settings
  (lambda 0.1, Adam .5/.9) come from the kind, as for `python -m training.main --dataset=toy:25gaussians`."""
  from benchmarks import toy_compare
  configs = {loss: launch.prepare_config(toy_compare.run_settings('toy:25gaussians', loss, 40, 0, f'/tmp/x/{loss}'),
                                         log=lambda line: None) for loss in ('wgan_gp', 'wgan', 'dcgan')}
  for config in configs.values():
    assert (config.arch, config.latent_dim, config.width, config.batch_size, config.ema_decay, config.num_samples) \
        == ('mlp', 2, 512, 256, 0.0, 256)
    assert (config.steps, config.sample_every, config.ckpt_every, config.log_every) == (40, 10, 40, 100)
  gp = configs['wgan_gp']
  assert (gp.gp_weight, gp.beta_1, gp.beta_2, gp.n_critic) == (0.1, 0.5, 0.9, 5)
  assert (configs['wgan'].gp_weight, configs['wgan'].clip_value) == (0, 0.01)  # the kind's penalty: wgan_gp only
  assert (configs['dcgan'].n_critic, configs['dcgan'].beta_1) == (1, 0.5)


def test_the_galleries_cells_are_image_data_and_take_no_kind_defaults():
  from benchmarks import architecture_gallery as gallery, architecture_sweep as sweep
  settings = dict(dataset='fashion_mnist', image_size=32, steps=10, width=8, batch_size=16, seed=0, data_dir=None,
                  manual_dir=None, judges_dir=None)
  for row in gallery.ROW_NAMES:
    given = gallery.cell_settings(row, 'wgan_gp', settings, '/tmp/x')
    assert launch.with_kind_defaults(given)[1] == {}
  architecture = sweep.draw_architecture(0, 0, (8,))
  given = sweep.run_settings(architecture, 'dcgan', dict(settings, dataset='mnist'), '/tmp/x')
  assert launch.with_kind_defaults(given)[1] == {}
  assert sweep.run_config(architecture, 'dcgan', dict(settings, dataset='mnist'), '/tmp/x').image_size == 28


def test_prepare_config_logs_the_kinds_values_makes_paths_absolute_and_names_a_run_dir(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  lines = []
  config = launch.prepare_config({'dataset': 'toy:8gaussians', 'width': 16, 'loss': 'wgan'}, log=lines.append)
  assert lines == ["toy:8gaussians brings its kind's defaults for the flags not given: --arch=mlp --latent_dim=2 "
                   '--batch_size=256 --ema_decay=0 --num_samples=256']
  assert config.width == 16 and config.run_dir.startswith(os.path.join('runs', 'wgan-toy:8gaussians-'))
  folder = launch.prepare_config({'dataset': 'folder:pictures', 'run_dir': 'r'}, log=lines.append)
  assert folder.dataset == f'folder:{tmp_path / "pictures"}' and folder.run_dir == 'r' and len(lines) == 1
  with pytest.raises(ConfigError, match='^--dataset=text: names no file: add --dataset=text:FILE after'):
    launch.prepare_config({'dataset': 'text:'})


def test_resumed_config_reads_the_run_and_takes_only_resumable_changes(tmp_path):
  with pytest.raises(ConfigError, match='^--resume needs --run_dir$'):
    launch.resumed_config({'steps': 4})
  run_dir = tmp_path / 'run'
  run_dir.mkdir()
  saved = TrainConfig(dataset='toy:8gaussians', arch='mlp', width=8, steps=2, run_dir='elsewhere')
  (run_dir / 'config.json').write_text(saved.to_json())
  config = launch.resumed_config({'run_dir': str(run_dir), 'steps': 4, 'width': 8})
  assert (config.steps, config.width, config.run_dir, config.n_critic) == (4, 8, str(run_dir), 5)  # resolved
  with pytest.raises(ConfigError, match='--width cannot change when resuming'):
    launch.resumed_config({'run_dir': str(run_dir), 'width': 16})


def test_launch_builds_the_evaluator_only_for_eval_every_and_hands_the_trainer_one_config(tmp_path, monkeypatch):
  from training import trainer
  calls = []
  monkeypatch.setattr(trainer, 'train', lambda config, resume, log, evaluator: calls.append(
      (config, resume, evaluator)) or config.run_dir)
  made = []
  factory = lambda config: made.append(config) or 'the evaluator'  # noqa: E731
  settings = {'dataset': 'toy:8gaussians', 'run_dir': str(tmp_path / 'a'), 'eval_every': 5}
  assert launch.launch(settings, evaluator_factory=factory, log=lambda line: None) == str(tmp_path / 'a')
  (config, resume, evaluator), = calls
  assert evaluator == 'the evaluator' and made == [config] and resume is False
  assert config == launch.prepare_config(settings, log=lambda line: None)  # what prepare_config resolves
  launch.launch(dict(settings, eval_every=0), evaluator_factory=factory, log=lambda line: None)
  assert calls[-1][2] is None and len(made) == 1
  assert dataclasses.replace(calls[-1][0], eval_every=5) == config
