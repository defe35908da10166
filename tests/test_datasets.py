"""The data stage on real data: scikit-learn's digits, MNIST prepared offline from ../shared/data, a folder of
real PNG/JPEG files with broken ones among them, and the input pipeline's batching, seeding and flips."""

import gzip

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from data import datasets, input_pipeline
from data.datasets import DatasetError, DatasetInfo

DIGITS_TRAIN, DIGITS_TEST = 1437, 360  # index % 5 == 0 is test: ceil(1797 / 5) = 360


def as_array(dataset):
  return np.stack(list(dataset.as_numpy_iterator()))


def read_idx(path):
  """An MNIST IDX file read with numpy alone: images (N, 28, 28) or labels (N,), uint8."""
  with gzip.open(path, 'rb') as f:
    data = f.read()
  magic = int.from_bytes(data[:4], 'big')
  header = 16 if magic == 2051 else 8
  values = np.frombuffer(data, np.uint8, offset=header)
  return values.reshape(-1, 28, 28) if magic == 2051 else values


# --- digits ------------------------------------------------------------------------------------------------------

class TestDigits:

  def test_images_labels_and_range(self):
    dataset, info = datasets.load_images('digits', 16, split='all', with_labels=True)
    assert info == DatasetInfo('digits', num_examples=1797, channels=1, num_classes=10,
                               class_names=tuple('0123456789'))  # with the labels only: their names
    assert datasets.load_images('digits', 16, split='all')[1].class_names == ()
    assert dataset.element_spec == (tf.TensorSpec((16, 16, 1), tf.float32), tf.TensorSpec((), tf.int64))
    images = as_array(dataset.map(lambda image, label: image))
    labels = as_array(dataset.map(lambda image, label: label))
    assert images.shape == (1797, 16, 16, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() <= 1.0  # background 0/16 is exactly -1
    assert images.max() > 0.95  # ink at 16/16 reaches ~1 after the 8 -> 16 bilinear upsampling
    np.testing.assert_array_equal(np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])

  def test_splits_are_disjoint_deterministic_and_complete(self):
    all_images = as_array(datasets.load_images('digits', 16, split='all')[0])
    train, train_info = datasets.load_images('digits', 16, split='train')
    test, test_info = datasets.load_images('digits', 16, split='test')
    assert (train_info.num_examples, test_info.num_examples) == (DIGITS_TRAIN, DIGITS_TEST)
    assert train_info.num_examples + test_info.num_examples == 1797
    test_images, train_images = as_array(test), as_array(train)
    index = np.arange(1797)
    np.testing.assert_array_equal(test_images, all_images[index % 5 == 0])
    np.testing.assert_array_equal(train_images, all_images[index % 5 != 0])
    np.testing.assert_array_equal(as_array(datasets.load_images('digits', 16, split='test')[0]), test_images)

  def test_unknown_split_and_tiny_size_are_errors(self):
    with pytest.raises(DatasetError, match="no split 'validation'"):
      datasets.load_images('digits', 16, split='validation')
    with pytest.raises(DatasetError, match='too small'):
      datasets.load_images('digits', 4)


# --- MNIST through TFDS, prepared once per session from the original archives -----------------------------------

@pytest.fixture(scope='module')
def mnist_manual_dir(shared_data):
  return str(shared_data / 'mnist')


