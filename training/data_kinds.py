"""Data kinds: what the trainer and generator_io need to know about the shape of the data, one record per kind
keyed by its name in common/kinds.py (the other stages keep their own per-kind tables under the same names).

The pipeline began with images only; the WGAN-GP paper's toy experiments train on 2-D points (and its language
model on one-hot text, data/text_data.py). Everything that depended on "an image" is here, once, per kind:

  open(config)                      -> (source, DatasetInfo): the data, before the run knows its start step
  pipeline(source, info, config, start_batch)
                                    -> endless batches of real samples, (B, ...) float32, batch b a function of
                                       (seed, b) so that a resumed run continues the same sequence
  build_generator / build_critic    call the architecture's builders with this kind's shape arguments
  signature(config)                 the generator signature (common/signature.py): what it takes and gives
  shape_metadata(config)            the fields of generator.json beyond the signature's (a text run's file)
  rebuild(arch, metadata)           the generator again, from generator.json
  write_samples(...)                the fixed-sample picture of a step: an image grid, or the paper's scatter of
                                    real and generated points over the critic's contours
  defaults, loss_defaults           what the kind brings for the settings a user does not give (issue 23:
                                    `--dataset=toy:25gaussians` alone trains gan_toy.py's MLP with its settings),
                                    applied by training/launch.py, the one launch path
  own_settings                      the settings that apply to this kind only: training/config.py `resolve`
                                    refuses another value than the field's default for the other kinds

So a new kind is one DataKind here (and one entry in each other stage's table). The gradient penalty takes its α
shape and norm axes from the rank of the batch (training/losses.py), and every architecture names its kind
(training/architectures.py), so nothing else branches on the kind.
"""

import dataclasses
import os
from typing import Callable

import numpy as np
from absl import logging
import tensorflow as tf

from common import artifacts, cli, kinds, labels, signature as signature_lib
from data import datasets, decode, folder_split, input_pipeline, text_data, toy_data
from training import conditioning, run_dir as rundir, spectral_norm
from training.architectures import arch_options


@dataclasses.dataclass(frozen=True)
class DataKind:
  name: str  # common.kinds
  open: Callable
  pipeline: Callable
  build_generator: Callable
  build_critic: Callable
  signature: Callable  # config -> common.signature.GeneratorSignature
  shape_metadata: Callable  # config -> generator.json fields beyond the signature's
  rebuild: Callable
  write_samples: Callable
  summary_images: Callable  # samples -> (N, H, W, C) in [0, 1] for TensorBoard, or None
  describe: Callable  # (DatasetInfo, config) -> what the trainer's start-up line says about the data
  validate: Callable  # config -> None, or ValueError with a one-line reason (the image size, ...)
  # {setting: value} the kind brings with every loss, and {loss: {setting: value}} with that loss only (settings
  # of its family), for the settings a user does not give. Precedence, highest first: the settings given (a
  # flagfile's count as given), these, the loss family's defaults (resolve), the TrainConfig fields' defaults.
  defaults: dict
  loss_defaults: dict
  own_settings: tuple  # TrainConfig settings for this kind's data only (any kind's, when no kind names them)

  def defaults_for(self, loss: str) -> dict:
    """{setting: value} this kind brings with `loss`, before any given setting is taken into account."""
    return {**self.defaults, **self.loss_defaults.get(loss, {})}


# --- Images ----------------------------------------------------------------------------------------------------

def _image_open(config):
  """(images, info), or ((image, label) pairs, info) for a conditional run, refused where there are no two classes."""
  images, info = datasets.load_images(config.dataset, config.image_size, split='train', data_dir=config.data_dir,
                                      manual_dir=config.manual_dir, alpha_background=config.alpha_background,
                                      with_labels=conditioning.is_conditional(config))  # data_classes: not yet
  if conditioning.is_conditional(config) and len(info.class_names) < 2:
    raise datasets.DatasetError(f'--conditioning={config.conditioning} needs at least 2 classes; {info.name} has '
                                f'{len(info.class_names)} ({", ".join(info.class_names)}): pass --conditioning=none')
  fake_labels = getattr(config, 'fake_labels', 'data') if conditioning.is_conditional(config) else None
  for line in class_warnings(info.class_names, info.class_counts, fake_labels):
    logging.warning('%s: %s', info.name, line)
  return images, info


SMALL_CLASS = 20  # images; a folder judge's held-out parts (15 % each) would hold ~3 of such a class, it needs 5
IMBALANCE = 50  # largest class / smallest
_NAMED_CLASSES = 10  # classes a warning names; the rest are counted


