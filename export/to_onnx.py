r"""Exports a trained generator to a verified, CUDA-clean ONNX model: `python -m export.to_onnx`.

Examples:
  python -m export.to_onnx                                           # newest run under runs/
  python -m export.to_onnx --run_dir=runs/wgan_gp-digits-20261123-101500
  python -m export.to_onnx --run_dir=... --name=digits-wgan-gp --fp16 --opset=17
  python -m export.to_onnx --run_dir=... --name=digits-wgan-gp --overwrite     # replaces its model.onnx

Writes models/<name>/model.onnx (+ model_fp16.onnx), metadata.json and sample.png; see export/model_folder.py.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # entry point only: TF's C++ start-up chatter

from export import cli


if __name__ == '__main__':
  cli.define_flags(onnx=True)
  cli.run(formats=('onnx',))
