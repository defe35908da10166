"""Class grids name their rows (issue 31): common.images.labelled_grid as the trainer's samples/ grids, export's
sample.png and the app's all-classes grid use it, and the app's all-classes count rounded up to whole class rows.
Fast: NumPy and Pillow, a hand-built conditional ONNX graph (9 classes) for the app's handler; the trained and
exported conditional runs are checked in tests/test_conditional.py and tests/test_serve_conditional.py.
"""

import json

import numpy as np
import pytest
from PIL import Image

from common import images as common_images
from common import labels as common_labels

EMOJI = ('activities', 'animals_nature', 'component', 'flags', 'food_drink', 'objects', 'people_body',
         'smileys_emotion', 'travel_places')  # 9 classes, as the emoji folder has


def tiles(count, channels, seed=0):
  """uint8 (count, 16, 16[, 3]) of noise: every pixel of the image area is checkable."""
  shape = (count, 16, 16) + ((3,) if channels == 3 else ())
  return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def label_bands(picture, margin: int, rows: int, height: int = 16, pad: int = 2, border: int = 0):
  """The margin's part beside each grid row: [(height, margin[, C])] * rows."""
  return [picture[border + r * (height + pad):border + r * (height + pad) + height, :margin] for r in range(rows)]


@pytest.mark.parametrize('channels', [1, 3])
@pytest.mark.parametrize('fill, frame', [(common_images.TRAINING_BACKGROUND, True), (common_images.APP_BACKGROUND,
                                                                                     False)])
def test_a_labelled_grid_is_the_plain_grid_right_of_a_margin_naming_each_row(channels, fill, frame):
  images = tiles(9 * 2, channels)
  plain = common_images.grid(images, cols=2, fill=fill, frame=frame)
  labelled = common_images.labelled_grid(images, EMOJI, cols=2, fill=fill, frame=frame)
  margin = labelled.shape[1] - plain.shape[1]
  assert labelled.shape[0] == plain.shape[0] and 60 < margin < 130  # 'smileys_emotion' at 10 px, and the gaps
  np.testing.assert_array_equal(labelled[:, margin:], plain)  # the generator's pixels, untouched
  bands = label_bands(labelled, margin, 9, border=2 if frame else 0)
  for name, band in zip(EMOJI, bands):
    ink = band != fill
    assert ink.sum() > 20, name  # text in every row's label area
  # Between the rows (the grid's padding) the margin is background: a name never spills into the next row.
  between = np.concatenate([labelled[(2 if frame else 0) + r * 18 + 16:(2 if frame else 0) + r * 18 + 18, :margin]
                            for r in range(8)])
  assert (between == fill).all()
  # Longer names, wider text: 'smileys_emotion' inks further right than 'flags'.
  reach = [np.nonzero((band != fill).any(axis=tuple(i for i in range(band.ndim) if i != 1)))[0].max()
           for band in bands]
  assert reach[EMOJI.index('smileys_emotion')] > reach[EMOJI.index('flags')] + 20


@pytest.mark.parametrize('channels', [1, 3])
def test_no_names_is_the_plain_grid(channels):
  images = tiles(5, channels)
  for kwargs in (dict(), dict(cols=2, fill=common_images.TRAINING_BACKGROUND, frame=True)):
    plain = common_images.grid(images, **kwargs)
    assert common_images.labelled_grid(images, (), **kwargs).tobytes() == plain.tobytes()


def test_long_names_are_cut_with_an_ellipsis():
  long = 'a_class_name_much_longer_than_anyone_reads_in_a_margin'
  assert common_images.short_label(long) == long[:23] + '…' and len(common_images.short_label(long)) == 24
  assert common_images.short_label('  Ankle\n boot ') == 'Ankle boot'
  assert common_images.short_label(7) == '7'
  images = tiles(2, 1)
  width = common_images.labelled_grid(images, [long, 'b'], cols=1).shape[1]
  assert width == common_images.labelled_grid(images, [long[:23] + '…', 'b'], cols=1).shape[1] < 160


