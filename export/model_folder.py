"""models/<name>/: what an export writes, and `export_model`, the one entry point both CLIs and tests call.

models/<name>/
  model.onnx         z float32 (batch, latent_dim) -> images float32 (batch, H, W, C) NHWC in [-1, 1]
                     (a points generator: -> points float32 (batch, dims), a text one: -> probs and ids;
                     a conditional one also takes labels float32 (batch, K), class weights; common/signature.py)
  model_fp16.onnx    the same in float16 inside, float32 at the edges (with fp16=True)
  saved_model/1/     TF Serving layout, signatures serving_default, sample and sample_truncated (a conditional
                     generator: serving_default(z, labels), and sample_class; export/savedmodel_export.py)
  metadata.json      everything the server needs (the ONNX metadata_props hold the same, as strings), with the
                     data `kind` (common/kinds.py) and its shape fields (image_* | dims | seq_len, vocab)
  sample.png         made by the exported model from seed SAMPLE_SEED (`common.latents`; truncated with
                     --sample_truncation): an 8x8 grid of images
                     0..63 (conditional: one row per class, latents 0..7 in every row), or a scatter of points
                     0..999 beside as many real points of the run's dataset (a text generator: sample.txt, lines
                     0..63)

Nothing is written in place: the folder is built in a temp folder beside it and moved there only after every
check passed, so a failed export leaves the old folder (or none) exactly as it was.

One folder holds one generator. Adding a format the folder lacks, exported from the same run and step as the
formats already there (and, once loaded, the same weights), needs no `overwrite`; metadata.json is then the
union of both exports' fields. `overwrite` is needed to replace a format the folder holds (the others stay) or
to export another run or step into it (the formats from the other weights are then removed). Files in the
folder that belong to no format are carried over. The run's `provenance` (git commit, dirty tree, package
versions, dataset checksum; in generator.json of newer runs) is copied into metadata.json and into the ONNX
metadata_props, as a JSON string under the key `provenance`.
"""

import datetime
import hashlib
import json
import os
import re
import shutil
import tempfile

import numpy as np

from common import artifacts
from common import kinds as common_kinds
from common import labels as common_labels
from common import latents as common_latents
from common.signature import LABEL_INPUT, LATENT_INPUT as INPUT_NAME, GeneratorSignature, GraphTensor, SignatureError
from common.artifacts import MODEL_FORMAT_VERSION, MODEL_METADATA_FILE, ONNX_FILE, ONNX_FP16_FILE, SAVED_MODEL_DIR
from common.artifacts import SAMPLE_SEED  # sample.png: the images of the app's /sample of this seed, count 64, scale 1
from export import kinds, loader
from export.loader import ExportError

FORMATS = ('onnx', 'savedmodel')
SAMPLE_FILES = tuple(sorted({kind.sample_file for kind in kinds.KINDS.values()}))  # sample.png, sample.txt
FORMAT_FILES = {'onnx': (ONNX_FILE, ONNX_FP16_FILE), 'savedmodel': (SAVED_MODEL_DIR,)}
SAMPLE_GRID = kinds.SAMPLE_GRID  # an image sample.png holds SAMPLE_GRID x SAMPLE_GRID images
# How a seed becomes z, for runtimes that re-implement it; the exact algorithm is the docstring of
# common/latents.py (pinned by tests/test_latents.py). Bump "v1" only together with a change of that hash.
LATENTS_SCHEME = 'common.latents v1 (counter-based lowbias32 + Box-Muller; algorithm in common/latents.py)'
_FP16_KEYS = ('fp16_file', 'fp16_parity_max_abs_diff', 'fp16_tolerance')
_NAME_OK = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')


def default_name(run_metadata: dict) -> str:
  """`<loss>-<dataset>-step<step>`, with anything but letters, digits, '.', '_' and '-' replaced by '_'; a dataset
  given by a path (folder:PATH, text:PATH) is named by its prefix and the path's last name without extension."""
  dataset = run_metadata['dataset']
  prefix, _, path = dataset.partition(':')
  if f'{prefix}:' in (common_kinds.FOLDER_PREFIX, common_kinds.TEXT_PREFIX) and path:
    dataset = f'{prefix}-{os.path.splitext(os.path.basename(os.path.normpath(path)))[0]}'
  raw = f'{run_metadata["loss"]}-{dataset}-step{run_metadata["step"]}'
  return re.sub(r'[^A-Za-z0-9._-]+', '_', raw).strip('._-')[:100] or 'model'


