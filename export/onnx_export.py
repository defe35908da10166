"""Keras generator → verified ONNX graph: conversion, CUDA-clean check, checker, ORT CPU parity, float16.

The graph: input `z` float32 (batch, latent_dim), one float32 output named by the data kind (common/signature.py):
`images` (batch, H, W, C), NHWC as Keras computes it, values in [-1, 1] (tanh); or `points` (batch, dims). The
batch dimension is symbolic ('batch'), so one file serves any batch. A conditional generator (metadata
`label_classes`, K classes) has a second input `labels` float32 (batch, K), class weights (common/labels.py):
ORT refuses another K or type, and no node indexes by a label, so no value can read out of bounds.
tf2onnx only logs conversion problems, so nothing leaves here without the parity check against TensorFlow.
"""

import json

import numpy as np

from common import artifacts
from common import kinds as common_kinds
from common import signature as common_signature
from common.signature import LABEL_INPUT
from common.artifacts import DEFAULT_OPSET
from common.cli import first_line
from export import kinds
from export.loader import ExportError

INPUT_NAME = 'z'
PARITY_BATCHES = (1, 7, 64)  # a single image, an odd batch (no power-of-two kernel paths), a full grid
PARITY_TOLERANCE = 1e-4  # max abs diff vs TF, float32; measured ~1e-7 on the tiny test generators
# float16 keeps 11 significant bits (relative rounding 4.9e-4 per op); a few layers of accumulation into a
# tanh output in [-1, 1] stay well inside 1e-2 (measured 6e-5 on the test generators).
FP16_TOLERANCE = 1e-2
PARITY_SEED = 0


def _kind(kind):
  return kinds.KINDS[common_kinds.DEFAULT] if kind is None else kind


def convert(generator, latent_dim: int, opset: int = DEFAULT_OPSET, kind=None, num_classes: int = 0):
  """The generator as an onnx.ModelProto with a dynamic batch (not yet checked or made CUDA-clean).

  kind: the export/kinds.py record of the generator's data (default: images), naming the one output expected.
  num_classes: K of a conditional generator's label input (0: none).
  """
  kind = _kind(kind)
  opset = check_opset(opset)
  import tensorflow as tf
  import tf2onnx
  signature = [tf.TensorSpec([None, latent_dim], tf.float32, name=INPUT_NAME)]
  if num_classes:
    signature.append(tf.TensorSpec([None, num_classes], tf.float32, name=LABEL_INPUT))
  expected_inputs = [spec.name for spec in signature]
  try:
    model, _ = tf2onnx.convert.from_keras(generator, input_signature=signature, opset=opset)
  except Exception as e:  # tf2onnx raises anything from ValueError to KeyError on an unsupported graph
    raise ExportError(first_line(f'tf2onnx could not convert the generator: {type(e).__name__}: {e}')) from None
  inputs = [i.name for i in model.graph.input]
  outputs = [o.name for o in model.graph.output]
  if inputs != expected_inputs or outputs != [kind.output_name]:  # derived outputs (ids) are added below
    raise ExportError(f'expected inputs {expected_inputs} and one output {kind.output_name!r} ({kind.name} '
                      f'generator), the ONNX graph has inputs {inputs} and outputs {outputs}')
  for value in (*model.graph.input, model.graph.output[0]):
    value.type.tensor_type.shape.dim[0].dim_param = 'batch'  # tf2onnx names it 'unk__N'
  if 'ids' in kind.derived:
    _add_argmax(model, kind.output_name, 'ids')
  model.doc_string = f'GAN generator: z float32 (batch, latent_dim) -> {kind.output_doc}; see metadata_props'
  return model


def check_opset(opset: int) -> int:
  """`opset` when ONNX Runtime runs it and tf2onnx writes it (common.artifacts.check_opset); ExportError if not."""
  try:
    return artifacts.check_opset(opset)
  except ValueError as e:
    raise ExportError(str(e)) from None


def _add_argmax(model, source: str, name: str) -> None:
  """Appends `name` = ArgMax(`source`, last axis) as an int64 output (batch, ...) of the graph."""
  from onnx import TensorProto, helper
  rank = len(model.graph.output[0].type.tensor_type.shape.dim)
  model.graph.node.append(helper.make_node('ArgMax', [source], [name], axis=rank - 1, keepdims=0, name=name))
  dims = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim][:-1]
  model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.INT64, dims))


def verify_derived(session, latent_dim: int, kind) -> None:
  """The derived outputs agree with the main one in ORT itself: `ids` picks a largest probability at every
  position (ties in float32 probabilities may resolve either way: ORT may take the argmax before the Softmax)."""
  for name in kind.derived:
    for batch in PARITY_BATCHES:
      z = latents(batch, latent_dim, seed=PARITY_SEED + batch)
      main, derived = session.run([kind.output_name, name], {INPUT_NAME: z})
      picked = np.take_along_axis(main, derived[..., None], axis=-1)[..., 0] if derived.dtype == np.int64 else None
      if picked is None or not np.array_equal(picked, main.max(axis=-1)):
        raise ExportError(f'the ONNX output {name!r} at batch {batch} is not the argmax of {kind.output_name!r}')


def make_cuda_clean(model, rewrite: bool = True) -> int:
  """Rewrites asymmetric ConvTranspose pads (when `rewrite`), then fails if any node would leave the CUDA EP.

  Returns the number of nodes rewritten.
  """
  from export import cuda_clean
  rewritten = cuda_clean.symmetrize_conv_transposes(model) if rewrite else 0
  fallback = cuda_clean.cuda_fallback_nodes(model)
  if fallback:
    raise ExportError(f'{len(fallback)} node(s) would run on the CPU under the CUDA EP: {"; ".join(fallback)}')
  return rewritten


