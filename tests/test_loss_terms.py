"""The loss terms of training/loss_terms.py, each alone on numbers a person can check, the registry's names for them,
and the step builder's functions kept short enough to read (issue 33)."""

import ast
import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT, tiny_config
from training import loss_terms, losses
from training.loss_terms import GLOBAL, PER_GENERATOR_STEP, CriticView, GeneratorView, Penalty, Term
from training.losses import ADVERSARIAL, AUXILIARY_CLASSIFIER, GRADIENT_PENALTY, R1

DIGITS = tuple('0123456789')


def t(values):
  return tf.constant(values, tf.float32)


def _view(real_logits, fake_logits, **fields):
  """A CriticView of (B, 1) logits; the other fields None unless given."""
  values = dict(real=None, fake=None, real_logits=t(real_logits)[:, None], fake_logits=t(fake_logits)[:, None],
                real_class_logits=None, labels=None, batch={})
  return CriticView(**{**values, **fields})


def _quadratic(x, training):
  """D(x) = ½‖x‖², so ∇_x D = x: a penalty's gradient is the point it is taken at."""
  del training
  return 0.5 * tf.reduce_sum(tf.square(x), axis=1, keepdims=True)


# --- The registry names the terms --------------------------------------------------------------------------------

FAMILY_TERMS = {
    'dcgan': (ADVERSARIAL,),
    'lsgan': (ADVERSARIAL,),
    'wgan': (ADVERSARIAL,),  # the Lipschitz constraint is the update's clipping, no term
    'wgan_gp': (ADVERSARIAL, GRADIENT_PENALTY),
    'hinge': (ADVERSARIAL,),
    'ns_r1': (ADVERSARIAL, R1),
}


@pytest.mark.parametrize('name', sorted(losses.LOSSES))
def test_registry_names_each_familys_terms(name):
  family = losses.LOSSES[name]
  assert family.terms == FAMILY_TERMS[name] and all(term in loss_terms.TERMS for term in family.terms)
  assert (GRADIENT_PENALTY in family.terms) == (family.gradient_penalty_weight > 0)  # λ = 10 for wgan_gp only
  assert family.r1 == (R1 in family.terms)
  assert bool(family.clip_value) == (name == 'wgan')


@pytest.mark.parametrize('settings, critic, generator, penalty', [
    (dict(loss='wgan_gp'), (ADVERSARIAL,), (ADVERSARIAL,), 'gradient_penalty'),
    (dict(loss='wgan_gp', gp_weight=0.0), (ADVERSARIAL,), (ADVERSARIAL,), None),
    (dict(loss='lsgan', gp_weight=1.0, critic_norm='layer'), (ADVERSARIAL,), (ADVERSARIAL,), 'gradient_penalty'),
    (dict(loss='ns_r1'), (ADVERSARIAL,), (ADVERSARIAL,), 'r1_penalty'),
    (dict(loss='ns_r1', r1_gamma=0.0), (ADVERSARIAL,), (ADVERSARIAL,), None),
    (dict(loss='hinge', conditioning='projection', data_classes=DIGITS), (ADVERSARIAL,), (ADVERSARIAL,), None),
    (dict(loss='wgan_gp', conditioning='acgan', data_classes=DIGITS), (ADVERSARIAL, AUXILIARY_CLASSIFIER),
     (ADVERSARIAL, AUXILIARY_CLASSIFIER), 'gradient_penalty'),
], ids=['wgan_gp', 'gp_off', 'gp_on_lsgan', 'ns_r1', 'r1_off', 'projection', 'acgan'])
def test_settings_make_the_registrys_terms(settings, critic, generator, penalty):
  """The family's terms, --gp_weight adding or removing the gradient penalty, --r1_gamma=0 removing R1, and
  --conditioning=acgan (not projection) adding the classifier to both losses, after the adversarial term."""
  terms = loss_terms.terms_of(tiny_config('/unused', **settings))
  assert tuple(term.name for term in terms.critic) == critic
  assert tuple(term.name for term in terms.generator) == generator
  assert (terms.penalty and terms.penalty.metric) == penalty


def test_two_penalties_are_refused():
  # resolve refuses --gp_weight with an R1 family; a config that skipped it must not train with both.
  config = dataclasses.replace(tiny_config('/unused', loss='ns_r1'), gp_weight=1.0)
  with pytest.raises(ValueError, match='one critic penalty'):
    loss_terms.terms_of(config)


# --- Each term alone ----------------------------------------------------------------------------------------------

