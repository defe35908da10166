"""A labelled folder's judge (issue 21): trained on the folder's judge part, scored on its floor part."""

import json
import os

import numpy as np
import pytest

from evaluation import folder_judge
from tests import warm

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _shapes_folder(root, classes=('circle', 'square', 'triangle'), per_class=60, size=16):
  """Coloured shapes on white, one class folder per shape; colour and position vary so only the shape says the
  class."""
  from PIL import Image, ImageDraw
  rng = np.random.default_rng(0)
  for name in classes:
    os.makedirs(root / name, exist_ok=True)
    for i in range(per_class):
      image = Image.new('RGB', (size, size), 'white')
      draw = ImageDraw.Draw(image)
      colour = tuple(int(c) for c in rng.integers(0, 200, 3))
      x, y = rng.integers(1, 4, 2)
      box = (int(x), int(y), int(x) + 10, int(y) + 10)
      if name == 'circle':
        draw.ellipse(box, fill=colour)
      elif name == 'square':
        draw.rectangle(box, fill=colour)
      else:
        draw.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], fill=colour)
      image.save(root / name / f'{name}{i:03d}.png')
  return root


def test_judge_name_tells_two_folders_of_one_name_apart(tmp_path):
  a, b = folder_judge.judge_name(str(tmp_path / 'x' / 'emoji')), folder_judge.judge_name(str(tmp_path / 'emoji'))
  assert a.startswith('emoji-') and b.startswith('emoji-') and a != b
  assert folder_judge.judge_name(str(tmp_path / 'emoji') + '/') == b


def test_balanced_accuracy_weighs_every_class_alike():
  labels = np.array([0] * 8 + [1] * 2)
  predicted = np.zeros(10, np.int64)  # always the common class: 80% accurate, balanced 50%
  assert folder_judge.balanced_accuracy(predicted, labels, 2) == pytest.approx(0.5)


@pytest.mark.slow
def test_folder_judge_learns_shapes_and_records_its_split(tmp_path):
  folder = _shapes_folder(tmp_path / 'shapes')
  record = folder_judge.train_folder_judge(f'folder:{folder}', image_size=16, epochs=8,
                                           judges_dir=str(tmp_path / 'judges'), command='cmd', log=lambda line: None)
  assert record['floor_accuracy'] > 0.7 and record['floor_balanced_accuracy'] > 0.7  # chance is 1/3
  assert record['class_names'] == ['circle', 'square', 'triangle']
  assert record['split']['group_by'] == 'content' and record['folder'] == str(folder)
  weights, stored = folder_judge.paths(str(folder), str(tmp_path / 'judges'))
  assert os.path.isfile(weights) and json.load(open(stored)) == record


@pytest.mark.slow
def test_train_judge_refuses_an_unlabelled_folder(tmp_path):
  _shapes_folder(tmp_path / 'shapes', classes=('circle',))
  os.replace(tmp_path / 'shapes' / 'circle', tmp_path / 'loose')
  result = warm.run('evaluation.train_judge', f'--dataset=folder:{tmp_path / "loose"}',
                    f'--judges_dir={tmp_path / "judges"}')
  assert result.returncode == 2, result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('error:') and 'class folders' in last


@pytest.fixture(scope='module')
def judged_folder(tmp_path_factory):
  """A 3-class folder of 1,020 16x16 shapes (about 150 per held-out part: FCD's 129 and more) and its judge."""
  tmp = tmp_path_factory.mktemp('judged')
  folder = _shapes_folder(tmp / 'shapes', per_class=340)
  judges = tmp / 'judges'
  folder_judge.train_folder_judge(f'folder:{folder}', image_size=16, epochs=2, judges_dir=str(judges),
                                  log=lambda line: None)
  return folder, judges


def _evaluate(args, cwd=_REPO):
  return warm.run('evaluation.evaluate', *args, cwd=cwd)


@pytest.mark.slow
def test_evaluate_scores_a_folder_run_against_its_reference_part_beside_the_floor(judged_folder, tmp_path):
  from tests.conftest import make_tiny_run_dir
  folder, judges = judged_folder
  make_tiny_run_dir(tmp_path / 'run', dataset=f'folder:{folder}', image_size=16, channels=3)
  result = _evaluate([f'--run_dir={tmp_path / "run"}', f'--judges_dir={judges}', f'--json={tmp_path / "r.json"}'])
  assert result.returncode == 0, result.stderr
  scores = json.load(open(tmp_path / 'r.json'))
  with open(folder_judge.paths(str(folder), str(judges))[1]) as f:
    counts = json.load(f)['split']['counts']
  reference, floor = (sum(counts[part].values()) for part in ('reference', 'floor'))
  assert scores['num_samples'] == min(reference, floor)  # N defaults to the held-out parts' size
  assert f'all {reference:,} folder:{folder} reference images' in scores['reference']
  assert 'whole folder' in scores['reference'] and 'copy_ratio' not in scores['samples']
  # An untrained generator's noise is far from real shapes; held-out real shapes are close to the reference.
  assert scores['samples']['fcd'] > 3 * scores['floor']['fcd']
  assert scores['floor']['classes_covered'] == 3
  assert 'floor (held-out real)' in result.stdout


