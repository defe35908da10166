"""The committed judges (evaluation/judges/): each was trained on its judge_split only, its recorded accuracy on the
unseen reference and floor splits holds, no image it trained on is in its floor or reference, and the recipe
that made it is written down beside it."""

import json
import os
import re

import numpy as np
import pytest

from evaluation import judge as judges
from evaluation import train_judge
from evaluation.judge import JudgeError
from data import datasets
from data.datasets import DatasetError

from tests import warm

# (dataset, record field, split scored here, how far the accuracy may sit from the recorded value). digits is
# scored on its whole reference and floor splits and must match to rounding; for the TFDS datasets 2,000 images
# keep the test fast, and their accuracy differs from the 10,000-image value by sampling alone (binomial, about
# 0.2% at 99% and 0.6% at 92%: the tolerance is ~2.5 of those).
CHECKS = [('digits', 'test_accuracy', 'test', 0.0015), ('digits', 'floor_accuracy', 'train[1077:]', 0.0015),
          ('mnist', 'test_accuracy', 'test[:2000]', 0.006),
          ('mnist', 'floor_accuracy', 'train[50000:52000]', 0.006),
          ('fashion_mnist', 'test_accuracy', 'test[:2000]', 0.015),
          ('fashion_mnist', 'floor_accuracy', 'train[50000:52000]', 0.015)]
MAX_WEIGHTS_BYTES = 1_500_000  # the judges live in git
SPLIT_SIZES = {  # examples per named split: digits from data.datasets._DIGITS_SPLITS, the rest from TFDS
    'digits': {'train': 1437, 'test': 360},
    'mnist': {'train': 60_000, 'test': 10_000},
    'fashion_mnist': {'train': 60_000, 'test': 10_000},
}
ROLES = ('trained_on', 'floor_split', 'reference_split')  # the three that must not share an image


def manual_dir(shared_data, dataset):
  return None if dataset == 'digits' else shared_data / dataset


def read_record(dataset) -> dict:
  with open(judges.paths(dataset)[1]) as f:
    return json.load(f)


def split_of(record, role) -> str:
  return record['trained_on']['split'] if role == 'trained_on' else record[role]


def indices(split: str, sizes: dict) -> tuple:
  """'train[50000:]' -> ('train', range(50000, 60000)): which examples of which named split a split string
  selects, by TFDS's slice rules for integer bounds."""
  match = re.fullmatch(r'(\w+)(?:\[(-?\d*):(-?\d*)\])?', split)
  assert match, f'not a split with integer bounds: {split!r}'
  name, start, stop = match[1], match[2] or None, match[3] or None
  bounds = slice(None if start is None else int(start), None if stop is None else int(stop))
  return name, range(*bounds.indices(sizes[name]))


def image_bytes(dataset, split, image_size, data_dir, manual) -> list:
  data, _ = datasets.load_images(dataset, image_size, split=split, data_dir=data_dir, manual_dir=manual)
  return [image.tobytes() for batch in data.batch(1000).as_numpy_iterator() for image in batch]


# --- The committed records --------------------------------------------------------------------------------------

@pytest.mark.parametrize('dataset', sorted(judges.JUDGES))
def test_every_judge_is_committed_with_its_recipe(dataset):
  spec = judges.JUDGES[dataset]
  weights_path, _ = judges.paths(dataset)
  assert os.path.getsize(weights_path) <= MAX_WEIGHTS_BYTES
  record = read_record(dataset)
  assert record['dataset'] == dataset and record['format_version'] == judges.FORMAT_VERSION
  assert record['command'].startswith(f'python -m evaluation.train_judge --dataset={dataset}')
  assert record['epochs'] >= 1 and record['train_seconds'] > 0
  assert record['trained_on']['split'] == spec.judge_split
  assert (record['floor_split'], record['reference_split'], record['gan_split']) == (
      spec.floor_split, spec.reference_split, spec.gan_split)
  sizes = SPLIT_SIZES[dataset]
  assert record['trained_on']['examples'] == len(indices(spec.judge_split, sizes)[1])
  assert record['floor_examples'] == len(indices(spec.floor_split, sizes)[1])
  assert record['test_examples'] == len(indices(spec.reference_split, sizes)[1])
  # The floor is scored at the reference's size, as the samples are.
  assert record['floor_examples'] == record['test_examples']
  assert record['target_accuracy'] == spec.target_accuracy
  assert record['test_accuracy'] >= spec.target_accuracy


