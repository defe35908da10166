"""What `export.to_onnx` and `export.to_savedmodel` share: their flags, `main` and `run`.

Bad input ends in one `error: ...` line on stderr (common/cli.py): exit 2 for usage errors (unknown flag, bad
value, bad --name), 1 for the rest (run dir, models dir, existing model). All of it is checked before TensorFlow
loads.
"""

from absl import flags

from common import artifacts, cli

FLAGS = flags.FLAGS


def define_flags(onnx: bool) -> None:
  """Defines the shared flags, plus --opset and --fp16 for the ONNX command. Called once by each entry point, when
  it runs as a command (importing it defines nothing)."""
  flags.DEFINE_string('run_dir', None, 'Run directory to export (default: the newest run under --runs_root '
                      'holding a generator).')
  flags.DEFINE_string('runs_root', 'runs', 'Where to look for the newest run when --run_dir is not given.')
  flags.DEFINE_string('name', None, 'Model name, the folder under --models_dir (default: '
                      '<loss>-<dataset>-step<step>).')
  flags.DEFINE_string('models_dir', 'models', 'Folder of exported models (the serving app lists it).')
  flags.DEFINE_bool('overwrite', False, 'Replace this format where the model folder already holds it (its other '
                    'formats stay if exported from the same weights), or export another run or step into the '
                    'folder (its formats from the other weights are removed). Not needed to add a format the '
                    'folder lacks from the run and step its other formats came from.')
  flags.DEFINE_float('sample_truncation', 0.0, 'sample.png from truncated latents: components of z beyond '
                     '±threshold resampled (the truncation trick; the app\'s /sample_truncated and the SavedModel '
                     'sample_truncated signature give the same images); 0: plain latents, else at least '
                     '0.25.')
  if onnx:
    low, high = artifacts.OPSET_RANGE
    flags.DEFINE_integer('opset', artifacts.DEFAULT_OPSET, f'ONNX opset, {low}..{high}.', lower_bound=low,
                         upper_bound=high)
    flags.DEFINE_bool('fp16', False, 'Also write model_fp16.onnx (float16 inside, float32 z and images) for GPU '
                      'serving.')


def main(argv, formats) -> int:
  """Runs one export with the parsed flags; returns the exit code (errors are raised, see `run`)."""
  del argv  # common.cli.run refuses positional arguments
  from data import quiet_start
  quiet_start.load_tensorflow()  # without a CPU host's CUDA probe errors (common/gpu.py)
  import logging as std_logging
  from absl import logging
  logging.set_verbosity(logging.WARNING)  # TF's Python INFO lines (asset writing, ...) drown the progress
  std_logging.getLogger('tf2onnx').setLevel(std_logging.ERROR)  # its INFO/WARNING lines; parity is the check
  from export import model_folder
  if FLAGS.name is not None:
    try:
      model_folder.validate_name(FLAGS.name)
    except ValueError as e:
      raise cli.UsageError(str(e)) from None
  from common import latents
  try:
    latents.check_threshold(FLAGS.sample_truncation)
  except latents.LatentError as e:
    raise cli.UsageError(f'--sample_truncation: {e}') from None
  onnx = 'onnx' in formats
  model_folder.export_model(FLAGS.run_dir, models_dir=FLAGS.models_dir, name=FLAGS.name, formats=formats,
                            opset=FLAGS.opset if onnx else artifacts.DEFAULT_OPSET, fp16=FLAGS.fp16 if onnx else False,
                            overwrite=FLAGS.overwrite, runs_root=FLAGS.runs_root,
                            sample_truncation=FLAGS.sample_truncation,
                            log=lambda line: print(line, flush=True))
  return 0


def run(formats) -> None:
  """The entry point of an export command writing `formats`: ExportError and RunDirError exit 1."""
  from export import loader  # no TensorFlow: training.generator_io defers it
  cli.run(lambda argv: main(argv, formats), errors={loader.ExportError: 1, loader.RunDirError: 1})
