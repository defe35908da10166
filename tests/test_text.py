"""Discrete data: the text corpus, Gumbel-Softmax and straight-through sampling, the n-gram JSD, and the text
pipeline end to end (a few training steps with each sampler, export with parity, evaluation, temperature sampling).
"""

import json
import os
import random

import numpy as np
import pytest
import tensorflow as tf

from evaluation import text_metrics
from data import text_data
from training import categorical

SHAKESPEARE_LINES = ['First Citizen:', 'Before we proceed any further, hear me speak.', 'All:', 'Speak, speak.',
                     'You are all resolved rather to die than to famish?', 'Resolved. resolved.',
                     'First, you know Caius Marcius is chief enemy to the people.', "We know't, we know't."]


def write_text(path, lines, repeat=1):
  path.write_text('\n\n'.join(lines * repeat) + '\n', encoding='utf-8')
  return path


# --- Corpus ----------------------------------------------------------------------------------------------------

def test_lines_are_truncated_padded_and_encoded_with_unk_first(tmp_path):
  path = write_text(tmp_path / 'play.txt', SHAKESPEARE_LINES, repeat=3)
  corpus = text_data.load_corpus(str(path), 16, 10)
  assert corpus.vocab[0] == 'unk' and len(corpus.vocab) == 10
  trained = [line[:16].ljust(16, '`') for line in SHAKESPEARE_LINES * 3][:-2]  # the vocabulary of the train part
  counts = {c: sum(line.count(c) for line in trained) for c in corpus.vocab[1:]}
  assert list(counts.values()) == sorted(counts.values(), reverse=True)  # most frequent first
  assert corpus.train.shape == (len(SHAKESPEARE_LINES) * 3 - 2, 16) and corpus.train.dtype == np.int32  # 24 lines, 10% held out
  assert corpus.decode(corpus.train[:1])[0] == ''.join(c if c in corpus.vocab else '\ufffd'
                                                       for c in 'First Citizen:``')
  assert len(corpus.heldout) == 2 and all(len(line) == 16 for line in corpus.heldout)  # blank lines skipped


def test_windows_cut_the_whole_text(tmp_path):
  path = tmp_path / 'abc.txt'
  path.write_text('abcdefgh\nijklmnopqrstuvwxyz' * 4, encoding='utf-8')
  units = text_data.split_units(path.read_text(), 8, 'window')
  assert units[:3] == ['abcdefgh', '\nijklmno', 'pqrstuvw'] and all(len(u) == 8 for u in units)


@pytest.mark.parametrize('content, message', [
    (None, 'does not exist'),
    (b'', 'is empty'),
    (b'\n \n\t\n', 'is empty'),
    (b'caf\xe9 au lait\n', 'is not UTF-8 text (byte 3, line 1'),
    (b'one line\n', 'holds 1 non-blank line; it needs at least 3'),
])
def test_unusable_files_are_refused_in_one_line(tmp_path, content, message):
  path = tmp_path / 'data.txt'
  if content is not None:
    path.write_bytes(content)
  with pytest.raises(text_data.TextError, match=message.replace('(', r'\(')):
    text_data.load_corpus(str(path), 32, 128)


# --- Gumbel-Softmax and straight-through (Jang et al. 2017) ------------------------------------------------------

def test_gumbel_softmax_rows_sum_to_one_and_approach_one_hot_as_tau_falls():
  probs = tf.nn.softmax(tf.random.stateless_normal([64, 8, 12], [1, 2]))
  uniform = tf.random.stateless_uniform([64, 8, 12], [3, 4])
  max_mass = []
  for tau in (5.0, 1.0, 0.1, 0.01, 1e-4):
    y = categorical.gumbel_softmax(probs, uniform, tau).numpy()
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
    max_mass.append(y.max(-1).mean())
  assert max_mass == sorted(max_mass) and max_mass[-1] > 0.999 and max_mass[0] < 0.5
  # As tau -> 0 the sample is the one-hot of argmax(log p + g): a draw from p (the Gumbel-max trick).
  hard = categorical.gumbel_softmax(probs, uniform, 1e-3).numpy().argmax(-1)
  gumbel = np.log(probs.numpy()) + categorical.gumbel_noise(uniform).numpy()
  np.testing.assert_array_equal(hard, gumbel.argmax(-1))


