"""Large images in a folder: the pixel cap (common/image_limits.py), decoding at reduced size (data/decode.py,
data/folder_images.py) and the skipped files named. Fast: the large files are 1-bit or one-colour images that
compress to kilobytes, and none above 2000 px is decoded (about 7 s on 2 cores)."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from common import image_limits
from data import datasets, decode, folder_images

SIZE = 16  # --image_size of these tests: images whose smaller side is above 8 x 16 = 128 px are reduced


# --- The cap ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('size, reason', [
    ((15_800, 15_800), None),  # 249.6 M px: within the cap
    ((16_000, 16_000), 'too large: 16000x16000 = 256.0 M px, cap 250 M'),
    ((250_001, 1_000), 'too large: 250001x1000 = 250.0 M px, cap 250 M'),  # 1 px over: refused
    (None, 'too large: over 500 M px, cap 250 M'),  # Pillow's own refusal, above twice the cap
])
def test_the_cap_and_its_reason(size, reason):
  assert image_limits.too_large(size) == reason


def test_a_15000_square_png_is_accepted_and_a_16000_one_refused_with_its_size(tmp_path):
  """Under Pillow's default guard (179 M px) both were 'unreadable' (DecompressionBombError)."""
  within, above, bomb = tmp_path / 'within.png', tmp_path / 'above.png', tmp_path / 'bomb.png'
  Image.new('1', (15_000, 15_000)).save(within)  # 225 M px, 28 KB
  Image.new('1', (16_000, 16_000)).save(above)  # 256 M px
  _png_header(bomb, 23_000, 23_000)  # 529 M px: Pillow refuses it at open, before saying its size
  checks = folder_images.check_files([str(within), str(above), str(bomb)])
  assert checks[str(within)] == folder_images.FileCheck(None, (15_000, 15_000))
  assert checks[str(above)].problem == 'too large: 16000x16000 = 256.0 M px, cap 250 M'
  assert checks[str(bomb)].problem == 'too large: over 500 M px, cap 250 M'


def _png_header(path, width: int, height: int):
  """A PNG of a header and no pixels: all that Image.open reads before its decompression-bomb check."""
  def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
  header = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
  path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IEND', b''))


# --- Decoding at reduced size --------------------------------------------------------------------------------------

def test_only_images_above_8x_the_training_size_are_reduced():
  assert folder_images.reduced_size((128, 4000), SIZE) == (0, 0)  # the smaller side is what the crop keeps
  assert folder_images.reduced_size((129, 129), SIZE) == (128, 128)
  assert folder_images.reduced_size((10_000, 5_000), SIZE) == (256, 128)  # aspect ratio kept
  assert folder_images.reduced_size((10_000, 10_000), 64) == (512, 512)


