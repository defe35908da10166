"""benchmarks/quality.py beyond Fashion-MNIST: its --presets row syntax, the emoji preset it compares, and one end-to-
end run on the embedded digits (slow)."""

import csv
import json
import os

import pytest

from benchmarks import quality
from common import cli, kinds
from tests import warm
from tests.conftest import REPO_ROOT
from tests.test_presets import resolve_presets

EMOJI = str(REPO_ROOT / 'training' / 'presets' / 'emoji.flags')
DIGITS = str(REPO_ROOT / 'training' / 'presets' / 'digits.flags')


def test_preset_rows_take_extra_flags_and_keep_commas_inside_a_value():
  rows = quality.parse_presets([f'plain={EMOJI}+--augment=,diffaug={EMOJI}+--augment=color,translation,cutout'
                                f'+--width=8', f'digits={DIGITS}'])
  assert rows == [('plain', EMOJI, ['--augment=']),
                  ('diffaug', EMOJI, ['--augment=color,translation,cutout', '--width=8']),
                  ('digits', DIGITS, [])]


def test_preset_rows_of_the_old_syntax_read_as_before(tmp_path):
  old = tmp_path / 'old.flags'
  old.write_text('--loss=wgan_gp\n')
  assert quality.parse_presets([f'new={EMOJI},old={old}']) == [('new', EMOJI, []), ('old', str(old), [])]


@pytest.mark.parametrize('value, fragment', [
    ('a=/no/such.flags', 'a=/no/such.flags'),
    (f'a={EMOJI}+width=8', 'width=8'),  # a flag without its dashes
    (f'a/b={EMOJI}', 'a/b='),  # a label is a run directory's name
    (f'a={EMOJI},a={DIGITS}', 'must differ'),
])
def test_wrong_preset_rows_are_one_usage_error_naming_them(value, fragment):
  with pytest.raises(cli.UsageError, match='--presets') as error:
    quality.parse_presets([value])
  assert fragment in str(error.value)


def test_losses_run_the_data_sets_own_preset_and_a_folder_the_colour_recipe():
  assert quality.recipes('digits', [], ['wgan_gp', 'dcgan']) == [
      ('wgan_gp', DIGITS, ['--loss=wgan_gp']), ('dcgan', DIGITS, ['--loss=dcgan'])]
  assert quality.recipes('folder:/x', [], ['wgan_gp']) == [('wgan_gp', EMOJI, ['--loss=wgan_gp'])]
  with pytest.raises(cli.UsageError, match='no preset'):
    quality.recipes('cifar10', [], ['wgan_gp'])


def test_folder_and_text_paths_are_made_absolute_for_every_stage():
  """What the trainer's config and this benchmark record: a folder's judge is named after its absolute path."""
  assert kinds.with_absolute_path('folder:rel/dir') == 'folder:' + os.path.abspath('rel/dir')
  assert kinds.with_absolute_path('text:~/t.txt') == 'text:' + os.path.expanduser('~/t.txt')
  assert kinds.with_absolute_path('folder:/abs') == 'folder:/abs'
  for name in ('digits', 'toy:25gaussians', 'fashion_mnist', 'folder:'):
    assert kinds.with_absolute_path(name) == name


def test_a_folder_or_text_dataset_without_its_path_is_one_line_naming_the_flag_to_add():
  assert kinds.missing_path('folder:') == ('--dataset=folder: names no folder: add --dataset=folder:PATH after the '
                                          '--flagfile (a preset that trains on your data leaves the path to you)')
  assert 'add --dataset=text:FILE' in kinds.missing_path('text:')
  for given in ('folder:x', 'text:a.txt', 'digits', 'toy:25gaussians', ''):
    assert kinds.missing_path(given) == ''


def test_presets_that_need_data_name_no_path_of_the_developers_checkout():
  for name in ('emoji.flags', 'text.flags'):
    lines = (REPO_ROOT / 'training' / 'presets' / name).read_text().splitlines()
    settings = [line for line in lines if line.startswith('--')]
    assert not [line for line in settings if 'shared' in line], settings
    assert kinds.missing_path(next(line for line in settings if line.startswith('--dataset='))[len('--dataset='):])


def test_emoji_preset_resolves_to_wgan_gp_64x64_rgb_without_diffaugment(tmp_path):
  """What training.main makes of the preset (parsed as tests/test_presets.py does), and of its DiffAugment row
  (docs/emoji.md): the row's flags after the flagfile turn augmentation on and change nothing else."""
  diffaug = tmp_path / 'diffaug.flags'
  diffaug.write_text(f'--flagfile={EMOJI}\n--augment=color,translation,cutout\n')
  configs = resolve_presets([EMOJI, diffaug])
  assert all('error' not in c for c in configs.values()), configs
  config, diffaug_config = configs[EMOJI], configs[str(diffaug)]
  assert (config['loss'], config['dataset'], config['image_size']) == ('wgan_gp', 'folder:', 64)
  assert (config['augment'], config['alpha_background'], config['flip']) == ('', 'white', False)
  assert (config['gp_weight'], config['critic_norm'], config['n_critic']) == (10, 'layer', 1)
  assert config['d_learning_rate'] == 2 * config['g_learning_rate'] and config['ema_decay'] == 0.999
  assert diffaug_config['augment'] == 'color,translation,cutout'
  assert {**diffaug_config, 'augment': config['augment']} == config
  from training.architectures import ARCHITECTURES
  generator = ARCHITECTURES[config['arch']].build_generator(config['latent_dim'], 64, 3, config['width'])
  assert generator.output_shape == (None, 64, 64, 3)