def validate_name(name: str) -> None:
  if not _NAME_OK.match(name or ''):
    raise ValueError(f'--name must be 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit '
                     f'(it names a folder under the models dir), got {name!r}')


def weights_sha256(generator) -> str:
  """Hash of the generator's variables (path, shape, dtype, values), independent of the file they came from."""
  import numpy as np
  digest = hashlib.sha256()
  for variable in generator.weights:
    value = np.ascontiguousarray(variable.numpy())
    digest.update(f'{variable.path}:{value.shape}:{value.dtype}\n'.encode())
    digest.update(value.tobytes())
  return digest.hexdigest()


def _check_formats(formats) -> tuple:
  formats = tuple(dict.fromkeys(formats))
  unknown = [f for f in formats if f not in FORMATS]
  if not formats or unknown:
    raise ExportError(f'formats must be among {FORMATS}, got {formats}')
  return formats


def _make_workdir(models_dir: str, name: str) -> str:
  try:
    os.makedirs(models_dir, exist_ok=True)
    return tempfile.mkdtemp(prefix=f'.tmp-{name}-', dir=models_dir)
  except OSError as e:
    raise ExportError(f'cannot write to the models dir {models_dir!r}: {e.strerror or e}') from None


def _read_existing_metadata(dest: str) -> dict:
  try:
    with open(os.path.join(dest, MODEL_METADATA_FILE)) as f:
      return json.load(f)
  except (OSError, ValueError):
    return {}


def _present_files(dest: str, fmt: str) -> list:
  return [f for f in FORMAT_FILES[fmt] if os.path.lexists(os.path.join(dest, f))]


def _refuse_replacing(dest: str, formats: tuple, run_name: str, step) -> None:
  """Without --overwrite: raises ExportError if writing `formats` into the existing folder `dest` would replace
  a format it holds, or put a generator of another run or step beside the formats it holds."""
  for fmt in formats:
    present = _present_files(dest, fmt)
    if present:
      raise ExportError(f'{dest!r} already holds the {fmt} format ({", ".join(present)}); pass --overwrite to '
                        f'replace it, or choose another --name (nothing was changed)')
  others = [f for fmt in FORMATS if fmt not in formats for f in _present_files(dest, fmt)]
  if not others:
    return
  existing = _read_existing_metadata(dest)
  if (existing.get('run_name'), existing.get('step')) != (run_name, step):
    source = (f'run {existing["run_name"]} step {existing.get("step")}' if existing.get('run_name')
              else f'a run it does not name (no readable {MODEL_METADATA_FILE})')
    raise ExportError(f'{dest!r} holds {", ".join(others)} exported from {source}, this is run {run_name} step '
                      f'{step}: the folder would mix two generators; pass --overwrite to replace its model, or '
                      f'choose another --name (nothing was changed)')


def _carry_over_other_files(dest: str, work: str) -> None:
  """Copies what the user put in `dest` beside the model (notes, a licence) into `work`: only our files change."""
  if not os.path.isdir(dest):
    return
  ours = {MODEL_METADATA_FILE, *SAMPLE_FILES, *(f for files in FORMAT_FILES.values() for f in files)}
  for entry in os.scandir(dest):
    target = os.path.join(work, entry.name)
    if entry.name in ours or os.path.lexists(target):
      continue
    if entry.is_dir(follow_symlinks=False):
      shutil.copytree(entry.path, target, symlinks=True)
    else:
      shutil.copy2(entry.path, target, follow_symlinks=False)


def _signature(metadata: dict) -> GeneratorSignature:
  """The signature of the generator being exported (the run's generator.json, read by export/loader.py)."""
  try:
    return GeneratorSignature.from_metadata(metadata)
  except SignatureError as e:
    raise ExportError(str(e)) from None


def _check_inputs(signature: GeneratorSignature, session, what: str) -> None:
  """The written graph takes what its metadata says (GeneratorSignature.check_inputs, as serve and evaluation
  check it when they load the file)."""
  try:
    signature.check_inputs([GraphTensor.of_onnx(arg) for arg in session.get_inputs()])
  except SignatureError as e:
    raise ExportError(f'{what}: {e}') from None


