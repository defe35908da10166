"""The committed judges (training/judges/): their recorded test accuracy holds on the test split, and the
recipe that made them is written down beside them."""

import json
import os

import numpy as np
import pytest

from training import classifier, datasets
from training.classifier import JudgeError

# (dataset, test split scored here, how far the accuracy may sit from the recorded full-split value). digits is
# scored on its whole test split and must match to rounding; for the TFDS datasets 2,000 test images keep the
# test fast, and their accuracy differs from the 10,000-image value by sampling alone (binomial, about 0.2% at
# 99% and 0.6% at 92%: the tolerance is ~2.5 of those).
CHECKS = [('digits', 'test', 0.0015), ('mnist', 'test[:2000]', 0.006), ('fashion_mnist', 'test[:2000]', 0.015)]
MAX_WEIGHTS_BYTES = 1_500_000  # the judges live in git


@pytest.mark.parametrize('dataset', sorted(classifier.JUDGES))
def test_every_judge_is_committed_with_its_recipe(dataset):
  weights_path, record_path = classifier.paths(dataset)
  assert os.path.getsize(weights_path) <= MAX_WEIGHTS_BYTES
  with open(record_path) as f:
    record = json.load(f)
  assert record['dataset'] == dataset and record['format_version'] == classifier.FORMAT_VERSION
  assert record['command'].startswith(f'python -m training.classifier --dataset={dataset}')
  assert record['epochs'] >= 1 and record['train_seconds'] > 0
  assert record['test_accuracy'] >= record['target_accuracy'] == classifier.JUDGES[dataset].target_accuracy


@pytest.mark.parametrize('dataset, split, tolerance', CHECKS)
def test_judge_accuracy_matches_the_recorded_value(dataset, split, tolerance, shared_data, tfds_data_dir):
  judge = classifier.load_judge(dataset)
  images, labels, _ = classifier.labelled_arrays(dataset, split, judge.image_size, tfds_data_dir,
                                                 shared_data / dataset if dataset != 'digits' else None)
  assert classifier.accuracy(judge, images, labels) == pytest.approx(judge.record['test_accuracy'], abs=tolerance)


def test_mnist_and_fashion_mnist_prepared_in_one_data_dir_stay_apart(shared_data, tfds_data_dir):
  # Both ship archives of the same names; TFDS once reused MNIST's extracted files for Fashion-MNIST.
  first = {}
  for name in ('mnist', 'fashion_mnist'):
    data, _ = datasets.load_images(name, 32, split='train[:8]', data_dir=tfds_data_dir,
                                   manual_dir=shared_data / name)
    first[name] = next(iter(data.batch(8))).numpy()
  assert not np.allclose(first['mnist'], first['fashion_mnist'])


def test_judge_errors_are_one_line(tmp_path):
  with pytest.raises(JudgeError, match=r"no judge for dataset 'cifar10': judges exist for digits, mnist"):
    classifier.load_judge('cifar10')
  with pytest.raises(JudgeError, match=r'no trained judge for .digits.* python -m training.classifier --dataset'):
    classifier.load_judge('digits', str(tmp_path))
  (tmp_path / 'digits.weights.h5').write_bytes(b'not hdf5')
  (tmp_path / 'digits.json').write_text(json.dumps({**classifier.load_judge('digits').record}))
  with pytest.raises(JudgeError, match='cannot load'):
    classifier.load_judge('digits', str(tmp_path))
  judge = classifier.load_judge('digits')
  with pytest.raises(JudgeError, match='the digits judge takes 16x16x1 images, got 32x32x1'):
    judge.predict(np.zeros((2, 32, 32, 1), np.float32))
