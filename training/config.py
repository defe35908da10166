"""The one source of every training setting, and how loss-family defaults fill it in.

Each `TrainConfig` field carries, in its metadata, the help text, the unit or range, the choices, and whether a
resumed run may change it (`setting(...)`). `training/main.py` generates the absl flags from these fields, the
presets are flagfiles of the same names, `resolve` checks the ranges, and a resume compares against the same
metadata: a setting is written once, here.

Fields left as None take the defaults of the chosen loss family (`training.losses.LOSSES`), so `--loss=wgan`
alone gives RMSProp 5e-5, five critic steps and clipping at 0.01, as in the paper.

A data set of another kind than images brings its kind's architecture and the settings of the WGAN-GP paper's
code for it (training/data_kinds.py `defaults`, applied by training/launch.py, issue 23): `--dataset=toy:25gaussians`
alone trains gan_toy.py's MLP with its settings. Precedence, highest first: the flags a user gives (a flagfile's
count as given), the kind's defaults, the loss family's defaults, the defaults of the fields below. Which settings
apply to one data kind only (--augment to images, --seq_len to text, ...) each kind says (`own_settings`).
"""

import dataclasses
import difflib
import json
import typing
from typing import Optional

from common.kinds import IMAGE, of_dataset
from data.decode import BACKGROUND_BEFORE_SETTING, DEFAULT_BACKGROUND
from training import architectures, augment, conditioning as conditioning_modes, losses

CRITIC_NORMS = ('batch', 'layer', 'none', 'spectral')
# How a lazy penalty picks its critic updates (training/steps.py): 'global', critic update j of the run (its batch
# index) when j % k == 0, weighted k; 'per_generator_step', the rule of runs recorded before it: updates
# i % k == 0 among each generator step's n_critic, weighted n_critic / (their count).
LAZY_RULES = ('global', 'per_generator_step')
LAZY_RULE_BEFORE_SETTING = 'per_generator_step'
STRATEGY_NAMES = ('auto', 'mirrored', 'multi_worker', 'one_device')  # keys of training.strategies.STRATEGIES
# Keys of config.json that are not settings: where the run came from, and what each resume changed.
PROVENANCE_KEY, HISTORY_KEY = 'provenance', 'history'


class ConfigError(ValueError):
  """An invalid combination of settings; the message is one line for the user (exit code 2)."""


def setting(default, help: str, *, low=None, high=None, low_open=False, high_open=False, choices=None,
            resumable: bool = False, flag: bool = True):
  """A TrainConfig field with what the flag, the range check and --resume need to know about it.

  low/high: inclusive bounds (exclusive with low_open/high_open); choices: allowed values (a callable returning
  them is looked up lazily, for registries); resumable: a resumed run may change it (execution and cadence
  settings, not the model, data or optimisation); flag: False for values derived at run time. The settings of one
  data kind only are that kind's `own_settings` (training/data_kinds.py).
  """
  return dataclasses.field(default=default, metadata=dict(help=help, low=low, high=high, low_open=low_open,
                                                           high_open=high_open, choices=choices,
                                                           resumable=resumable, flag=flag))


def _loss_names():
  return list(losses.LOSSES)


