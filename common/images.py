"""The project's one image helper per idea: generator output -> uint8, a grid of images, PNG and GIF files.

Training's sample grids, export's sample.png and the app's grids and GIFs all go through these; where they look
different on purpose (the trainer's grids sit on a dark frame, the app's on white without a frame; the app's GIFs
play forward and back, enlarged) the difference is a parameter, so each caller's pixels stay what they were
(tests/test_stage_contract.py compares them with the files written before this module existed). A grid of one row
per class (a conditional generator's) names its rows in a left margin (`labelled_grid`); the images right of the
margin are the plain grid's pixels.
NumPy and Pillow only: serve imports this without TensorFlow.
"""

import io

import numpy as np

TRAINING_BACKGROUND = 32  # the trainer's and export's grids: dark grey between and around the images
APP_BACKGROUND = 255  # the app's grids: white between the images, no outer frame
MAX_LABEL_CHARS = 24  # a longer row name is cut to 23 characters and '…': ~130 px of margin beside 16 px rows
LABEL_GAP = 4  # px of margin left and right of a row name


def to_uint8(images, squeeze_gray: bool = False) -> np.ndarray:
  """Generator output (B, H, W, C) in [-1, 1] (tanh) -> uint8: round((x + 1) · 127.5), clipped to [0, 255].

  -1 -> 0, 0 -> 128 (127.5 rounds half to even), 1 -> 255. NaN becomes 128 (grey) and ±Inf 255 / 0, so a diverged
  generator shows as grey images rather than undefined bytes. C is 1 or 3. squeeze_gray: one channel comes back as
  (B, H, W), what PIL and Gradio take for grayscale. A single image (H, W, C) gives one image.
  """
  x = np.asarray(images, np.float32)
  single = x.ndim == 3
  if single:
    x = x[None]
  if x.ndim != 4 or x.shape[-1] not in (1, 3):
    raise ValueError(f'expected images shaped (B, H, W, 1|3), got {np.asarray(images).shape}')
  x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
  out = np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
  if squeeze_gray and out.shape[-1] == 1:
    out = out[..., 0]
  return out[0] if single else out


def grid(images, cols=None, pad: int = 2, fill: int = APP_BACKGROUND, frame: bool = False) -> np.ndarray:
  """Tiles uint8 images (B, H, W) or (B, H, W, C) into one image, `cols` per row (default: ~square), `pad` px apart
  on `fill`; frame: also `pad` px of `fill` around the outside."""
  images = np.asarray(images)
  if images.ndim not in (3, 4) or images.dtype != np.uint8 or len(images) == 0:
    raise ValueError(f'expected a non-empty uint8 batch (B, H, W[, C]), got {images.dtype} {images.shape}')
  count, height, width = images.shape[:3]
  cols = int(np.ceil(np.sqrt(count))) if not cols else max(1, min(int(cols), count))
  rows = int(np.ceil(count / cols))
  border = pad if frame else 0
  canvas = np.full((rows * height + (rows - 1) * pad + 2 * border, cols * width + (cols - 1) * pad + 2 * border)
                   + images.shape[3:], fill, np.uint8)
  for i, image in enumerate(images):
    r, c = divmod(i, cols)
    top, left = border + r * (height + pad), border + c * (width + pad)
    canvas[top:top + height, left:left + width] = image
  return canvas


def labelled_grid(images, row_names=(), cols=None, pad: int = 2, fill: int = APP_BACKGROUND,
                  frame: bool = False) -> np.ndarray:
  """`grid`, with row r named row_names[r] in a margin on its left (a conditional generator's grid: one row per
  class). No row_names: `grid`'s very array. The margin is as wide as the longest name (cut at MAX_LABEL_CHARS);
  right of it the pixels are `grid`'s, so a labelled grid still holds the generator's exact outputs."""
  picture = grid(images, cols, pad, fill, frame)
  if not len(row_names):
    return picture
  row_height = np.asarray(images).shape[1]
  margin = _label_margin(row_names, picture.shape[0], row_height, pad, pad if frame else 0, fill)  # (H', M)
  if picture.ndim == 3:
    margin = np.repeat(margin[..., None], picture.shape[2], axis=2)
  return np.concatenate([margin, picture], axis=1)