def test_the_font_scales_with_the_row_height():
  """Pillow's built-in font is scalable offline (Pillow >= 10.1 embeds one): 16 px rows get 10 px text, 64 px rows
  20 px, and the taller text is drawn taller."""
  assert common_images.label_font(16).size == 10 and common_images.label_font(64).size == 20
  small = common_images.labelled_grid(np.zeros((1, 16, 16), np.uint8), ['Sneaker'], cols=1)
  large = common_images.labelled_grid(np.zeros((1, 64, 64), np.uint8), ['Sneaker'], cols=1)
  ink_rows = [np.nonzero((g[:, :g.shape[1] - 16 * k] != 255).any(axis=1))[0] for g, k in ((small, 1), (large, 4))]
  assert np.ptp(ink_rows[1]) > 1.5 * np.ptp(ink_rows[0])


def test_the_trainers_grid_names_its_rows_when_given_class_names(tmp_path):
  """training.run_dir.save_sample_grid(row_names=...): the margin at scale 2; the images right of it are those of
  the grid saved without names, which is today's file byte for byte (tests/test_stage_contract.py's goldens)."""
  from training import run_dir as rundir
  (tmp_path / 'samples').mkdir()
  x = np.random.default_rng(1).uniform(-1, 1, (9 * 3, 16, 16, 1)).astype(np.float32)
  plain = np.asarray(Image.open(rundir.save_sample_grid(str(tmp_path), 1, x, cols=3)))
  labelled = np.asarray(Image.open(rundir.save_sample_grid(str(tmp_path), 2, x, cols=3, row_names=EMOJI)))
  margin = labelled.shape[1] - plain.shape[1]
  assert labelled.shape[0] == plain.shape[0] and margin > 0 and margin % 2 == 0
  np.testing.assert_array_equal(labelled[:, margin:], plain)
  for band in label_bands(labelled, margin, 9, height=32, pad=4, border=4):  # scale 2
    assert (band != common_images.TRAINING_BACKGROUND).sum() > 40


def test_exports_sample_png_names_the_class_rows(tmp_path):
  """export's image sample writer: a conditional generator's (K·8 images, one row per class) gets the names of
  metadata's label_classes; an unconditional one's 8 x 8 grid stays the plain grid."""
  from export import kinds
  writer = kinds.KINDS['image'].write_sample
  metadata = dict(kind='image', latent_dim=8, image_height=16, image_width=16, channels=1)
  x = np.random.default_rng(2).uniform(-1, 1, (9 * kinds.SAMPLE_GRID, 16, 16, 1)).astype(np.float32)
  writer(str(tmp_path / 'cond.png'), x, {**metadata, 'label_classes': list(EMOJI)})
  writer(str(tmp_path / 'plain.png'), x[:64], metadata)
  dark = dict(fill=common_images.TRAINING_BACKGROUND, frame=True)
  u8 = common_images.to_uint8(x)[..., 0]
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'plain.png')), common_images.grid(u8[:64], 8, **dark))
  cond = np.asarray(Image.open(tmp_path / 'cond.png'))
  np.testing.assert_array_equal(cond, common_images.labelled_grid(u8, EMOJI, 8, **dark))
  margin = cond.shape[1] - common_images.grid(u8, 8, **dark).shape[1]
  assert all((band != common_images.TRAINING_BACKGROUND).any() for band in label_bands(cond, margin, 9, border=2))


# --- The app: All classes rounds the count up to whole rows ---------------------------------------------------

def test_whole_class_rows_cover_the_count_asked_for():
  from serve import sampler
  assert [common_labels.grid_columns_covering(n, 9) for n in (1, 9, 10, 16, 18, 64)] == [1, 1, 2, 2, 2, 8]
  assert common_labels.grid_columns_covering(16, 100) == 1
  assert sampler.validate_per_class(8, 9) == 8  # 64 asked on 9 classes: 72 shown
  with pytest.raises(ValueError, match=r'^per_class \(images per class\) must be an integer from 1 to 7, got 8$'):
    sampler.validate_per_class(8, 10)
  assert sampler.validate_per_class(1, 100) == 1


