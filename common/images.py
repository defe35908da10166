"""The project's one image helper per idea: generator output -> uint8, a grid of images, PNG and GIF files.

Training's sample grids, export's sample.png and the app's grids and GIFs all go through these; where they look
different on purpose (the trainer's grids sit on a dark frame, the app's on white without a frame; the app's GIFs
play forward and back, enlarged) the difference is a parameter, so each caller's pixels stay what they were
(tests/test_image_helpers.py compares them with the files written before this module existed).
NumPy and Pillow only: serve imports this without TensorFlow.
"""

import io

import numpy as np

TRAINING_BACKGROUND = 32  # the trainer's and export's grids: dark grey between and around the images
APP_BACKGROUND = 255  # the app's grids: white between the images, no outer frame


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
