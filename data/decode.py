"""Encoded images of any mode -> RGB: the one decoder of every image source (folders, TFDS's RGBA images), and the
one rule for transparency, `composite`, so that training and evaluation turn the same file into the same pixels.

What tf.io.decode_image does with each mode (TF 2.21, files written by Pillow 12.3; tests/test_colour_folders.py):

  mode                              decode_image(channels=0)                      here
  L, RGB; 1-bit PNG                 1 or 3 channels, exact                        TF
  LA, RGBA (PNG, WebP, 32-bit BMP)  2 or 4 channels, alpha kept                   TF, then composite
  P with a tRNS chunk (PNG)         4 channels, the palette's alpha applied       TF, then composite
  16-bit PNG (I;16, RGB, RGBA)      uint8 scaled by 1/257, alpha kept             TF (Pillow clips I;16 at 255)
  CMYK JPEG (Adobe inverted)        3 channels, RGB within 1 level of Pillow's    TF
  GIF with a transparent index      3 channels, the transparent pixels black      Pillow (tf.numpy_function)
  L or RGB PNG with a tRNS key      1 or 3 channels, the key ignored              Pillow

`decode_image(..., channels=3)`, what this project used before --alpha_background, drops alpha: fully transparent
pixels then show whatever colour the file stores there, which is often black but not always (Noto's emoji store
e.g. (46, 125, 50) under alpha 0). `none` keeps that behaviour exactly, for runs started before the setting.
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


def decode_file(path, background: Optional[Tuple[int, int, int]], with_pillow):
  """An image file -> (H, W, 3) float32 in [0, 1] over `background`; `with_pillow` (a bool tensor, from
  `needs_pillow` at listing time) decodes it with Pillow, for the transparency TensorFlow ignores."""
  if background is None:  # alpha dropped: TensorFlow's pixels, exactly as runs before the setting decoded
    return decode_image(tf.io.read_file(path), None)

  def pillow():
    rgba = tf.numpy_function(_pillow_rgba, [path], tf.uint8, stateful=False)
    return tf.ensure_shape(rgba, (None, None, 4))
  return tf.cond(with_pillow, lambda: composite(pillow(), background),
                 lambda: decode_image(tf.io.read_file(path), background))


def needs_pillow(image) -> bool:
  """Whether an opened PIL image has transparency that tf.io.decode_image ignores: a transparent colour key (a
  GIF's transparent index, an L or RGB PNG's tRNS chunk). A palette PNG's tRNS is applied by TensorFlow; 16-bit
  images stay with TensorFlow even so (Pillow would clip them)."""
  return 'transparency' in image.info and image.mode in ('1', 'L', 'P', 'RGB') and not (
      image.format == 'PNG' and image.mode == 'P')


def _pillow_rgba(path) -> np.ndarray:
  """(H, W, 4) uint8 of a file's first frame, its transparency applied by Pillow."""
  from PIL import Image
  with Image.open(path.decode() if isinstance(path, bytes) else path) as image:
    image.seek(0)
    return np.asarray(image.convert('RGBA'), np.uint8)
