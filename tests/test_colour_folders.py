"""Colour image folders (issue 21): class folders as labels, transparency composited over --alpha_background, files
of any mode ending as RGB, and the data's class names carried into config.json, generator.json and the app.

Expected pixels are composited by hand here, out = (a·rgb + (255 − a)·background) / 255 per channel, from the
values each test writes into its files; the loader's output in [-1, 1] is mapped back to [0, 255] to compare."""

import dataclasses
import json
import logging
import pathlib
import types

import numpy as np
import pytest
from PIL import Image

from data import datasets, decode
from data.datasets import DatasetError

BACKGROUNDS = {'white': (255, 255, 255), 'black': (0, 0, 0), '10,200,30': (10, 200, 30)}
EMOJI = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'emoji'


def load_one(path: pathlib.Path, background: str = 'white', size: int = 8) -> np.ndarray:
  """The one image of the folder `path` as (size, size, 3) float64 in [0, 255]."""
  dataset, info = datasets.load_images(f'folder:{path}', size, alpha_background=background)
  images = list(dataset.as_numpy_iterator())
  assert len(images) == 1 and info.num_examples == 1
  return (images[0].astype(np.float64) + 1.0) / 2.0 * 255.0


def over(rgb, alpha, background) -> np.ndarray:
  """The hand composite: (..., 3) colours with (...) alphas, both 0..255, over an (r, g, b) background."""
  rgb, alpha = np.asarray(rgb, np.float64), np.asarray(alpha, np.float64)[..., None]
  return (rgb * alpha + np.asarray(background, np.float64) * (255.0 - alpha)) / 255.0


def folder_with(tmp_path, name: str, write) -> pathlib.Path:
  """A folder holding one file `name`, written by write(path)."""
  folder = tmp_path / name.replace('.', '_')
  folder.mkdir()
  write(folder / name)
  return folder


# --- --alpha_background ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('text, expected', [('white', (255, 255, 255)), ('black', (0, 0, 0)), ('none', None),
                                            ('10,200,30', (10, 200, 30)), (' 0, 0 ,255 ', (0, 0, 255)),
                                            ('WHITE', (255, 255, 255))])
def test_background_values(text, expected):
  assert decode.parse_background(text) == expected


@pytest.mark.parametrize('text', ['1,2', 'red', '256,0,0', '-1,0,0', '1,2,3,4', '1.5,2,3', ''])
def test_malformed_background_is_one_line(text):
  with pytest.raises(ValueError, match=r'^--alpha_background must be white, black, none or R,G,B .*, got '):
    decode.parse_background(text)
  with pytest.raises(DatasetError, match='--alpha_background must be'):
    datasets.load_images('digits', 8, alpha_background=text)


# --- Transparency, over each background, against hand-computed composites ---------------------------------------

def rgba_pixels() -> np.ndarray:
  """8x8 RGBA: random colours, and alphas 0, 64, 128, 255 and random, so every branch of the blend is seen."""
  rng = np.random.default_rng(21)
  pixels = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
  pixels[0, :4, 3] = (0, 64, 128, 255)
  return pixels


@pytest.mark.parametrize('background', BACKGROUNDS)
def test_rgba_png_is_composited(tmp_path, background):
  pixels = rgba_pixels()
  folder = folder_with(tmp_path, 'rgba.png', lambda path: Image.fromarray(pixels, 'RGBA').save(path))
  got = load_one(folder, background)
  np.testing.assert_allclose(got, over(pixels[..., :3], pixels[..., 3], BACKGROUNDS[background]), atol=1e-3)
  np.testing.assert_allclose(got[0, 0], BACKGROUNDS[background], atol=1e-3)  # alpha 0: the background itself
  np.testing.assert_allclose(got[0, 3], pixels[0, 3, :3], atol=1e-3)  # alpha 255: the colour itself


