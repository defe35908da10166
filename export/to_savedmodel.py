r"""Exports a trained generator to a verified TF Serving SavedModel: `python -m export.to_savedmodel`.

Examples:
  python -m export.to_savedmodel                                     # newest run under runs/
  python -m export.to_savedmodel --run_dir=runs/wgan_gp-digits-20261123-101500 --name=digits-wgan-gp
                                   # adds saved_model/ beside that run's model.onnx: no --overwrite needed

Writes models/<name>/saved_model/1/ (signatures serving_default and sample), metadata.json and sample.png.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # entry point only: TF's C++ start-up chatter

from export import cli


if __name__ == '__main__':
  cli.define_flags(onnx=False)
  cli.run(formats=('savedmodel',))