def test_gumbel_max_draws_follow_the_probabilities():
  probs = tf.constant([[0.7, 0.2, 0.1]])
  uniform = tf.random.stateless_uniform([20000, 3], [5, 6])
  draws = categorical.gumbel_softmax(tf.tile(probs, [20000, 1]), uniform, 1e-3).numpy().argmax(-1)
  np.testing.assert_allclose(np.bincount(draws, minlength=3) / 20000, [0.7, 0.2, 0.1], atol=0.015)


def test_straight_through_is_one_hot_forward_and_soft_backward():
  logits = tf.Variable(tf.random.stateless_normal([4, 5, 7], [7, 8]))
  weights = tf.random.stateless_normal([4, 5, 7], [9, 10])
  with tf.GradientTape(persistent=True) as tape:
    soft = tf.nn.softmax(logits)
    hard = categorical.straight_through(soft)
    loss_hard = tf.reduce_sum(hard * weights)
    loss_soft = tf.reduce_sum(soft * weights)
  values = hard.numpy()
  assert set(np.unique(values)) == {0.0, 1.0} and np.all(values.sum(-1) == 1.0)
  np.testing.assert_array_equal(values.argmax(-1), soft.numpy().argmax(-1))
  np.testing.assert_allclose(tape.gradient(loss_hard, logits), tape.gradient(loss_soft, logits), rtol=1e-6)


def test_the_temperature_is_annealed_in_steps_down_to_its_floor():
  tau = lambda step: float(categorical.temperature(step, 1.0, 0.5, 1e-4, 500))  # noqa: E731
  assert tau(0) == tau(499) == 1.0
  assert tau(500) == pytest.approx(np.exp(-0.05)) and tau(999) == tau(500)
  assert tau(5_000) == pytest.approx(np.exp(-0.5)) and tau(10_000) == 0.5 == tau(100_000)  # e^-1 < 0.5: the floor


# --- n-gram JSD (language_helpers.NgramLanguageModel.js_with) ----------------------------------------------------

def test_jsd_of_a_text_with_itself_is_zero_and_of_disjoint_texts_one():
  assert text_metrics.ngram_jsd(SHAKESPEARE_LINES, SHAKESPEARE_LINES) == {f'jsd{n}': 0.0 for n in (1, 2, 3, 4)}
  assert text_metrics.ngram_jsd(['aaaa'], ['bbbb'])['jsd1'] == pytest.approx(1.0)


def test_jsd_matches_a_hand_computation():
  # unigrams: p = {a: 3/4, b: 1/4}, q = {a: 1/4, b: 3/4}; m = {1/2, 1/2}
  expected = 0.5 * 2 * (0.75 * np.log2(1.5) + 0.25 * np.log2(0.5))
  assert text_metrics.ngram_jsd(['aaab'], ['abbb'], orders=(1,))['jsd1'] == pytest.approx(expected)


def test_jsd_grows_with_shuffled_characters():
  rng = random.Random(0)

  def shuffled(fraction):
    out = []
    for line in SHAKESPEARE_LINES:
      chars = list(line)
      picked = [i for i in range(len(chars)) if rng.random() < fraction]
      values = [chars[i] for i in picked]
      rng.shuffle(values)
      for i, v in zip(picked, values):
        chars[i] = v
      out.append(''.join(chars))
    return out

  jsd4 = [text_metrics.ngram_jsd(shuffled(f), SHAKESPEARE_LINES)['jsd4'] for f in (0.0, 0.2, 0.5, 1.0)]
  assert jsd4[0] == 0.0 and jsd4 == sorted(jsd4) and jsd4[-1] > 0.5
  assert text_metrics.ngram_jsd(shuffled(1.0), SHAKESPEARE_LINES)['jsd1'] == pytest.approx(0.0, abs=1e-12)  # same letters


# --- The pipeline end to end -------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def shakespeare(shared_data):
  return shared_data / 'tinyshakespeare' / 'input.txt'