def _write_onnx(generator, metadata: dict, opset: int, fp16: bool, work: str, log) -> dict:
  """Writes model.onnx (and model_fp16.onnx) into `work` after every check; returns the metadata it adds."""
  import onnx
  import tf2onnx
  from export import onnx_export
  latent_dim, kind = metadata['latent_dim'], kinds.kind_of(metadata)
  signature = _signature(metadata)
  classes = signature.num_classes  # a conditional generator's K; 0: no label input
  log(f'converting to ONNX (opset {opset}) ...')
  model = onnx_export.convert(generator, latent_dim, opset, kind=kind, num_classes=classes)
  rewritten = onnx_export.make_cuda_clean(model)
  if rewritten:
    log(f'  rewrote {rewritten} asymmetric ConvTranspose node(s) as symmetric pads + Slice')
  log('  CUDA EP check: clean (no node would fall back to the CPU)')
  onnx_export.check(model)
  session = onnx_export.cpu_session(model.SerializeToString())
  _check_inputs(signature, session, 'the ONNX model')
  diffs = onnx_export.verify_parity(generator, session, latent_dim, onnx_export.PARITY_TOLERANCE, 'the ONNX model',
                                    kind=kind, num_classes=classes)
  onnx_export.verify_derived(session, latent_dim, kind)
  log(f'  parity vs TF on {session.get_providers()[0]}, max abs diff by batch: {onnx_export.format_diffs(diffs)} '
      f'(tolerance {onnx_export.PARITY_TOLERANCE:g}){f", every one of the {classes} classes" if classes else ""}')
  added = {'tf2onnx_version': tf2onnx.__version__, 'onnx_opset': opset, 'input_name': onnx_export.INPUT_NAME,
           'output_name': kind.output_name, 'parity_max_abs_diff': max(diffs.values()),
           'parity_batches': list(diffs), 'cuda_fallback_nodes': 0, 'conv_transposes_rewritten': rewritten}
  if classes:  # only conditional exports gain the key: unconditional metadata keeps today's keys
    added['label_input_name'] = LABEL_INPUT
  if fp16:
    model16 = onnx_export.to_float16(model)
    onnx_export.make_cuda_clean(model16, rewrite=False)
    onnx_export.check(model16)
    session16 = onnx_export.cpu_session(model16.SerializeToString())
    _check_inputs(signature, session16, 'the float16 ONNX model')
    diffs16 = onnx_export.verify_parity(generator, session16, latent_dim, onnx_export.FP16_TOLERANCE,
                                        'the float16 ONNX model', kind=kind, num_classes=classes)
    onnx_export.verify_derived(session16, latent_dim, kind)
    log(f'  float16 parity, max abs diff by batch: {onnx_export.format_diffs(diffs16)} '
        f'(tolerance {onnx_export.FP16_TOLERANCE:g})')
    added.update(fp16_file=ONNX_FP16_FILE, fp16_parity_max_abs_diff=max(diffs16.values()),
                 fp16_tolerance=onnx_export.FP16_TOLERANCE)
  props = {**metadata, **added}
  onnx_export.set_metadata_props(model, {k: v for k, v in props.items() if k not in _FP16_KEYS})
  onnx.save(model, os.path.join(work, ONNX_FILE))
  if fp16:
    onnx_export.set_metadata_props(model16, props)
    onnx.save(model16, os.path.join(work, ONNX_FP16_FILE))
  return added


def _write_savedmodel(generator, metadata: dict, work: str, log) -> dict:
  from export import savedmodel_export
  path = os.path.join(work, SAVED_MODEL_DIR, savedmodel_export.SERVING_VERSION)
  signature = _signature(metadata)
  log('writing the SavedModel ...')
  savedmodel_export.write(generator, signature, path, kinds.kind_of(metadata).derived)
  diff = savedmodel_export.verify(path, generator, signature)
  names = savedmodel_export.signatures(signature.num_classes)
  log(f'  reloaded: signatures {", ".join(names)}, max abs diff vs the live generator {diff:.2e}')
  return {'savedmodel_version': int(savedmodel_export.SERVING_VERSION), 'savedmodel_signatures': list(names),
          'savedmodel_max_abs_diff': diff}


