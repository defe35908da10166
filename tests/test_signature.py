"""GeneratorSignature (common/signature.py) as the object the stages hand each other (STYLE.md 28): the number of
classes, the class of row i (i mod K, written once), the check of a graph's inputs with one strictness for serve,
evaluation and export, and the validation of `label_classes`; and greps that no stage reads `label_classes` by hand
or restates the row rule. Fast: no training, hand-built graphs only.
"""

import pathlib
import re
import types

import numpy as np
import pytest

from common import signature as signature_lib
from common.signature import GeneratorSignature, GraphTensor, SignatureError

REPO = pathlib.Path(__file__).resolve().parents[1]
STAGES = ('data', 'training', 'evaluation', 'export', 'serve')  # common/ is where these may be written

UNCONDITIONAL = signature_lib.image(8, 16, 1)
CONDITIONAL = signature_lib.image(8, 16, 1, label_classes=('a', 'b', 'c'))  # K = 3


def _z(width=8, name='z', dtype='float32', shape=...):
  return GraphTensor(name, dtype, ('batch', width) if shape is ... else shape)


def _labels(width=3, dtype='float32'):
  return GraphTensor('labels', dtype, ('batch', width))


# ---------------------------------------------------------------------------------------------------------------
# The class of each row

def test_row_i_asks_for_class_i_mod_k():
  classes = CONDITIONAL.row_classes(7)
  assert classes.tolist() == [0, 1, 2, 0, 1, 2, 0] and classes.dtype == np.int64
  assert CONDITIONAL.num_classes == 3 and UNCONDITIONAL.num_classes == 0
  np.testing.assert_array_equal(CONDITIONAL.row_weights(4), [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
  assert CONDITIONAL.row_weights(4).dtype == np.float32
  assert signature_lib.row_classes(5, 2).tolist() == [0, 1, 0, 1, 0]  # the rule for callers holding K alone
  assert CONDITIONAL.row_classes(0).shape == (0,)


def test_a_generator_without_a_label_input_has_no_row_classes():
  with pytest.raises(ValueError, match='asks for no class'):
    UNCONDITIONAL.row_classes(4)


def test_the_rule_runs_in_a_tf_function_of_a_dynamic_batch():
  """The SavedModel's `sample` asks the same function with tf.range, its count a scalar tensor: the graph traced
  once (input_signature: the batch unknown when tracing) answers every batch size."""
  import tensorflow as tf
  rows = tf.function(lambda num: CONDITIONAL.row_classes(num, tf.range),
                     input_signature=[tf.TensorSpec([], tf.int32)])
  assert rows(tf.constant(7)).numpy().tolist() == [0, 1, 2, 0, 1, 2, 0]
  assert rows(tf.constant(4)).numpy().tolist() == [0, 1, 2, 0]


# ---------------------------------------------------------------------------------------------------------------
# A graph's inputs against the metadata

@pytest.mark.parametrize('signature, inputs', [
    (UNCONDITIONAL, [_z()]),
    (UNCONDITIONAL, [_z(shape=(None, 8))]),  # a SavedModel's open batch
    (UNCONDITIONAL, [_z(shape=(64, 8))]),  # a fixed batch: any
    (UNCONDITIONAL, [_z(shape=('batch', 'latent'))]),  # an axis the graph leaves open
    (CONDITIONAL, [_z(), _labels()]),
    (CONDITIONAL, [_labels(), _z()]),  # the order does not matter, the names do
])
def test_check_inputs_accepts_what_the_signature_takes(signature, inputs):
  signature.check_inputs(inputs)


@pytest.mark.parametrize('signature, inputs, message', [
    (UNCONDITIONAL, [_z(name='x')],
     "the graph has 1 input (x), expected one latent input 'z' (its metadata names no label_classes)"),
    (UNCONDITIONAL, [_z(dtype='float16')], "graph input 'z' is float16, expected float32"),
    (UNCONDITIONAL, [_z(width=9)], "graph input 'z' has shape ['batch', 9], metadata says (batch, 8)"),
    (UNCONDITIONAL, [_z(shape=('batch', 4, 2))], "graph input 'z' has shape ['batch', 4, 2], metadata says "
                                                 "(batch, 8)"),
    (UNCONDITIONAL, [_z(shape=None)], "graph input 'z' has shape of unknown rank, metadata says (batch, 8)"),
    (UNCONDITIONAL, [_z(), _labels()],
     "the graph has 2 inputs (z, labels), expected one latent input 'z' (its metadata names no label_classes)"),
    (CONDITIONAL, [_z()], "its metadata names 3 classes, but the graph has no 'labels' input"),
    (CONDITIONAL, [_z(name='x'), _labels()],
     "the graph has inputs (x, labels), expected 'z' and 'labels' (its metadata names 3 label_classes)"),
    (CONDITIONAL, [_z(), _labels(), _z(name='noise')],
     "the graph has inputs (z, labels, noise), expected 'z' and 'labels' (its metadata names 3 label_classes)"),
    (CONDITIONAL, [_z(), _labels(width=5)],
     "graph label input 'labels' has shape ['batch', 5], metadata says (batch, 3): its 3 label_classes"),
    (CONDITIONAL, [_z(), _labels(dtype='int64')], "graph label input 'labels' is int64, expected float32"),
])
def test_check_inputs_refuses_with_one_line(signature, inputs, message):
  with pytest.raises(SignatureError) as error:
    signature.check_inputs(inputs)
  assert str(error.value) == message


def test_check_output():
  CONDITIONAL.check_output(GraphTensor('images', 'float32', ('batch', 16, 16, 1)))
  with pytest.raises(SignatureError, match=r"graph output 'images' has shape \['batch', 16, 16, 3\], metadata says "
                                           r"\(batch, 16, 16, 1\)$"):
    CONDITIONAL.check_output(GraphTensor('images', 'float32', ('batch', 16, 16, 3)))


def test_graph_tensors_of_onnx_runtime_and_tensorflow():
  """What each runtime says of an input, in one vocabulary: NumPy's dtype names, None or a name for an open axis."""
  import tensorflow as tf
  onnx_arg = types.SimpleNamespace(name='labels', type='tensor(int64)', shape=['batch', 10])
  assert GraphTensor.of_onnx(onnx_arg) == GraphTensor('labels', 'int64', ('batch', 10))
  assert GraphTensor.of_onnx(types.SimpleNamespace(name='z', type='tensor(float)', shape=['batch', 8])).dtype == \
      'float32'
  assert GraphTensor.of_tf('z', tf.TensorSpec([None, 8], tf.float32)) == GraphTensor('z', 'float32', (None, 8))
  assert GraphTensor.of_tf('z', tf.TensorSpec(None, tf.float32)).shape is None


def test_serve_and_evaluation_refuse_a_graph_alike(tmp_path):
  """A labels input 10 wide under metadata naming 5 classes: the same sentence from the app (a skipped folder)
  and from evaluation's ONNX source (after the file's path) - one check, not two."""
  from evaluation import sources
  from evaluation.images import EvaluationError
  from serve import models as models_lib
  from tests.bad_input_workspaces import Workspace, model_folder
  from tests.serve_server import tiny_conditional_onnx
  model_folder(Workspace(tmp_path, shared=None), 'models/m', tiny_conditional_onnx(10), label_classes=list('abcde'))
  expected = "graph label input 'labels' has shape ['batch', 10], metadata says (batch, 5): its 5 label_classes"
  with pytest.raises(models_lib.ModelError) as served:
    models_lib.load_model(str(tmp_path / 'models' / 'm'), 'cpu')
  with pytest.raises(EvaluationError) as evaluated:
    sources.onnx_source(str(tmp_path / 'models' / 'm' / 'model.onnx'))
  assert str(served.value) == expected
  assert str(evaluated.value) == f'{tmp_path}/models/m/model.onnx: {expected}'


# ---------------------------------------------------------------------------------------------------------------
# label_classes: validated once, read once

@pytest.mark.parametrize('names', [['a', 'a'], ['a', ''], 'ab', ['a', 3], {'a': 1}])
def test_label_classes_must_be_distinct_names(names):
  metadata = {**UNCONDITIONAL.to_metadata(), 'label_classes': names}
  with pytest.raises(SignatureError) as error:
    GeneratorSignature.from_metadata(metadata)
  assert str(error.value) == f'label_classes must be a list of distinct class names, got {str(names)[:80]}'


def test_label_classes_are_read_from_the_metadata():
  assert GeneratorSignature.from_metadata(CONDITIONAL.to_metadata()) == CONDITIONAL
  assert GeneratorSignature.from_metadata(UNCONDITIONAL.to_metadata()).label_classes == ()
  assert signature_lib.label_classes_of({'latent_dim': 8, 'label_classes': ['x', 'y']}) == ('x', 'y')
  assert signature_lib.label_classes_of({'latent_dim': 8}) == ()


# ---------------------------------------------------------------------------------------------------------------
# Nothing outside common/ reads label_classes or restates the row rule

RAW_READ = re.compile(r'''\[\s*['"]label_classes['"]\s*\]|\.get\(\s*['"]label_classes['"]''')
# i mod K written again: `x % num_classes`, `% classes`, `% model.num_classes`, `% len(...classes)`, or a mod function
ROW_RULE = re.compile(r'%\s*(?:len\(\s*)?[\w.]*classes\b|floormod|\b(?:np|numpy|tf\.math)\.(?:mod|remainder|fmod)\(')


def _stage_lines():
  for stage in STAGES:
    for path in sorted((REPO / stage).rglob('*.py')):
      for number, line in enumerate(path.read_text().splitlines(), 1):
        yield f'{path.relative_to(REPO)}:{number}: {line.strip()}', line


@pytest.mark.parametrize('pattern, written_before', [
    (RAW_READ, ["classes = len(metadata.get('label_classes', ()))", 'if metadata.get("label_classes"):',
                "len(metadata['label_classes'])", 'names {len(metadata["label_classes"])} classes']),
    (ROW_RULE, ['np.arange(batches * batch_size) % num_classes', 'np.arange(num_samples) % classes',
                'tf.range(num) % num_classes', '[i % model.num_classes for i in range(count)]',
                'np.arange(count) % self.num_classes', 'i % len(self.label_classes)', 'tf.math.floormod(rows, k)']),
])
def test_the_greps_find_what_the_stages_wrote_before(pattern, written_before):
  """The patterns below catch every form the review counted (so the two greps can fail)."""
  assert all(pattern.search(text) for text in written_before)


def test_no_stage_reads_label_classes_by_hand():
  """Stages ask GeneratorSignature.from_metadata(...).label_classes / num_classes (or label_classes_of)."""
  assert [where for where, line in _stage_lines() if RAW_READ.search(line)] == []


def test_the_row_rule_is_written_once():
  """Row i -> class i mod K lives in common/signature.py row_classes alone; every stage asks it."""
  assert [where for where, line in _stage_lines() if ROW_RULE.search(line)] == []
  in_common = [line for path in sorted((REPO / 'common').rglob('*.py')) for line in path.read_text().splitlines()
               if ROW_RULE.search(line)]
  assert in_common == ['  return arange(count) % num_classes']