def _arch_names():
  return list(architectures.ARCHITECTURES)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  # --- What to train ---------------------------------------------------------------------------------------------
  loss: str = setting('wgan_gp', 'GAN loss family; sets the optimizer, n_critic, penalty/clipping and critic '
                      'normalisation defaults of its paper.', choices=_loss_names)
  arch: str = setting('dcgan', 'Generator/critic architecture (default: dcgan for images, mlp for toy points, '
                      'resnet1d for text: the data kinds\' defaults).', choices=_arch_names)
  dataset: str = setting('digits', "'digits' (embedded, offline), a TFDS name (mnist, fashion_mnist, cifar10, "
                         "celeb_a, tf_flowers, ...), folder:PATH of JPEG/PNG files, toy:NAME (2-D points) or "
                         'text:FILE. Toy and text data bring their kind\'s architecture and paper settings for the '
                         'flags not given (training/data_kinds.py; the start-up line lists them).')
  data_dir: Optional[str] = setting(None, 'TFDS data directory (default: ~/tensorflow_datasets).', resumable=True)
  manual_dir: Optional[str] = setting(None, 'Directory with the original archives of a TFDS dataset, read '
                                      'offline.', resumable=True)
  image_size: int = setting(32, 'Square image size: 16, 32, 64, 128, or 28, 56, 112 (native MNIST-like geometry, '
                            '7 -> 14 -> 28); 28x28 data is padded to 32 for the other sizes.')
  alpha_background: str = setting(DEFAULT_BACKGROUND, 'What transparent pixels are composited over: white, black or '
                                  'R,G,B (0..255 each); none drops alpha, keeping the colours stored under it (runs '
                                  'from before this setting).')
  channels: int = setting(0, 'Set from the dataset: image channels, or the size of the text vocabulary (the one-hot '
                          'axis).', flag=False)
  data_classes: tuple = setting((), "Set from the dataset: a labelled folder's class names (label i is the i-th); "
                                'they describe the data and are never a generator input.', flag=False)
  latent_dim: int = setting(128, 'Size of the latent vector z.', low=1)
  width: int = setting(32, 'Base channel count; the 4x4 projection has 8*width channels.', low=1)
  flip: bool = setting(False, 'Random horizontal flips of the real images.')
  augment: str = setting('', 'DiffAugment (Zhao et al. 2020): any of color,translation,cutout, comma-separated, '
                         'applied in that order to every image the critic sees, real and generated; empty: off. '
                         'Unlike --flip (real images only), the generator never learns the transforms.')
  # --- Class-conditional generation (training/conditioning.py) ---------------------------------------------------
  conditioning: str = setting('none', "Train a class-conditional generator on the data's labels: projection (a "
                              'projection critic, Miyato & Koyama 2018) or acgan (an auxiliary classifier, the '
                              "WGAN-GP paper's CIFAR-10 form); the generator takes the class through conditional "
                              'BatchNorm (concatenated with z where it has none). none: unconditional.',
                              choices=lambda: list(conditioning_modes.CONDITIONINGS))
  fake_labels: str = setting('data', "Classes the generator update asks for: data (the real batch's, so the data's "
                             'class frequencies) or uniform.', choices=lambda: list(conditioning_modes.FAKE_LABELS))
  acgan_weight: float = setting(1.0, "--conditioning=acgan: weight of the classifier's cross-entropy on real images "
                                "in the critic loss (gan_cifar_resnet.py's ACGAN_SCALE).", low=0)
  acgan_generator_weight: float = setting(0.1, '--conditioning=acgan: weight of the cross-entropy of the asked-for '
                                          "class on generated images in the generator loss (ACGAN_SCALE_G).", low=0)
  # --- The architecture study's knobs (--arch=dcgan_family only; training/architectures.py) ----------------------
  nonlinearity: str = setting('relu', 'dcgan_family: nonlinearity of generator and critic (softplus: '
                              "softplus(2x+2)/2-1, the WGAN-GP paper's Table 1; gated: sigmoid(a)*tanh(b) of twice "
                              'the channels; dcgan: ReLU in the generator, LeakyReLU(0.2) in the critic).',
                              choices=lambda: list(architectures.NONLINEARITIES))
  depth: int = setting(0, 'dcgan_family: convolution layers per network, the strided ones plus extra stride-1 '
                       '3x3 layers; 0: the strided ones only (2 at 28x28, 3 at 32x32).', low=0, high=64)
  generator_norm: str = setting('batch', 'dcgan_family: BatchNorm in the generator, or none.',
                                choices=architectures.GENERATOR_NORMS)
  generator_filters: str = setting('halving', "dcgan_family: the generator's filters, halving per level from "
                                   '8*width (DCGAN) or constant: width in every layer (the WGAN papers\' crippled '
                                   'generator).', choices=architectures.GENERATOR_FILTERS)
  # --- Text (--dataset=text:PATH; data/text_data.py) ---------------------------------------------------------
  seq_len: int = setting(32, 'Characters per example (the WGAN-GP paper: 32).', low=2, high=1024)
  max_vocab: int = setting(128, "Vocabulary cap: 'unk' plus the most frequent characters.", low=3, high=65536)
  text_unit: str = setting('line', 'line: each non-blank line, truncated and padded with "`" (the original); '
                           'window: consecutive windows of seq_len characters.', choices=('line', 'window'))
  gumbel_softmax: bool = setting(False, 'The critic sees Gumbel-Softmax samples softmax((log p + g)/tau) of the '
                                 "generator's probabilities (Jang et al. 2017) instead of the probabilities.")
  straight_through: bool = setting(False, "The critic sees the one-hot argmax (of the Gumbel-Softmax sample with "
                                   '--gumbel_softmax, else of the softmax); gradients flow through the soft one.')
  tau: float = setting(1.0, 'Gumbel-Softmax initial temperature tau0.', low=0, low_open=True)
  tau_min: float = setting(0.5, 'Gumbel-Softmax temperature floor (Jang et al.: 0.5).', low=0, low_open=True)
  tau_decay: float = setting(1e-4, 'Gumbel-Softmax annealing rate r: tau = max(tau_min, tau0 exp(-r t)).', low=0)
  tau_every: int = setting(500, 'Update the Gumbel-Softmax temperature every N generator steps.', low=1)
  # --- Optimisation (None: the loss family's default) ------------------------------------------------------------
  batch_size: int = setting(64, 'Global batch size, split over replicas.', low=1)
  steps: int = setting(2000, 'Generator updates to train for (in total, when resuming).', low=1, resumable=True)
  lr_decay_steps: int = setting(0, 'Linear learning-rate decay of both networks to 0 over this many generator '
                                'steps, from the generator step (the WGAN-GP paper\'s CIFAR ResNet: 100,000, its '
                                'ITERS); the rates stay 0 after; 0: constant rates.', low=0)
  g_batch_ratio: int = setting(1, "The generator update's batch, in multiples of --batch_size (the WGAN-GP paper's "
                               'CIFAR ResNet: 2, its GEN_BS_MULTIPLE); the critic keeps --batch_size.', low=1,
                               high=16)
  n_critic: Optional[int] = setting(None, 'Critic updates per generator update (default: 1 dcgan/lsgan/hinge/'
                                    'ns_r1, 5 wgan*).', low=1)
  g_learning_rate: Optional[float] = setting(None, "Generator learning rate (default: the family's).", low=0,
                                             low_open=True)
  d_learning_rate: Optional[float] = setting(None, "Critic learning rate (default: the family's).", low=0,
                                             low_open=True)
  beta_1: Optional[float] = setting(None, 'Adam beta_1 (default: .5 dcgan/lsgan/hinge, 0 wgan_gp/ns_r1).', low=0,
                                    high=1, high_open=True)
  beta_2: Optional[float] = setting(None, 'Adam beta_2 (default: .999 dcgan/lsgan/hinge, .9 wgan_gp, .99 ns_r1).',
                                    low=0, high=1, high_open=True)
  gp_weight: Optional[float] = setting(None, 'Gradient-penalty weight lambda (default 10 for wgan_gp, else 0: '
                                       'off); never with a BatchNorm critic or with clipping.', low=0)
  clip_value: Optional[float] = setting(None, 'WGAN weight clipping c (default .01 for wgan; 0: off); never '
                                        'with a gradient penalty.', low=0)
  wgan_critic_schedule: bool = setting(False, '100 critic steps for the first 25 generator steps and every 500th '
                                       '(WGAN reference code).')
  critic_norm: Optional[str] = setting(None, 'Critic normalisation (default: batch; layer for wgan_gp, which never '
                                       'allows batch; spectral for hinge; none for ns_r1). spectral: every Conv2D '
                                       'and Dense of an image critic computes with W/sigma(W), sigma by one power '
                                       'iteration per step (Miyato et al. 2018).', choices=CRITIC_NORMS)
  critic_input_dropout: float = setting(0.0, 'Dropout on the critic input (MATLAB DCGAN example: 0.5).', low=0,
                                        high=1, high_open=True)
  lsgan_labels: tuple = setting((0.0, 1.0, 1.0), 'LSGAN targets a,b,c (fake, real, generator); -1,1,0 is the '
                                'Pearson chi^2 setting.')
  label_smoothing: float = setting(0.0, 'DCGAN one-sided label smoothing s (real target 1-s).', low=0, high=1,
                                   high_open=True)
  label_flip: float = setting(0.0, 'DCGAN probability of flipping a real label (MATLAB: 0.35).', low=0, high=1,
                              high_open=True)
  gp_every: int = setting(1, 'Lazy penalty: compute the gradient penalty on critic updates j % k == 0 only (j counts '
                          "the run's critic updates, one per batch), weighted k*lambda so its average strength stays "
                          "lambda (StyleGAN2's lazy regularisation).", low=1)
  lazy_rule: str = setting(LAZY_RULES[0], 'Set from the run: how --gp_every picks its critic updates (LAZY_RULES); a '
                           'run recorded before the global rule resumes with its own.', choices=LAZY_RULES, flag=False)
  r1_gamma: float = setting(0.1, "--loss=ns_r1: weight gamma of R1, gamma/2*|grad_x D(x)|^2 on real images "
                            '(Mescheder et al. 2018, Eq. 9). StyleGAN2-ADA\'s heuristic 0.0002*resolution^2/batch '
                            'gives 0.003-0.03 at 32-64 px for batches of 32-64 (its CIFAR-10 config: 0.01); Mescheder '
                            'et al. used 10 at higher resolutions; the recipe search tunes it. 0: off.', low=0)
  r1_every: int = setting(16, "--loss=ns_r1: lazy R1 (StyleGAN2's lazy regularisation, Karras et al. 2020, Sec. "
                          '3.1): computed on critic updates j % k == 0 only (j counts the run\'s critic updates), '
                          'weighted k*gamma so its average strength stays gamma; 1: every update.', low=1)
  fuse_critic: bool = setting(True, 'Score real and fake images in one critic call (exact for per-example '
                              'normalisation; ignored with a BatchNorm critic, whose statistics would mix them).')
  ema_decay: float = setting(0.999, 'Decay of the generator EMA that grids, --eval_every, best/ and export use '
                             '(half-life ln2/(1-d) steps; 0.999: ~690); 0: use the trained weights.', low=0,
                             high=1, high_open=True)
  # --- Execution -------------------------------------------------------------------------------------------------
  strategy: str = setting('auto', 'tf.distribute strategy; auto: MirroredStrategy over visible GPUs, else one '
                          'device.', choices=STRATEGY_NAMES, resumable=True)
  cpu_replicas: int = setting(0, 'Split the CPU into this many logical devices (for mirrored on CPU); 0: no split.',
                              low=0, resumable=True)
  mixed_precision: bool = setting(False, 'Mixed precision (float16 on GPU, bfloat16 on CPU); losses and penalty '
                                  'stay float32.')
  jit: bool = setting(False, 'XLA-compile the loss and gradient computation, on a GPU (on a CPU host XLA measured '
                      '0.2-0.8x of the step without it for every architecture: --jit_on_cpu forces it).',
                      resumable=True)
  jit_on_cpu: bool = setting(False, '--jit on a host without a GPU too (to measure XLA again: '
                             'benchmarks/train_throughput.py).', resumable=True)
  deterministic: bool = setting(False, 'Deterministic ops (tf.config.experimental.enable_op_determinism) and '
                                'data order: a run stopped and resumed ends bit-identical to an uninterrupted one '
                                '(on CPU; slower on GPU).')
  seed: int = setting(0, 'Seed of weights, latents and data order.', low=0)
  # --- Run directory ---------------------------------------------------------------------------------------------
  run_dir: str = setting('', 'Run directory (default: runs/<loss>-<dataset>-<time>).')
  ckpt_every: int = setting(500, 'Checkpoint (and generator export) every N steps.', low=1, resumable=True)
  keep_checkpoints: int = setting(3, 'Checkpoints kept.', low=1, resumable=True)
  sample_every: int = setting(100, 'Sample grid of the fixed latents every N steps (and at step 0).', low=1,
                              resumable=True)
  sample_every_minutes: float = setting(5.0, 'Also a sample grid when this many wall-clock minutes passed since '
                                        'the last one, whatever the step (a slow step still shows progress); 0: by '
                                        'steps only.', low=0, resumable=True)
  max_minutes: float = setting(0.0, "Wall-time budget of this process's run, in minutes (data loading and model "
                               'building included): when spent, the run stops as on SIGTERM, with a checkpoint, '
                               'and prints the commands to resume and export; 0: none.', low=0, resumable=True)
  log_every: int = setting(10, 'Scalars to TensorBoard and metrics.csv every N steps; the NaN/Inf guard looks at '
                           'the losses at these steps only (reading them is a device-to-host sync).', low=1,
                           resumable=True)
  num_samples: int = setting(64, 'Images in the sample grid.', low=1, high=256)
  # --- Evaluation on the dataset's judge (evaluation/plugin.py, built by main) -----------------------------------
  eval_every: int = setting(0, "Score the generator on the dataset's judge (evaluation/: FCD, KID, precision/"
                            'recall, coverage, copy check) every N steps into eval.csv and TensorBoard, keeping '
                            'the best by FCD in <run_dir>/best; 0: never.', low=0, resumable=True)
  eval_samples: int = setting(1000, 'Generated images per evaluation, and held-out floor images scored alike (both '
                              "against the whole reference split); FCD needs more than the judge's 128 features. "
                              'Compare FCDs only at equal counts.', low=2, resumable=True)
  judges_dir: Optional[str] = setting(None, "Where the data set's judge is: evaluation/judges/ for digits, mnist "
                                      'and fashion_mnist, ./judges/ for a folder:PATH (python -m '
                                      'evaluation.train_judge writes it there).', resumable=True)

  @property
  def family(self) -> losses.GANLoss:
    return losses.LOSSES[self.loss]

  def settings(self) -> dict:
    return dataclasses.asdict(self)

  def to_json(self, provenance: Optional[dict] = None, history: Optional[list] = None) -> str:
    values = self.settings()
    if provenance is not None:
      values[PROVENANCE_KEY] = provenance
    if history is not None:
      values[HISTORY_KEY] = history
    return json.dumps(values, indent=2, sort_keys=True) + '\n'

  @classmethod
  def from_json(cls, text: str) -> 'TrainConfig':
    """The settings of a config.json (its provenance and history are read with `read_extras`)."""
    try:
      values = json.loads(text)
      assert isinstance(values, dict)
    except (ValueError, AssertionError):
      raise ConfigError('config.json is not a JSON object of settings (damaged or edited by hand); restore it, or '
                        'start a new run with another --run_dir') from None
    values.pop(PROVENANCE_KEY, None)
    values.pop(HISTORY_KEY, None)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
      raise ConfigError(f'config.json has settings this version does not know: {", ".join(unknown)}')
    if 'lsgan_labels' in values:
      values['lsgan_labels'] = tuple(values['lsgan_labels'])
    values['data_classes'] = tuple(values.get('data_classes', ()))
    # An image run from before --alpha_background decoded with alpha dropped; it resumes decoding as it began.
    if 'alpha_background' not in values and of_dataset(values.get('dataset', cls.dataset)) == IMAGE:
      values['alpha_background'] = BACKGROUND_BEFORE_SETTING
    # A run from before the global lazy rule penalised within each generator step; it resumes penalising so.
    values.setdefault('lazy_rule', LAZY_RULE_BEFORE_SETTING)
    return cls(**values)


