"""Data kinds: what the trainer, generator_io and evaluation need to know about the shape of the data.

The pipeline began with images only; the WGAN-GP paper's toy experiments train on 2-D points (and its language
model on one-hot text, training/text_data.py). Everything that depended on "an image" is here, once, per kind:

  matches(dataset)                  which `--dataset` values are of this kind ('toy:NAME' points, 'text:PATH' text,
                                    the rest images)
  open(config)                      -> (source, DatasetInfo): the data, before the run knows its start step
  pipeline(source, info, config, start_batch)
                                    -> endless batches of real samples, (B, ...) float32, batch b a function of
                                       (seed, b) so that a resumed run continues the same sequence
  build_generator / build_critic    call the architecture's builders with this kind's shape arguments
  shape_metadata(config)            the shape fields of generator.json (what export and rebuilding need)
  rebuild(arch, metadata)           the generator again, from generator.json
  write_samples(...)                the fixed-sample picture of a step: an image grid, or the paper's scatter of
                                    real and generated points over the critic's contours

The gradient penalty takes its α shape and norm axes from the rank of the batch (training/losses.py), and every
architecture names its kind (training/architectures.py), so nothing else branches on the kind.
"""

import dataclasses
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from training import datasets, input_pipeline, run_dir as rundir
from training.config import arch_options

TOY_PREFIX = 'toy:'
TEXT_PREFIX = 'text:'


@dataclasses.dataclass(frozen=True)
class DataKind:
  name: str
  matches: Callable[[str], bool]
  open: Callable
  pipeline: Callable
  build_generator: Callable
  build_critic: Callable
  shape_metadata: Callable
  rebuild: Callable
  write_samples: Callable
  summary_images: Callable  # samples -> (N, H, W, C) in [0, 1] for TensorBoard, or None
  describe: Callable  # (DatasetInfo, config) -> what the trainer's start-up line says about the data
  validate: Callable  # config -> None, or ValueError with a one-line reason (the image size, ...)


# --- Images ----------------------------------------------------------------------------------------------------

def _image_open(config):
  return datasets.load_images(config.dataset, config.image_size, split='train', data_dir=config.data_dir,
                              manual_dir=config.manual_dir)


def _image_pipeline(images, info, config, start_batch):
  return input_pipeline.make_input_pipeline(images, info, config.image_size, config.batch_size, seed=config.seed,
                                            flip=config.flip, start_batch=start_batch)


def _image_metadata(config):
  return {'image_height': config.image_size, 'image_width': config.image_size, 'channels': config.channels,
          'layout': 'NHWC', 'value_range': [-1.0, 1.0]}


def _image_validate(config):
  from training import architectures
  architectures.validate_image_size(config.image_size)


def _image_write_samples(run_dir, step, samples, critic, config):
  del critic, config
  return rundir.save_sample_grid(run_dir, step, samples)


IMAGE = DataKind(
    name='image',
    matches=lambda dataset: not dataset.startswith(TOY_PREFIX),
    open=_image_open,
    pipeline=_image_pipeline,
    build_generator=lambda arch, config, policy: arch.build_generator(
        config.latent_dim, config.image_size, config.channels, config.width, policy,
        **arch_options(arch, config, 'generator')),
    build_critic=lambda arch, config, policy: arch.build_critic(
        config.image_size, config.channels, config.width, config.critic_norm, config.critic_input_dropout, policy,
        **arch_options(arch, config, 'critic')),
    shape_metadata=_image_metadata,
    rebuild=lambda arch, m: arch.build_generator(m['latent_dim'], m['image_height'], m['channels'], m['width'],
                                                 **m.get('arch_options', {})),
    write_samples=_image_write_samples,
    summary_images=lambda samples: (samples[:16] + 1.0) / 2.0,
    describe=lambda info, config: (f'{info.name}, {info.num_examples} images'
                                   f'{f" ({info.skipped} unreadable skipped)" if info.skipped else ""} -> '
                                   f'{config.image_size}x{config.image_size}x{info.channels}'),
    validate=lambda config: _image_validate(config),
)


# --- 2-D points (the WGAN-GP paper's toy distributions) ------------------------------------------------------

def toy_spec(dataset: str):
  """The training.toy_data spec of 'toy:NAME'; raises DatasetError naming the choices."""
  from training import toy_data
  name = dataset[len(TOY_PREFIX):]
  if name not in toy_data.TOY_DATASETS:
    from training.config import closest
    raise datasets.DatasetError(f'unknown toy dataset {name!r}{closest(name, toy_data.TOY_DATASETS)}; choose '
                                f'toy:{", toy:".join(toy_data.TOY_DATASETS)}')
  return toy_data.TOY_DATASETS[name]


def _points_open(config):
  spec = toy_spec(config.dataset)
  # The data is a function, not files: its "checksum" names the function (training/toy_data.py is in git).
  return spec, datasets.DatasetInfo(name=config.dataset, num_examples=0, channels=2, num_classes=0,
                                    checksum=f'function:training.toy_data.{spec.name}')


