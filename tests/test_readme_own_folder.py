"""The README's own-folder commands, as a new user runs them: copied from README.md, PATH replaced by a generated
3-class colour folder outside the repository, only short-run flags added (--epochs, --steps), run from a clone-like
working directory in a temp folder (the repository's packages linked in; judges/, runs/ and models/ written
there), each a real process."""

import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # four real commands: judge, training, export, evaluation

_SHORT_RUN = {'evaluation.train_judge': ['--epochs=1'], 'training.main': ['--steps=2']}
_PACKAGES = ('common', 'data', 'training', 'evaluation', 'export', 'serve')


def readme_own_folder_commands() -> list:
  """The commands of the README's 'Your own labelled folder' block, `a && b` split in two."""
  text = (REPO_ROOT / 'README.md').read_text()
  section = text[text.index('## Your own labelled folder'):]
  block = section[section.index('```\n') + 4:]
  block = block[:block.index('```')]
  return [command.strip() for line in block.splitlines() if line.startswith('python -m')
          for command in line.split('&&')]


def _colour_folder(root, per_class=320, size=64):
  """root/<class>/NNN.png: red discs, green squares and blue triangles of random size and place on white, with
  transparency around some of them (RGBA) and a few JPEGs: a folder a user might bring, 3 classes."""
  from PIL import Image, ImageDraw
  rng = np.random.default_rng(0)
  for name in ('red discs', 'green squares', 'blue triangles'):
    (root / name).mkdir(parents=True)
    for i in range(per_class):
      rgba = i % 3 == 0 and i % 10 != 1  # JPEGs have no alpha
      image = Image.new('RGBA' if rgba else 'RGB', (size, size), (255, 255, 255, 0) if rgba else (255, 255, 255))
      draw = ImageDraw.Draw(image)
      r, (x, y) = rng.integers(8, 24), rng.integers(24, size - 24, 2)
      shade = tuple(int(v) for v in rng.integers(0, 90, 3))
      colour = {'red discs': (255, shade[1], shade[2]), 'green squares': (shade[0], 255, shade[2]),
                'blue triangles': (shade[0], shade[1], 255)}[name]
      if name == 'red discs':
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
      elif name == 'green squares':
        draw.rectangle([x - r, y - r, x + r, y + r], fill=colour)
      else:
        draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=colour)
      image.save(root / name / (f'{i:03d}.jpg' if i % 10 == 1 else f'{i:03d}.png'))


def test_the_readme_commands_run_on_a_new_users_colour_folder(tmp_path):
  commands = readme_own_folder_commands()
  assert [shlex.split(c)[2] for c in commands] == ['evaluation.train_judge', 'training.main', 'export.to_onnx',
                                                   'evaluation.evaluate'], commands
  folder = tmp_path / 'my images'
  _colour_folder(folder)
  work = tmp_path / 'clone'
  work.mkdir()
  for package in _PACKAGES:  # what `python -m` and the preset's relative --flagfile find in a clone
    os.symlink(REPO_ROOT / package, work / package)
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'PYTHONPATH': str(work)}
  outputs = []
  for command in commands:
    argv = [arg.replace('folder:PATH', f'folder:{folder}') for arg in shlex.split(command)]
    assert argv[:2] == ['python', '-m'] and not [a for a in argv if 'shared' in a or a.endswith(':PATH')], argv
    argv = [sys.executable, *argv[1:], *_SHORT_RUN.get(argv[2], [])]
    result = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-3000:])
    assert 'Traceback' not in result.stderr
    outputs.append(result.stdout)
  judge, train, export, evaluate = outputs
  assert re.search(r'red discs\s*\|', judge) and 'images per part' in judge
  assert 'done: 2 steps' in train and 'eval step 2: fcd ' in train and 'export with: python -m export.to_onnx' in train
  assert (work / 'models' / 'emoji' / 'model.onnx').is_file() and 'CUDA EP check: clean' in export
  assert 'reading: FCD is ' in evaluate
