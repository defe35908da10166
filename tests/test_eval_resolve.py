"""An evaluation resolves its data set once (issue 33): one judge load and one pass of each real split through the
judge per evaluation, handed down to the scores, the per-class scores and the copy check; and the trainer's
evaluator keeps what it resolved for every later call. Counted on the digits judge with a conditional generator
that draws real digits of the class it is asked for (NumPy only, no model)."""

import collections
import types

import numpy as np
import pytest

from common import kinds, signature
from evaluation import judge, plugin, references, sources
from evaluation import kinds as evaluation_kinds

N = 180  # above the 129 FCD needs on the judge's 128 features; half the digits floor split
CLASSES = tuple('0123456789')


@pytest.fixture(scope='module')
def digits_by_class():
  """The digits train split at the judge's 16 px, per class: what the fake generator draws from."""
  from data import datasets
  data, _ = datasets.load_images('digits', 16, split='train', with_labels=True)
  images, labels = (np.concatenate(part) for part in zip(*data.batch(2000).as_numpy_iterator()))
  return [images[labels == k] for k in range(len(CLASSES))]


def conditional_fn(digits_by_class):
  """(z (B, 8), class weights (B, K)) -> (B, 16, 16, 1): a real digit of the asked class, picked and shaded by z."""
  def generate(z, weights):
    picks = (np.abs(z[:, 0]) * 1000).astype(int)
    images = np.stack([digits_by_class[k][i % len(digits_by_class[k])]
                       for k, i in zip(weights.argmax(axis=1), picks)])
    return np.clip(images + 0.3 * z[:, 1, None, None, None], -1, 1).astype(np.float32)
  return generate


@pytest.fixture
def counted(monkeypatch):
  """Counts judge loads and real split reads: {'load_judge': n, split name: n}."""
  calls = collections.Counter()
  load_judge, read_split = judge.load_judge, references.read_split

  def counting_load_judge(*args, **kwargs):
    calls['load_judge'] += 1
    return load_judge(*args, **kwargs)

  def counting_read_split(dataset, split, *args, **kwargs):
    calls[split] += 1
    return read_split(dataset, split, *args, **kwargs)

  monkeypatch.setattr(judge, 'load_judge', counting_load_judge)
  monkeypatch.setattr(references, 'read_split', counting_read_split)
  return calls


def test_the_cli_path_with_per_class_scores_loads_the_judge_once_and_reads_each_split_once(
    digits_by_class, counted, monkeypatch):
  source = sources.Source('fake conditional', conditional_fn(digits_by_class),
                          signature.image(8, 16, 1, label_classes=CLASSES), 'digits')
  monkeypatch.setitem(sources.SOURCES, 'fake', lambda path: source)
  options = types.SimpleNamespace(dataset=None, num_samples=N, seed=0, data_dir=None, manual_dir=None,
                                  judges_dir=None, copy_check=True, fid=None)
  result, table = evaluation_kinds.KINDS[kinds.IMAGE].evaluate('fake', 'fake', options)  # what evaluate's main runs
  assert result['num_samples'] == N and len(result['per_class']['classes']) == len(CLASSES)
  assert 'per class' in table and 'copy_ratio' in result['samples']
  spec = judge.JUDGES['digits']
  assert counted == {'load_judge': 1, spec.reference_split: 1, spec.floor_split: 1, spec.gan_split: 1}
  # What was handed down is what was read: each class's floor images are those of that class in the floor split.
  floor_labels = references.read_split('digits', spec.floor_split, 16)[1]
  assert [row['n'] for row in result['per_class']['classes']] == [
      min(-(-N // len(CLASSES)), int(np.sum(floor_labels == k))) for k in range(len(CLASSES))]


class _Generator:
  """What JudgeEvaluator calls: generator([z, class weights], training=False).numpy()."""

  def __init__(self, generate):
    self.generate = generate

  def __call__(self, inputs, training=False):
    return types.SimpleNamespace(numpy=lambda: self.generate(*inputs))


def test_a_judge_evaluator_called_twice_resolves_once(digits_by_class, counted):
  evaluator = plugin.JudgeEvaluator('digits', None, N)
  generator = _Generator(conditional_fn(digits_by_class))
  metadata = {'latent_dim': 8, 'label_classes': list(CLASSES)}
  first = evaluator(generator, 1, metadata)
  second = evaluator(generator, 2, metadata)
  assert first == second and 0.9 < first['agreement'] <= 1.0  # real digits of the asked class
  assert evaluator.num_classes == len(CLASSES) and set(evaluator.floor) >= {'fcd', 'copy_ratio'}
  spec = judge.JUDGES['digits']
  assert counted == {'load_judge': 1, spec.reference_split: 1, spec.floor_split: 1, spec.gan_split: 1}
