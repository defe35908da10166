r"""A generator's up-sampling layer two ways, forward + backward, side by side in one process:

  transposed   Conv2DTranspose(kernel 4, stride 2, "same"): the DCGAN generator's layer (training/architectures.py),
               4 kernel taps per output pixel;
  upsample     nearest-neighbour UpSampling2D(2) + Conv2D(kernel 3, "same"): 9 taps per output pixel, 2.25x the
               FLOPs, no checkerboard pattern from uneven kernel overlap (Odena et al. 2016, "Deconvolution and
               Checkerboard Artifacts");
  upsample_eq  the same with the output channels cut to 4/9, so its FLOPs equal the transposed layer's.

Both pad symmetrically (k - s = 2 splits 1 / 1; a 3x3 "same" pads 1 / 1), so both are CUDA-clean in ONNX. The layers
are those of a DCGAN generator at --image_size and --width (the emoji preset's: 64, 16), batch --batch_size; each
row gives ms per call, GFLOP per call and GFLOP/s, the median of --repeats round-robin calls.

  python -m benchmarks.upsample_compare --image_size=64 --width=16 --batch_size=64
"""

import math
import os
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from common import cli

FLAGS = flags.FLAGS


def _define_flags() -> None:
  flags.DEFINE_integer('image_size', 64, 'Output side of the last layer (a power of two, at least 16).')
  flags.DEFINE_integer('width', 16, 'The generator\'s --width: its 4x4 projection has 8*width channels.')
  flags.DEFINE_integer('channels', 3, 'Image channels of the last layer.')
  flags.DEFINE_integer('batch_size', 64, 'Images per call.')
  flags.DEFINE_integer('repeats', 15, 'Timed calls per row (median), after 3 warm-up calls.')


def _layers(image_size: int, width: int, channels: int) -> list:
  """(input side, C_in, C_out) of each stride-2 layer of the DCGAN generator: 4 -> 8 -> ... -> image_size."""
  sides = [4 * 2 ** i for i in range(int(math.log2(image_size // 4)))]
  filters = [max(width, 8 * width // 2 ** i) for i in range(len(sides) + 1)]
  return [(side, filters[i], filters[i + 1] if i + 1 < len(sides) else channels) for i, side in enumerate(sides)]


def _build(kind: str, c_out: int):
  import keras
  from keras import layers
  if kind == 'transposed':
    return keras.Sequential([layers.Conv2DTranspose(c_out, 4, 2, padding='same')])
  if kind == 'upsample_eq':
    c_out = max(1, round(c_out * 4 / 9))
  return keras.Sequential([layers.UpSampling2D(2, interpolation='nearest'), layers.Conv2D(c_out, 3, padding='same')])


def _flops(kind: str, side: int, c_in: int, c_out: int, batch: int) -> float:
  taps, out = (4, c_out) if kind == 'transposed' else (9, c_out if kind == 'upsample' else max(1, round(c_out * 4 / 9)))
  return 3 * 2 * batch * (2 * side) ** 2 * taps * c_in * out  # forward + the two gradients (inputs, weights)


def compare() -> list:
  import tensorflow as tf
  rows = []
  calls = {}
  for side, c_in, c_out in _layers(FLAGS.image_size, FLAGS.width, FLAGS.channels):
    x = tf.random.stateless_normal([FLAGS.batch_size, side, side, c_in], [side, c_in])
    for kind in ('transposed', 'upsample', 'upsample_eq'):
      layer = _build(kind, c_out)
      layer(x)

      @tf.function
      def step(x, layer=layer):
        with tf.GradientTape() as tape:
          tape.watch(x)
          y = tf.reduce_sum(tf.square(layer(x)))
        return tape.gradient(y, [x, *layer.trainable_variables])
      calls[side, c_in, c_out, kind] = (lambda step=step, x=x: step(x))
  times = {key: [] for key in calls}
  for repeat in range(3 + FLAGS.repeats):
    for key, call in calls.items():
      t0 = time.perf_counter()
      call()[0].numpy()  # sync point
      if repeat >= 3:
        times[key].append(time.perf_counter() - t0)
  for (side, c_in, c_out, kind), samples in times.items():
    seconds = sorted(samples)[len(samples) // 2]
    rows.append(dict(layer=f'{side}->{2 * side}, {c_in}->{c_out}', kind=kind, seconds=seconds,
                     flops=_flops(kind, side, c_in, c_out, FLAGS.batch_size)))
  return rows


def main(argv):
  del argv
  if FLAGS.image_size < 16 or FLAGS.image_size & (FLAGS.image_size - 1):
    raise cli.UsageError(f'--image_size must be a power of two of at least 16, got {FLAGS.image_size}')
  rows = compare()
  print(f'{os.cpu_count()} CPU cores; DCGAN generator at {FLAGS.image_size}px, width {FLAGS.width}, batch '
        f'{FLAGS.batch_size}; forward + backward per layer, median of {FLAGS.repeats}')
  print(f'{"layer":<22} {"kind":<12} {"ms":>8} {"GFLOP":>7} {"GFLOP/s":>8} {"vs transposed":>14}')
  base = {}
  for r in rows:
    if r['kind'] == 'transposed':
      base[r['layer']] = r['seconds']
    print(f'{r["layer"]:<22} {r["kind"]:<12} {r["seconds"] * 1e3:>8.2f} {r["flops"] / 1e9:>7.3f} '
          f'{r["flops"] / r["seconds"] / 1e9:>8.1f} {r["seconds"] / base[r["layer"]]:>13.2f}x')
  for kind in ('transposed', 'upsample', 'upsample_eq'):
    total = sum(r['seconds'] for r in rows if r['kind'] == kind)
    print(f'all layers, {kind:<12} {total * 1e3:8.2f} ms')
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main)