@pytest.mark.slow  # prepares MNIST (70,000 images) from the archives
class TestMnist:

  def test_split_sizes_and_labels(self, tfds_data_dir, mnist_manual_dir):
    train, info = datasets.load_images('mnist', 32, 'train', tfds_data_dir, mnist_manual_dir)
    assert info == DatasetInfo('mnist', num_examples=60000, channels=1, num_classes=10)
    assert int(train.cardinality()) == 60000
    test, info = datasets.load_images('mnist', 32, 'test', tfds_data_dir, mnist_manual_dir, with_labels=True)
    assert info.num_examples == 10000 and int(test.cardinality()) == 10000
    labels = np.array([int(label) for _, label in test.take(200)])
    assert set(labels) == set(range(10))

  def test_28_is_padded_to_32_not_stretched(self, tfds_data_dir, mnist_manual_dir, shared_data):
    test, _ = datasets.load_images('mnist', 32, 'test', tfds_data_dir, mnist_manual_dir, with_labels=True)
    raw_images = read_idx(shared_data / 'mnist' / 't10k-images-idx3-ubyte.gz')  # (10000, 28, 28) uint8
    raw_labels = read_idx(shared_data / 'mnist' / 't10k-labels-idx1-ubyte.gz')
    for image, label in test.take(3).as_numpy_iterator():
      assert image.shape == (32, 32, 1)
      border = np.ones((32, 32), bool)
      border[2:30, 2:30] = False
      assert np.all(image[..., 0][border] == -1.0)
      # The interior is the original digit, pixel for pixel: a 28 -> 32 resize would match no original.
      inner = np.rint((image[2:30, 2:30, 0] + 1.0) * 127.5).astype(np.uint8)
      np.testing.assert_allclose(inner / 127.5 - 1.0, image[2:30, 2:30, 0], atol=1e-6)
      matches = np.flatnonzero((raw_images == inner).all(axis=(1, 2)))
      assert len(matches) >= 1 and raw_labels[matches[0]] == label

  def test_resized_from_the_padded_square(self, tfds_data_dir, mnist_manual_dir):
    images, _ = datasets.load_images('mnist', 16, 'test', tfds_data_dir, mnist_manual_dir)
    first = as_array(images.take(64))
    assert first.shape == (64, 16, 16, 1)
    assert first.min() == -1.0 and first.max() <= 1.0 and first.max() > 0.9
    # 2 px of 32 is 1 px of 16: the outermost ring is still pure background after the 2x area-like shrink.
    assert np.all(first[:, 0] == -1.0) and np.all(first[:, -1] == -1.0)

  def test_missing_archives_fail_at_once(self, tmp_path, mnist_manual_dir):
    empty = tmp_path / 'archives'
    empty.mkdir()
    with pytest.raises(DatasetError, match=r'--manual_dir=.*lacks .*train-images-idx3-ubyte\.gz'):
      datasets.load_images('mnist', 32, data_dir=str(tmp_path / 'tfds'), manual_dir=str(empty))
    with pytest.raises(DatasetError, match='not a directory'):
      datasets.load_images('mnist', 32, data_dir=str(tmp_path / 'tfds'), manual_dir=str(tmp_path / 'nowhere'))

  def test_unknown_split(self, tfds_data_dir, mnist_manual_dir):
    with pytest.raises(DatasetError, match=r"no split 'validation'.*'test', 'train'"):
      datasets.load_images('mnist', 32, 'validation', tfds_data_dir, mnist_manual_dir)


def test_unknown_dataset_names_the_known_ones(tmp_path):
  with pytest.raises(DatasetError, match=r"unknown dataset 'no_such_dataset'.*digits.*folder:PATH.*mnist"):
    datasets.load_images('no_such_dataset', 32, data_dir=str(tmp_path))


def test_non_image_tfds_dataset(tmp_path):
  with pytest.raises(DatasetError, match='not an image dataset'):
    datasets.load_images('imdb_reviews', 32, data_dir=str(tmp_path))


# --- folder:PATH ---------------------------------------------------------------------------------------------------