def test_rgba_png_one_pixel_by_hand(tmp_path):
  """(200, 100, 50) at alpha 128 over white: (200·128 + 255·127)/255 = 227.39..., 100·128/255 + 127 = 177.19...,
  50·128/255 + 127 = 152.09..."""
  folder = folder_with(tmp_path, 'one.png', lambda path: Image.new('RGBA', (8, 8), (200, 100, 50, 128)).save(path))
  np.testing.assert_allclose(load_one(folder)[0, 0], [227.3922, 177.1961, 152.0980], atol=1e-3)


def palette_png(path):
  """8x8 palette PNG, indices 0..3 in rows: red, green, blue, white with tRNS alphas 0, 128, 255 (and 255 for
  the index the chunk does not list), as Twemoji's files are stored."""
  image = Image.new('P', (8, 8))
  image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255] + [0] * 756)
  image.putdata([i // 16 for i in range(64)])  # rows 0-1 index 0, rows 2-3 index 1, ...
  image.save(path, transparency=bytes([0, 128, 255]))


@pytest.mark.parametrize('background', BACKGROUNDS)
def test_palette_png_with_transparency_is_composited(tmp_path, background):
  folder = folder_with(tmp_path, 'palette.png', palette_png)
  assert Image.open(folder / 'palette.png').mode == 'P' and 'transparency' in Image.open(folder / 'palette.png').info
  got = load_one(folder, background)
  colours, alphas = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)], [0, 128, 255, 255]
  for index, (colour, alpha) in enumerate(zip(colours, alphas)):
    np.testing.assert_allclose(got[2 * index:2 * index + 2], np.broadcast_to(
        over(colour, alpha, BACKGROUNDS[background]), (2, 8, 3)), atol=1e-3, err_msg=f'palette index {index}')


@pytest.mark.parametrize('background', BACKGROUNDS)
def test_gif_transparent_index_goes_through_pillow(tmp_path, background):
  """TensorFlow decodes a GIF's transparent index as black whatever the background; Pillow applies it."""
  def write(path):
    image = Image.new('P', (8, 8))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putdata([0] * 32 + [1] * 32)
    image.save(path, transparency=0)
  folder = folder_with(tmp_path, 'key.gif', write)
  got = load_one(folder, background)
  np.testing.assert_allclose(got[:4], np.broadcast_to(BACKGROUNDS[background], (4, 8, 3)), atol=1e-3)
  np.testing.assert_allclose(got[4:], np.broadcast_to((0, 0, 255), (4, 8, 3)), atol=1e-3)


# --- Every mode ends as RGB -------------------------------------------------------------------------------------

def test_gray_and_gray_with_alpha(tmp_path):
  gray = folder_with(tmp_path, 'l.png', lambda path: Image.new('L', (8, 8), 200).save(path))
  np.testing.assert_allclose(load_one(gray, 'black'), np.full((8, 8, 3), 200.0), atol=1e-3)
  la = folder_with(tmp_path, 'la.png', lambda path: Image.new('LA', (8, 8), (200, 64)).save(path))
  np.testing.assert_allclose(load_one(la, 'white'), np.broadcast_to(over([200] * 3, 64, (255,) * 3), (8, 8, 3)),
                             atol=1e-3)


def test_cmyk_jpeg(tmp_path):
  """Pillow writes CMYK JPEGs as Photoshop does (Adobe marker, inverted); TensorFlow's RGB is Pillow's to within
  a level or two of JPEG rounding."""
  folder = folder_with(tmp_path, 'cmyk.jpg', lambda path: Image.new('CMYK', (8, 8), (10, 200, 30, 0)).save(
      path, quality=100))
  expected = np.asarray(Image.open(folder / 'cmyk.jpg').convert('RGB'), np.float64)
  np.testing.assert_allclose(expected[0, 0], (245, 55, 225), atol=2)  # 255 − C, 255 − M, 255 − Y at K = 0
  np.testing.assert_allclose(load_one(folder), expected, atol=2)


