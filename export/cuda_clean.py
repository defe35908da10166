"""Static check that ONNX Runtime's CUDA EP runs every node of a graph, and the rewrite that makes it so.

Why static: CI has no GPU, and a session created on a CPU host with onnxruntime-gpu lists CUDA as available
without placing anything there, so the placement is decided here from the graph itself. The rules are those
of the CUDA EP's `GetCapability` (onnxruntime/core/providers/cuda/cuda_execution_provider.cc), which at
session creation logs "Dropping the ConvTranspose node ... to CPU because it requires asymmetric padding":

- ConvTranspose whose begin and end pads differ on some axis (cuDNN takes one pad per axis). With auto_pad
  SAME_UPPER / SAME_LOWER the total padding per axis is (k - 1)·d + 1 - s + output_padding, asymmetric when
  odd (e.g. Keras Conv2DTranspose(kernel 5, strides 2, "same"): 5 - 2 = 3 → pads (1, 2)). An explicit
  output_shape leaves the pads to the input size, which a static check cannot see, so it is reported too.
- Op types without a CUDA kernel, and ops of other domains: anything outside `CUDA_OP_TYPES`, the ops a
  generator is made of that ORT's docs/OperatorKernels.md lists under CUDAExecutionProvider for float and
  float16. An op missing there is reported, not assumed to be fine: extend the set after checking the table.

A fallback is not a small cost: a 64x64 DCGAN generator at batch 64 on an H100 took 41 ms with its
asymmetric ConvTranspose nodes on the CPU, 0.33 ms with symmetric pads + Slice (/work/shared/GPU.md).
"""

import numpy as np

# ONNX ops (default domain) with CUDA kernels for float and float16, from ORT's OperatorKernels.md.
CUDA_OP_TYPES = frozenset("""
    Abs Add ArgMax AveragePool BatchNormalization Cast Clip Concat Constant ConstantOfShape Conv ConvTranspose
    DepthToSpace Div Dropout Elu Equal Erf Exp Expand Flatten Gather Gemm GlobalAveragePool GlobalMaxPool
    Greater HardSigmoid Identity InstanceNormalization LayerNormalization LeakyRelu Less Log MatMul Max MaxPool
    Min Mul Neg Pad Pow PRelu Range Reciprocal ReduceMax ReduceMean ReduceMin ReduceSum Relu Reshape Resize
    Selu Shape Sigmoid Slice Softmax Softplus SpaceToDepth Split Sqrt Squeeze Sub Sum Tanh Tile Transpose
    Unsqueeze Upsample Where
""".split())

_INT64_MAX = np.iinfo(np.int64).max


def _attributes(node) -> dict:
  import onnx
  return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv_transpose_pads(node):
  """(begin pads, end pads) per spatial axis, or None where they depend on the input size (output_shape)."""
  attrs = _attributes(node)
  auto_pad = attrs.get('auto_pad', b'NOTSET')
  auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
  kernel = list(attrs.get('kernel_shape', []))
  if auto_pad in ('SAME_UPPER', 'SAME_LOWER'):
    if not kernel:
      return None  # kernel taken from the weights' shape: not known from the node alone
    rank = len(kernel)
    strides = list(attrs.get('strides', [1] * rank))
    dilations = list(attrs.get('dilations', [1] * rank))
    output_padding = list(attrs.get('output_padding', [0] * rank))
    totals = [max((k - 1) * d + 1 - s + op, 0) for k, s, d, op in zip(kernel, strides, dilations, output_padding)]
    small, large = [t // 2 for t in totals], [t - t // 2 for t in totals]
    return (large, small) if auto_pad == 'SAME_LOWER' else (small, large)
  if auto_pad == 'VALID':
    return [0] * len(kernel), [0] * len(kernel)
  if 'output_shape' in attrs:
    return None
  pads = list(attrs.get('pads', []))
  half = len(pads) // 2
  return pads[:half], pads[half:]


def cuda_fallback_nodes(model) -> list:
  """Nodes of `model` (onnx.ModelProto) that ORT's CUDA EP would leave on the CPU, one line each; [] if none."""
  found = []
  for node in model.graph.node:
    label = f'{node.op_type} node {node.name!r}'
    if node.domain not in ('', 'ai.onnx'):
      found.append(f'{label}: op of domain {node.domain!r}, not known to run on the CUDA EP')
    elif node.op_type not in CUDA_OP_TYPES:
      found.append(f'{label}: op type not known to have a CUDA EP kernel')
    elif node.op_type == 'ConvTranspose':
      pads = _conv_transpose_pads(node)
      if pads is None:
        found.append(f'{label}: pads depend on the input size (output_shape or no kernel_shape)')
      elif pads[0] != pads[1]:
        found.append(f'{label}: asymmetric pads begin {pads[0]} / end {pads[1]}')
  return found


def symmetrize_conv_transposes(model) -> int:
  """Rewrites, in place, each ConvTranspose with explicit asymmetric pads into symmetric pads + Slice.

  Padding a transposed convolution crops its full output, so cropping min(begin, end) in the ConvTranspose and
  the rest with a Slice gives the same tensor. Returns the number of nodes rewritten; parity against the
  TensorFlow model is what proves the result (the export always checks it).
  """
  import onnx
  from onnx import helper, numpy_helper
  new_nodes, rewritten = [], 0
  for node in model.graph.node:
    attrs = _attributes(node)
    auto_pad = attrs.get('auto_pad', b'NOTSET')
    if (node.op_type != 'ConvTranspose' or auto_pad not in (b'NOTSET', 'NOTSET') or 'output_shape' in attrs
        or not attrs.get('pads')):
      new_nodes.append(node)
      continue
    pads = list(attrs['pads'])
    half = len(pads) // 2
    begin, end = pads[:half], pads[half:]
    if begin == end:
      new_nodes.append(node)
      continue
    common = [min(b, e) for b, e in zip(begin, end)]
    axes = [i for i in range(half) if begin[i] != end[i]]  # spatial axis i is tensor axis 2 + i (N, C, ...)
    starts = [begin[i] - common[i] for i in axes]
    ends = [-(end[i] - common[i]) if end[i] > common[i] else _INT64_MAX for i in axes]
    prefix = f'{node.name or node.output[0]}_symmetric'
    for suffix, values in (('starts', starts), ('ends', ends), ('axes', [2 + i for i in axes])):
      model.graph.initializer.append(numpy_helper.from_array(np.array(values, np.int64), f'{prefix}_{suffix}'))
    uncropped = f'{prefix}_uncropped'
    output = node.output[0]
    node.output[0] = uncropped
    for attribute in node.attribute:
      if attribute.name == 'pads':
        attribute.CopyFrom(helper.make_attribute('pads', common + common))
    new_nodes.append(node)
    new_nodes.append(helper.make_node('Slice', [uncropped, f'{prefix}_starts', f'{prefix}_ends', f'{prefix}_axes'],
                                      [output], name=f'{prefix}_crop'))
    rewritten += 1
  if rewritten:
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    onnx.checker.check_model(model)
  return rewritten
