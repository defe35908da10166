"""What each data kind brings for the settings a user does not give (issue 23): `--dataset=toy:25gaussians` alone
trains gan_toy.py's MLP with its settings. Precedence, highest first: the flags a user gives (a flagfile's count as
given), the kind's defaults, the loss family's defaults (training/config.py `resolve`), the fields' defaults."""

from common.kinds import POINTS, TEXT, of_dataset
from training.config import TrainConfig


# What each data kind brings, for the settings a user does not give ('' : with every loss; a loss name: with
# that loss only, for settings that belong to its family). Images bring nothing: the fields' defaults are theirs.
KIND_DEFAULTS = {
    # gan_toy.py (igul222/improved_wgan_training): a 4-layer ReLU MLP of DIM=512 for both networks, 2-D noise,
    # BATCH_SIZE=256, CRITIC_ITERS=5 (the wgan and wgan_gp families' own n_critic), and for WGAN-GP LAMBDA=.1 with
    # Adam(1e-4, beta1=0.5, beta2=0.9). No weight averaging in the paper; 256 points in each scatter plot.
    POINTS: {'': dict(arch='mlp', latent_dim=2, width=512, batch_size=256, ema_decay=0.0, num_samples=256),
             'wgan_gp': dict(gp_weight=0.1, beta_1=0.5, beta_2=0.9)},
    # gan_language.py: a 1-D ResNet of 5 residual blocks each side, SEQ_LEN=32 (the seq_len field's default),
    # BATCH_SIZE=64 (the field's default), CRITIC_ITERS=10 and Adam(1e-4, 0.5, 0.9) with LAMBDA=10 (the wgan_gp
    # family's). DIM is 512 there; 128 here, the text preset's measured CPU choice (docs/text.md).
    TEXT: {'': dict(arch='resnet1d', width=128, ema_decay=0.0),
           'wgan_gp': dict(n_critic=10, beta_1=0.5, beta_2=0.9)},
}


def kind_defaults(dataset: str, loss: str) -> dict:
  """{setting: value} that `dataset`'s kind brings with `loss`, before any flag is taken into account."""
  entries = KIND_DEFAULTS.get(of_dataset(dataset), {})
  return {**entries.get('', {}), **entries.get(loss, {})}


def with_kind_defaults(given: dict) -> tuple:
  """(TrainConfig, {setting: value} taken from the kind): the settings a user gave (`given`, a flagfile's
  included) over the data kind's defaults over the fields' defaults. The loss family's fill in later (resolve)."""
  dataset = given.get('dataset', TrainConfig.dataset)
  loss = given.get('loss', TrainConfig.loss)
  taken = {name: value for name, value in kind_defaults(dataset, loss).items() if name not in given}
  return TrainConfig(**{**taken, **given}), taken