@pytest.mark.slow
def test_evaluate_without_the_folders_judge_says_how_to_train_it(judged_folder, tmp_path):
  from tests.conftest import make_tiny_run_dir
  folder, _ = judged_folder
  make_tiny_run_dir(tmp_path / 'run', dataset=f'folder:{folder}', image_size=16, channels=3)
  result = _evaluate([f'--run_dir={tmp_path / "run"}', f'--judges_dir={tmp_path / "none"}'])
  assert result.returncode == 2, result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('error: no judge for folder:') and 'python -m evaluation.train_judge' in last


@pytest.mark.slow
def test_a_judge_refuses_a_folder_that_changed_since_it_was_trained(judged_folder, tmp_path):
  import shutil
  from evaluation import judge
  folder, judges = judged_folder
  copy = tmp_path / 'shapes'
  shutil.copytree(folder, copy)
  for name in ('weights.h5', 'json'):  # the judge of the copy: the same record, as if trained on it
    shutil.copy(str(folder_judge.paths(str(folder), str(judges))[0 if name == 'weights.h5' else 1]),
                folder_judge.paths(str(copy), str(judges))[0 if name == 'weights.h5' else 1])
  judge.load_judge(f'folder:{copy}', str(judges))  # unchanged: loads
  for i in range(60):  # new squares: the parts' counts differ from the record
    shutil.copy(copy / 'square' / 'square000.png', copy / 'square' / f'new{i}.png')
  with pytest.raises(judge.JudgeError, match='changed since its judge was trained'):
    judge.load_judge(f'folder:{copy}', str(judges))


@pytest.mark.slow
def test_eval_every_scores_a_folder_run_with_its_judge(judged_folder, tmp_path):
  folder, judges = judged_folder
  run_dir = tmp_path / 'run'
  result = warm.run('training.main', '--loss=wgan_gp', f'--dataset=folder:{folder}', '--image_size=16', '--width=4',
                    '--latent_dim=8', '--batch_size=16', '--steps=4', '--n_critic=1', '--eval_every=2',
                    '--eval_samples=140', f'--judges_dir={judges}', f'--run_dir={run_dir}', '--sample_every=100',
                    '--ckpt_every=100')
  assert result.returncode == 0, result.stderr[-2000:]
  rows = (run_dir / 'eval.csv').read_text().splitlines()
  assert len(rows) == 3 and 'fcd' in rows[0]  # header, steps 2 and 4
  assert (run_dir / 'best' / 'scores.json').is_file()


@pytest.mark.slow
def test_a_run_decoded_over_another_background_than_its_judge_is_refused(judged_folder, tmp_path):
  """The judge composited transparency over white (its default); a run over black would be compared with
  images that differ in every transparent pixel: --eval_every and evaluate refuse it, naming the retrain flag."""
  from evaluation import judge
  from evaluation.plugin import JudgeEvaluator
  from tests.conftest import make_tiny_run_dir
  folder, judges = judged_folder
  dataset = f'folder:{folder}'
  with pytest.raises(judge.JudgeError, match=r"over 'black', the judge of its folder over 'white'.*"
                                             r'--alpha_background=black'):
    JudgeEvaluator(dataset, None, 140, judges_dir=str(judges), alpha_background='black')
  JudgeEvaluator(dataset, None, 140, judges_dir=str(judges), alpha_background='white')  # the same: accepted
  run = tmp_path / 'run'
  make_tiny_run_dir(run, dataset=dataset, image_size=16, channels=3)
  path = run / 'generator' / 'generator.json'
  path.write_text(json.dumps({**json.loads(path.read_text()), 'alpha_background': 'black'}))
  result = _evaluate([f'--run_dir={run}', f'--judges_dir={judges}'])
  assert result.returncode == 2, result.stderr[-2000:]  # evaluate's judge errors, as a missing judge's
  assert "composited transparent pixels over 'black'" in result.stderr.strip().splitlines()[-1]


def test_a_folder_runs_generator_records_its_background(tmp_path):
  from training import generator_io
  from tests.conftest import tiny_config
  config = tiny_config(tmp_path, dataset=f'folder:{tmp_path}', alpha_background='black')
  assert generator_io.generator_metadata(config, 1)['alpha_background'] == 'black'
  assert 'alpha_background' not in generator_io.generator_metadata(tiny_config(tmp_path), 1)  # digits: no alpha


# --- The split printed at training time, and the group rule a judge keeps (issue 31) ----------------------------

def _split(counts_by_class, group_by='content'):
  """A FolderSplit with these {class: (judge, floor, reference)} counts (its file lists are not read)."""
  from data import folder_split
  classes = tuple(sorted(counts_by_class))
  counts = {part: {name: counts_by_class[name][i] for name in classes} for i, part in enumerate(folder_split.PARTS)}
  return folder_split.FolderSplit(group_by, {part: () for part in folder_split.PARTS}, classes, counts)