def read_extras(text: str) -> tuple:
  """(provenance dict, history list) of a config.json; empty for runs written before they existed."""
  values = json.loads(text)
  return values.get(PROVENANCE_KEY, {}), values.get(HISTORY_KEY, [])


def fields() -> list:
  """The settings that are flags, in declaration order: what main.py defines, presets may name and resume checks."""
  return [f for f in dataclasses.fields(TrainConfig) if f.metadata['flag']]


def field_type(field) -> type:
  """int, float, bool, str or tuple: the field's type with Optional removed."""
  hint = typing.get_type_hints(TrainConfig)[field.name]
  args = [a for a in typing.get_args(hint) if a is not type(None)]
  return args[0] if args else hint


def choices_of(field) -> Optional[list]:
  choices = field.metadata['choices']
  return list(choices() if callable(choices) else choices) if choices else None


def range_text(field) -> str:
  """'>= 1', '> 0', 'in [0, 1)', ... or '' for a field without bounds."""
  m = field.metadata
  if m['low'] is not None and m['high'] is not None:
    return f'in {"(" if m["low_open"] else "["}{m["low"]}, {m["high"]}{")" if m["high_open"] else "]"}'
  if m['low'] is not None:
    return f'{">" if m["low_open"] else ">="} {m["low"]}'
  if m['high'] is not None:
    return f'{"<" if m["high_open"] else "<="} {m["high"]}'
  return ''