@pytest.mark.parametrize('dataset', sorted(judges.JUDGES))
def test_the_three_splits_of_a_record_are_disjoint(dataset):
  record = read_record(dataset)
  selected = {role: indices(split_of(record, role), SPLIT_SIZES[dataset]) for role in ROLES}
  for i, first in enumerate(ROLES):
    for second in ROLES[i + 1:]:
      (name_a, range_a), (name_b, range_b) = selected[first], selected[second]
      assert name_a != name_b or not set(range_a) & set(range_b), (first, second)


@pytest.mark.slow
@pytest.mark.parametrize('dataset, field, split, tolerance', CHECKS)
def test_judge_accuracy_matches_the_recorded_value(dataset, field, split, tolerance, shared_data, tfds_data_dir):
  judge = judges.load_judge(dataset)
  images, labels, _ = judges.labelled_arrays(dataset, split, judge.image_size, tfds_data_dir,
                                             manual_dir(shared_data, dataset))
  assert judges.accuracy(judge, images, labels) == pytest.approx(judge.record[field], abs=tolerance)


# --- The images themselves: what the judge saw is neither floor nor reference ------------------------------------

@pytest.mark.parametrize('dataset, limit', [('digits', None), ('mnist', 2000)])
def test_judge_training_images_are_not_in_its_floor_or_reference(dataset, limit, shared_data, tfds_data_dir):
  # digits whole; MNIST on the first `limit` images of each role (its 80,000 images take a minute to read).
  spec = judges.judge_spec(dataset)

  def head(split):
    if limit is None:
      return split
    name, selected = indices(split, SPLIT_SIZES[dataset])
    return f'{name}[{selected.start}:{selected.start + limit}]'

  seen = {role: image_bytes(dataset, head(split), spec.image_size, tfds_data_dir, manual_dir(shared_data, dataset))
          for role, split in [('judge', spec.judge_split), ('floor', spec.floor_split),
                              ('reference', spec.reference_split)]}
  if limit is None:
    assert [len(seen[role]) for role in ('judge', 'floor', 'reference')] == [1077, 360, 360]
  trained = set(seen['judge'])
  assert len(trained) == len(seen['judge'])  # no duplicates inside, so a set comparison is a fair one
  assert not trained & set(seen['floor']) and not trained & set(seen['reference'])
  assert not set(seen['floor']) & set(seen['reference'])


@pytest.mark.slow  # prepares MNIST and Fashion-MNIST (70,000 images each) from the archives
def test_mnist_and_fashion_mnist_prepared_in_one_data_dir_stay_apart(shared_data, tfds_data_dir):
  # Both ship archives of the same names; TFDS once reused MNIST's extracted files for Fashion-MNIST.
  first = {}
  for name in ('mnist', 'fashion_mnist'):
    data, _ = datasets.load_images(name, 32, split='train[:8]', data_dir=tfds_data_dir,
                                   manual_dir=shared_data / name)
    first[name] = next(iter(data.batch(8))).numpy()
  assert not np.allclose(first['mnist'], first['fashion_mnist'])


# --- digits slices, the judges' splits ---------------------------------------------------------------------------

def test_digits_slices_follow_tfds_rules():
  train = np.stack(list(datasets.load_images('digits', 16, split='train')[0].as_numpy_iterator()))
  for split, expected in [('train[:1077]', train[:1077]), ('train[1077:]', train[1077:]),
                          ('train[10:20]', train[10:20]), ('train[-5:]', train[-5:]), ('train[:]', train)]:
    data, info = datasets.load_images('digits', 16, split=split)
    assert info.num_examples == len(expected)
    np.testing.assert_array_equal(np.stack(list(data.as_numpy_iterator())), expected)
  assert datasets.load_images('digits', 16, split='test[:7]')[1].num_examples == 7


