"""What the stages hand each other on disk: the run directory (training writes it; evaluation and export read it)
and the model folder (export writes it; evaluation and serve read it). Names, format versions and the readers of
their JSON files, defined once here. TensorFlow-free: serve reads model folders without it.

<run_dir>/                                   training/run_dir.py says what each file holds
  config.json                                RUN_CONFIG_FILE
  metrics.csv, eval.csv                      METRICS_FILE, EVAL_FILE
  samples/step_XXXXXXX.png, samples.gif      SAMPLES_DIR, SAMPLES_GIF
  checkpoints/                               CHECKPOINTS_DIR
  generator/generator.{weights.h5,json}      GENERATOR_DIR, GENERATOR_WEIGHTS_FILE, GENERATOR_METADATA_FILE
  best/generator/, best/scores.json          BEST_DIR (the same generator layout, one level down)

<models_dir>/<name>/                         export/model_folder.py says what each file holds
  model.onnx, model_fp16.onnx                ONNX_FILE, ONNX_FP16_FILE
  saved_model/<version>/                     SAVED_MODEL_DIR
  metadata.json                              MODEL_METADATA_FILE
  sample.png | sample.txt                    (named by each kind's export record)
"""

import json
import os

# --- The run directory -----------------------------------------------------------------------------------------
RUN_CONFIG_FILE = 'config.json'
METRICS_FILE = 'metrics.csv'
EVAL_FILE = 'eval.csv'
SAMPLES_DIR = 'samples'
SAMPLES_GIF = 'samples.gif'
CHECKPOINTS_DIR = 'checkpoints'
BEST_DIR = 'best'
GENERATOR_DIR = 'generator'
GENERATOR_WEIGHTS_FILE = 'generator.weights.h5'
GENERATOR_METADATA_FILE = 'generator.json'
GENERATOR_FORMAT_VERSION = 1  # of generator.json

# --- The model folder ------------------------------------------------------------------------------------------
ONNX_FILE = 'model.onnx'
ONNX_FP16_FILE = 'model_fp16.onnx'
SAVED_MODEL_DIR = 'saved_model'
MODEL_METADATA_FILE = 'metadata.json'
MODEL_FORMAT_VERSION = 1  # of the model folder and its metadata.json
# The seed of the pictures that stand for a generator: export's sample.png, the evaluator's and evaluate's
# samples (rows 0..N-1 of this seed in common.latents), so an export's picture shows what was judged.
SAMPLE_SEED = 2024
DEFAULT_OPSET = 17
OPSET_RANGE = (13, 18)  # 13: the first opset with Slice/Squeeze taking axes as inputs; 18: the newest ORT 1.31 runs


class RunDirError(Exception):
  """A run directory that cannot be read: the message is one line meant for the user."""


def check_opset(opset: int) -> int:
  """`opset` when ONNX Runtime runs it and tf2onnx writes it; ValueError with a one-line reason otherwise."""
  if not OPSET_RANGE[0] <= int(opset) <= OPSET_RANGE[1]:
    raise ValueError(f'opset must be in {OPSET_RANGE[0]}..{OPSET_RANGE[1]}, got {opset}')
  return int(opset)


def write_json(path: str, value: dict) -> None:
  """Replaces `path` atomically (a crash leaves the old or the new file, never half of one); 2-space indent."""
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(json.dumps(value, indent=2) + '\n')
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


# --- Reading a run directory -----------------------------------------------------------------------------------

def read_run_config_text(run_dir: str) -> str:
  """config.json of a run directory as text; RunDirError when there is none or it cannot be read."""
  path = os.path.join(run_dir, RUN_CONFIG_FILE)
  if not os.path.isfile(path):
    raise RunDirError(f'{run_dir!r} is not a run directory (no {RUN_CONFIG_FILE}); --resume continues a run that '
                      f'training.main started there')
  try:
    with open(path) as f:
      return f.read()
  except OSError as e:
    raise RunDirError(f'cannot read {RUN_CONFIG_FILE} of {run_dir!r}: {e.strerror or e}') from None


def generator_folder(run_dir: str) -> str:
  """<run_dir>/generator, or generator.old when a save was interrupted between its two renames."""
  folder = os.path.join(run_dir, GENERATOR_DIR)
  return folder if os.path.isdir(folder) or not os.path.isdir(folder + '.old') else folder + '.old'


def holds_generator(run_dir: str) -> bool:
  folder = generator_folder(run_dir)
  return (os.path.isfile(os.path.join(folder, GENERATOR_METADATA_FILE)) and
          os.path.isfile(os.path.join(folder, GENERATOR_WEIGHTS_FILE)))


def read_generator_metadata(run_dir: str) -> dict:
  """Reads and checks <run_dir>/generator/generator.json; raises RunDirError with a one-line reason."""
  if not os.path.isdir(run_dir):
    raise RunDirError(f'run directory {run_dir!r} does not exist')
  if not holds_generator(run_dir):
    raise RunDirError(f'{run_dir!r} holds no trained generator (no {GENERATOR_DIR}/{GENERATOR_METADATA_FILE} and '
                      f'{GENERATOR_WEIGHTS_FILE}); train first or let the run reach its first checkpoint')
  path = os.path.join(generator_folder(run_dir), GENERATOR_METADATA_FILE)
  try:
    with open(path) as f:
      metadata = json.load(f)
  except (OSError, ValueError) as e:
    raise RunDirError(f'cannot read {path}: {e}') from None
  if not isinstance(metadata, dict) or metadata.get('format_version') != GENERATOR_FORMAT_VERSION:
    version = metadata.get('format_version') if isinstance(metadata, dict) else None
    raise RunDirError(f'{run_dir!r} was written by another version of this project (generator format '
                      f'{version!r}, this version reads {GENERATOR_FORMAT_VERSION})')
  return metadata


# --- Reading a model folder ------------------------------------------------------------------------------------

def model_folder_of(path: str) -> str:
  """The model folder that `path` names or lies in: models/<name> itself, its model.onnx, its saved_model/ or
  saved_model/<version>; '' when none of them holds a metadata.json."""
  norm = os.path.normpath(path)
  for folder in (norm, os.path.dirname(norm), os.path.dirname(os.path.dirname(norm))):
    if os.path.isfile(os.path.join(folder, MODEL_METADATA_FILE)):
      return folder
  return ''


def read_model_metadata(folder: str) -> dict:
  """metadata.json of a model folder; ValueError with a one-line reason when it is missing or not a JSON object."""
  path = os.path.join(folder, MODEL_METADATA_FILE)
  try:
    with open(path) as f:
      metadata = json.load(f)
  except FileNotFoundError:
    raise ValueError(f'no {MODEL_METADATA_FILE}') from None
  except (OSError, ValueError) as e:
    raise ValueError(f'unreadable {MODEL_METADATA_FILE}: {" ".join(str(e).split())}') from None
  if not isinstance(metadata, dict):
    raise ValueError(f'{MODEL_METADATA_FILE} is not a JSON object')
  return metadata
