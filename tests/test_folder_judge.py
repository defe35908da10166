"""A labelled folder's judge (issue 21): trained on the folder's judge part, scored on its floor part."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from evaluation import folder_judge

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
  result = subprocess.run([sys.executable, '-m', 'evaluation.train_judge', f'--dataset=folder:{tmp_path / "loose"}',
                           f'--judges_dir={tmp_path / "judges"}'], cwd=_REPO, capture_output=True, text=True)
  assert result.returncode == 2, result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('error:') and 'class folders' in last