def test_16_bit_png(tmp_path):
  """Gray and RGBA at 16 bits: the level divided by 257 (Pillow alone would clip gray above 255 to white)."""
  import tensorflow as tf
  levels = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
  gray = folder_with(tmp_path, 'g16.png', lambda path: Image.fromarray(levels).save(path))
  assert Image.open(gray / 'g16.png').mode.startswith('I')
  np.testing.assert_allclose(load_one(gray), np.repeat(levels[..., None] / 257.0, 3, axis=-1), atol=1.0)
  rgba = np.zeros((8, 8, 4), np.uint16)
  rgba[..., 0], rgba[..., 1], rgba[..., 3] = 65535, 30000, np.arange(8) * 9362  # alpha 0 .. 65534
  rgba16 = folder_with(tmp_path, 'rgba16.png', lambda path: path.write_bytes(tf.io.encode_png(rgba).numpy()))
  expected = over(rgba[..., :3] / 257.0, rgba[..., 3] / 257.0, (255, 255, 255))
  np.testing.assert_allclose(load_one(rgba16), expected, atol=2.0)  # rgb and alpha each truncated to 8 bits


@pytest.mark.parametrize('name', ['rgba.png', 'palette.png', 'la.png', 'key.gif', 'cmyk.jpg'])
def test_none_is_the_decoding_of_before_the_setting(tmp_path, name):
  """alpha_background=none (runs from before the setting) gives exactly decode_image(channels=3)'s pixels."""
  import tensorflow as tf
  writers = {
      'rgba.png': lambda path: Image.fromarray(rgba_pixels(), 'RGBA').save(path),
      'palette.png': palette_png,
      'la.png': lambda path: Image.new('LA', (8, 8), (200, 64)).save(path),
      'key.gif': lambda path: Image.new('P', (8, 8), 0).save(path, transparency=0),
      'cmyk.jpg': lambda path: Image.new('CMYK', (8, 8), (10, 200, 30, 0)).save(path),
  }
  folder = folder_with(tmp_path, name, writers[name])
  before = tf.io.decode_image((folder / name).read_bytes(), channels=3, expand_animations=False).numpy()
  np.testing.assert_allclose(load_one(folder, 'none'), before, atol=1e-3)


def test_mixed_sizes_and_modes_load_together(tmp_path):
  writers = [lambda p: Image.new('RGB', (40, 24), (255, 0, 0)).save(p),
             lambda p: Image.new('L', (9, 30), 0).save(p), lambda p: Image.new('RGBA', (16, 16)).save(p),
             palette_png, lambda p: Image.new('CMYK', (20, 20), (0, 0, 0, 255)).save(p.with_suffix('.jpg'))]
  for i, write in enumerate(writers):
    write(tmp_path / f'{i}.png')
  dataset, info = datasets.load_images(f'folder:{tmp_path}', 16)
  images = np.stack(list(dataset.as_numpy_iterator()))
  assert images.shape == (5, 16, 16, 3) and info.num_examples == 5 and info.num_classes == 0
  assert images.min() >= -1.0 and images.max() <= 1.0


def test_smaller_images_are_upscaled_with_a_warning(tmp_path, caplog):
  for i, side in enumerate((8, 12, 16, 28, 40)):
    Image.new('RGB', (side, side + 3), (0, 0, 255)).save(tmp_path / f'{i}.png')
  with caplog.at_level(logging.WARNING):
    dataset, info = datasets.load_images(f'folder:{tmp_path}', 16)
  assert info.upscaled == 2 and '2 of 5 images are smaller than 16x16 (the smallest side 8 px) and are upscaled' \
      in caplog.text
  np.testing.assert_allclose(np.stack(list(dataset.as_numpy_iterator())).reshape(-1, 3).mean(0), [-1, -1, 1],
                             atol=1e-5)
  _, info = datasets.load_images(f'folder:{tmp_path}', 32)  # 28x31 is not 28x28: no padding, so upscaled
  assert info.upscaled == 4


