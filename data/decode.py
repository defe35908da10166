"""Encoded images of any mode -> RGB: the one decoder of every image source (folders, TFDS's RGBA images), and the
one rule for transparency, `composite`, so that training and evaluation turn the same file into the same pixels.

What tf.io.decode_image does with each mode (TF 2.21, files written by Pillow 12.3; tests/test_colour_folders.py):

  mode                              decode_image(channels=0)                      here
  L, RGB; 1-bit PNG                 1 or 3 channels, exact                        TF
  LA, RGBA (PNG, WebP, 32-bit BMP)  2 or 4 channels, alpha kept                   TF, then composite
  P with a tRNS chunk (PNG)         4 channels, the palette's alpha applied       TF, then composite
  16-bit PNG (I;16, RGB, RGBA)      uint8, the high byte (~1/257), alpha kept     TF (Pillow clips I;16 at 255)
  CMYK JPEG (Adobe inverted)        3 channels, RGB within 1 level of Pillow's    TF
  GIF with a transparent index      3 channels, the transparent pixels black      Pillow (tf.numpy_function)
  L or RGB PNG with a tRNS key      1 or 3 channels, the key ignored              Pillow

`decode_image(..., channels=3)`, what this project used before --alpha_background, drops alpha: fully transparent
pixels then show whatever colour the file stores there, which is often black but not always (Noto's emoji store
e.g. (46, 125, 50) under alpha 0). `none` keeps that behaviour exactly, for runs started before the setting.

An image far larger than the model's input (data/folder_images.py) is decoded by Pillow at reduced size, whatever
its mode: a JPEG at 1/2, 1/4 or 1/8 scale, then resized; the same transparency rule, 16-bit as TF reads it.
"""

from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

NAMED_BACKGROUNDS = {'white': (255, 255, 255), 'black': (0, 0, 0), 'none': None}
DEFAULT_BACKGROUND = 'white'
# What a run whose config.json predates --alpha_background decoded: alpha dropped (see the module docstring).
BACKGROUND_BEFORE_SETTING = 'none'


def parse_background(text: str, what: str = '--alpha_background') -> Optional[Tuple[int, int, int]]:
  """'white' | 'black' | 'R,G,B' (integers 0..255) -> (r, g, b); 'none' -> None (alpha dropped).
  ValueError with one line naming `what` for anything else."""
  value = str(text).strip().lower()
  if value in NAMED_BACKGROUNDS:
    return NAMED_BACKGROUNDS[value]
  parts = [part.strip() for part in value.split(',')]
  if len(parts) == 3 and all(part.isdigit() and int(part) <= 255 for part in parts):
    return tuple(int(part) for part in parts)
  raise ValueError(f'{what} must be white, black, none or R,G,B (three integers 0..255, e.g. 128,128,128), '
                   f'got {text!r}')


def composite(image, background: Optional[Tuple[int, int, int]]):
  """(H, W, C) uint8 with C in 1..4 (L, LA, RGB, RGBA) -> (H, W, 3) float32 in [0, 1]: the image over an opaque
  `background` (r, g, b) in 0..255, out = a·rgb + (1 − a)·background with a = alpha/255 (straight, not
  premultiplied, alpha: what PNG, WebP and TIFF without an extra-samples tag store); None drops alpha instead.

  Done before any resize: resizing RGBA first would bleed the colour stored under transparent pixels into the
  image's edges."""
  image = tf.convert_to_tensor(image)
  channels = tf.shape(image)[-1]
  rgb = tf.cond(channels < 3, lambda: tf.repeat(image[..., :1], 3, axis=-1), lambda: image[..., :3])
  rgb = tf.ensure_shape(tf.cast(rgb, tf.float32) / 255.0, (None, None, 3))  # a static 3 for the models
  if background is None:
    return rgb
  has_alpha = tf.equal(channels % 2, 0)  # LA or RGBA
  alpha = tf.cond(has_alpha, lambda: tf.cast(image[..., -1:], tf.float32) / 255.0,
                  lambda: tf.ones_like(rgb[..., :1]))  # (H, W, 1)
  fill = tf.constant(background, tf.float32) / 255.0  # (3,)
  return rgb * alpha + (1.0 - alpha) * fill


def decode_image(encoded, background: Optional[Tuple[int, int, int]]):
  """Encoded bytes (PNG, JPEG, GIF's first frame, BMP, WebP) -> (H, W, 3) float32 in [0, 1] over `background`."""
  image = tf.io.decode_image(encoded, channels=0, expand_animations=False)  # (H, W, 1..4) uint8
  return composite(image, background)


