r"""Peak memory of the training input pipeline with one very large image in the folder, against the same folder
without it: the check that a 10000x10000 photo is decoded at reduced size (data/decode.py) and a 16000x16000 scan
refused above the pixel cap (common/image_limits.py), instead of either holding gigabytes through the pipeline.

Builds --images small images (64x64 PNGs, two classes) and copies of that folder with one large file added each,
then, for each folder in a fresh process, opens it as training does (training/data_kinds.py: the checks, the
decode, the cache) and draws --batches batches of the training input pipeline; the process reports its peak
resident memory (getrusage's ru_maxrss), printed side by side with the ratio to the folder without a large image.

  python -m benchmarks.large_image_memory                          # ~1 min on 2 CPU cores
  python -m benchmarks.large_image_memory --cases=jpeg,png_within  # a 15000x15000 PNG: decoded in full by Pillow
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from common import cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = flags.FLAGS
# Case name -> (what is added to the folder, its file name, its writer's arguments (format, (width, height))).
CASES = {
    'jpeg': ('one 10000x10000 JPEG', 'photo.jpg', ('JPEG', (10_000, 10_000))),
    'png_over': ('one 16000x16000 PNG (256 M px, over the cap)', 'scan.png', ('PNG', (16_000, 16_000))),
    'png_within': ('one 15000x15000 PNG (225 M px)', 'scan.png', ('PNG', (15_000, 15_000))),
}


class BenchmarkError(RuntimeError):
  """A measuring process failed; the message is one line."""


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it defines no flags."""
  flags.DEFINE_list('cases', ['jpeg', 'png_over'], f'Large files to add, one folder each: {", ".join(CASES)}.')
  flags.DEFINE_integer('images', 200, 'Small 64x64 images in every folder.', lower_bound=2)
  flags.DEFINE_integer('image_size', 64, '--image_size of the training input pipeline.', lower_bound=8)
  flags.DEFINE_integer('batch_size', 32, 'Images per batch.', lower_bound=1)
  flags.DEFINE_integer('batches', 20, 'Batches drawn per folder (3 epochs of 200 images at batch 32).', lower_bound=1)
  flags.DEFINE_string('work_dir', '', 'Where the folders are written (default: a temporary folder, removed after).')
  flags.DEFINE_string('json', '', 'Write the figures to this JSON file.')
  flags.DEFINE_string('measure', '', 'Internal: measure this folder in this process and print one JSON line.')


# --- The folders ---------------------------------------------------------------------------------------------------

def write_small(folder: str, count: int) -> None:
  """`count` 64x64 PNGs of distinct colours in two class folders."""
  from PIL import Image
  for i in range(count):
    path = os.path.join(folder, f'class_{i % 2}', f'{i:04d}.png')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new('RGB', (64, 64), (i % 256, (7 * i) % 256, (13 * i) % 256)).save(path)


def write_large(path: str, image_format: str, size: tuple) -> None:
  """A large image of a few flat shapes (it compresses to a few MB): its decoded size is what is measured."""
  from PIL import Image, ImageDraw
  image = Image.new('RGB', size, (200, 80, 40))
  draw = ImageDraw.Draw(image)
  width, height = size
  draw.ellipse((width // 8, height // 8, width * 7 // 8, height * 7 // 8), fill=(30, 120, 220))
  draw.rectangle((width // 3, height // 3, width * 2 // 3, height * 2 // 3), fill=(250, 250, 250))
  image.save(path, image_format, **({'quality': 90} if image_format == 'JPEG' else {'compress_level': 1}))


def make_folders(work_dir: str, cases: list, count: int) -> dict:
  """{label: folder}: the small images alone ('none'), and with each case's large file in class_0."""
  base = os.path.join(work_dir, 'none')
  write_small(base, count)
  folders = {'none': base}
  for case in cases:
    _, name, (image_format, size) = CASES[case]
    folder = os.path.join(work_dir, case)
    shutil.copytree(base, folder)
    write_large(os.path.join(folder, 'class_0', name), image_format, size)
    folders[case] = folder
  return folders


# --- One measurement, in its own process ------------------------------------------------------------------------

def measure(folder: str, image_size: int, batch_size: int, batches: int) -> dict:
  """In this process: the folder opened as training opens it and `batches` batches of its input pipeline drawn;
  the peak resident memory of the process, MB, with what was read."""
  from training import data_kinds, launch
  config = launch.prepare_config(dict(dataset=f'folder:{folder}', image_size=image_size, batch_size=batch_size,
                                      run_dir=os.path.join(folder, 'unused_run')))
  kind = data_kinds.kind_of(config.dataset)
  start = time.monotonic()
  source, info = kind.open(config)
  for _ in kind.pipeline(source, info, config, 0).take(batches):
    pass
  return {'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
          'seconds': time.monotonic() - start, 'images': info.num_examples, 'skipped': info.skipped}


def measure_in_subprocess(folder: str) -> dict:
  """`measure` in a fresh Python process: peak memory is per process, and the first folder's must not count."""
  command = [sys.executable, '-m', 'benchmarks.large_image_memory', f'--measure={folder}',
             f'--image_size={FLAGS.image_size}', f'--batch_size={FLAGS.batch_size}', f'--batches={FLAGS.batches}']
  result = subprocess.run(command, cwd=_REPO, capture_output=True, text=True, timeout=900)
  lines, errors = result.stdout.strip().splitlines(), result.stderr.strip().splitlines()
  if result.returncode or not lines:
    raise BenchmarkError(f'measuring {folder} failed (exit {result.returncode}): {errors[-1] if errors else ""}')
  return json.loads(lines[-1])


def table(rows: dict) -> str:
  base = rows['none']['peak_rss_mb']
  lines = [f'{"folder":<66} {"images":>6} {"skipped":>7} {"peak RSS":>10} {"ratio":>6} {"seconds":>7}']
  for case, row in rows.items():
    what = f'{FLAGS.images} small images' + ('' if case == 'none' else f' + {CASES[case][0]}')
    lines.append(f'{what:<66} {row["images"]:>6} {row["skipped"]:>7} {row["peak_rss_mb"]:>7.0f} MB '
                 f'{row["peak_rss_mb"] / base:>6.2f} {row["seconds"]:>7.1f}')
  return '\n'.join(lines)


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  if FLAGS.measure:
    print(json.dumps(measure(FLAGS.measure, FLAGS.image_size, FLAGS.batch_size, FLAGS.batches)), flush=True)
    return 0
  unknown = [case for case in FLAGS.cases if case not in CASES]
  if unknown:
    raise cli.UsageError(f'--cases: unknown {", ".join(unknown)}; choose from {", ".join(CASES)}')
  work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix='large_image_memory-')
  try:
    folders = make_folders(work_dir, FLAGS.cases, FLAGS.images)
    rows = {case: measure_in_subprocess(folder) for case, folder in folders.items()}
  finally:
    if not FLAGS.work_dir:
      shutil.rmtree(work_dir, ignore_errors=True)
  print(f'--image_size={FLAGS.image_size} --batch_size={FLAGS.batch_size}, {FLAGS.batches} batches per folder, '
        f'one fresh process each')
  print(table(rows))
  if FLAGS.json:
    with open(FLAGS.json, 'w') as f:
      json.dump({'settings': {name: FLAGS[name].value for name in ('cases', 'images', 'image_size', 'batch_size',
                                                                   'batches')}, 'rows': rows}, f, indent=1)
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors={BenchmarkError: 1})