# --- Class folders ----------------------------------------------------------------------------------------------

# Folder name -> (colour, images); sorted names give ids Mango 0, apple 1, zebra 2 (uppercase sorts first).
CLASSES = {'zebra': ((0, 0, 255), 1), 'apple': ((255, 0, 0), 3), 'Mango': ((0, 255, 0), 2)}


def labelled_folder(root: pathlib.Path) -> pathlib.Path:
  for name, (colour, count) in CLASSES.items():
    for i in range(count):
      (root / name / ('deeper' if i == 2 else '')).mkdir(parents=True, exist_ok=True)
      Image.new('RGB', (16, 16), colour).save(root / name / ('deeper' if i == 2 else '') / f'{i}.png')
  (root / '.ipynb_checkpoints').mkdir()  # hidden: never a class
  Image.new('RGB', (16, 16)).save(root / '.ipynb_checkpoints' / 'x.png')
  (root / 'zebra' / '._0.png').write_bytes(b'a macOS resource fork, hidden')
  return root


def test_class_ids_follow_sorted_folder_names(tmp_path):
  root = labelled_folder(tmp_path / 'fruit')
  dataset, info = datasets.load_images(f'folder:{root}', 16, with_labels=True)
  assert (info.num_classes, info.class_names, info.class_counts) == (3, ('Mango', 'apple', 'zebra'), (2, 3, 1))
  assert info.num_examples == 6 and info.skipped == 0
  pairs = list(dataset.as_numpy_iterator())
  assert [int(label) for _, label in pairs] == [0, 0, 1, 1, 1, 2]
  assert all(label.dtype == np.int64 for _, label in pairs)
  for image, label in pairs:  # each label's pixels are its folder's colour
    colour = CLASSES[info.class_names[label]][0]
    np.testing.assert_allclose(image[0, 0], np.asarray(colour) / 127.5 - 1.0, atol=1e-6)
  images_only = list(datasets.load_images(f'folder:{root}', 16)[0].as_numpy_iterator())
  np.testing.assert_array_equal(np.stack(images_only), np.stack([image for image, _ in pairs]))


def test_unlabelled_folder_refuses_labels(tmp_path):
  for i in range(2):
    Image.new('RGB', (16, 16)).save(tmp_path / f'{i}.png')
  (tmp_path / 'empty_subfolder').mkdir()  # no images in any sub-folder: still one unlabelled class
  _, info = datasets.load_images(f'folder:{tmp_path}', 16)
  assert (info.num_classes, info.class_names, info.class_counts, info.num_examples) == (0, (), (), 2)
  with pytest.raises(DatasetError, match=r'has no labels: its images are not sorted into class folders'):
    datasets.load_images(f'folder:{tmp_path}', 16, with_labels=True)


@pytest.mark.parametrize('make, message', [
    (lambda root: ((root / 'a').mkdir(parents=True), Image.new('RGB', (8, 8)).save(root / 'a' / '0.png'),
                   (root / 'b').mkdir(), (root / 'b' / 'notes.txt').write_text('x')),
     r"class folder 'b' holds no image files \(.bmp, .*\); put images in it or remove it"),
    (lambda root: ((root / 'a').mkdir(parents=True), Image.new('RGB', (8, 8)).save(root / 'a' / '0.png'),
                   (root / 'b').mkdir(), (root / 'b' / '0.png').write_bytes(b'junk')),
     r"none of the 1 image files of class folder 'b' can be read, e\.g\. .*b/0\.png: UnidentifiedImageError"),
    (lambda root: ((root / 'a').mkdir(parents=True), Image.new('RGB', (8, 8)).save(root / 'a' / '0.png'),
                   Image.new('RGB', (8, 8)).save(root / 'stray.jpg')),
     r'1 image file\(s\) lie beside its class folders, e\.g\. .*stray\.jpg; move them into a class folder'),
], ids=['empty_class', 'unreadable_class', 'loose_beside_classes'])
def test_class_folder_errors(tmp_path, make, message):
  root = tmp_path / 'images'
  make(root)
  with pytest.raises(DatasetError, match=message):
    datasets.load_images(f'folder:{root}', 16)


