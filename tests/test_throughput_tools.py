"""The speed benchmarks' own logic: the layers benchmarks/upsample_compare.py times are the DCGAN generator's, its
FLOP counts are the layers' (2.25x for nearest-upsample + 3x3 conv, equal for the 4/9-channel variant), and
benchmarks/train_throughput.py's row flags force XLA where a row asks for it."""

import pytest

from benchmarks import train_throughput, upsample_compare


def test_upsample_compare_times_the_dcgan_generators_layers():
  from keras import layers
  from training.architectures import dcgan_generator
  generator = dcgan_generator(128, 64, 3, 16)
  transposed = [layer for layer in generator.layers if isinstance(layer, layers.Conv2DTranspose)]
  actual = [(layer.input.shape[1], layer.input.shape[-1], layer.filters) for layer in transposed]
  assert upsample_compare._layers(64, 16, 3) == actual == [(4, 128, 64), (8, 64, 32), (16, 32, 16), (32, 16, 3)]


def test_upsample_compare_flops():
  side, c_in, c_out, batch = 8, 64, 36, 2
  transposed = upsample_compare._flops('transposed', side, c_in, c_out, batch)
  assert transposed == 3 * 2 * batch * (2 * side) ** 2 * 4 * c_in * c_out  # 4 taps per output pixel, fwd + 2 grads
  assert upsample_compare._flops('upsample', side, c_in, c_out, batch) == pytest.approx(2.25 * transposed)
  assert upsample_compare._flops('upsample_eq', side, c_in, c_out, batch) == pytest.approx(transposed)  # 36 -> 16


def test_throughput_rows_force_xla_only_when_asked():
  # 'on' must force XLA on a CPU host (training/strategies.py xla_applies), 'preset' passes nothing
  assert train_throughput._JIT_FLAGS['on'] == ('--jit=True', '--jit_on_cpu=True')
  assert train_throughput._JIT_FLAGS['off'] == ('--jit=False',)
  assert train_throughput._JIT_FLAGS['preset'] == ()


@pytest.mark.slow
def test_upsample_compare_runs():
  # A command of its own (tests/warm.py): its flags (--image_size, --width, ...) share names with training's.
  from tests import warm
  proc = warm.run('benchmarks.upsample_compare', '--image_size=16', '--width=4', '--batch_size=2', '--repeats=1')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.count('x\n') == 6  # 2 layers x 3 kinds, each with its ratio to the transposed layer
  assert 'all layers, upsample_eq' in proc.stdout
  bad = warm.run('benchmarks.upsample_compare', '--image_size=48')
  assert bad.returncode == 2 and 'power of two' in bad.stderr.strip().splitlines()[-1]