def test_dcgan_real_labels_are_smoothed_then_flipped():
  # 1 - 0.1 everywhere, 0 where uniform < 0.2.
  got = loss_terms.real_labels(t([0.1, 0.5, 0.19, 0.2]), smoothing=0.1, flip=0.2)
  np.testing.assert_allclose(got, [0.0, 0.9, 0.0, 0.9])


def test_adversarial_term_wgan():
  terms = loss_terms.adversarial_terms(tiny_config('/unused', loss='wgan'))
  critic, generator = terms.critic[0], terms.generator[0]
  assert (critic.weight, critic.metric, generator.weight, generator.metric) == (1.0, None, 1.0, None)
  # L_D = D(G(z)) - D(x); L_G = -D(G(z)).
  np.testing.assert_allclose(critic.per_example(_view([1.0, 2.0], [0.5, -1.0])), [-0.5, -3.0])
  np.testing.assert_allclose(generator.per_example(GeneratorView(t([[0.5], [-1.0]]), None, None)), [-0.5, 1.0])


def test_adversarial_term_passes_the_lsgan_targets():
  # a, b, c = -1, 1, 0: L_D = ½(D(x) - 1)² + ½(D(G(z)) + 1)², L_G = ½ D(G(z))².
  terms = loss_terms.adversarial_terms(tiny_config('/unused', loss='lsgan', lsgan_labels=(-1.0, 1.0, 0.0)))
  np.testing.assert_allclose(terms.critic[0].per_example(_view([1.0, 3.0], [-1.0, 1.0])), [0.0, 4.0])
  np.testing.assert_allclose(terms.generator[0].per_example(GeneratorView(t([[1.0], [-2.0]]), None, None)),
                             [0.5, 2.0])


def test_adversarial_term_dcgan_with_smoothed_and_flipped_real_labels():
  """D(x) = ln 3 (σ = 3/4), D(G(z)) = 0 (σ = 1/2). Uniform 0.1 < flip 0.2: target 0, -ln(1/4) = ln 4; uniform 0.5:
  target 0.9, 0.9 ln(4/3) + 0.1 ln 4. Each plus the fake's -ln(1/2) = ln 2."""
  config = tiny_config('/unused', loss='dcgan', label_smoothing=0.1, label_flip=0.2)
  view = _view([math.log(3)] * 2, [0.0, 0.0], batch={'uniform': t([0.1, 0.5])})
  expected = [math.log(4) + math.log(2), 0.9 * math.log(4 / 3) + 0.1 * math.log(4) + math.log(2)]
  np.testing.assert_allclose(loss_terms.adversarial_terms(config).critic[0].per_example(view), expected, rtol=1e-6)
  plain = loss_terms.adversarial_terms(tiny_config('/unused', loss='dcgan'))  # target 1: -ln(3/4)
  np.testing.assert_allclose(plain.critic[0].per_example(view), [math.log(4 / 3) + math.log(2)] * 2, rtol=1e-6)


def test_auxiliary_classifier_term_on_both_sides():
  """Cross-entropy of the asked-for class (Odena et al. 2017): logits (ln 3, 0) give class 0 the probability 3/4;
  the critic's on the real batch's class logits, weighted --acgan_weight, the generator's on its samples'."""
  config = tiny_config('/unused', loss='wgan_gp', conditioning='acgan', data_classes=DIGITS, acgan_weight=0.5,
                       acgan_generator_weight=0.3)
  terms = loss_terms.auxiliary_classifier_terms(config)
  critic, generator = terms.critic[0], terms.generator[0]
  assert (critic.weight, critic.metric, generator.weight, generator.metric) == (0.5, 'd_class_loss', 0.3,
                                                                                'g_class_loss')
  class_logits = t([[math.log(3), 0.0], [math.log(3), 0.0]])
  labels = tf.constant([0, 1])
  expected = [-math.log(0.75), -math.log(0.25)]
  view = _view([0.0, 0.0], [0.0, 0.0], real_class_logits=class_logits, labels=labels)
  np.testing.assert_allclose(critic.per_example(view), expected, rtol=1e-6)
  np.testing.assert_allclose(generator.per_example(GeneratorView(None, class_logits, labels)), expected, rtol=1e-6)