def _sample_feed(metadata: dict, kind) -> dict:
  """sample.png's inputs: rows 0 .. kind.sample_count-1 of SAMPLE_SEED; for a conditional generator one row per
  class instead, the first SAMPLE_GRID latents each asked for every class (a column is one z)."""
  classes = _signature(metadata).num_classes
  count = kinds.SAMPLE_GRID if classes else kind.sample_count
  z = common_latents.truncated_latents(SAMPLE_SEED, count, metadata['latent_dim'],
                                       metadata.get('sample_truncation', 0.0))  # (N, latent_dim); 0: latents()
  if not classes:
    return {INPUT_NAME: z}
  ids = common_labels.grid_labels(classes, count)
  return {INPUT_NAME: np.tile(z, (classes, 1)), LABEL_INPUT: common_labels.class_weights(ids, classes)}


def _sample_outputs(folder: str, metadata: dict, kind):
  """sample.png's outputs (`_sample_feed`) from the folder's model.onnx (else its SavedModel): (N, H, W, C)
  images or (N, dims) points."""
  from export import onnx_export
  feed = _sample_feed(metadata, kind)
  onnx_path = os.path.join(folder, ONNX_FILE)
  if os.path.isfile(onnx_path):
    with open(onnx_path, 'rb') as f:
      session = onnx_export.cpu_session(f.read())
    return session.run([kind.output_name], feed)[0]
  import tensorflow as tf
  from export import savedmodel_export
  loaded = tf.saved_model.load(os.path.join(folder, SAVED_MODEL_DIR, savedmodel_export.SERVING_VERSION))
  return loaded.signatures['serving_default'](**{k: tf.constant(v) for k, v in feed.items()})[kind.output_name].numpy()


def _write_sample(folder: str, metadata: dict) -> None:
  kind = kinds.kind_of(metadata)
  kind.write_sample(os.path.join(folder, kind.sample_file), _sample_outputs(folder, metadata, kind), metadata)


def _move_into_place(work: str, dest: str) -> None:
  """Replaces `dest` by `work` with two renames, putting the old folder back if the second one fails."""
  old = None
  if os.path.exists(dest):
    old = tempfile.mkdtemp(prefix=f'.old-{os.path.basename(dest)}-', dir=os.path.dirname(dest))
    os.rmdir(old)
    os.rename(dest, old)
  try:
    os.rename(work, dest)
  except OSError:
    if old:
      os.rename(old, dest)
    raise
  if old:
    shutil.rmtree(old, ignore_errors=True)


