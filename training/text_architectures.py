"""The WGAN-GP paper's character-level language model (gan_language.py, Sec. 5.4): 1-D residual networks.

  generator: z -> Dense(seq_len · dim) -> (seq_len, dim) -> 5 residual blocks -> Conv1D(kernel 1) to the
             vocabulary -> softmax per position: (B, seq_len, vocab) probabilities
  critic:    one-hot or softmax (B, seq_len, vocab) -> Conv1D(kernel 1) to dim -> 5 residual blocks -> Dense -> (B, 1)
  block:     x + 0.3 · Conv1D_5(ReLU(Conv1D_5(ReLU(x))))   (kernel 5, "same": pads 2 / 2, symmetric)

No normalisation anywhere (the paper's critic has none, so the penalty is per example). `dim` is --width.
"""

import keras
from keras import layers

from common.kinds import TEXT
from common.signature import GeneratorSignature

BLOCKS = 5
_KERNEL = 5
_RESIDUAL_SCALE = 0.3  # the original's scale of each block's branch


def _res_block(x, dim: int, name: str, dtype_policy: str):
  branch = layers.ReLU(name=f'{name}_relu1')(x)
  branch = layers.Conv1D(dim, _KERNEL, padding='same', dtype=dtype_policy, name=f'{name}_conv1')(branch)
  branch = layers.ReLU(name=f'{name}_relu2')(branch)
  branch = layers.Conv1D(dim, _KERNEL, padding='same', dtype=dtype_policy, name=f'{name}_conv2')(branch)
  branch = layers.Rescaling(_RESIDUAL_SCALE, dtype=dtype_policy, name=f'{name}_scale')(branch)
  return layers.Add(name=f'{name}_add')([x, branch])


def resnet1d_generator(latent_dim: int, seq_len: int, vocab_size: int, width: int,
                       dtype_policy: str = 'float32') -> keras.Model:
  """z (B, latent_dim) -> per-position character probabilities (B, seq_len, vocab_size), float32."""
  z = keras.Input((latent_dim,), name='z')
  x = layers.Dense(seq_len * width, dtype=dtype_policy, name='project')(z)
  x = layers.Reshape((seq_len, width), name='reshape')(x)  # (B, L, dim)
  for i in range(BLOCKS):
    x = _res_block(x, width, f'block{i}', dtype_policy)
  logits = layers.Conv1D(vocab_size, 1, dtype=dtype_policy, name='to_vocab')(x)  # (B, L, V)
  probs = layers.Softmax(axis=-1, dtype='float32', name=GeneratorSignature.output_name_of(TEXT))(logits)
  return keras.Model(z, probs, name='generator')


def resnet1d_critic(seq_len: int, vocab_size: int, width: int, norm: str = 'none', input_dropout: float = 0.0,
                    dtype_policy: str = 'float32') -> keras.Model:
  """(B, seq_len, vocab_size) points of the simplex (one-hot real text, softmax or relaxed samples) -> (B, 1)."""
  if norm != 'none':
    raise ValueError(f'the resnet1d critic has no normalisation layers, got norm={norm!r}')
  text = keras.Input((seq_len, vocab_size), name='text')
  x = layers.Dropout(input_dropout, name='input_dropout')(text) if input_dropout > 0 else text
  x = layers.Conv1D(width, 1, dtype=dtype_policy, name='from_vocab')(x)  # (B, L, dim)
  for i in range(BLOCKS):
    x = _res_block(x, width, f'block{i}', dtype_policy)
  x = layers.Flatten(name='flatten')(x)
  logits = layers.Dense(1, dtype='float32', name='logits')(x)  # (B, 1)
  return keras.Model(text, logits, name='critic')