def test_gradient_penalty_term_at_the_interpolates():
  """x̂ = α·1 + (1 − α)·0 in R⁴, so ∇D(x̂) = x̂ and ‖x̂‖ = 2α: (2α − 1)² = 0.25, 0, 1 for α = 0.25, 0.5, 1
  (Gulrajani et al. 2017, one uniform α per example; the α of batch['alpha'])."""
  config = tiny_config('/unused', loss='wgan_gp', gp_weight=7.0, gp_every=2, n_critic=3)
  penalty = loss_terms.gradient_penalty_terms(config).penalty
  assert (penalty.metric, penalty.weight, penalty.every, penalty.rule) == ('gradient_penalty', 7.0, 2, GLOBAL)
  got = penalty.per_example(_quadratic, tf.ones([3, 4]), tf.zeros([3, 4]), {'alpha': t([0.25, 0.5, 1.0])})
  np.testing.assert_allclose(got, [0.25, 0.0, 1.0], atol=1e-6)
  old_rule = dataclasses.replace(config, lazy_rule=PER_GENERATOR_STEP)  # a run recorded before the global rule
  assert loss_terms.gradient_penalty_terms(old_rule).penalty.rule == PER_GENERATOR_STEP


def test_r1_term_reads_the_real_batch_only():
  """‖∇D(x)‖² = ‖x‖² on the real batch: 4 and 4; the fakes (NaN here) never enter (Mescheder et al. 2018, Eq. 9).
  Weight γ/2, lazily every --r1_every updates by the global rule."""
  config = tiny_config('/unused', loss='ns_r1', r1_gamma=0.4, r1_every=4)
  penalty = loss_terms.r1_terms(config).penalty
  assert (penalty.metric, penalty.weight, penalty.every, penalty.rule) == ('r1_penalty', 0.2, 4, GLOBAL)
  real = t([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 2.0]])
  np.testing.assert_allclose(penalty.per_example(_quadratic, real, tf.fill([2, 4], np.nan), {}), [4.0, 4.0])


# --- Summing them, and the lazy penalty --------------------------------------------------------------------------

def test_weighted_sum_in_order_with_the_metrics_of_the_terms_that_log_one():
  terms = (Term('a', lambda view: t([1.0, 3.0])), Term('b', lambda view: t([2.0, 4.0]), 0.5, 'b_loss'))
  total, metrics = loss_terms.weighted_sum(terms, None, tf.reduce_mean)
  assert float(total) == 2.0 + 0.5 * 3.0 and {k: float(v) for k, v in metrics.items()} == {'b_loss': 3.0}


@pytest.mark.parametrize('rule, every, weights, extra', [
    (GLOBAL, 1, [10.0] * 5, 10.0),
    (GLOBAL, 2, [20.0] * 5, 20.0),  # k·λ on every update; the update skips the computation where j % k != 0
    (PER_GENERATOR_STEP, 2, [50 / 3, 0.0, 50 / 3, 0.0, 50 / 3], 10.0),  # updates 0, 2, 4 carry 5λ between them
])
def test_penalty_weights_per_critic_update(rule, every, weights, extra):
  got, got_extra = loss_terms.penalty_weights(Penalty('gradient_penalty', 10.0, every, rule, None), n_critic=5)
  np.testing.assert_allclose(got, weights)
  assert got_extra == extra
  assert loss_terms.penalty_weights(None, 3) == ([0.0, 0.0, 0.0], 0.0)


def test_lazy_penalty_is_computed_on_every_kth_global_update():
  lazy = Penalty('r1_penalty', 0.05, 3, GLOBAL, None)
  assert lazy.skipped_sometimes and lazy.is_due(6) and not lazy.is_due(7)
  for index, expected, due in ((3, 5.0, True), (4, 0.0, False)):
    value, flag = lazy.mean(lambda: tf.constant(5.0), {'index': tf.fill([4], tf.constant(index, tf.int64))})
    assert (float(value), bool(flag)) == (expected, due)
  every = Penalty('r1_penalty', 0.05, 1, GLOBAL, None)  # no batch index needed where nothing is skipped
  value, flag = every.mean(lambda: tf.constant(5.0), {})
  assert not every.skipped_sometimes and float(value) == 5.0 and flag is None


# --- The step builder stays readable ----------------------------------------------------------------------------

MAX_LINES = 60
STEP_BUILDER = ('training/steps.py', 'training/loss_terms.py', 'training/losses.py')


def function_lengths(source: str) -> dict:
  """{name: lines from `def` to its last line} of every function, nested ones included (and counted in their
  parent too)."""
  return {node.name: node.end_lineno - node.lineno + 1 for node in ast.walk(ast.parse(source))
          if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_function_lengths_are_measured_with_nested_functions():
  body = ''.join(f'    x{i} = {i}\n' for i in range(58))
  lengths = function_lengths(f'def outer():\n  def inner():\n{body}  return inner\n')
  assert lengths == {'outer': 61, 'inner': 59}


@pytest.mark.parametrize('path', STEP_BUILDER)
def test_step_builder_functions_are_short(path):
  lengths = function_lengths((REPO_ROOT / path).read_text())
  assert lengths and {name: n for name, n in lengths.items() if n > MAX_LINES} == {}