@pytest.fixture
def handlers(tmp_path):
  """The app's handlers over one hand-built conditional model of the 9 EMOJI classes."""
  from serve import handlers as handlers_lib
  from serve import registry as registry_lib
  from tests.bad_input_workspaces import Workspace, model_folder
  from tests.serve_server import tiny_conditional_onnx
  model_folder(Workspace(tmp_path, shared=None), 'models/emoji9', tiny_conditional_onnx(num_classes=9),
               label_classes=list(EMOJI))
  registry = registry_lib.ModelRegistry(str(tmp_path / 'models'), 'cpu')
  registry.scan()
  (tmp_path / 'out').mkdir()
  return handlers_lib.Handlers(registry, str(tmp_path / 'out'))


@pytest.mark.parametrize('asked, per_class, text', [
    (16, 2, '16 asked: 18 shown, 2 per class for 9 classes in '),
    (18, 2, '18 images (9 classes × 2) in '),
    (4, 1, '4 asked: 9 shown, 1 per class for 9 classes in '),
    (64, 8, '64 asked: 72 shown, 8 per class for 9 classes in '),
])
def test_generate_all_classes_shows_at_least_the_count_asked_for(handlers, asked, per_class, text):
  """The Sample tab's Generate with All classes: ⌈asked ÷ 9⌉ per class, the images and labelled grid of
  /sample_all_classes for that per_class, and a timing text that says how many were asked and shown."""
  from serve.handlers import ALL_CLASSES
  gallery, grid_path, timing = handlers.on_generate('emoji9', 5, asked, 1.0, 0.0, ALL_CLASSES)
  assert len(gallery) == 9 * per_class and timing.startswith(text)
  api_gallery, api_grid, api_timing = handlers.sample_all_classes('emoji9', 5, per_class, 1.0, 0.0)
  assert api_timing.startswith(f'{9 * per_class} images (9 classes × {per_class}) in ')
  images = np.stack([np.asarray(Image.open(path)) for path, _ in gallery])
  np.testing.assert_array_equal(images, [np.asarray(Image.open(path)) for path, _ in api_gallery])
  assert [caption for _, caption in gallery][per_class] == 'animals_nature · seed 5 · #0'
  grid = np.asarray(Image.open(grid_path))
  np.testing.assert_array_equal(grid, np.asarray(Image.open(api_grid)))
  np.testing.assert_array_equal(grid, common_images.labelled_grid(images, EMOJI, cols=per_class))


def test_a_click_on_a_named_image_picks_its_latent():
  """Captions are 'NAME · seed S · #i'; a name holding ' · ' or digits does not confuse the click."""
  import types
  from serve.handlers import Handlers
  for caption in ('smileys_emotion · seed 3 · #2', 'a · b 9 · seed 3 · #2', 'class 7 · seed 3 · #2'):
    assert Handlers.pick(None, '1:0', types.SimpleNamespace(value={'caption': caption})) == '1:0, 3:2'


def test_metadata_names_reach_the_handlers_grid(handlers, tmp_path):
  """The names drawn are metadata.json's label_classes: renamed there, the grid's margin changes, its images
  do not."""
  _, before, _ = handlers.sample_all_classes('emoji9', 0, 1, 1.0, 0.0)
  path = tmp_path / 'models' / 'emoji9' / 'metadata.json'
  path.write_text(json.dumps({**json.loads(path.read_text()), 'label_classes': [f'c{k}' for k in range(9)]}))
  handlers.rescan()
  _, after, _ = handlers.sample_all_classes('emoji9', 0, 1, 1.0, 0.0)
  before, after = np.asarray(Image.open(before)), np.asarray(Image.open(after))
  np.testing.assert_array_equal(before[:, -16:], after[:, -16:])
  assert after.shape[1] < before.shape[1]  # 'c0' is narrower than 'smileys_emotion'