def check(model) -> None:
  import onnx
  try:
    onnx.checker.check_model(model, full_check=True)
  except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
    raise ExportError(f'onnx.checker rejected the graph: {first_line(e)}') from None


def cpu_session(model_bytes: bytes, intra_op_threads: int = 0):
  """An ORT session pinned to the CPU EP (onnxruntime-gpu would otherwise try CUDA first)."""
  import onnxruntime as ort
  options = ort.SessionOptions()
  options.intra_op_num_threads = intra_op_threads  # 0: ORT's default, one per physical core
  try:
    return ort.InferenceSession(model_bytes, options, providers=['CPUExecutionProvider'])
  except Exception as e:  # ORT raises its own Fail / InvalidGraph / NotImplemented types
    raise ExportError(f'ONNX Runtime cannot load the graph: {first_line(e)}') from None


def latents(batch: int, latent_dim: int, seed: int = PARITY_SEED) -> np.ndarray:
  """Parity-check input: (batch, latent_dim) float32 from `common.latents`, the project's one source of z."""
  from common import latents as common_latents
  return common_latents.latents(seed, batch, latent_dim)


def parity_batches(num_classes: int = 0) -> tuple:
  """PARITY_BATCHES, and one of K for a generator of more than 64 classes: every class is checked."""
  return PARITY_BATCHES + ((num_classes,) if num_classes > max(PARITY_BATCHES) else ())


def feeds(z: np.ndarray, num_classes: int = 0) -> dict:
  """The ONNX inputs for latents z: {'z': z}, and for a conditional generator 'labels' asking every class in turn
  (common.signature.row_weights: a batch of K or more rows covers every class)."""
  if not num_classes:
    return {INPUT_NAME: z}
  return {INPUT_NAME: z, LABEL_INPUT: common_signature.row_weights(len(z), num_classes)}


def keras_inputs(feed: dict):
  """What the Keras generator takes for the same `feeds`: z, or [z, labels]."""
  return feed[INPUT_NAME] if LABEL_INPUT not in feed else [feed[INPUT_NAME], feed[LABEL_INPUT]]


def parity(generator, session, latent_dim: int, batches=PARITY_BATCHES, kind=None, num_classes: int = 0) -> dict:
  """{batch: max |ORT - TF|} of the session's output (`images`, or `kind.output_name`) against the Keras
  generator (inference mode); a conditional generator's rows ask for every class in turn (`feeds`)."""
  output_name = _kind(kind).output_name
  diffs = {}
  for batch in batches:
    feed = feeds(latents(batch, latent_dim, seed=PARITY_SEED + batch), num_classes)
    expected = generator(keras_inputs(feed), training=False).numpy()  # (B, H, W, C) in [-1, 1], or (B, dims)
    actual = session.run([output_name], feed)[0]
    if actual.shape != expected.shape or actual.dtype != np.float32:
      raise ExportError(f'ONNX output at batch {batch} is {actual.dtype} {actual.shape}, TF gives float32 '
                        f'{expected.shape}')
    diffs[batch] = float(np.max(np.abs(actual - expected)))
  return diffs


def verify_parity(generator, session, latent_dim: int, tolerance: float, what: str, kind=None,
                  num_classes: int = 0) -> dict:
  diffs = parity(generator, session, latent_dim, parity_batches(num_classes), kind=kind, num_classes=num_classes)
  worst = max(diffs.values())
  if not worst <= tolerance:  # `not <=` also catches NaN
    raise ExportError(f'{what} differs from the TF generator: max abs diff {worst:.3g} > {tolerance:g} '
                      f'(by batch: {format_diffs(diffs)})')
  return diffs


def format_diffs(diffs: dict) -> str:
  return ', '.join(f'{batch}: {diff:.2e}' for batch, diff in diffs.items())


def to_float16(model):
  """A float16 copy for GPU serving: weights and compute in float16, `z` and the output kept float32.

  Uses ONNX Runtime's own converter (onnxruntime.transformers.float16, shipped in the ORT wheel), which inserts
  the Cast nodes at the float32 input and output.
  """
  from onnxruntime.transformers.float16 import convert_float_to_float16
  try:
    model16 = convert_float_to_float16(model, keep_io_types=True)
  except Exception as e:  # noqa: BLE001 - any failure of the converter is an export failure
    raise ExportError(first_line(f'float16 conversion failed: {type(e).__name__}: {e}')) from None
  _sort_topologically(model16.graph)  # the converter appends the input Casts after the nodes that read them
  return model16


def _sort_topologically(graph) -> None:
  """Reorders graph.node so every node comes after the producers of its inputs (stable otherwise)."""
  available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {''}
  pending, ordered = list(graph.node), []
  while pending:
    ready = [n for n in pending if all(name in available for name in n.input)]
    if not ready:
      raise ExportError(f'the graph has a cycle or a dangling input at node {pending[0].name!r}')
    for node in ready:
      available.update(node.output)
    ordered.extend(ready)
    pending = [n for n in pending if all(n is not r for r in ready)]
  copies = [type(n)() for n in ordered]
  for copy, node in zip(copies, ordered):
    copy.CopyFrom(node)
  del graph.node[:]
  graph.node.extend(copies)


def set_metadata_props(model, metadata: dict) -> None:
  """metadata_props = `metadata` as strings (lists and numbers as JSON), so the server needs no side file."""
  del model.metadata_props[:]
  for key, value in sorted(metadata.items()):
    entry = model.metadata_props.add()
    entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)


def read_metadata_props(model) -> dict:
  """Inverse of set_metadata_props (strings that are not JSON stay strings)."""
  out = {}
  for entry in model.metadata_props:
    try:
      out[entry.key] = json.loads(entry.value)
    except ValueError:
      out[entry.key] = entry.value
  return out