def _in_range(field, value) -> bool:
  m = field.metadata
  low_ok = m['low'] is None or (value > m['low'] if m['low_open'] else value >= m['low'])
  high_ok = m['high'] is None or (value < m['high'] if m['high_open'] else value <= m['high'])
  return low_ok and high_ok


def closest(name: str, candidates) -> str:
  """' (did you mean X?)' for the closest candidate by spelling, or ''."""
  match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
  return f' (did you mean {match[0]}?)' if match else ''


def resolve(config: TrainConfig) -> TrainConfig:
  """Validates `config` and fills every None with the loss family's default. Raises ConfigError."""
  for name, registry in (('loss', losses.LOSSES), ('arch', architectures.ARCHITECTURES)):
    value = getattr(config, name)
    if value not in registry:
      raise ConfigError(f'unknown --{name} {value!r}; choose one of {", ".join(registry)}{closest(value, registry)}')
  from training import data_kinds
  arch, kind = architectures.ARCHITECTURES[config.arch], data_kinds.kind_of(config.dataset)
  if arch.kind != kind.name:
    fits = [name for name, a in architectures.ARCHITECTURES.items() if a.kind == kind.name]
    raise ConfigError(f'--arch={config.arch} trains {arch.kind} data, --dataset={config.dataset} is {kind.name} '
                      f'data; choose --arch={" or ".join(fits)}')
  try:
    kind.validate(config)
  except ValueError as e:
    raise ConfigError(str(e)) from None
  _check_arch_options(config, arch)
  for field in fields():  # settings of other data kinds only
    owners = data_kinds.owners_of(field.name)
    if owners and kind.name not in owners and getattr(config, field.name) != field.default:
      raise ConfigError(f'--{field.name} applies to {" or ".join(owners)} data only '
                        f'(--dataset={config.dataset} is {kind.name} data)')
  try:
    augment.policies(config.augment)
  except ValueError as e:
    raise ConfigError(f'unknown --augment policy {str(e)!r}; choose any of {",".join(augment.POLICIES)}, '
                      f'comma-separated{closest(str(e), augment.POLICIES)}') from None
  family = config.family
  opt = family.optimizer
  # The architecture narrows the family's critic normalisations (an MLP critic has none) and may set the default.
  allowed_norms = tuple(n for n in family.allowed_critic_norms if n in arch.critic_norms)
  default_norm = arch.default_critic_norm or family.critic_norm
  config = dataclasses.replace(
      config,
      n_critic=family.n_critic if config.n_critic is None else config.n_critic,
      g_learning_rate=opt.learning_rate if config.g_learning_rate is None else config.g_learning_rate,
      d_learning_rate=opt.learning_rate if config.d_learning_rate is None else config.d_learning_rate,
      beta_1=opt.beta_1 if config.beta_1 is None else config.beta_1,
      beta_2=opt.beta_2 if config.beta_2 is None else config.beta_2,
      gp_weight=family.gradient_penalty_weight if config.gp_weight is None else config.gp_weight,
      clip_value=family.clip_value if config.clip_value is None else config.clip_value,
      critic_norm=default_norm if config.critic_norm is None else config.critic_norm,
  )
  for field in fields():
    value = getattr(config, field.name)
    choices = choices_of(field)
    if choices and value not in choices:
      raise ConfigError(f'--{field.name} must be one of {", ".join(choices)}, got {value!r}')
    if value is not None and not isinstance(value, (str, tuple)) and not _in_range(field, value):
      raise ConfigError(f'--{field.name} must be {range_text(field)}, got {value}')
  if config.critic_norm not in allowed_norms:
    raise ConfigError(f'--critic_norm={config.critic_norm} is not allowed with --loss={config.loss} and '
                      f'--arch={config.arch}; choose one of {", ".join(allowed_norms)}')
  penalty, clipping = config.gp_weight > 0, bool(config.clip_value)
  # Gulrajani et al. 2017, Section 4: the penalty is a per-example constraint, and BatchNorm makes each example's
  # critic value depend on the rest of the batch, so the penalised gradient is not the one the theory asks for.
  # Clipping on top of a penalty brings back the capacity loss the penalty was introduced to avoid.
  conflicts = [
      (penalty and config.critic_norm == 'batch',
       f'--gp_weight={config.gp_weight} penalises a BatchNorm critic (--critic_norm=batch, the default for '
       f'--loss={config.loss}); pass --critic_norm=layer or none, or --gp_weight=0'),
      (penalty and clipping,
       f'--clip_value={config.clip_value} and a gradient penalty (--gp_weight={config.gp_weight}) do not combine; '
       f'pass --clip_value=0 or --gp_weight=0'),
      (config.gp_every > 1 and not penalty, '--gp_every applies only with a gradient penalty (--gp_weight > 0)'),
      (penalty and family.r1,
       f'--gp_weight={config.gp_weight}: --loss={config.loss} has its own penalty, R1 on real images (--r1_gamma); '
       f'pass --gp_weight=0'),
      (not family.r1 and _changed(config, 'r1_gamma', 'r1_every'),
       f'--{" and --".join(_changed(config, "r1_gamma", "r1_every"))} applies to --loss={_losses_with("r1")} only '
       f'(got --loss={config.loss})'),
      (config.lazy_rule not in LAZY_RULES,
       f'config.json has lazy_rule={config.lazy_rule!r}; one of {", ".join(LAZY_RULES)} was expected'),
      (len(config.lsgan_labels) != 3, '--lsgan_labels takes three numbers a,b,c'),
      (config.lsgan_labels[1] == config.lsgan_labels[0], '--lsgan_labels: b (real target) must differ from a'),
      (config.wgan_critic_schedule and not family.critic_schedule,
       f'--wgan_critic_schedule applies to --loss={_losses_with("critic_schedule")} only'),
      (config.conditioning == conditioning_modes.NONE and _changed(config, 'fake_labels'),
       '--fake_labels applies only with --conditioning=projection or acgan'),
      (not conditioning_modes.CONDITIONINGS[config.conditioning].classifier and
       _changed(config, 'acgan_weight', 'acgan_generator_weight'),
       f'--{" and --".join(_changed(config, "acgan_weight", "acgan_generator_weight"))} applies only with '
       f'--conditioning=acgan (got --conditioning={config.conditioning})'),
      ((config.label_smoothing or config.label_flip) and not family.real_labels,
       f'--label_smoothing and --label_flip apply to --loss={_losses_with("real_labels")} only'),
  ]
  for bad, message in conflicts:
    if bad:
      raise ConfigError(message)
  return config