def _points_pipeline(spec, info, config, start_batch):
  """Batch b = spec.sample(numpy Generator seeded with (seed, b), B): fresh points every batch, as the
  original samples every iteration, and a resumed run continues the sequence exactly."""
  del info
  batch, seed = config.batch_size, config.seed

  def sample(index):
    return spec.sample(np.random.default_rng([seed, int(index)]), batch).astype(np.float32)

  def draw(index):
    points = tf.numpy_function(sample, [index], tf.float32, stateful=False)
    points.set_shape([batch, 2])
    return points  # (B, 2)

  return tf.data.Dataset.range(start_batch, 1 << 62).map(draw).prefetch(tf.data.AUTOTUNE)


def _points_write_samples(run_dir, step, samples, critic, config):
  from training import toy_plots
  spec = toy_spec(config.dataset)
  real = spec.sample(np.random.default_rng([config.seed, 1 << 30]), len(samples))  # the same real set every step
  path = os.path.join(run_dir, 'samples', f'step_{step:07d}.png')
  toy_plots.save_scatter(path, real, samples, critic, title=f'{config.loss}, {config.dataset}, step {step}')
  return path


POINTS = DataKind(
    name='points',
    matches=lambda dataset: dataset.startswith(TOY_PREFIX),
    open=_points_open,
    pipeline=_points_pipeline,
    build_generator=lambda arch, config, policy: arch.build_generator(config.latent_dim, 2, config.width,
                                                                      dtype_policy=policy),
    build_critic=lambda arch, config, policy: arch.build_critic(2, config.width, config.critic_norm,
                                                                config.critic_input_dropout, dtype_policy=policy),
    shape_metadata=lambda config: {'dims': 2},
    rebuild=lambda arch, m: arch.build_generator(m['latent_dim'], m['dims'], m['width']),
    write_samples=_points_write_samples,
    summary_images=lambda samples: None,
    describe=lambda info, config: f'{info.name}, fresh 2-D points every batch',
    validate=lambda config: None,  # --image_size and --flip do not apply to points and are ignored
)

# --- Text: one-hot characters (the WGAN-GP paper's language model) ---------------------------------------------

def text_corpus(dataset: str, config):
  """The training.text_data corpus of 'text:PATH' under the config's seq_len, max_vocab and text_unit."""
  from training import text_data
  try:
    return text_data.load_corpus(os.path.abspath(os.path.expanduser(dataset[len(TEXT_PREFIX):])), config.seq_len,
                                 config.max_vocab, config.text_unit)
  except text_data.TextError as e:
    raise datasets.DatasetError(str(e)) from None


def _text_open(config):
  corpus = text_corpus(config.dataset, config)
  return corpus, datasets.DatasetInfo(name=config.dataset, num_examples=len(corpus.train),
                                      channels=len(corpus.vocab), num_classes=0, checksum=corpus.checksum)


def _text_pipeline(corpus, info, config, start_batch):
  """Shuffled per epoch like images (training/input_pipeline.py), one-hot per batch: (B, seq_len, vocab)."""
  vocab = info.channels
  return input_pipeline.make_input_pipeline(
      tf.data.Dataset.from_tensor_slices(corpus.train), info, 1, config.batch_size, seed=config.seed, cache=True,
      batch_fn=lambda ids: tf.one_hot(ids, vocab, dtype=tf.float32), start_batch=start_batch)


def _text_metadata(config):
  corpus = text_corpus(config.dataset, config)
  return {'seq_len': config.seq_len, 'vocab': list(corpus.vocab), 'text_file': corpus.path, 'text_unit': config.text_unit,
          'max_vocab': config.max_vocab, 'layout': 'NLV', 'value_range': [0.0, 1.0]}


def _text_write_samples(run_dir, step, samples, critic, config):
  """samples/step_N.txt: the argmax decoding of the fixed latents' probabilities, one line each."""
  del critic
  corpus = text_corpus(config.dataset, config)
  path = os.path.join(run_dir, 'samples', f'step_{step:07d}.txt')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w', encoding='utf-8') as f:
    f.write('\n'.join(corpus.decode(np.argmax(samples, axis=-1))) + '\n')
  return path


TEXT = DataKind(
    name='text',
    matches=lambda dataset: dataset.startswith(TEXT_PREFIX),
    open=_text_open,
    pipeline=_text_pipeline,
    build_generator=lambda arch, config, policy: arch.build_generator(config.latent_dim, config.seq_len,
                                                                      config.channels, config.width, policy),
    build_critic=lambda arch, config, policy: arch.build_critic(config.seq_len, config.channels, config.width,
                                                                config.critic_norm, config.critic_input_dropout,
                                                                policy),
    shape_metadata=_text_metadata,
    rebuild=lambda arch, m: arch.build_generator(m['latent_dim'], m['seq_len'], len(m['vocab']), m['width']),
    write_samples=_text_write_samples,
    summary_images=lambda samples: None,
    describe=lambda info, config: (f'{info.name}, {info.num_examples} {config.text_unit}s of {config.seq_len} '
                                   f'characters, vocabulary {info.channels}'),
    validate=lambda config: None,
)

KINDS = {kind.name: kind for kind in (POINTS, TEXT, IMAGE)}  # first match wins: the image kind takes the rest


def kind_of(dataset: str) -> DataKind:
  return next(kind for kind in KINDS.values() if kind.matches(dataset))

