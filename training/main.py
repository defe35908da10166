r"""Trains a GAN generator: `python -m training.main --loss=wgan_gp`.

Examples:
  python -m training.main --loss=wgan_gp                                    # embedded digits dataset
  python -m training.main --flagfile=training/presets/digits.flags          # the demo recipe
  python -m training.main --loss=wgan --dataset=fashion_mnist --manual_dir=../shared/data/fashion_mnist
  python -m training.main --loss=lsgan --dataset=folder:~/food-101/images/spaghetti_bolognese
  python -m training.main --run_dir=runs/wgan_gp-digits-20261123-101500 --resume --steps=4000
"""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # entry point only: TF's C++ start-up chatter

from absl import app, flags, logging

from training import architectures, losses, strategies
from training.config import ConfigError, TrainConfig, resolve

_D = TrainConfig()  # the defaults, in one place
FLAGS = flags.FLAGS

# What to train
flags.DEFINE_enum('loss', _D.loss, list(losses.LOSSES), 'GAN loss family; sets the optimizer, n_critic, '
                  'penalty/clipping and critic normalisation defaults of its paper.')
flags.DEFINE_enum('arch', _D.arch, list(architectures.ARCHITECTURES), 'Generator/critic architecture.')
flags.DEFINE_string('dataset', _D.dataset, "'digits' (embedded, offline), a TFDS name (mnist, fashion_mnist, "
                    "cifar10, celeb_a, tf_flowers, ...) or folder:PATH of JPEG/PNG files.")
flags.DEFINE_string('data_dir', None, 'TFDS data directory (default: ~/tensorflow_datasets).')
flags.DEFINE_string('manual_dir', None, 'Directory with the original archives of a TFDS dataset, read offline.')
flags.DEFINE_integer('image_size', _D.image_size, 'Square image size: 16, 32, 64, 128, or 28, 56, 112 (native '
                     'MNIST-like geometry, 7 -> 14 -> 28); 28x28 data is padded to 32 for the other sizes.')
flags.DEFINE_integer('latent_dim', _D.latent_dim, 'Size of the latent vector z.')
flags.DEFINE_integer('width', _D.width, 'Base channel count; the 4x4 projection has 8*width channels.')
flags.DEFINE_bool('flip', _D.flip, 'Random horizontal flips of the real images.')
# Optimisation (unset: the loss family's default)
flags.DEFINE_integer('batch_size', _D.batch_size, 'Global batch size, split over replicas.')
flags.DEFINE_integer('steps', _D.steps, 'Generator updates to train for (in total, when resuming).')
flags.DEFINE_integer('n_critic', None, 'Critic updates per generator update (default: 1 dcgan/lsgan, 5 wgan*).')
flags.DEFINE_float('g_learning_rate', None, 'Generator learning rate (default: the family\'s).')
flags.DEFINE_float('d_learning_rate', None, 'Critic learning rate (default: the family\'s).')
flags.DEFINE_float('beta_1', None, 'Adam beta_1 (default: .5 dcgan/lsgan, 0 wgan_gp).')
flags.DEFINE_float('beta_2', None, 'Adam beta_2 (default: .999 dcgan/lsgan, .9 wgan_gp).')
flags.DEFINE_float('gp_weight', None, 'Gradient-penalty weight lambda (default 10 for wgan_gp, else 0).')
flags.DEFINE_float('clip_value', None, 'WGAN weight clipping c (default .01 for wgan).')
flags.DEFINE_bool('wgan_critic_schedule', _D.wgan_critic_schedule, '100 critic steps for the first 25 '
                  'generator steps and every 500th (WGAN reference code).')
flags.DEFINE_enum('critic_norm', None, ['batch', 'layer', 'none'], 'Critic normalisation (default: batch, '
                  'or layer for wgan_gp, which never allows batch).')
flags.DEFINE_float('critic_input_dropout', _D.critic_input_dropout, 'Dropout on the critic input (MATLAB '
                   'DCGAN example: 0.5).')
flags.DEFINE_list('lsgan_labels', ['0', '1', '1'], 'LSGAN targets a,b,c (fake, real, generator); -1,1,0 '
                  'is the Pearson chi^2 setting.')
flags.DEFINE_float('label_smoothing', _D.label_smoothing, 'DCGAN one-sided label smoothing s (real target 1-s).')
flags.DEFINE_float('label_flip', _D.label_flip, 'DCGAN probability of flipping a real label (MATLAB: 0.35).')
flags.DEFINE_integer('gp_every', _D.gp_every, 'Lazy penalty: compute the gradient penalty on every k-th critic '
                     'update only, weighted so its average strength stays lambda (StyleGAN2\'s lazy regularisation).')
flags.DEFINE_bool('fuse_critic', _D.fuse_critic, 'Score real and fake images in one critic call (exact for '
                  'per-example normalisation; ignored with a BatchNorm critic, whose statistics would mix them).')
flags.DEFINE_float('ema_decay', _D.ema_decay, 'Decay of the generator EMA that grids, --eval_every, best/ and '
                   'export use (half-life ln2/(1-d) steps; 0.999: ~690); 0: use the trained weights.')
# Execution
flags.DEFINE_enum('strategy', _D.strategy, list(strategies.STRATEGIES), 'tf.distribute strategy; auto: '
                  'MirroredStrategy over visible GPUs, else one device.')