def class_warnings(class_names, class_counts, fake_labels=None) -> list:
  """Start-up warnings about a labelled data set's classes, one line each: classes below SMALL_CLASS images, and
  an imbalance above IMBALANCE:1 with what --fake_labels does about it. fake_labels: the run's setting, None for
  an unconditional run. [] where the counts are unknown (TFDS, digits: only folders count their classes)."""
  counts = dict(zip(class_names, class_counts))
  if not counts:
    return []
  lines = []
  small = [f'{name} {count}' for name, count in counts.items() if count < SMALL_CLASS]
  if small:
    verb = 'holds' if len(small) == 1 else 'hold'
    lines.append(f'{len(small)} of {len(counts)} classes {verb} fewer than {SMALL_CLASS} images ({_named(small)}): '
                 f'too few for --conditioning to learn such a class, or for a folder judge to measure it (its '
                 f'held-out parts need {folder_split.DEFAULT_MIN_PER_PART} of each class); add images, or move the '
                 f'folder out')
  largest, smallest = max(counts, key=counts.get), min(counts, key=counts.get)
  ratio = counts[largest] / counts[smallest]
  if ratio > IMBALANCE:
    advice = _imbalance_advice(fake_labels, smallest, sum(counts.values()), counts[smallest])
    lines.append(f'its classes are imbalanced {ratio:.0f}:1 ({largest} {counts[largest]}, {smallest} '
                 f'{counts[smallest]}): {advice}')
  return lines


def _imbalance_advice(fake_labels, smallest: str, total: int, fewest: int) -> str:
  """What the generator is asked for under each --fake_labels (training/conditioning.py FAKE_LABELS)."""
  share = f'about 1 of every {total / fewest:.0f}'
  if fake_labels is None:
    return (f"the generator, unconditioned, learns the data's mixture: at best {share} samples will be {smallest}; "
            f'with --conditioning, --fake_labels=uniform asks the generator for every class equally often')
  if fake_labels == 'uniform':
    return (f'--fake_labels=uniform asks the generator for every class equally often, but {smallest} is only '
            f'{share} real images the critic sees, so the critic judges that class from few examples')
  return (f"--fake_labels={fake_labels} asks the generator for classes at the data's frequencies, {smallest} for "
          f'{share} samples of an update; --fake_labels=uniform asks for every class equally often (the critic '
          f"still sees real images at the data's frequencies)")


def _named(items: list) -> str:
  return cli.listed(items, _NAMED_CLASSES)


def _image_pipeline(images, info, config, start_batch):
  return input_pipeline.make_input_pipeline(images, info, config.image_size, config.batch_size, seed=config.seed,
                                            flip=config.flip, start_batch=start_batch)


def _image_validate(config):
  from training import architectures
  architectures.validate_image_size(config.image_size)
  decode.parse_background(config.alpha_background)  # ValueError: one line naming --alpha_background


def _image_metadata(config) -> dict:
  """What generator.json says of an image run beyond its signature: a folder run's --alpha_background, what its
  images' transparent pixels were composited over, which the folder's judge must share for the comparison to mean
  anything (evaluation.folder_judge.check_background); a conditional run's --conditioning, how its label input
  was trained (the signature's label_classes names the classes)."""
  background = getattr(config, 'alpha_background', None)
  fields = {'alpha_background': background} if background and config.dataset.startswith('folder:') else {}
  if conditioning.num_classes(config):
    fields['conditioning'] = config.conditioning
  return fields


def _image_describe(info, config) -> str:
  """'folder:/x, 7562 images in 9 classes (activities 170, ...) -> 64x64x3', with the skipped and upscaled."""
  classes = ''
  if info.class_names:
    counts = ', '.join(f'{name} {count}' for name, count in zip(info.class_names, info.class_counts))
    classes = f' in {len(info.class_names)} classes' + (f' ({counts})' if counts else '')
  if conditioning.num_classes(config):
    classes += f'; conditional ({config.conditioning}) on its labels'
  notes = [f'{count} {text}' for count, text in ((info.skipped, 'unreadable skipped'), (info.upscaled, 'upscaled'))
           if count]
  notes = f' ({", ".join(notes)})' if notes else ''
  return (f'{info.name}, {info.num_examples} images{classes}{notes} -> '
          f'{config.image_size}x{config.image_size}x{info.channels}')


def _image_write_samples(run_dir, step, samples, critic, config):
  """The grid of the fixed samples; a conditional run's has one row per class (common.labels.grid_labels), each named
  on its left."""
  del critic
  classes = conditioning.num_classes(config)
  columns = labels.grid_columns(config.num_samples, classes) if classes else None
  return rundir.save_sample_grid(run_dir, step, samples, cols=columns,
                                 row_names=config.data_classes if classes else ())