def write_tree(root):
  """Real files of several sizes and modes, two unreadable ones and one that is not an image file at all."""
  (root / 'a' / 'deeper').mkdir(parents=True)
  (root / 'b').mkdir()
  # 20 x 60 RGB: black | white | black in thirds; the centre crop keeps only the white square.
  stripes = np.zeros((20, 60, 3), np.uint8)
  stripes[:, 20:40] = 255
  Image.fromarray(stripes).save(root / 'a' / 'stripes.png')
  red = np.zeros((40, 30, 3), np.uint8)
  red[..., 0] = 255
  Image.fromarray(red).save(root / 'a' / 'deeper' / 'red.jpg', quality=100)
  Image.fromarray(np.zeros((33, 33), np.uint8), mode='L').save(root / 'b' / 'black_gray.png')
  rgba = np.full((17, 23, 4), 255, np.uint8)
  Image.fromarray(rgba, mode='RGBA').save(root / 'b' / 'white_rgba.PNG')
  (root / 'b' / 'corrupt.jpg').write_bytes(b'\xff\xd8\xff\xe0 not really a jpeg' * 10)
  (root / 'b' / 'text.png').write_text('a text file with an image extension\n')
  (root / 'b' / 'notes.txt').write_text('not an image extension: never read\n')


class TestFolder:

  def test_reads_images_and_counts_the_skipped(self, tmp_path, caplog):
    write_tree(tmp_path)
    with caplog.at_level('WARNING'):
      dataset, info = datasets.load_images(f'folder:{tmp_path}', 16)
    corrupt, text = str(tmp_path / 'b' / 'corrupt.jpg'), str(tmp_path / 'b' / 'text.png')
    skipped = ((corrupt, 'OSError: Truncated File Read'),
               (text, f'UnidentifiedImageError: cannot identify image file {text!r}'))
    assert info == DatasetInfo(f'folder:{tmp_path}', num_examples=4, channels=3, num_classes=2, skipped=2,
                               skipped_files=skipped, class_names=('a', 'b'),
                               class_counts=(2, 2))  # a/ and b/ are class folders
    assert (f'folder:{tmp_path}: 2 image files skipped: b/corrupt.jpg (OSError: Truncated File Read), b/text.png '
            f'(UnidentifiedImageError: cannot identify image file); 4 of 6 read') in caplog.text
    images = as_array(dataset)  # sorted by path: a/deeper/red, a/stripes, b/black_gray, b/white_rgba
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_allclose(images[0].mean(axis=(0, 1)), [1.0, -1.0, -1.0], atol=0.03)  # JPEG red
    np.testing.assert_allclose(images[1], 1.0, atol=1e-6)  # only the white middle third survives the crop
    np.testing.assert_array_equal(images[2], -1.0)  # grayscale black on all three channels
    np.testing.assert_allclose(images[3], 1.0, atol=1e-6)  # RGBA white, opaque

  def test_home_is_expanded(self, tmp_path, monkeypatch):
    write_tree(tmp_path)
    monkeypatch.setenv('HOME', str(tmp_path))
    _, info = datasets.load_images('folder:~/b', 16)
    assert info.name == f'folder:{tmp_path / "b"}' and info.num_examples == 2

  @pytest.mark.parametrize('make, message', [
      (lambda root: None, 'no such directory'),
      (lambda root: root.mkdir(), 'holds no image files'),
      (lambda root: (root.mkdir(), (root / 'x.txt').write_text('x')), 'holds no image files'),
      (lambda root: (root.mkdir(), (root / 'x.jpg').write_bytes(b'junk')), r'none of its 1 image files can be read'),
  ], ids=['missing', 'empty', 'no_images', 'only_corrupt'])
  def test_errors(self, tmp_path, make, message):
    root = tmp_path / 'images'
    make(root)
    with pytest.raises(DatasetError, match=message):
      datasets.load_images(f'folder:{root}', 16)

  def test_labels_and_test_split_are_errors(self, tmp_path):
    write_tree(tmp_path)
    with pytest.raises(DatasetError, match='no labels'):  # b/ holds loose files only
      datasets.load_images(f'folder:{tmp_path / "b"}', 16, with_labels=True)
    with pytest.raises(DatasetError, match="no split 'test'"):
      datasets.load_images(f'folder:{tmp_path}', 16, split='test')


# --- The input pipeline ------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def digits():
  return datasets.load_images('digits', 16, split='test')  # 360 images


def first_batches(pipeline, n=3):
  return [batch for batch, _ in zip(pipeline.as_numpy_iterator(), range(n))]


