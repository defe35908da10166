"""Text as sequences of character ids (--dataset=text:PATH), as the WGAN-GP paper's language model reads it.

igul222/improved_wgan_training's language_helpers.load_dataset: each line truncated to seq_len characters and
padded with '`'; the vocabulary is 'unk' (id 0) then the characters by frequency, capped at max_vocab entries;
any other character becomes 'unk'. Differences, each for a plain text file rather than the Billion Words shards:
blank lines are skipped (a play's blank lines would be all-padding examples), `unit='window'` cuts the whole
text (newlines included) into consecutive windows of seq_len characters instead, and the file is split in order:
the last HELDOUT_FRACTION of the units is never trained on and is the reference of the n-gram metric
(evaluation/text_metrics.py; its first `baseline` units are the real-vs-real baseline, the rest the reference).
"""

import collections
import dataclasses
import functools
import hashlib
import os

import numpy as np

from common.signature import UNK_TOKEN as UNK, decode_ids  # UNK: rare characters' token, part of generator.json's vocab

PAD = '`'
HELDOUT_FRACTION = 0.1
UNITS = ('line', 'window')


class TextError(ValueError):
  """A text file that cannot be trained on; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class TextCorpus:
  path: str
  vocab: tuple  # id -> token: 'unk', then characters (one each) by frequency
  train: np.ndarray  # (N, seq_len) int32 ids of the training units
  heldout: tuple  # the held-out units as strings of seq_len characters (padding '`' included, others 'unk')
  checksum: str  # 'sha256:...' of the file

  def decode(self, ids) -> list:
    """(N, seq_len) ids -> N strings; 'unk' reads as U+FFFD."""
    return decode_ids(np.asarray(ids), self.vocab)


def read_text(path: str) -> tuple:
  """(text, 'sha256:...') of a UTF-8 file; TextError for a missing, unreadable, empty or non-UTF-8 file."""
  if not os.path.isfile(path):
    raise TextError(f'text file {path!r} does not exist')
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as e:
    raise TextError(f'cannot read {path!r}: {e.strerror}') from None
  try:
    text = data.decode('utf-8')
  except UnicodeDecodeError as e:
    line = data[:e.start].count(b'\n') + 1
    raise TextError(f'{path!r} is not UTF-8 text (byte {e.start}, line {line}: {e.reason})') from None
  if not text.strip():
    raise TextError(f'text file {path!r} is empty')
  return text, 'sha256:' + hashlib.sha256(data).hexdigest()


def split_units(text: str, seq_len: int, unit: str) -> list:
  """Strings of exactly seq_len characters: non-blank lines truncated and padded with '`', or windows."""
  if unit == 'line':
    lines = [line.rstrip('\r') for line in text.split('\n')]
    return [line[:seq_len].ljust(seq_len, PAD) for line in lines if line.strip()]
  return [text[i:i + seq_len] for i in range(0, len(text) - seq_len + 1, seq_len)]


def build_vocab(units, max_vocab: int) -> tuple:
  """('unk', the max_vocab - 1 most frequent characters): the original's charmap (ties in first-seen order)."""
  counts = collections.Counter(char for unit in units for char in unit)
  return (UNK,) + tuple(char for char, _ in counts.most_common(max_vocab - 1))


def encode(units, vocab) -> np.ndarray:
  """N strings of seq_len characters -> (N, seq_len) int32 ids; characters outside vocab -> 0 ('unk')."""
  index = {token: i for i, token in enumerate(vocab) if token != UNK}
  return np.array([[index.get(char, 0) for char in unit] for unit in units], np.int32).reshape(len(units), -1)


@functools.lru_cache(maxsize=4)
def load_corpus(path: str, seq_len: int, max_vocab: int, unit: str = 'line', min_heldout: int = 2) -> TextCorpus:
  """The training ids, held-out units and vocabulary of a text file (cached: the trainer, generator.json and the
  evaluator each ask). The vocabulary comes from the training units only. TextError when the file is too short
  for one training unit and `min_heldout` held-out ones."""
  text, checksum = read_text(path)
  units = split_units(text, seq_len, unit)
  heldout_count = max(min_heldout, int(round(HELDOUT_FRACTION * len(units))))
  if len(units) < heldout_count + 1:
    plural = 's' * (len(units) != 1)
    what = f'non-blank line{plural}' if unit == 'line' else f'window{plural} of {seq_len} characters'
    raise TextError(f'{path!r} holds {len(units)} {what}; it needs at least {heldout_count + 1} (one to train on '
                    f'and {heldout_count} held out)')
  train, heldout = units[:-heldout_count], units[-heldout_count:]
  vocab = build_vocab(train, max_vocab)
  corpus = TextCorpus(path=os.path.abspath(path), vocab=vocab, train=encode(train, vocab), heldout=(),
                      checksum=checksum)
  # Held-out characters outside the vocabulary read as 'unk', as the generator can only write those.
  return dataclasses.replace(corpus, heldout=tuple(corpus.decode(encode(heldout, vocab))))


def corpus_of(dataset: str, seq_len: int, max_vocab: int, text_unit: str) -> 'TextCorpus':
  """The corpus of a --dataset value 'text:PATH' (the path relative to the working directory, ~ expanded);
  DatasetError (a usage error) for a file that cannot be read as one."""
  from common.kinds import TEXT_PREFIX
  from data.datasets import DatasetError
  path = os.path.abspath(os.path.expanduser(dataset[len(TEXT_PREFIX):]))
  try:
    return load_corpus(path, seq_len, max_vocab, text_unit)
  except TextError as e:
    raise DatasetError(str(e)) from None