def _image_build_generator(arch, config, policy):
  return conditioning.build_generator(lambda: arch.build_generator(
      config.latent_dim, config.image_size, config.channels, config.width, policy,
      **arch_options(arch, config, 'generator')), arch, config)


def _image_build_critic(arch, config, policy):
  """The architecture's critic with the conditioning mode's head; under --critic_norm=spectral the builder makes it
  unnormalised and every Conv2D and Dense, the head's too (Miyato & Koyama 2018 normalise the projection's
  embedding), is then spectrally normalised (training/spectral_norm.py)."""
  critic = arch.build_critic(config.image_size, config.channels, config.width,
                             spectral_norm.builder_norm(config.critic_norm), config.critic_input_dropout, policy,
                             **arch_options(arch, config, 'critic'))
  mode = conditioning.CONDITIONINGS[getattr(config, 'conditioning', conditioning.NONE)]
  return spectral_norm.apply(mode.wrap_critic(critic, len(config.data_classes)), config.critic_norm)


def _image_signature(config):
  """A conditional run's generator takes its data's classes as its label input (common/signature.py)."""
  # getattr: tests and benchmarks build image generators from plain namespaces without data classes
  data_classes = getattr(config, 'data_classes', ())
  return signature_lib.image(config.latent_dim, config.image_size, config.channels, data_classes,
                             label_classes=data_classes if conditioning.num_classes(config) else ())


def _image_rebuild(arch, m):
  options = m.get('arch_options', {})
  with conditioning.generator_scope(arch, options, signature_lib.GeneratorSignature.from_metadata(m).num_classes):
    return arch.build_generator(m['latent_dim'], m['image_height'], m['channels'], m['width'], **options)


IMAGE = DataKind(
    name=kinds.IMAGE,
    open=_image_open,
    pipeline=_image_pipeline,
    build_generator=_image_build_generator,
    build_critic=_image_build_critic,
    signature=_image_signature,
    shape_metadata=lambda config: _image_metadata(config),
    rebuild=_image_rebuild,
    write_samples=_image_write_samples,
    summary_images=lambda samples: (samples[:16] + 1.0) / 2.0,
    describe=_image_describe,
    validate=lambda config: _image_validate(config),
    defaults={},  # images bring nothing: the fields' defaults are theirs
    loss_defaults={},
    own_settings=('alpha_background', 'augment', 'conditioning', 'fake_labels', 'acgan_weight',
                  'acgan_generator_weight'),
)


# --- 2-D points (the WGAN-GP paper's toy distributions) ------------------------------------------------------

def _points_open(config):
  spec = toy_data.spec_of(config.dataset)
  # The data is a function, not files: its "checksum" names the function (data/toy_data.py is in git).
  return spec, datasets.DatasetInfo(name=config.dataset, num_examples=0, channels=2, num_classes=0,
                                    checksum=f'function:data.toy_data.{spec.name}')


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
  from data import toy_plots
  spec = toy_data.spec_of(config.dataset)
  real = spec.sample(np.random.default_rng([config.seed, 1 << 30]), len(samples))  # the same real set every step
  path = os.path.join(run_dir, artifacts.SAMPLES_DIR, f'step_{step:07d}.png')
  toy_plots.save_scatter(path, real, samples, critic, title=f'{config.loss}, {config.dataset}, step {step}')
  return path


POINTS = DataKind(
    name=kinds.POINTS,
    open=_points_open,
    pipeline=_points_pipeline,
    build_generator=lambda arch, config, policy: arch.build_generator(config.latent_dim, 2, config.width,
                                                                      dtype_policy=policy),
    build_critic=lambda arch, config, policy: arch.build_critic(2, config.width, config.critic_norm,
                                                                config.critic_input_dropout, dtype_policy=policy),
    signature=lambda config: signature_lib.points(config.latent_dim, 2),
    shape_metadata=lambda config: {},
    rebuild=lambda arch, m: arch.build_generator(m['latent_dim'], m['dims'], m['width']),
    write_samples=_points_write_samples,
    summary_images=lambda samples: None,
    describe=lambda info, config: f'{info.name}, fresh 2-D points every batch',
    validate=lambda config: None,  # --image_size and --flip do not apply to points and are ignored
    # gan_toy.py (igul222/improved_wgan_training): a 4-layer ReLU MLP of DIM=512 for both networks, 2-D noise,
    # BATCH_SIZE=256, CRITIC_ITERS=5 (the wgan and wgan_gp families' own n_critic), and for WGAN-GP LAMBDA=.1 with
    # Adam(1e-4, beta1=0.5, beta2=0.9). No weight averaging in the paper; 256 points in each scatter plot.
    defaults=dict(arch='mlp', latent_dim=2, width=512, batch_size=256, ema_decay=0.0, num_samples=256),
    loss_defaults={'wgan_gp': dict(gp_weight=0.1, beta_1=0.5, beta_2=0.9)},
    own_settings=(),
)