def _changed(config: TrainConfig, *names) -> list:
  """Those of the settings `names` that differ from their field's default."""
  defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
  return [name for name in names if getattr(config, name) != defaults[name]]


def _losses_with(behaviour: str) -> str:
  """'wgan or wgan_gp': the loss families whose registry record has `behaviour` set, for a message."""
  return ' or '.join(name for name, family in losses.LOSSES.items() if getattr(family, behaviour))


def _check_arch_options(config: TrainConfig, arch) -> None:
  """An architecture option (--depth, ...) given to an architecture that does not read it is refused rather than
  silently ignored; the family's depth must reach its strided layers."""
  options = set(arch.generator_options) | set(arch.critic_options)
  defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
  readers = [name for name, a in architectures.ARCHITECTURES.items() if a.generator_options or a.critic_options]
  for name in ('nonlinearity', 'depth', 'generator_norm', 'generator_filters'):
    if name not in options and getattr(config, name) != defaults[name]:
      raise ConfigError(f'--{name} applies to --arch={" or ".join(readers)} only, not --arch={config.arch}')
  if 'depth' in options and config.depth:
    minimum = architectures.family_min_depth(config.image_size)
    if config.depth < minimum:
      raise ConfigError(f'--depth={config.depth} is below the {minimum} strided convolutions of a '
                        f'{config.image_size}x{config.image_size} {config.arch}; pass --depth >= {minimum} or 0')


def resume_changes(saved: TrainConfig, given: dict) -> dict:
  """The settings a resume changes: {name: (old, new)} for the `given` {name: value} that differ from `saved`.
  Raises ConfigError when one of them may not change (the model, data and optimisation are fixed by the run)."""
  by_name = {f.name: f for f in fields()}
  changes = {}
  for name, value in given.items():
    old = getattr(saved, name)
    if value == old:
      continue
    if not by_name[name].metadata['resumable']:
      raise ConfigError(f'--{name} cannot change when resuming (the run has {old!r})')
    changes[name] = (old, value)
  return changes


def n_critic_at(config: TrainConfig, step: int) -> int:
  """Critic updates before generator update `step` (0-based).

  With --wgan_critic_schedule: 100 for the first 25 generator steps and every 500th, as in the WGAN reference
  code, so the critic stays near optimal while the generator is still moving fast.
  """
  if config.wgan_critic_schedule and (step < 25 or step % 500 == 0):
    return 100
  return config.n_critic
