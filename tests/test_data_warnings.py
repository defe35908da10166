"""Start-up warnings about a labelled folder's classes (training/data_kinds.class_warnings): classes below 20
images, and an imbalance above 50:1 with what --fake_labels does about it."""

import pytest
from PIL import Image

from tests.conftest import tiny_config
from training import data_kinds


def test_balanced_classes_of_20_or_more_warn_nothing():
  assert data_kinds.class_warnings(('cats', 'dogs'), (20, 1000)) == []  # 50:1 exactly is not above
  assert data_kinds.class_warnings((), ()) == []  # TFDS and digits: counts unknown


def test_small_classes_are_named_with_their_counts():
  assert data_kinds.class_warnings(('ants', 'bees', 'cats'), (19, 3, 20)) == [
      '2 of 3 classes hold fewer than 20 images (ants 19, bees 3): too few for --conditioning to learn such a '
      'class, or for a folder judge to measure it (its held-out parts need 5 of each class); add images, or move '
      'the folder out']
  many = data_kinds.class_warnings([f'c{i}' for i in range(12)], [5] * 12)[0]
  assert '(c0 5, c1 5, c2 5, c3 5, c4 5, c5 5, c6 5, c7 5, c8 5, c9 5 and 2 more)' in many


@pytest.mark.parametrize('fake_labels, advice', [
    (None, "the generator, unconditioned, learns the data's mixture: at best about 1 of every 52 samples will be "
           'cats; with --conditioning, --fake_labels=uniform asks the generator for every class equally often'),
    ('data', "--fake_labels=data asks the generator for classes at the data's frequencies, cats for about 1 of "
             'every 52 samples of an update; --fake_labels=uniform asks for every class equally often (the critic '
             "still sees real images at the data's frequencies)"),
    ('uniform', '--fake_labels=uniform asks the generator for every class equally often, but cats is only about 1 '
                'of every 52 real images the critic sees, so the critic judges that class from few examples'),
])
def test_an_imbalance_above_50_to_1_says_what_fake_labels_does(fake_labels, advice):
  # 1020 / 20 = 51:1; 1040 images in all, 20 of them cats: 'about 1 of every 52'
  lines = data_kinds.class_warnings(('cats', 'dogs'), (20, 1020), fake_labels)
  assert lines == [f'its classes are imbalanced 51:1 (dogs 1020, cats 20): {advice}']


def test_a_run_on_a_poor_folder_warns_at_start(tmp_path, caplog):
  """Through the real folder loading: 2 images of ants, 120 of bees (60:1), a conditional run."""
  for name, count in (('ants', 2), ('bees', 120)):
    (tmp_path / 'images' / name).mkdir(parents=True)
    for i in range(count):
      Image.new('RGB', (8, 8), (i, 0, 0)).save(tmp_path / 'images' / name / f'{i}.png')
  config = tiny_config(tmp_path / 'run', dataset=f'folder:{tmp_path / "images"}', conditioning='projection')
  with caplog.at_level('WARNING'):
    data_kinds.kind_of(config.dataset).open(config)
  folder = f'folder:{tmp_path / "images"}'
  assert f'{folder}: 1 of 2 classes holds fewer than 20 images (ants 2): too few' in caplog.text
  assert (f'{folder}: its classes are imbalanced 60:1 (bees 120, ants 2): --fake_labels=data asks the generator '
          f"for classes at the data's frequencies, ants for about 1 of every 61 samples of an update") in caplog.text