def numbered(n):
  """n constant 4x4 images whose value is their index, to follow examples through the pipeline."""
  images = tf.data.Dataset.range(n).map(lambda i: tf.fill([4, 4, 1], tf.cast(i, tf.float32)))
  return images, DatasetInfo('numbered', num_examples=n, channels=1, num_classes=0)


class TestPipeline:

  def test_batches_and_drop_remainder(self, digits):
    images, info = digits
    pipeline = input_pipeline.make_input_pipeline(images, info, 16, 64, seed=0, repeat=False)
    assert pipeline.element_spec == tf.TensorSpec((64, 16, 16, 1), tf.float32)
    batches = list(pipeline.as_numpy_iterator())
    assert len(batches) == 360 // 64 == 5  # the last 40 are dropped

  def test_one_epoch_is_a_permutation_and_the_next_differs(self):
    images, info = numbered(100)
    pipeline = input_pipeline.make_input_pipeline(images, info, 4, 25, seed=3)
    epochs = [np.concatenate(first_batches(pipeline, 8)[i:i + 4])[:, 0, 0, 0] for i in (0, 4)]
    for epoch in epochs:
      np.testing.assert_array_equal(np.sort(epoch), np.arange(100))
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled
    assert not np.array_equal(epochs[0], np.arange(100))  # shuffled at all

  def test_same_seed_same_batches_other_seed_other_batches(self, digits):
    images, info = digits
    make = lambda seed, cache: input_pipeline.make_input_pipeline(images, info, 16, 32, seed=seed, flip=True, cache=cache)
    first = first_batches(make(7, 'auto'))
    for a, b in zip(first, first_batches(make(7, False))):  # the cache changes nothing but speed
      np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first_batches(make(8, 'auto'))[0])

  def test_flip_flips(self):
    image = np.full((16, 16, 1), -1.0, np.float32)
    image[:, :4] = 1.0  # a bar on the left only
    images = tf.data.Dataset.from_tensors(image)
    info = DatasetInfo('bar', num_examples=1, channels=1, num_classes=0)
    drawn = np.concatenate(first_batches(input_pipeline.make_input_pipeline(images, info, 16, 1, seed=0, flip=True), 64))
    flipped = np.array([np.array_equal(x, image[:, ::-1]) for x in drawn])
    kept = np.array([np.array_equal(x, image) for x in drawn])
    assert np.all(flipped | kept) and 16 <= flipped.sum() <= 48  # p = ½, 64 draws
    unflipped = np.concatenate(first_batches(input_pipeline.make_input_pipeline(images, info, 16, 1, seed=0), 8))
    assert all(np.array_equal(x, image) for x in unflipped)

  def test_flip_keeps_labels_and_batch_fn_applies(self):
    images, info = datasets.load_images('digits', 16, split='test', with_labels=True)
    add_latents = lambda batch_images, labels: (batch_images, labels, tf.random.stateless_normal(
        [tf.shape(batch_images)[0], 5], [0, 0]))
    pipeline = input_pipeline.make_input_pipeline(images, info, 16, 32, seed=1, flip=True, cache=False,
                                            batch_fn=add_latents)
    batch_images, labels, latents = next(iter(pipeline))
    assert batch_images.shape == (32, 16, 16, 1) and labels.dtype == tf.int64 and latents.shape == (32, 5)
    assert set(labels.numpy()) <= set(range(10))

  def test_disk_cache(self, digits, tmp_path):
    images, info = digits
    pipeline = input_pipeline.make_input_pipeline(images, info, 16, 60, seed=2, cache=str(tmp_path / 'cache'),
                                            repeat=False)
    assert len(list(pipeline)) == 6
    assert list(tmp_path.glob('cache*'))

  def test_batch_larger_than_dataset(self, digits):
    images, info = digits
    with pytest.raises(DatasetError, match='360 examples, fewer than one batch of 512'):
      input_pipeline.make_input_pipeline(images, info, 16, 512, seed=0)