@pytest.mark.slow  # the benchmark's command
def test_a_folder_without_a_judge_fails_before_any_training(tmp_path):
  (tmp_path / 'data' / 'a').mkdir(parents=True)
  proc = warm.run('benchmarks.quality', f'--dataset=folder:{tmp_path / "data"}', f'--judges_dir={tmp_path / "judges"}',
                  f'--out={tmp_path / "out"}', '--minutes=5', f'--presets=a={EMOJI}')
  errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
  assert proc.returncode == 2 and len(errors) == 1 and 'judge' in errors[0], proc.stderr[-2000:]
  assert not (tmp_path / 'out' / 'a').exists()  # nothing trained


@pytest.mark.slow
def test_the_benchmark_runs_rows_with_their_flags_on_digits_end_to_end(tmp_path):
  """Two rows of one tiny preset, 18 s each: WGAN-GP plain, and DCGAN with DiffAugment and another latent size
  (a MathWorks-like row, so its score plot is listed); every checkpoint judged by the committed digits judge.
  Then --score_only judges the same checkpoints again, training nothing."""
  tiny = tmp_path / 'tiny.flags'
  tiny.write_text('--loss=wgan_gp\n--dataset=mnist\n--image_size=16\n--latent_dim=16\n--width=8\n--batch_size=32\n'
                  '--n_critic=1\n--sample_every=1000\n')  # --dataset: replaced by the benchmark's
  out = tmp_path / 'out'
  proc = warm.run('benchmarks.quality', '--dataset=digits', '--minutes=0.3', '--ckpt_every=20', '--num_samples=180',
                  f'--out={out}',
                  f'--presets=plain={tiny},mw={tiny}+--loss=dcgan+--augment=translation,cutout+--latent_dim=8',
                  timeout=600)
  assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])

  with open(out / 'quality.csv') as f:
    rows = list(csv.DictReader(f))
  for label in ('plain', 'mw'):
    points = [r for r in rows if r['loss'] == label]
    assert points, label
    steps = [int(r['step']) for r in points]
    assert steps == sorted(steps) and all(s % 20 == 0 or s == steps[-1] for s in steps)
    assert all(0 <= int(r['classes_covered']) <= 10 and float(r['fcd']) >= 0 for r in points)
  # The rows' flags reached their trainers, and --dataset replaced the preset's.
  configs = {label: json.loads((out / label / 'config.json').read_text()) for label in ('plain', 'mw')}
  assert {c['dataset'] for c in configs.values()} == {'digits'}
  assert (configs['plain']['loss'], configs['plain']['augment']) == ('wgan_gp', '')
  assert (configs['mw']['loss'], configs['mw']['augment'], configs['mw']['latent_dim']) == (
      'dcgan', 'translation,cutout', 8)

  assert 'keras-io baseline row: off' in proc.stdout
  table = proc.stdout.split('| run | wall time |', 1)[1]
  assert '| plain |' in table and '| mw |' in table and '| held-out real images (floor) |' in table
  assert '/10 |' in table  # classes covered, of the digits judge's 10
  assert f'generator/discriminator scores: {out / "mw" / "score_plot.png"}' in proc.stdout
  assert (out / 'mw' / 'score_plot.png').is_file() and not (out / 'plain' / 'score_plot.png').exists()
  assert (out / 'quality.png').is_file()

  # --score_only: the same rows judged again from their checkpoints and recorded starts; nothing trained.
  checkpoints = sorted(p.name for p in (out / 'plain' / 'checkpoints').iterdir())
  again = warm.run('benchmarks.quality', '--dataset=digits', '--minutes=0.3', '--num_samples=180', f'--out={out}',
                   '--score_only',
                   f'--presets=plain={tiny},mw={tiny}+--loss=dcgan+--augment=translation,cutout+--latent_dim=8',
                   timeout=600)
  assert again.returncode == 0, again.stderr[-3000:]
  assert 'trained plain' not in again.stdout
  assert sorted(p.name for p in (out / 'plain' / 'checkpoints').iterdir()) == checkpoints
  with open(out / 'quality.csv') as f:
    rescored = list(csv.DictReader(f))
  assert [(r['loss'], r['step'], r['wall_s']) for r in rescored] == [(r['loss'], r['step'], r['wall_s']) for r in rows]
  assert [float(r['fcd']) for r in rescored] == pytest.approx([float(r['fcd']) for r in rows], rel=1e-3)
