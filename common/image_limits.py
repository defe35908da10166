"""How large an image this project reads: one cap for every stage that opens a user's image file (a folder's
images at training and evaluation; the app's uploads will use it too), and Pillow's guard set to match. No
TensorFlow; Pillow is imported only by `guard_pillow`.

Pillow refuses an image above 2 x Image.MAX_IMAGE_PIXELS (179 M px by default) as a possible decompression bomb,
before it decodes a pixel, and warns above MAX_IMAGE_PIXELS: a valid 16000x12000 scan (192 M px) was refused as
unreadable. Here the cap is ours: up to MAX_PIXELS an image is read, above it refused with its size in the reason.
"""

import warnings
from typing import Optional

MAX_PIXELS = 250_000_000  # a 15,800 px square; 750 MB as RGB uint8 if decoded at full size


def megapixels(pixels: int) -> str:
  """256_000_000 -> '256.0 M' (one decimal: 250.4 M is not the cap, 250 M; `too_large` shows the sides too)."""
  return f'{pixels / 1e6:,.1f} M'


def too_large(size: Optional[tuple]) -> Optional[str]:
  """None when an image of `size` (width, height) is within the cap, else the reason it is refused:
  'too large: 16000x16000 = 256.0 M px, cap 250 M'. size None: Pillow refused it before saying its size, which
  it does only above twice the cap once `guard_pillow` has run."""
  cap = f'cap {MAX_PIXELS / 1e6:,.0f} M'
  if size is None:
    return f'too large: over {2 * MAX_PIXELS / 1e6:,.0f} M px, {cap}'
  width, height = size
  if width * height <= MAX_PIXELS:
    return None
  return f'too large: {width}x{height} = {megapixels(width * height)} px, {cap}'


def guard_pillow() -> None:
  """Sets Pillow's decompression-bomb guard to the cap, for the whole process (Pillow has no per-call limit):
  Pillow then raises DecompressionBombError only above twice the cap, and its warning between the cap and twice
  it is silenced, since the caller refuses those images itself with `too_large`. Idempotent (the filter replaces
  its own earlier copy), and set again on every call: a warnings context (pytest's, catch_warnings) may have
  restored the filters since."""
  from PIL import Image
  Image.MAX_IMAGE_PIXELS = MAX_PIXELS
  warnings.filterwarnings('ignore', category=Image.DecompressionBombWarning)
