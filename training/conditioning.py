"""Class-conditional GANs (--conditioning): where the class label enters each network, one registry entry per
mode, so that the trainer, the steps and generator_io never branch on the mode's name.

Generator (every mode but none): the class enters through conditional BatchNorm — every BatchNorm keeps the
batch's statistics and takes its scale and shift from the class (Miyato & Koyama 2018, Sec. 3; BigGAN) — or, in
generators without BatchNorm (mlp_image, dcgan_family with --generator_norm=none), as one-hot weights
concatenated with z (Mirza & Osindero 2014). training/image_layers.py builds either from the same builders.

Critic:
  projection  D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩ (Miyato & Koyama 2018, Eq. 3): φ is the critic's last
              features, the input of its linear output layer ψ; embed(y) a learned vector per class. Works with
              every loss, since it only changes what the logit is.
  acgan       D(x) = (ψ(φ(x)), class logits W φ(x)): an auxiliary classifier head (Odena et al. 2017). As the
              WGAN-GP paper's conditional CIFAR-10 model trains it (gan_cifar_resnet.py, ACGAN_SCALE = 1,
              ACGAN_SCALE_G = 0.1): the critic adds the classifier's cross-entropy on *real* images (weight
              --acgan_weight), the generator the cross-entropy of its samples' asked-for class (weight
              --acgan_generator_weight). Odena et al. also train the classifier on generated images; here, as in
              the WGAN-GP code, it never learns from them, so it cannot learn to recognise a generator's mistakes
              as the class it was asked for.

Labels in a step (training/steps.py): the critic's fakes take the real batch's labels, so each interpolate of the
gradient penalty lies between two images of the same class and the critic is scored on (x̂, y); the generator
update's labels are the real batch's again (--fake_labels=data, the default: the data's class frequencies
without counting them, the joint p(x, y) that the critic compares against) or uniform (--fake_labels=uniform).
"""

import contextlib
import dataclasses
from typing import Callable

import keras
import tensorflow as tf
from keras import layers

from training import image_layers
from training.architectures import arch_options

NONE = 'none'


def is_conditional(config) -> bool:
  """Whether `config` (a TrainConfig, or a namespace without the setting) trains on labels: known before the data
  is opened, unlike `num_classes`."""
  return getattr(config, 'conditioning', NONE) != NONE


def num_classes(config) -> int:
  """K of the label input that `config` trains, from its data_classes (set once the data is opened); 0: none."""
  return len(config.data_classes) if is_conditional(config) else 0


# --fake_labels: (the real batch's class ids (B,), K, r, stateless seed) -> the r·B classes of the generator update.
FAKE_LABELS = {
    # The real batch's classes again, r times: the data's class frequencies without counting them.
    'data': lambda labels, k, r, seed: tf.reshape(tf.tile(labels[:, None], [1, r]), [-1]),
    'uniform': lambda labels, k, r, seed: tf.random.stateless_uniform([r * labels.shape[0]], seed, maxval=k,
                                                                      dtype=tf.int64),
}


def _features(critic: keras.Model):
  """φ(x) of a critic, flattened to (B, F): the input of its last layer with weights (its linear logit layer)."""
  last = [layer for layer in critic.layers if layer.weights][-1]
  features = last.input
  if len(features.shape) > 2:
    features = layers.Flatten(name='class_features')(features)
  return features


def _projection_critic(critic: keras.Model, num_classes: int) -> keras.Model:
  labels = keras.Input((num_classes,), name='labels')
  features = layers.Activation('linear', dtype='float32', name='features_f32')(_features(critic))
  embedded = layers.Dense(features.shape[-1], use_bias=False, dtype='float32', name='class_embedding')(labels)
  projection = layers.Dot(axes=1, dtype='float32', name='projection')([embedded, features])  # (B, 1)
  logits = layers.Add(dtype='float32', name='conditional_logits')([critic.output, projection])
  return keras.Model([critic.input, labels], logits, name='critic')


def _acgan_critic(critic: keras.Model, num_classes: int) -> keras.Model:
  class_logits = layers.Dense(num_classes, dtype='float32', name='class_logits')(_features(critic))
  return keras.Model(critic.input, [critic.output, class_logits], name='critic')


@dataclasses.dataclass(frozen=True)
class Conditioning:
  name: str
  description: str
  wrap_critic: Callable  # (unconditional critic, K) -> the critic of this mode
  critic_takes_labels: bool  # the critic is called on [images, labels]
  classifier: bool  # the critic also returns class logits (B, K)

  def score(self, critic, images, labels, training=True):
    """(logits (B, 1), class logits (B, K) or None) of `critic` on `images` asked to be of `labels` (B, K)."""
    out = critic([images, labels] if self.critic_takes_labels else images, training=training)
    return tuple(out) if self.classifier else (out, None)


CONDITIONINGS = {
    NONE: Conditioning(NONE, 'unconditional: no label input', lambda critic, k: critic, False, False),
    'projection': Conditioning('projection', 'projection discriminator (Miyato & Koyama 2018)', _projection_critic,
                               True, False),
    'acgan': Conditioning('acgan', "auxiliary classifier (Odena et al. 2017), the WGAN-GP paper's CIFAR-10 form",
                          _acgan_critic, False, True),
}


def generator_scope(arch, options: dict, num_classes: int):
  """The context in which `arch`'s image generator builder gives a conditional generator of `num_classes` classes
  (0: a plain one)."""
  if not num_classes:
    return contextlib.nullcontext()
  return image_layers.labelled(num_classes, 'batchnorm' if arch.generator_batch_norm(options) else 'concat')


def build_generator(build: Callable, arch, config):
  """`build()` (a data kind's generator builder) inside the scope that config's --conditioning asks for."""
  with generator_scope(arch, arch_options(arch, config, 'generator'), num_classes(config)):
    return build()


def generator_inputs(z, label_weights=None):
  """What a generator is called on: z, or [z, class weights (B, K)] for a conditional one."""
  return z if label_weights is None else [z, label_weights]