def export_model(run_dir=None, models_dir: str = 'models', name=None, formats=('onnx',),
                 opset: int = artifacts.DEFAULT_OPSET, fp16: bool = False, overwrite: bool = False, log=print,
                 runs_root: str = 'runs', sample_truncation: float = 0.0) -> str:
  """Exports the generator of `run_dir` (None: the newest run under `runs_root`) to models_dir/<name>/.

  sample_truncation: sample.png from `common.latents.truncated_latents` at this threshold (0: plain latents),
  recorded in metadata.json as `sample_truncation` when set.

  Returns the folder's path. Raises ExportError / RunDirError (one-line messages) and leaves the folder as it
  was on any failure. Every check needing no TensorFlow runs before the model is loaded.
  """
  from export import onnx_export
  try:
    sample_truncation = common_latents.check_threshold(sample_truncation)
  except common_latents.LatentError as e:
    raise ExportError(f'sample_truncation: {e}') from None
  formats = _check_formats(formats)
  if 'onnx' in formats:
    onnx_export.check_opset(opset)
  if fp16 and 'onnx' not in formats:
    raise ExportError('fp16 applies to the ONNX format only')
  given = run_dir
  run_dir = loader.find_run_dir(run_dir, runs_root)
  if not given:
    log(f'no run dir given: exporting the newest run under {runs_root}/: {run_dir}')
  run_metadata = loader.read_metadata(run_dir)
  kind = kinds.kind_of(run_metadata)  # a kind this version cannot export fails before TensorFlow loads
  name = name or default_name(run_metadata)
  try:
    validate_name(name)
  except ValueError as e:
    raise ExportError(str(e)) from None
  dest = os.path.join(models_dir, name)
  if os.path.lexists(dest) and not os.path.isdir(dest):
    raise ExportError(f'{dest!r} exists and is not a model folder (nothing was changed)')
  if os.path.isdir(dest) and not overwrite:
    _refuse_replacing(dest, formats, os.path.basename(os.path.normpath(run_dir)), run_metadata.get('step'))

  created_models_dir = not os.path.isdir(models_dir)  # a failed export leaves no empty models dir behind
  work = _make_workdir(models_dir, name)
  try:
    log(f'loading the generator of {run_dir} (step {run_metadata.get("step")}) ...')
    generator, run_metadata = loader.load(run_dir)
    import tensorflow as tf
    metadata = {**run_metadata, 'kind': kind.name, 'format_version': MODEL_FORMAT_VERSION, 'name': name,
                'exported_at': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                'trained_with_tensorflow': run_metadata.get('tensorflow_version'),
                'tensorflow_version': tf.__version__, 'weights_sha256': weights_sha256(generator),
                'run_name': os.path.basename(os.path.normpath(run_dir)),  # no local paths in a shipped model
                'latents': LATENTS_SCHEME, 'sample_seed': SAMPLE_SEED,
                **({'sample_truncation': sample_truncation} if sample_truncation else {})}
    metadata.pop('saved_at', None)  # the run's checkpoint time; exported_at is this file's time
    existing = _read_existing_metadata(dest) if os.path.isdir(dest) else {}
    same_weights = existing.get('weights_sha256') == metadata['weights_sha256']
    others = [f for fmt in FORMATS if fmt not in formats for f in _present_files(dest, fmt)]
    if others and not same_weights and not overwrite:  # same run name and step, yet other weights
      raise ExportError(f'{dest!r} holds {", ".join(others)} exported from other weights than this run\'s (same '
                        f'run name and step); pass --overwrite to replace its model, or choose another --name '
                        f'(nothing was changed)')
    added = {}
    if 'onnx' in formats:
      added.update(_write_onnx(generator, metadata, opset, fp16, work, log))
    if 'savedmodel' in formats:
      added.update(_write_savedmodel(generator, metadata, work, log))

    # Formats not written now stay, if they were exported from these very weights; otherwise they would sit
    # under a metadata.json that describes another generator, so they go.
    kept = []
    for fmt in FORMATS:
      present = _present_files(dest, fmt)
      if fmt in formats or not present:
        continue
      if not same_weights:
        log(f'  removing {", ".join(present)} of {dest}: exported from other weights than this run\'s')
        continue
      kept.append(fmt)
      for file in present:
        source = os.path.join(dest, file)
        (shutil.copytree if os.path.isdir(source) else shutil.copy2)(source, os.path.join(work, file))
    _carry_over_other_files(dest, work)
    merged = {**(existing if same_weights else {}), **metadata, **added}
    if not sample_truncation:  # this export's sample.png is untruncated, whatever an earlier one's was
      merged.pop('sample_truncation', None)
    if 'onnx' in formats and not fp16:
      for key in _FP16_KEYS:
        merged.pop(key, None)
    merged['formats'] = sorted(set(formats) | set(kept))
    if 'onnx' not in merged['formats']:  # parity_max_abs_diff is the ONNX model's when there is one
      merged['parity_max_abs_diff'] = merged['savedmodel_max_abs_diff']
    _write_sample(work, merged)
    with open(os.path.join(work, MODEL_METADATA_FILE), 'w') as f:
      json.dump(merged, f, indent=2, sort_keys=True)
      f.write('\n')
    _move_into_place(work, dest)
  except BaseException:
    shutil.rmtree(work, ignore_errors=True)
    if created_models_dir:
      try:
        os.rmdir(models_dir)  # only when still empty
      except OSError:
        pass
    raise
  log(f'exported {dest}/ ({", ".join(merged["formats"])}; kept from before: {", ".join(kept) or "nothing"})')
  for file in (ONNX_FILE, ONNX_FP16_FILE, SAVED_MODEL_DIR, MODEL_METADATA_FILE, *SAMPLE_FILES):
    if os.path.exists(os.path.join(dest, file)):
      log(f'  {os.path.join(dest, file)}')
  return dest