def short_label(name) -> str:
  """A row name as drawn: whitespace runs as one space, at most MAX_LABEL_CHARS characters (the last one '…')."""
  text = ' '.join(str(name).split())
  return text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS - 1] + '…'


def label_font(row_height: int):
  """Pillow's built-in font (no font file needed: Pillow >= 10.1 embeds a scalable one, else a fixed bitmap font)
  at half the row height, 10 to 20 px: legible beside 16 px images, not oversized beside 64 px ones."""
  from PIL import ImageFont
  return ImageFont.load_default(size=min(max(10, row_height // 2), 20))


def _label_margin(row_names, height: int, row_height: int, pad: int, border: int, fill: int) -> np.ndarray:
  """uint8 (height, M): each name drawn left-aligned and centred on its grid row (rows `row_height` px tall, `pad`
  apart, the first `border` px down), in the contrasting grey 255 - fill; a name taller than its row is clipped to
  the row, never drawn over the next one."""
  from PIL import Image, ImageDraw
  font = label_font(row_height)
  texts = [short_label(name) for name in row_names]
  width = int(np.ceil(max(font.getlength(text) for text in texts))) + 2 * LABEL_GAP
  margin = np.full((height, width), fill, np.uint8)
  for r, text in enumerate(texts):
    top = border + r * (row_height + pad)
    if top >= height:  # more names than rows: the grid has no row to name
      break
    strip = Image.new('L', (width, row_height), fill)
    draw = ImageDraw.Draw(strip)
    _, text_top, _, text_bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((LABEL_GAP, (row_height - (text_bottom - text_top)) // 2 - text_top), text, font=font, fill=255 - fill)
    margin[top:top + row_height] = np.asarray(strip)[:height - top]
  return margin


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
  """Nearest-neighbour enlargement (pixel art stays crisp in a viewer): (H, W[, C]) -> (fH, fW[, C])."""
  factor = max(1, int(factor))
  return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1) if factor > 1 else image


def pil_image(image: np.ndarray):
  """uint8 (H, W), (H, W, 1) or (H, W, 3) -> a PIL image (mode L or RGB)."""
  from PIL import Image
  image = np.asarray(image)
  return Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image)


def save_png(image: np.ndarray, path: str, scale: int = 1) -> str:
  """Writes one uint8 image as a lossless PNG, enlarged `scale` times (nearest neighbour); returns `path`."""
  from PIL import Image
  picture = pil_image(image)
  if scale > 1:
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
  picture.save(path)
  return path


def png_bytes(image: np.ndarray) -> bytes:
  """Lossless PNG encoding of one uint8 image (H, W[, C])."""
  buffer = io.BytesIO()
  pil_image(image).save(buffer, format='PNG')
  return buffer.getvalue()


def write_gif(frames, path: str, frame_ms: int = 80, pingpong: bool = False, min_size: int = 0,
              optimize: bool = False) -> str:
  """Writes uint8 frames (N, H, W[, C]), or a list of PIL images, as an endlessly looping GIF; returns `path`.

  pingpong: play forward then backward (without repeating the ends) so the loop has no jump. Frames smaller than
  `min_size` are enlarged by an integer factor with nearest neighbour, since viewers blur tiny GIFs. optimize:
  Pillow's palette optimisation (the trainer's samples.gif uses it; the app's GIFs do not).
  """
  if isinstance(frames, (list, tuple)) and frames and not isinstance(frames[0], np.ndarray):
    images = list(frames)  # PIL images, as they are
  else:
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or frames.dtype != np.uint8 or len(frames) == 0:
      raise ValueError(f'expected non-empty uint8 frames (N, H, W[, C]), got {frames.dtype} {frames.shape}')
    factor = int(np.ceil(min_size / max(frames.shape[1:3]))) if min_size else 1
    images = [pil_image(upscale(frame, factor)) for frame in frames]
  order = list(range(len(images)))
  if pingpong and len(images) > 2:
    order += order[-2:0:-1]
  images = [images[i] for i in order]
  images[0].save(path, format='GIF', save_all=True, append_images=images[1:], duration=frame_ms, loop=0,
                 optimize=optimize)
  return path