def test_start_up_line_counts_images_per_class(tmp_path):
  from training import data_kinds
  root = labelled_folder(tmp_path / 'fruit')
  Image.new('RGB', (8, 8)).save(root / 'apple' / 'small.png')
  (root / 'apple' / 'broken.png').write_bytes(b'junk')
  _, info = datasets.load_images(f'folder:{root}', 16)
  line = data_kinds.IMAGE.describe(info, types.SimpleNamespace(image_size=16))
  assert line == (f'folder:{root}, 7 images in 3 classes (Mango 2, apple 4, zebra 1) (1 unreadable skipped, '
                  f'1 upscaled) -> 16x16x3')


# --- The setting and the data's classes in the run, generator.json and the app ---------------------------------

def test_old_config_json_keeps_alpha_dropped_and_new_ones_round_trip():
  from training.config import TrainConfig
  old = {'dataset': 'folder:/x', 'loss': 'wgan_gp'}  # a config.json of before the setting
  assert TrainConfig.from_json(json.dumps(old)).alpha_background == decode.BACKGROUND_BEFORE_SETTING == 'none'
  for dataset in ('toy:8gaussians', 'text:/x.txt'):  # not image data: the setting does not apply
    assert TrainConfig.from_json(json.dumps({'dataset': dataset})).alpha_background == 'white'
  config = TrainConfig(dataset='folder:/x', alpha_background='1,2,3', data_classes=('a', 'b'))
  assert TrainConfig.from_json(config.to_json()) == config
  assert TrainConfig().alpha_background == 'white'


def test_setting_is_checked_by_resolve():
  from training.config import ConfigError, TrainConfig, resolve
  with pytest.raises(ConfigError, match=r"^--alpha_background must be .*got 'red'$"):
    resolve(TrainConfig(alpha_background='red'))
  with pytest.raises(ConfigError, match='--alpha_background applies to image data only'):
    resolve(TrainConfig(dataset='toy:8gaussians', arch='mlp', alpha_background='black'))
  assert resolve(TrainConfig(alpha_background='0,0,0')).alpha_background == '0,0,0'


def test_data_classes_are_not_a_label_input():
  from training import data_kinds
  from training.config import TrainConfig
  config = TrainConfig(dataset='folder:/x', image_size=16, latent_dim=8, channels=3, data_classes=('a', 'b'))
  signature = data_kinds.IMAGE.signature(config)
  assert signature.data_classes == ('a', 'b') and not signature.has_label_input
  fields = signature.to_metadata()
  assert fields['data_classes'] == ['a', 'b'] and 'label_classes' not in fields


def test_app_shows_the_data_classes(tmp_path):
  from serve import handlers, models
  base = {'kind': 'image', 'latent_dim': 8, 'image_height': 16, 'image_width': 16, 'channels': 3,
          'loss': 'wgan_gp', 'dataset': 'folder:/x', 'step': 2}
  loaded = {name: models.LoadedModel(name, str(tmp_path), metadata, None, 'CPUExecutionProvider', 'z', 'images')
            for name, metadata in (('fruit', {**base, 'data_classes': ['Mango', 'apple', 'zebra']}),
                                   ('plain', base))}
  app = handlers.Handlers(types.SimpleNamespace(models=loaded, warnings=[]), str(tmp_path))
  assert '`folder:/x` (3 classes: Mango, apple, zebra) · step 2' in app.describe('fruit')
  assert 'classes' not in app.describe('plain')
  listed = {m['name']: m for m in app.list_models()['models']}  # the Models tab
  assert listed['fruit']['data_classes'] == ['Mango', 'apple', 'zebra'] and 'data_classes' not in listed['plain']
  many = dataclasses.replace(loaded['fruit'].signature, data_classes=tuple(f'c{i}' for i in range(20)))
  assert models.classes_text(many) == ' (20 classes: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, …)'


