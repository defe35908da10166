"""The one frozen configuration of a training run, and how loss-family defaults fill it in.

`training/main.py` builds a `TrainConfig` from flags; nothing below it reads flags. Fields left as None take
the defaults of the chosen loss family (`training.losses.LOSSES`), so `--loss=wgan` alone gives RMSProp 5e-5,
five critic steps and clipping at 0.01, as in the paper.
"""

import dataclasses
import json
from typing import Optional

from training import architectures, losses


class ConfigError(ValueError):
  """An invalid combination of settings; the message is one line for the user (exit code 2)."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  # What to train
  loss: str = 'wgan_gp'  # key of training.losses.LOSSES
  arch: str = 'dcgan'  # key of training.architectures.ARCHITECTURES
  dataset: str = 'digits'  # 'digits', a TFDS name, or 'folder:PATH'
  data_dir: Optional[str] = None  # TFDS data_dir
  manual_dir: Optional[str] = None  # original archives for TFDS, read offline
  image_size: int = 32  # power of two, 16..128
  channels: int = 0  # set from the dataset
  latent_dim: int = 128
  width: int = 32  # base channel count: the 4x4 projection has 8·width channels
  flip: bool = False  # random horizontal flips of real images
  # Optimisation (None: the loss family's default)
  batch_size: int = 64  # global batch, split over replicas
  steps: int = 2000  # generator updates
  n_critic: Optional[int] = None
  g_learning_rate: Optional[float] = None
  d_learning_rate: Optional[float] = None
  beta_1: Optional[float] = None
  beta_2: Optional[float] = None
  gp_weight: Optional[float] = None
  clip_value: Optional[float] = None
  wgan_critic_schedule: bool = False  # 100 critic steps for the first 25 G steps and every 500th
  critic_norm: Optional[str] = None  # 'batch' | 'layer' | 'none'
  critic_input_dropout: float = 0.0
  lsgan_labels: tuple = (0.0, 1.0, 1.0)  # a, b, c of Mao et al. 2017
  label_smoothing: float = 0.0  # DCGAN one-sided label smoothing s: real targets 1 - s
  label_flip: float = 0.0  # DCGAN probability of flipping a real label to 0
  gp_every: int = 1  # lazy penalty: on every k-th critic update only, its weight scaled to keep the average
  fuse_critic: bool = True  # real and fake through the critic as one batch (not with a BatchNorm critic)
  ema_decay: float = 0.999  # generator EMA that is sampled, judged and exported (training/ema.py); 0: off
  # Execution
  strategy: str = 'auto'
  mixed_precision: bool = False
  jit: bool = False
  seed: int = 0
  # Run directory
  run_dir: str = ''
  ckpt_every: int = 500
  keep_checkpoints: int = 3
  sample_every: int = 100
  log_every: int = 10
  num_samples: int = 64  # fixed latents in the sample grid
  # Evaluation on the dataset's judge (evaluation/plugin.py, built by main); the best by FCD goes to <run_dir>/best
  eval_every: int = 0  # generator steps between evaluations; 0: never
  eval_samples: int = 1000  # generated images per evaluation, and held-out floor images scored alike

  @property
  def family(self) -> losses.GANLoss:
    return losses.LOSSES[self.loss]

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + '\n'

  @classmethod
  def from_json(cls, text: str) -> 'TrainConfig':
    values = json.loads(text)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
      raise ConfigError(f'config.json has settings this version does not know: {", ".join(unknown)}')
    if 'lsgan_labels' in values:
      values['lsgan_labels'] = tuple(values['lsgan_labels'])
    return cls(**values)


def resolve(config: TrainConfig) -> TrainConfig:
  """Validates `config` and fills every None with the loss family's default. Raises ConfigError."""
  if config.loss not in losses.LOSSES:
    raise ConfigError(f'unknown --loss {config.loss!r}; choose one of {", ".join(losses.LOSSES)}')
  if config.arch not in architectures.ARCHITECTURES:
    raise ConfigError(f'unknown --arch {config.arch!r}; choose one of {", ".join(architectures.ARCHITECTURES)}')
  try:
    architectures.validate_image_size(config.image_size)
  except ValueError as e:
    raise ConfigError(str(e)) from None
  family = config.family
  opt = family.optimizer
  config = dataclasses.replace(
      config,
      n_critic=family.n_critic if config.n_critic is None else config.n_critic,
      g_learning_rate=opt.learning_rate if config.g_learning_rate is None else config.g_learning_rate,
      d_learning_rate=opt.learning_rate if config.d_learning_rate is None else config.d_learning_rate,
      beta_1=opt.beta_1 if config.beta_1 is None else config.beta_1,
      beta_2=opt.beta_2 if config.beta_2 is None else config.beta_2,
      gp_weight=family.gradient_penalty_weight if config.gp_weight is None else config.gp_weight,
      clip_value=family.clip_value if config.clip_value is None else config.clip_value,
      critic_norm=family.critic_norm if config.critic_norm is None else config.critic_norm,
  )
  if config.critic_norm not in family.allowed_critic_norms:
    raise ConfigError(f'--critic_norm={config.critic_norm} is not allowed with --loss={config.loss}; '
                      f'choose one of {", ".join(family.allowed_critic_norms)}')
  checks = [
      (config.batch_size >= 1, f'--batch_size must be >= 1, got {config.batch_size}'),
      (config.steps >= 1, f'--steps must be >= 1, got {config.steps}'),
      (config.n_critic >= 1, f'--n_critic must be >= 1, got {config.n_critic}'),
      (config.latent_dim >= 1, f'--latent_dim must be >= 1, got {config.latent_dim}'),
      (config.width >= 1, f'--width must be >= 1, got {config.width}'),
      (min(config.ckpt_every, config.sample_every, config.log_every) >= 1,
       '--ckpt_every, --sample_every and --log_every must be >= 1'),
      (config.keep_checkpoints >= 1, '--keep_checkpoints must be >= 1'),
      (1 <= config.num_samples <= 256, '--num_samples must be in 1..256'),
      (config.eval_every >= 0, f'--eval_every must be >= 0 (0: never), got {config.eval_every}'),
      (config.eval_samples >= 2, f'--eval_samples must be >= 2, got {config.eval_samples}'),
      (config.g_learning_rate > 0 and config.d_learning_rate > 0, 'learning rates must be > 0'),
      (0 <= config.critic_input_dropout < 1, '--critic_input_dropout must be in [0, 1)'),
      (0 <= config.label_smoothing < 1, '--label_smoothing must be in [0, 1)'),
      (0 <= config.label_flip < 1, '--label_flip must be in [0, 1)'),
      (0 <= config.ema_decay < 1, f'--ema_decay must be in [0, 1) (0: no EMA), got {config.ema_decay}'),
      (config.gp_every >= 1, f'--gp_every must be >= 1, got {config.gp_every}'),
      (config.gp_every == 1 or config.gp_weight > 0, '--gp_every applies only with a gradient penalty (--gp_weight > 0)'),
      (config.gp_weight >= 0, '--gp_weight must be >= 0'),
      (config.clip_value is None or config.clip_value > 0, '--clip_value must be > 0'),
      (len(config.lsgan_labels) == 3, '--lsgan_labels takes three numbers a,b,c'),
      (config.lsgan_labels[1] != config.lsgan_labels[0], '--lsgan_labels: b (real target) must differ from a'),
  ]
  for ok, message in checks:
    if not ok:
      raise ConfigError(message)
  if config.wgan_critic_schedule and config.loss not in ('wgan', 'wgan_gp'):
    raise ConfigError('--wgan_critic_schedule applies to --loss=wgan or wgan_gp only')
  if (config.label_smoothing or config.label_flip) and config.loss != 'dcgan':
    raise ConfigError('--label_smoothing and --label_flip apply to --loss=dcgan only')
  return config


def n_critic_at(config: TrainConfig, step: int) -> int:
  """Critic updates before generator update `step` (0-based).

  With --wgan_critic_schedule: 100 for the first 25 generator steps and every 500th, as in the WGAN reference
  code, so the critic stays near optimal while the generator is still moving fast.
  """
  if config.wgan_critic_schedule and (step < 25 or step % 500 == 0):
    return 100
  return config.n_critic