# --- Text: one-hot characters (the WGAN-GP paper's language model) ---------------------------------------------

def text_corpus(config):
  """The corpus of the config's 'text:PATH' under its seq_len, max_vocab and text_unit."""
  return text_data.corpus_of(config.dataset, config.seq_len, config.max_vocab, config.text_unit)


def _text_open(config):
  corpus = text_corpus(config)
  return corpus, datasets.DatasetInfo(name=config.dataset, num_examples=len(corpus.train),
                                      channels=len(corpus.vocab), num_classes=0, checksum=corpus.checksum)


def _text_pipeline(corpus, info, config, start_batch):
  """Shuffled per epoch like images (data/input_pipeline.py), one-hot per batch: (B, seq_len, vocab)."""
  vocab = info.channels
  return input_pipeline.make_input_pipeline(
      tf.data.Dataset.from_tensor_slices(corpus.train), info, 1, config.batch_size, seed=config.seed, cache=True,
      batch_fn=lambda ids: tf.one_hot(ids, vocab, dtype=tf.float32), start_batch=start_batch)


def _text_metadata(config):
  """Which file and settings made the vocabulary: evaluation rebuilds the held-out reference from them."""
  return {'text_file': text_corpus(config).path, 'text_unit': config.text_unit, 'max_vocab': config.max_vocab}


def _text_write_samples(run_dir, step, samples, critic, config):
  """samples/step_N.txt: the argmax decoding of the fixed latents' probabilities, one line each."""
  del critic
  corpus = text_corpus(config)
  path = os.path.join(run_dir, artifacts.SAMPLES_DIR, f'step_{step:07d}.txt')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w', encoding='utf-8') as f:
    f.write('\n'.join(corpus.decode(np.argmax(samples, axis=-1))) + '\n')
  return path


TEXT = DataKind(
    name=kinds.TEXT,
    open=_text_open,
    pipeline=_text_pipeline,
    build_generator=lambda arch, config, policy: arch.build_generator(config.latent_dim, config.seq_len,
                                                                      config.channels, config.width, policy),
    build_critic=lambda arch, config, policy: arch.build_critic(config.seq_len, config.channels, config.width,
                                                                config.critic_norm, config.critic_input_dropout,
                                                                policy),
    signature=lambda config: signature_lib.text(config.latent_dim, config.seq_len, text_corpus(config).vocab),
    shape_metadata=_text_metadata,
    rebuild=lambda arch, m: arch.build_generator(m['latent_dim'], m['seq_len'], len(m['vocab']), m['width']),
    write_samples=_text_write_samples,
    summary_images=lambda samples: None,
    describe=lambda info, config: (f'{info.name}, {info.num_examples} {config.text_unit}s of {config.seq_len} '
                                   f'characters, vocabulary {info.channels}'),
    validate=lambda config: None,
    # gan_language.py: a 1-D ResNet of 5 residual blocks each side, SEQ_LEN=32 (the seq_len field's default),
    # BATCH_SIZE=64 (the field's default), CRITIC_ITERS=10 and Adam(1e-4, 0.5, 0.9) with LAMBDA=10 (the wgan_gp
    # family's). DIM is 512 there; 128 here, the text preset's measured CPU choice (docs/text.md).
    defaults=dict(arch='resnet1d', width=128, ema_decay=0.0),
    loss_defaults={'wgan_gp': dict(n_critic=10, beta_1=0.5, beta_2=0.9)},
    own_settings=('seq_len', 'max_vocab', 'text_unit', 'gumbel_softmax', 'straight_through', 'tau', 'tau_min',
                  'tau_decay', 'tau_every'),
)

KINDS = {kind.name: kind for kind in (IMAGE, POINTS, TEXT)}


def kind_of(dataset: str) -> DataKind:
  return KINDS[kinds.of_dataset(dataset)]


def owners_of(setting: str) -> tuple:
  """The names of the kinds whose data alone `setting` applies to (their own_settings); () for every kind's."""
  return tuple(kind.name for kind in KINDS.values() if setting in kind.own_settings)