def decode_file(path, background: Optional[Tuple[int, int, int]], with_pillow, reduce_to=(0, 0)):
  """An image file -> (H, W, 3) float32 in [0, 1] over `background`; `with_pillow` (a bool tensor, from
  `needs_pillow` at listing time) decodes it with Pillow, for the transparency TensorFlow ignores. `reduce_to`
  (width, height), not (0, 0) for an image far larger than the model's input (data/folder_images.py): decoded by
  Pillow at that size, so that its full-size pixels never enter the pipeline, transparency composited the same."""
  reduce_to = tf.convert_to_tensor(reduce_to, tf.int32)  # (2,)
  reduced = reduce_to[0] > 0

  def pillow():
    rgba = tf.numpy_function(_pillow_rgba, [path, reduce_to, background is None], tf.uint8, stateful=False)
    return composite(tf.ensure_shape(rgba, (None, None, 4)), background)

  def tensorflow():
    return decode_image(tf.io.read_file(path), background)
  # Alpha dropped (background None): TensorFlow's pixels, exactly as runs before the setting decoded.
  return tf.cond(reduced if background is None else reduced | with_pillow, pillow, tensorflow)


def needs_pillow(image) -> bool:
  """Whether an opened PIL image has transparency that tf.io.decode_image ignores: a transparent colour key (a
  GIF's transparent index, an L or RGB PNG's tRNS chunk). A palette PNG's tRNS is applied by TensorFlow; 16-bit
  images stay with TensorFlow even so (Pillow would clip them)."""
  return 'transparency' in image.info and image.mode in ('1', 'L', 'P', 'RGB') and not (
      image.format == 'PNG' and image.mode == 'P')


def _pillow_rgba(path, reduce_to=(0, 0), drop_alpha=False) -> np.ndarray:
  """(H, W, 4) uint8 of a file's first frame, its transparency applied by Pillow; at (width, height) `reduce_to`
  unless that is (0, 0). drop_alpha: alpha 255 everywhere, the stored colours kept (--alpha_background=none)."""
  from PIL import Image
  from common import image_limits
  image_limits.guard_pillow()  # this process checked the file under the cap, not under Pillow's default
  path = path.item() if isinstance(path, np.ndarray) else path  # numpy_function: bytes in a graph, eagerly an array
  with Image.open(path.decode() if isinstance(path, bytes) else path) as image:
    image.seek(0)
    size = tuple(int(side) for side in reduce_to)
    if not size[0]:
      return np.asarray(image.convert('RGBA'), np.uint8)
    return np.asarray(_reduced(image, size, drop_alpha).convert('RGBA'), np.uint8)


def _reduced(image, size: Tuple[int, int], drop_alpha: bool):
  """An opened image at `size`. A JPEG is decoded at 1/2, 1/4 or 1/8 scale (the largest at least `size`: its DCT
  scaling, Pillow's draft mode), so a 10000x10000 photo is never 300 MB in memory; other formats decode in full,
  converted before the resize only where a palette, 1-bit pixels, CMYK or a colour key need it (RGBA is 4 bytes a
  pixel). Pillow resizes RGBA and LA premultiplied, which makes compositing after the resize equal to compositing
  before it (as the full-size path does), up to rounding; with alpha dropped, the colours stored under
  transparency are resized as they are."""
  from PIL import Image
  image.draft('RGB', size)  # a no-op for formats without reduced decoding
  image = _high_byte(image)
  resizable = ('L', 'RGB') if drop_alpha else ('L', 'RGB', 'LA', 'RGBA')
  if drop_alpha and image.format == 'GIF' and 'transparency' in image.info:
    image = image.convert('RGBA').convert('RGBa')  # premultiplied: black where transparent, as TensorFlow shows it
  if image.mode not in resizable or ('transparency' in image.info and not drop_alpha):
    image = image.convert('RGB' if drop_alpha else 'RGBA')
  return image.resize(size, Image.Resampling.BILINEAR)  # antialiased when shrinking, as the geometry's resize


def _high_byte(image):
  """A 16-bit grayscale image as TensorFlow decodes it to uint8, its high byte (Pillow's conversion clips at 255)."""
  from PIL import Image
  if not image.mode.startswith('I'):
    return image
  return Image.fromarray(np.clip(np.asarray(image, np.int64) >> 8, 0, 255).astype(np.uint8), 'L')