flags.DEFINE_integer('cpu_replicas', 0, 'Split the CPU into this many logical devices (for mirrored on CPU).')
flags.DEFINE_bool('mixed_precision', _D.mixed_precision, 'Mixed precision (float16 on GPU, bfloat16 on CPU); '
                  'losses and penalty stay float32.')
flags.DEFINE_bool('jit', _D.jit, 'XLA-compile the loss and gradient computation.')
flags.DEFINE_integer('seed', _D.seed, 'Seed of weights, latents and data order.')
# Run directory
flags.DEFINE_string('run_dir', None, 'Run directory (default: runs/<loss>-<dataset>-<time>).')
flags.DEFINE_bool('resume', False, 'Continue the run in --run_dir from its latest checkpoint.')
flags.DEFINE_integer('ckpt_every', _D.ckpt_every, 'Checkpoint (and generator export) every N steps.')
flags.DEFINE_integer('keep_checkpoints', _D.keep_checkpoints, 'Checkpoints kept.')
flags.DEFINE_integer('sample_every', _D.sample_every, 'Sample grid of the fixed latents every N steps.')
flags.DEFINE_integer('log_every', _D.log_every, 'Scalars to TensorBoard and metrics.csv every N steps.')
flags.DEFINE_integer('num_samples', _D.num_samples, 'Images in the sample grid.')
# Evaluation
flags.DEFINE_integer('eval_every', _D.eval_every, 'Score the generator on the dataset\'s judge (evaluation/: '
                     'FCD, KID, precision/recall, coverage, copy check) every N steps into eval.csv and '
                     'TensorBoard, keeping the best by FCD in <run_dir>/best; 0: never.')
flags.DEFINE_integer('eval_samples', _D.eval_samples, 'Generated images per evaluation, and held-out floor images '
                     'scored alike (both against the whole reference split); FCD needs more than the judge\'s '
                     '128 features. Compare FCDs only at equal counts.')

# Settings a resumed run may change; every other one is fixed by the run's config.json.
_RESUMABLE = ('steps', 'ckpt_every', 'keep_checkpoints', 'sample_every', 'log_every', 'strategy', 'jit',
              'data_dir', 'manual_dir', 'eval_every', 'eval_samples')
_NOT_CONFIG = ('resume', 'cpu_replicas')


class UsageError(Exception):
  pass


def _make_evaluator(config: TrainConfig):
  """The judge's evaluator for --eval_every (evaluation/plugin.py), built before the run directory exists: a
  dataset without a judge, or too few --eval_samples, is a usage error before any training."""
  from evaluation import plugin
  from evaluation.images import EvaluationError
  from evaluation.judge import JudgeError
  try:
    return plugin.JudgeEvaluator(config.dataset, config.run_dir, config.eval_samples, config.data_dir,
                                 config.manual_dir)
  except (JudgeError, EvaluationError) as e:
    raise ConfigError(f'--eval_every: {e}') from None


def _config_from_flags() -> TrainConfig:
  values = {name: FLAGS[name].value for name in TrainConfig.__dataclass_fields__ if name in FLAGS}
  try:
    values['lsgan_labels'] = tuple(float(v) for v in FLAGS.lsgan_labels)
  except ValueError:
    raise UsageError(f'--lsgan_labels takes three numbers a,b,c, got {",".join(FLAGS.lsgan_labels)}') from None
  values['run_dir'] = FLAGS.run_dir or ''
  return TrainConfig(**values)


def _resumed_config(run_dir: str) -> TrainConfig:
  from training import run_dir as rundir
  saved = TrainConfig.from_json(rundir.read_config_text(run_dir))
  changes = {}
  for name in TrainConfig.__dataclass_fields__:
    if name in FLAGS and FLAGS[name].present and name != 'run_dir':
      value = _config_from_flags().__getattribute__(name)
      if name in _RESUMABLE:
        changes[name] = value
      elif value != getattr(saved, name):
        raise UsageError(f'--{name} cannot change when resuming (the run has {getattr(saved, name)!r})')
  import dataclasses
  return dataclasses.replace(saved, run_dir=run_dir, **changes)


def main(argv):
  if len(argv) > 1:
    print(f'error: unexpected arguments: {" ".join(argv[1:])}', file=sys.stderr)
    return 2
  logging.set_verbosity(logging.WARNING)  # TF's Python INFO lines (checkpoint sharding, ...) drown the progress
  from training import run_dir as rundir, trainer, datasets, generator_io
  try:
    if FLAGS.cpu_replicas:
      strategies.split_cpu(FLAGS.cpu_replicas)
    if FLAGS.resume:
      if not FLAGS.run_dir:
        raise UsageError('--resume needs --run_dir')
      config = _resumed_config(FLAGS.run_dir)
    else:
      config = _config_from_flags()
      if not config.run_dir:
        import dataclasses
        config = dataclasses.replace(config, run_dir=rundir.default_name(config.loss, config.dataset))
    config = resolve(config)
    evaluator = _make_evaluator(config) if config.eval_every else None
    trainer.train(config, resume=FLAGS.resume, evaluator=evaluator)
  except (UsageError, ConfigError, strategies.StrategyError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  except (datasets.DatasetError, generator_io.RunDirError, trainer.TrainingError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2 if isinstance(e, datasets.DatasetError) else 1
  return 0


def _parse_flags(argv):
  # absl exits 1 with a page of usage on a bad flag; a usage error here is one line and exit code 2.
  try:
    return FLAGS(argv)
  except flags.Error as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
  app.run(main, flags_parser=_parse_flags)
