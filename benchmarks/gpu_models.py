r"""The models benchmarks/gpu_latency.py times, exported here (the GPU host has no TensorFlow): carry the folder.

  python -m benchmarks.gpu_models --out=gpu_models
  # on the GPU host:
  python -m benchmarks.gpu_latency --model=gpu_models/dcgan64,gpu_models/digits

Writes <out>/dcgan64 (DCGAN 64x64x3, latent 128, width 64) and <out>/digits (the demo preset's shape, the same
graph as `make demo`'s models/digits-wgan-gp), each with model.onnx and model_fp16.onnx, untrained (seed 0:
latency does not depend on the weights), through the normal export and its parity and CUDA-EP checks.
Existing folders of those names are refused unless --overwrite.
"""

import os
import tempfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from benchmarks.bench_models import MODELS, export_untrained
from common import cli
from export.loader import ExportError

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_string('out', None, 'Folder to write the model folders into (created if missing).')
  flags.DEFINE_list('models', list(MODELS), f'Which of {", ".join(MODELS)} to write.')
  flags.DEFINE_bool('overwrite', False, 'Replace model folders of the same names under --out.')


def main(argv):
  del argv
  if not FLAGS.out:
    raise cli.UsageError('pass --out=FOLDER')
  unknown = [m for m in FLAGS.models if m not in MODELS]
  if unknown or not FLAGS.models:
    raise cli.UsageError(f'--models takes some of {", ".join(MODELS)}, got {",".join(unknown) or "nothing"}')
  if os.path.exists(FLAGS.out) and not os.path.isdir(FLAGS.out):
    raise cli.UsageError(f'--out={FLAGS.out!r} exists and is not a folder')
  taken = [m for m in FLAGS.models if os.path.exists(os.path.join(FLAGS.out, m))]
  if taken and not FLAGS.overwrite:
    raise cli.UsageError(f'{", ".join(os.path.join(FLAGS.out, m) for m in taken)} already exist; pass --overwrite '
                         f'to replace them (nothing was changed)')
  import logging as std_logging
  import shutil
  from absl import logging
  logging.set_verbosity(logging.WARNING)  # the exports' INFO lines would bury the two lines per model
  std_logging.getLogger('tf2onnx').setLevel(std_logging.ERROR)
  os.makedirs(FLAGS.out, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=FLAGS.out, prefix='.work-') as work:
    for name in FLAGS.models:
      print(f'exporting {name} {MODELS[name]} (latent, size, channels, width) ...', flush=True)
      folder = export_untrained(work, name, formats=('onnx',), fp16=True)
      dest = os.path.join(FLAGS.out, name)
      shutil.rmtree(dest, ignore_errors=True)
      os.rename(folder, dest)
      print(f'  {dest}: {", ".join(sorted(os.listdir(dest)))}', flush=True)
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors={ExportError: 1, OSError: 1})  # OSError: --out cannot be written
