r"""Training throughput, measured side by side in one run on this machine:

  1. the keras-io WGAN-GP recipe (benchmarks/keras_io_recipe.py) on Fashion-MNIST, batch 64;
  2. our four losses with the Fashion-MNIST preset (training/presets/fashion_mnist.flags), batch 64;
  3. our WGAN-GP on 2 logical CPU replicas (MirroredStrategy) vs 1 device, same global batch.

"real images/s" counts the real images the critic reads per second. The keras-io recipe reuses one real
batch for its 3 critic steps; ours reads a fresh batch for each of its 5 (as the paper's Algorithm 1), so the
table also shows critic updates/s.

  python -m benchmarks.train_throughput --manual_dir=../shared/data/fashion_mnist
"""

import csv
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app, flags

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string('manual_dir', os.path.join(_REPO, '..', 'shared', 'data', 'fashion_mnist'),
                    'Original Fashion-MNIST archives.')
flags.DEFINE_string('data_dir', None, 'TFDS data_dir (default: a temporary one, prepared offline).')
flags.DEFINE_integer('steps', 40, 'Generator steps per measurement of ours (the last third is timed).')
flags.DEFINE_integer('keras_io_steps', 6, 'Timed train steps of the keras-io recipe (after 2 warm-up steps).')
flags.DEFINE_list('losses', ['wgan_gp', 'wgan', 'lsgan', 'dcgan'], 'Losses to measure.')
flags.DEFINE_bool('replicas', True, 'Also measure 2 logical CPU replicas vs 1.')
FLAGS = flags.FLAGS
BATCH = 64


def keras_io_images_per_sec(data_dir: str) -> float:
  import numpy as np
  import tensorflow as tf
  import tensorflow_datasets as tfds
  from benchmarks import keras_io_recipe
  builder = tfds.builder('fashion_mnist', data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=FLAGS.manual_dir))
  images = next(iter(tfds.as_numpy(builder.as_dataset(split='train', batch_size=BATCH * 4))))['image']
  images = (images.astype(np.float32) - 127.5) / 127.5  # (256, 28, 28, 1) in [-1, 1], as the example scales
  train_step = keras_io_recipe.make_train_step(keras_io_recipe.generator(), keras_io_recipe.discriminator())
  batches = [tf.constant(images[i * BATCH:(i + 1) * BATCH]) for i in range(4)]
  for i in range(2):  # trace and warm up
    train_step(batches[i])
  t0 = time.perf_counter()
  for i in range(FLAGS.keras_io_steps):
    d_loss, _ = train_step(batches[i % 4])
  float(d_loss)
  return BATCH * FLAGS.keras_io_steps / (time.perf_counter() - t0)


def ours(data_dir: str, work: str, name: str, *extra: str) -> dict:
  """Runs training.main in a fresh process; returns the steady-state figures of its last log window."""
  run_dir = os.path.join(work, name)
  log_every = max(FLAGS.steps // 3, 1)
  cmd = [sys.executable, '-m', 'training.main', '--flagfile=training/presets/fashion_mnist.flags',
         f'--manual_dir={FLAGS.manual_dir}', f'--data_dir={data_dir}', f'--steps={FLAGS.steps}',
         f'--log_every={log_every}', '--sample_every=100000', '--ckpt_every=100000', f'--run_dir={run_dir}', *extra]
  proc = subprocess.run(cmd, cwd=_REPO, capture_output=True, text=True)
  if proc.returncode:
    raise SystemExit(f'{name} failed:\n{proc.stderr[-2000:]}')
  with open(os.path.join(run_dir, 'metrics.csv')) as f:
    last = list(csv.DictReader(f))[-1]
  with open(os.path.join(run_dir, 'config.json')) as f:
    import json
    n_critic = json.load(f)['n_critic']
  images = float(last['images_per_sec'])
  return {'images_per_sec': images, 'critic_updates_per_sec': images / BATCH, 'n_critic': n_critic}


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as work:
    data_dir = FLAGS.data_dir or os.path.join(work, 'tfds')
    print(f'machine: {os.cpu_count()} CPU cores; batch {BATCH}; Fashion-MNIST; {FLAGS.steps} steps per run of ours')
    baseline = keras_io_images_per_sec(data_dir)
    rows = [('keras-io WGAN-GP recipe', baseline, baseline / BATCH * 3, 3)]
    print(f'  keras-io recipe: {baseline:.1f} real images/s', flush=True)
    for loss in FLAGS.losses:
      for jit in (False, True):
        label = f'ours {loss}' + (' --jit' if jit else '')
        r = ours(data_dir, work, f'{loss}-{jit}', f'--loss={loss}', f'--jit={jit}')
        rows.append((label, r['images_per_sec'], r['critic_updates_per_sec'], r['n_critic']))
        print(f'  {label}: {r["images_per_sec"]:.1f} real images/s', flush=True)
    print(f'\n{"run":<28} {"real images/s":>14} {"critic updates/s":>17} {"generator steps/s":>18} {"n_critic":>9} '
          f'{"vs keras-io":>12}')
    for label, images, updates, n_critic in rows:
      print(f'{label:<28} {images:>14.1f} {updates:>17.2f} {updates / n_critic:>18.3f} {n_critic:>9} '
            f'{images / baseline:>11.1f}x')
    if FLAGS.replicas:
      one = ours(data_dir, work, 'one', '--loss=wgan_gp', '--strategy=one_device')
      two = ours(data_dir, work, 'two', '--loss=wgan_gp', '--strategy=mirrored', '--cpu_replicas=2')
      print(f'\nWGAN-GP, global batch {BATCH}: 1 device {one["images_per_sec"]:.1f} images/s, 2 logical CPU replicas '
            f'{two["images_per_sec"]:.1f} images/s: ratio {two["images_per_sec"] / one["images_per_sec"]:.2f} '
            f'(same 2 cores: this measures the overhead of mirroring, not a speed-up)')


if __name__ == '__main__':
  app.run(main)