def _halves(mode: str, width: int = 2000, height: int = 1000) -> Image.Image:
  """Left half opaque red, right half transparent over stored green (what alpha none shows)."""
  pixels = np.zeros((height, width, 4), np.uint8)
  pixels[:, :width // 2] = (255, 0, 0, 255)
  pixels[:, width // 2:] = (0, 255, 0, 0)
  return Image.fromarray(pixels, 'RGBA').convert(mode)


def _files(root):
  """One large file of each decoding route: JPEG (draft), RGBA PNG, a GIF with a transparent index, 16-bit gray."""
  _halves('RGB').save(root / 'photo.jpg', quality=95)
  _halves('RGBA').save(root / 'rgba.png')
  gif = _halves('RGBA').convert('RGB').quantize(4)
  gif.save(root / 'key.gif', transparency=_palette_index(gif, (0, 255, 0)))  # the green half transparent
  gray = np.zeros((1000, 2000), np.uint16)
  gray[:, :1000] = 40_000  # high byte 156
  Image.fromarray(gray).save(root / 'gray16.png')
  return ['photo.jpg', 'rgba.png', 'key.gif', 'gray16.png']


def _palette_index(image, colour) -> int:
  palette = np.array(image.getpalette()).reshape(-1, 3)
  return int(np.flatnonzero((palette == colour).all(axis=1))[0])


@pytest.mark.parametrize('alpha_background', ['white', 'none'])
def test_reduced_decoding_matches_the_full_size_decoding(tmp_path, alpha_background):
  """Each large file through the folder loader (reduced by Pillow) against its full-size decode, cropped and resized
  by the same geometry: the same image, the transparency rule applied the same (white: the right half white; none:
  the stored green, but the GIF's transparent index black, as TensorFlow shows it), up to the resizes' rounding."""
  names = _files(tmp_path)
  background = decode.parse_background(alpha_background)
  dataset, info = datasets.load_images(f'folder:{tmp_path}', SIZE, alpha_background=alpha_background)
  loaded = dict(zip(sorted(names), dataset.as_numpy_iterator()))
  assert info.num_examples == 4 and info.skipped == 0
  for name in names:
    with Image.open(tmp_path / name) as image:
      with_pillow = decode.needs_pillow(image)
    full = datasets._fit_square(decode.decode_file(str(tmp_path / name), background, with_pillow), SIZE).numpy()
    assert loaded[name].shape == (SIZE, SIZE, 3)
    # Within about one level of 255 (2/255 in [-1, 1]); measured: 0.0043 at most, at the columns beside the edge.
    np.testing.assert_allclose(loaded[name], full, atol=0.01, err_msg=name)


def test_a_reduced_jpeg_is_decoded_at_its_reduced_size(tmp_path):
  _halves('RGB').save(tmp_path / 'photo.jpg', quality=95)
  size = folder_images.reduced_size((2000, 1000), SIZE)
  pixels = decode.decode_file(str(tmp_path / 'photo.jpg'), (255, 255, 255), False, size).numpy()
  assert size == (256, 128) and pixels.shape == (128, 256, 3)
  np.testing.assert_allclose(pixels[:, :120].mean(axis=(0, 1)), [1, 0, 0], atol=0.02)  # red, as stored


# --- Skipped files named ------------------------------------------------------------------------------------------

def test_skipped_files_are_named_then_counted():
  one = [('/d/cats/a.png', "UnidentifiedImageError: cannot identify image file '/d/cats/a.png'")]
  assert folder_images.skipped_text(one, '/d') == (
      '1 image file skipped: cats/a.png (UnidentifiedImageError: cannot identify image file)')
  twelve = [(f'/d/{i:02d}.jpg', 'OSError: Truncated File Read') for i in range(12)]
  assert folder_images.skipped_text(twelve, '/d') == (
      '12 image files skipped: 00.jpg (OSError: Truncated File Read), 01.jpg (OSError: Truncated File Read), '
      '02.jpg (OSError: Truncated File Read), 03.jpg (OSError: Truncated File Read), 04.jpg (OSError: Truncated '
      'File Read) and 7 more')


def test_a_folder_with_a_16000_square_png_trains_on_the_rest_and_names_it(tmp_path, caplog):
  (tmp_path / 'cats').mkdir()
  for i in range(2):
    Image.new('RGB', (16, 16), (i, 0, 0)).save(tmp_path / 'cats' / f'{i}.png')
  Image.new('1', (16_000, 16_000)).save(tmp_path / 'cats' / 'scan.png')
  with caplog.at_level('WARNING'):
    dataset, info = datasets.load_images(f'folder:{tmp_path}', SIZE)
  reason = 'too large: 16000x16000 = 256.0 M px, cap 250 M'
  assert info.num_examples == 2 and info.skipped_files == ((str(tmp_path / 'cats' / 'scan.png'), reason),)
  assert f'folder:{tmp_path}: 1 image file skipped: cats/scan.png ({reason}); 2 of 3 read' in caplog.text
  assert len(list(dataset)) == 2