def test_split_table_prints_each_class_per_part_and_the_totals():
  from evaluation import split_report
  table = split_report.split_table(_split({'cat': (700, 150, 150), 'dog': (1400, 290, 310)}))
  assert table.splitlines() == [
      'images per part (grouped by content):',
      'class | judge | floor | reference',
      '------+-------+-------+----------',
      'cat   |   700 |   150 |       150',
      'dog   | 1,400 |   290 |       310',
      'all   | 2,100 |   440 |       460']


def test_a_class_whose_floor_and_reference_differ_by_more_than_1_5x_is_warned_about():
  from evaluation import split_report
  rule = 'strip:^[^-]+-|-1f3f[b-f]'
  split = _split({'even': (2000, 450, 450), 'skewed': (2000, 573, 379), 'small': (70, 14, 9),
                  'at_the_edge': (100, 30, 20)}, rule)
  lines = split_report.skew_warnings(split)
  assert len(lines) == 2 and all(line.startswith('warning: class ') for line in lines)
  skewed, small = sorted(lines)
  # 573 - 379 = 194 is 6.3 standard deviations of a split of single files: the groups are to blame
  assert skewed.startswith("warning: class 'skewed': 573 floor against 379 reference images (1.51x), more than a "
                           f"split of single files gives: --group_by={rule} gathers its files in large groups. "
                           "A rule written for other file names needs replacing")
  # 14 - 9 = 5 is 1.0 standard deviation: chance, in a class this small
  assert small.startswith("warning: class 'small': 14 floor against 9 reference images (1.56x), as a split of so few "
                          "images can by chance")
  assert split_report.skew_warnings(_split({'even': (2000, 450, 450)})) == []  # 30 vs 20: exactly 1.5x, no warning


def _paired_folder(root):
  """Shapes renamed 'a-NNN.png' and 'b-NNN.png': with name_after:- the pair NNN is one group, with content two."""
  _shapes_folder(root, per_class=120)
  for name in ('circle', 'square', 'triangle'):
    for i in range(120):
      os.replace(root / name / f'{name}{i:03d}.png', root / name / f'{"ab"[i % 2]}-{i // 2:03d}.png')
  return root


@pytest.mark.slow
def test_a_judge_prints_its_split_and_later_evaluations_use_the_rule_it_recorded(tmp_path):
  from data import folder_split
  from evaluation import judge, references
  folder, rule, judges = _paired_folder(tmp_path / 'pairs'), 'name_after:-', str(tmp_path / 'judges')
  dataset = f'folder:{folder}'
  printed = []
  record = folder_judge.train_folder_judge(dataset, rule, image_size=16, epochs=1, judges_dir=judges,
                                           log=printed.append)
  assert printed[1].startswith(f'images per part (grouped by {rule}):') and 'class    | judge | floor' in printed[1]
  assert record['group_by'] == rule == record['split']['group_by']
  # The two rules split this folder differently, so a later evaluation that fell back to the default would differ.
  by_content = folder_split.split_folder(str(folder), *folder_judge._class_files(str(folder))[1:], 'content')
  assert by_content.record()['counts'] != record['split']['counts']
  loaded = judge.load_judge(dataset, judges)  # what evaluate and --eval_every load: no --group_by given
  for part in ('floor', 'reference'):
    labels = loaded.spec.load_split_labels(part, 16)
    assert list(np.bincount(labels, minlength=3)) == list(record['split']['counts'][part].values())
    assert len(references.split_images(dataset, part, 16, spec=loaded.spec)) == len(labels)


@pytest.mark.slow
def test_evaluate_reads_its_table_and_names_classes_the_judge_lacks(judged_folder, tmp_path):
  """An untrained generator's table, read: far above the floor, and (its data classes edited to a folder that had a
  hexagon class and no triangles) a warning naming both, printed with the table; the same classes in another order
  are no warning."""
  from tests.conftest import make_tiny_run_dir
  folder, judges = judged_folder
  runs = {}
  for name, classes in (('other', ['circle', 'hexagon', 'square']), ('same', ['triangle', 'circle', 'square'])):
    make_tiny_run_dir(tmp_path / name, dataset=f'folder:{folder}', image_size=16, channels=3)
    path = tmp_path / name / 'generator' / 'generator.json'
    path.write_text(json.dumps({**json.loads(path.read_text()), 'data_classes': classes}))
    runs[name] = _evaluate([f'--run_dir={tmp_path / name}', f'--judges_dir={judges}',
                            f'--json={tmp_path / name}.json'])
    assert runs[name].returncode == 0, runs[name].stderr[-2000:]
  out = runs['other'].stdout
  table_end = out.index('kl_to_uniform')
  warning = next(line for line in out.splitlines() if line.startswith('warning: '))
  assert out.index(warning) > table_end and 'was trained on 3 classes (circle, hexagon, square) but the ' in warning
  assert 'class hexagon is not in the judge' in warning and "the judge's class triangle is not in the run's" in warning
  paragraph = out[out.index('reading: '):]
  assert paragraph.startswith('reading: FCD is ') and 'x its floor' in paragraph
  assert json.load(open(f'{tmp_path / "other"}.json'))['reading'][0].startswith('FCD is ')
  assert 'warning: ' not in runs['same'].stdout and 'reading: FCD is ' in runs['same'].stdout
