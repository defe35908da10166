"""Interpolation frames as files: an MP4 video and a ZIP of lossless per-frame PNGs.

The MP4 is H.264 in yuv420p (what every browser and phone plays) written by the ffmpeg binary that the
`imageio-ffmpeg` wheel ships, so no system ffmpeg is needed. Frames are enlarged by an integer factor with
nearest neighbour to at least `min_size` px (encoders smear 16-px frames) and padded to even sides (yuv420p
subsamples colour 2x2). The ZIP keeps the exact pixels: one PNG per frame, in order.
"""

import zipfile

import numpy as np

from common import images


def _rgb(frame: np.ndarray) -> np.ndarray:
  return np.repeat(frame[..., None], 3, axis=-1) if frame.ndim == 2 else frame


def write_mp4(frames: np.ndarray, path: str, fps: int = 12, min_size: int = 256) -> str:
  """uint8 frames (N, H, W[, 3]) -> an H.264 MP4 at `fps`; returns `path`."""
  import imageio_ffmpeg
  frames = np.asarray(frames)
  if frames.ndim not in (3, 4) or frames.dtype != np.uint8 or len(frames) == 0:
    raise ValueError(f'expected non-empty uint8 frames (N, H, W[, 3]), got {frames.dtype} {frames.shape}')
  factor = int(np.ceil(min_size / max(frames.shape[1:3])))
  first = _rgb(images.upscale(frames[0], factor))
  height, width = first.shape[0] + first.shape[0] % 2, first.shape[1] + first.shape[1] % 2
  writer = imageio_ffmpeg.write_frames(path, (width, height), fps=fps, codec='libx264', pix_fmt_out='yuv420p',
                                       macro_block_size=1, ffmpeg_log_level='error', quality=8)
  writer.send(None)  # start the encoder
  try:
    for frame in frames:
      image = _rgb(images.upscale(frame, factor))
      padded = np.zeros((height, width, 3), np.uint8)
      padded[:image.shape[0], :image.shape[1]] = image
      writer.send(np.ascontiguousarray(padded))
  finally:
    writer.close()
  return path


def write_frames_zip(frames: np.ndarray, path: str, stem: str) -> str:
  """One lossless PNG per frame, <stem>-000.png ..., in a ZIP; returns `path`."""
  with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
    for i, frame in enumerate(frames):
      archive.writestr(f'{stem}-{i:03d}.png', images.png_bytes(frame))
  return path