@pytest.mark.slow
@pytest.mark.parametrize('sampler', [{}, {'gumbel_softmax': True}, {'gumbel_softmax': True, 'straight_through': True}],
                         ids=['softmax', 'gumbel', 'straight_through'])
def test_text_trains_evaluates_and_exports_with_parity(tmp_path, shakespeare, sampler):
  from evaluation import text_evaluate, text_plugin
  from export.model_folder import export_model
  from tests.conftest import tiny_config
  from training import trainer
  config = tiny_config(tmp_path / 'run', dataset=f'text:{shakespeare}', arch='resnet1d', seq_len=12, width=8,
                       latent_dim=16, steps=3, n_critic=2, eval_every=3, eval_samples=64, **sampler)
  evaluator = text_plugin.TextEvaluator(config.dataset, config, config.eval_samples)
  run_dir = trainer.train(config, log=lambda *_: None, evaluator=evaluator)
  with open(os.path.join(run_dir, 'eval.csv')) as f:
    header, row = f.read().splitlines()[:2]
  assert 'jsd4' in header and all(0 <= float(v) <= 1 for v in row.split(',')[1:5])
  lines = open(os.path.join(run_dir, 'samples', 'step_0000002.txt'), encoding='utf-8').read().splitlines()
  assert len(lines) == config.num_samples and all(len(line) == 12 for line in lines)
  folder = export_model(run_dir, models_dir=str(tmp_path / 'models'), log=lambda _: None)
  metadata = json.load(open(os.path.join(folder, 'metadata.json')))
  assert metadata['kind'] == 'text' and metadata['cuda_fallback_nodes'] == 0
  assert metadata['parity_max_abs_diff'] <= 1e-4 and metadata['vocab'][0] == 'unk'
  import onnxruntime as ort
  session = ort.InferenceSession(os.path.join(folder, 'model.onnx'), providers=['CPUExecutionProvider'])
  assert [o.name for o in session.get_outputs()] == ['probs', 'ids']
  result = text_evaluate.evaluate_text('model', os.path.join(folder, 'model.onnx'), 64)
  assert result['samples'].keys() == result['floor'].keys() == {'jsd1', 'jsd2', 'jsd3', 'jsd4'}
  assert result['floor']['jsd4'] < result['samples']['jsd4']  # 3 steps: far from real text


def test_config_refuses_text_settings_elsewhere_and_other_archs_on_text(shakespeare):
  from training.config import ConfigError, TrainConfig, resolve
  with pytest.raises(ConfigError, match='--gumbel_softmax applies to text data only'):
    resolve(TrainConfig(gumbel_softmax=True))
  with pytest.raises(ConfigError, match='--arch=dcgan trains image data, --dataset=text:.* is text data; choose '
                                        '--arch=resnet1d'):
    resolve(TrainConfig(dataset=f'text:{shakespeare}', arch='dcgan'))  # given explicitly: still refused


def test_temperature_sampling_is_a_function_of_seed_and_line():
  from serve import text_sampler
  probs = tf.nn.softmax(tf.random.stateless_normal([6, 10, 5], [1, 1])).numpy()
  np.testing.assert_array_equal(text_sampler.sample_ids(probs, 3, 0), probs.argmax(-1))
  a = text_sampler.sample_ids(probs, 3, 1.0)
  np.testing.assert_array_equal(a[:4], text_sampler.sample_ids(probs[:4], 3, 1.0))  # line i ignores the count
  assert not np.array_equal(a, text_sampler.sample_ids(probs, 4, 1.0))
  # At temperature 1 the draws follow the model's probabilities.
  flat = np.tile(np.array([[[0.6, 0.3, 0.1]]]), (4000, 1, 1))
  draws = text_sampler.sample_ids(flat, 0, 1.0)[:, 0]
  np.testing.assert_allclose(np.bincount(draws, minlength=3) / 4000, [0.6, 0.3, 0.1], atol=0.03)
  for bad in (-0.1, 5.5, 'hot', True, float('nan')):
    with pytest.raises(ValueError, match='temperature must be a number from 0 to 5'):
      text_sampler.validate_temperature(bad)