@pytest.mark.slow
def test_two_step_run_records_the_data_classes_and_resumes_decoding_as_it_began(tmp_path, monkeypatch):
  """A 2-step run on a labelled folder writes its classes into config.json and generator.json (as data classes,
  not a label input); the same run with the setting removed from config.json (a run of before it) resumes with
  alpha dropped, and records nothing as changed."""
  from tests.conftest import tiny_config
  from training import data_kinds, trainer
  from training.config import TrainConfig
  root = labelled_folder(tmp_path / 'fruit')
  run_dir = tmp_path / 'run'
  lines = []
  config = tiny_config(run_dir, dataset=f'folder:{root}', steps=2, batch_size=4, ckpt_every=1, sample_every=2)
  trainer.train(config, log=lines.append)
  assert any('3 classes (Mango 2, apple 3, zebra 1)' in line for line in lines), lines
  generator_json = json.loads((run_dir / 'generator' / 'generator.json').read_text())
  assert generator_json['data_classes'] == ['Mango', 'apple', 'zebra'] and 'label_classes' not in generator_json
  saved = json.loads((run_dir / 'config.json').read_text())
  assert saved['data_classes'] == ['Mango', 'apple', 'zebra'] and saved['alpha_background'] == 'white'

  del saved['alpha_background']
  (run_dir / 'config.json').write_text(json.dumps(saved))
  backgrounds = []
  load_images = datasets.load_images
  monkeypatch.setattr(data_kinds.datasets, 'load_images',
                      lambda *a, **kw: backgrounds.append(kw['alpha_background']) or load_images(*a, **kw))
  resumed = dataclasses.replace(TrainConfig.from_json((run_dir / 'config.json').read_text()), steps=3)
  trainer.train(resumed, resume=True, log=lines.append)
  assert backgrounds == ['none']
  after = json.loads((run_dir / 'config.json').read_text())
  assert after['alpha_background'] == 'none' and after['history'][-1]['changed'] == {'steps': [2, 3]}


def test_emoji_folder_has_9_classes_and_white_corners():
  """The real data set: 7,562 64x64 PNGs in 9 category folders (counts from its README), Noto's RGBA and
  Twemoji's palette PNGs; a transparent corner of each style decodes white, and black with black. Listing and
  verifying every file takes under a second (measured 0.7 s on 2 cores), so the test is not marked slow."""
  if not EMOJI.is_dir():
    pytest.skip(f'{EMOJI} is absent (the emoji data set of ../shared/data; tests never download data)')
  _, info = datasets.load_images(f'folder:{EMOJI}', 64, with_labels=True)
  counts = dict(zip(info.class_names, info.class_counts))
  assert info.num_classes == 9 and info.num_examples == 7562 and info.skipped == 0 and info.upscaled == 0
  assert counts == {'activities': 170, 'animals_nature': 318, 'flags': 540, 'food_drink': 262, 'objects': 528,
                    'people_body': 4522, 'smileys_emotion': 338, 'symbols': 448, 'travel_places': 436}
  for style in ('noto', 'twemoji'):
    path = sorted((EMOJI / 'smileys_emotion').glob(f'{style}-*.png'))[0]
    with Image.open(path) as image:
      assert np.asarray(image.convert('RGBA'))[0, 0, 3] == 0, f'{path}: its corner is not transparent'
      with_pillow = decode.needs_pillow(image)
    for background, value in (('white', 1.0), ('black', 0.0)):
      pixels = decode.decode_file(str(path), decode.parse_background(background), with_pillow).numpy()
      np.testing.assert_allclose(pixels[0, 0], [value] * 3, atol=1e-6, err_msg=f'{path} over {background}')