@pytest.mark.parametrize('split, message', [
    ('train[:1438]', 'out of range'), ('train[-2000:]', 'out of range'), ('train[5:5]', 'selects no images'),
    ('train[a:b]', 'no split'), ('train[:10%]', 'no split'), ('train[1:2:3]', 'no split'),
    ('validation[:3]', 'no split'), ('train[3]', 'no split')])
def test_bad_digits_slices_are_dataset_errors(split, message):
  with pytest.raises(DatasetError, match=message) as error:
    datasets.load_images('digits', 16, split=split)
  assert '\n' not in str(error.value)


# --- Training writes what it trained on; errors are one line -----------------------------------------------------

@pytest.mark.slow  # trains a judge
def test_train_judge_records_its_splits_and_command(tmp_path):
  command = train_judge.recipe({'dataset': 'digits', 'epochs': 1})
  record = judges.train_judge('digits', epochs=1, judges_dir=str(tmp_path), command=command, log=lambda line: None)
  assert record['command'] == 'python -m evaluation.train_judge --dataset=digits --epochs=1'
  assert record['trained_on'] == {'split': 'train[:1077]', 'examples': 1077}
  assert (record['floor_examples'], record['test_examples']) == (360, 360)
  assert 0 <= record['floor_accuracy'] <= 1 and 0 <= record['test_accuracy'] <= 1
  assert judges.load_judge('digits', str(tmp_path)).spec == judges.JUDGES['digits']
  assert json.loads((tmp_path / 'digits.json').read_text()) == record


def test_recipe_keeps_paths_as_given():
  assert train_judge.recipe({'manual_dir': '../shared/data/mnist', 'dataset': 'mnist', 'seed': 0}) == (
      'python -m evaluation.train_judge --dataset=mnist --manual_dir=../shared/data/mnist --seed=0')


def test_judge_errors_are_one_line(tmp_path):
  with pytest.raises(JudgeError, match=r"no judge for dataset 'cifar10': judges exist for digits, mnist"):
    judges.load_judge('cifar10')
  with pytest.raises(JudgeError, match=r'no trained judge for .digits.* python -m evaluation.train_judge '
                                       r'--dataset=digits$'):
    judges.load_judge('digits', str(tmp_path))
  record = judges.load_judge('digits').record
  (tmp_path / 'digits.weights.h5').write_bytes(b'not hdf5')
  for bad_record, message in [({**record, 'format_version': 1}, 'has judge format 1'),
                              ({**record, 'trained_on': {'split': 'train'}}, "was trained on 'train'"),
                              (record, 'cannot load')]:
    (tmp_path / 'digits.json').write_text(json.dumps(bad_record))
    with pytest.raises(JudgeError, match=message) as error:
      judges.load_judge('digits', str(tmp_path))
    assert '\n' not in str(error.value) and 'python -m evaluation.train_judge --dataset=digits' in str(error.value)
  judge = judges.load_judge('digits')
  with pytest.raises(JudgeError, match='the digits judge takes 16x16x1 images, got 32x32x1'):
    judge.predict(np.zeros((2, 32, 32, 1), np.float32))


@pytest.mark.slow
@pytest.mark.parametrize('args, message', [
    ([], 'error: --dataset is required'), (['--dataset=cifar10'], "error: no judge for dataset 'cifar10'"),
    (['--dataset=digits', '--epochs=0'], 'error: flag --epochs=0'), (['--bogus'], 'error: Unknown command line')])
def test_cli_usage_errors_are_one_line_and_exit_2(args, message):
  result = warm.run('evaluation.train_judge', *args, timeout=120)
  assert result.returncode == 2
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(message) and 'Traceback' not in result.stderr
