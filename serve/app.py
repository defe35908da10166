r"""Serves every exported generator under --models_dir as a Gradio app and API: `python -m serve.app`.

Examples:
  python -m serve.app                                   # models/ on http://127.0.0.1:7860
  python -m serve.app --models_dir=models --port=7860 --provider=cpu --auth=user:pass
  GAN_SERVE_AUTH=user:pass python -m serve.app --host=0.0.0.0

API (gradio_client.Client(url).predict(..., api_name=...)):
  /sample       (model, seed, count, scale) -> (gallery of PNGs, grid PNG file, timing text)
  /sample_truncated (model, seed, count, scale, truncation) -> the same, z drawn with the truncation trick
                (components beyond ±truncation redrawn; 0: off = /sample, else at least 0.25): what the Generate
                button runs, and the images of the SavedModel's sample_truncated(seed, count, truncation)
                On a class-conditional model (metadata label_classes) /sample, /sample_truncated and /sample_npz
                draw image i of class i mod K (the SavedModel's sample), /interpolate and /interpolate_path class 0.
  /sample_class (model, seed, count, scale, truncation, class) -> as /sample_truncated, every image of `class` (a
                name of the model's label_classes, or an id 0..K-1): the latents of /sample, so image i is the
                SavedModel's sample_class(seed, count, class) image i; conditional models only
  /sample_all_classes (model, seed, per_class, scale, truncation) -> (gallery captioned 'NAME · seed S · #j',
                grid PNG of one row per class, each row's class name in a margin on its left, timing text): row k is
                class k, column j latent j of the seed in every row; per_class 1 to ⌈64 ÷ K⌉. The Sample tab's
                All classes asks for ⌈count ÷ K⌉ per class (16 on 9 classes: 18 images; its timing text says so)
  /class_morph  (model, seed, index, class_a, class_b, steps) -> (strip PNG, GIF, GIF file, timing text): one z
                (image #index of the seed, as the Sample tab numbers them), its class weights moving linearly from
                class_a (first frame) to class_b (last frame)
  /interpolate  (model, seed_a, seed_b, steps, method, scale) -> (strip PNG, GIF, GIF file, timing text)
  /text         (model, seed, count, temperature) -> (the lines, one per row, timing text); text models only:
                temperature 0 is the argmax, > 0 samples softmax(log p / T) with the seed's uniforms
  /interpolate_path (model, keyframes, steps, method, scale) -> (strip PNG, GIF, MP4, ZIP of frame PNGs, timing
                text): through 2-8 keyframes "seed:index, ..." (image #index of the seed, as the Sample tab shows it),
                `steps` frames per segment
  /sample_npz   (model, seed, count, scale) -> (.npz file: images uint8 (count, H, W, C), seed, scale; timing text):
                the whole batch in one file, one download (the /sample gallery is one download per image)
  /models       () -> {"models": [metadata + provider, precision, requests, mean ms per model], "warnings": [...]}
                after rescanning --models_dir (new, changed and removed model folders)
  /health       () -> {"status": "ok", "models": n, "devices": [...], "uptime_s": s, "sessions": n,
                "max_sessions": --max_sessions}: sessions whose component state the server holds
Every generating endpoint's timing text names the device, the precision and the first 12 hex digits of the
model's weights SHA-256 (metadata.json's weights_sha256), so a response says which weights made it.

The page is only layout; sampling lives in serve/sampler.py and serve/models.py.
"""

import atexit
import os
import shutil
import signal
import sys
import tempfile

from absl import flags, logging

from common import cli, kinds
from common.cli import UsageError  # a bad flag or environment value: one line, exit code 2
from serve import models as models_lib
from serve import registry as registry_lib
from serve import handlers as handlers_lib
from serve import sampler, text_sampler

FLAGS = flags.FLAGS
AUTH_ENV = 'GAN_SERVE_AUTH'


def define_flags() -> None:
  """The app's flags; called when it runs as a command, so importing serve.app defines none."""
  flags.DEFINE_string('models_dir', 'models', 'Folder of exported models, one subfolder (model.onnx + '
                      'metadata.json) each; the only place models are loaded from.')
  flags.DEFINE_integer('port', 7860, 'TCP port of the web server, 1..65535.', lower_bound=1, upper_bound=65535)
  flags.DEFINE_string('host', '127.0.0.1', 'Interface to bind; 0.0.0.0 exposes the app to the network (set '
                      '--auth).')
  flags.DEFINE_enum('provider', 'auto', list(models_lib.PROVIDERS), 'ONNX Runtime device: auto (CUDA if a session '
                    'really gets it, else CPU), cuda (fail without it) or cpu.')
  flags.DEFINE_string('auth', None, f'user:pass required to open the app (default: ${AUTH_ENV}, else no login).')
  flags.DEFINE_integer('max_concurrency', 4, 'Requests run at once (more wait in the queue); each runs one batch.')
  flags.DEFINE_enum('precision', 'auto', list(models_lib.PRECISIONS), 'auto: model_fp16.onnx on CUDA when the '
                    'folder has it, model.onnx on the CPU; fp32 / fp16: that file everywhere.')
  flags.DEFINE_bool('tf32', False, 'Allow TF32 matmuls/convolutions on the CUDA EP (faster on Ampere+, 10-bit '
                    'mantissa).')
  flags.DEFINE_integer('keep_outputs_s', handlers_lib.OUTPUT_MAX_AGE_S, "Seconds a request's files stay "
                       'downloadable; older ones are deleted (and forgotten by Gradio) on later requests.',
                       lower_bound=1)
  flags.DEFINE_integer('max_sessions', 100, 'Browser tabs / API clients whose component state (picked keyframes, '
                       '...) is kept, most recent first; each holds ~140 KB of Python objects. Beyond it the least '
                       'recently active session loses its state (its picks start over).', lower_bound=1)
  flags.DEFINE_integer('rescan_every', 0, 'Rescan --models_dir every N seconds while a page is open (new, changed, '
                       'removed models); 0: only on Refresh.', lower_bound=0)


_DEFAULT_COUNT = handlers_lib.DEFAULT_COUNT
# Generated images are tiny (16-64 px): scale them up with crisp pixels, not the browser's blur. Gradio cuts a
# gallery caption to one line of 80% of the thumbnail ("class activitie…"); ours wrap instead, so a class name and
# the seed:index a click picks stay readable in full.
CSS = ('#gallery img, #strip img, #gif img { image-rendering: pixelated; }\n'
       '#strip img, #gif img { width: 100%; height: 100%; object-fit: contain; }\n'
       '#gallery .caption-label { white-space: normal; overflow-wrap: anywhere; text-overflow: clip; '
       'max-width: calc(100% - 2 * var(--block-label-margin)); }')
GALLERY_COLUMNS = 4  # ~190 px thumbnails at 1280 px: 'smileys_emotion · seed 0 · #12' fits one line


def parse_auth(value: str | None):
  """'user:pass' -> (user, pass); None or '' -> None (no login)."""
  if not value:
    return None
  user, sep, password = value.partition(':')
  if not sep or not user or not password:
    raise UsageError(f'--auth / ${AUTH_ENV} must look like user:password')
  return user, password


# ---------------------------------------------------------------------------------------------------------------
# Page layout.

def build_demo(handlers: handlers_lib.Handlers, max_concurrency: int = 4, rescan_every: int = 0):
  """The Blocks app: Sample and Interpolate tabs (image models), Text (text models), Models; every action is a
  named, queued API endpoint. A class-conditional model adds a class picker to the Sample tab and a Class morph
  section to the Interpolate tab, shown only while such a model is picked.

  The two generating endpoints take their inputs raw (preprocess=False) and the handlers validate them with
  messages that name the setting ("count (number of images) must be an integer from 1 to 64, got 10000"):
  Gradio's own checks would say only "Value 10000 is greater than maximum value 64" and log a stack trace
  for each bad API call.
  """
  import gradio as gr
  guard = handlers_lib.user_errors
  names, text_names = handlers.names(kinds.IMAGE), handlers.names(kinds.TEXT)
  first_classes = handlers.classes_of(names[0]) if names else []  # the first image model's label classes, if any
  devices = sorted({m.device for m in handlers.models.values()})
  from serve import api_errors
  with api_errors.Blocks(title='GAN sampler', analytics_enabled=False, delete_cache=(600, 3600)) as demo:
    count_all = len(handlers.models)
    gr.Markdown(f'# GAN sampler\n{count_all} model{"s" * (count_all != 1)} on {" and ".join(devices)} · '
                'image #i of a seed is the same for any count, here and in the exported SavedModel at scale 1 '
                '(sample, or sample_truncated at the same truncation threshold).')
    if handlers.warnings:
      gr.Markdown('\n'.join(f'- **Warning:** {w}' for w in handlers.warnings), elem_id='model-warnings')

    with gr.Tab('Sample', id='sample', visible=bool(names)):
      with gr.Row():
        with gr.Column(scale=1, min_width=300):
          model = gr.Dropdown(names, value=names[0] if names else None, label='Model', elem_id='model')
          model_info = gr.Markdown(handlers.describe(names[0] if names else None))
          with gr.Row(equal_height=True):
            seed = gr.Number(value=0, label=f'Seed (0 – {sampler.MAX_SEED})', scale=3, elem_id='seed')
            randomise = gr.Button('Random seed', scale=1, size='sm')
          count = gr.Slider(sampler.MIN_COUNT, sampler.MAX_COUNT, value=_DEFAULT_COUNT, step=1,
                            label='Number of images', elem_id='count')
          scale = gr.Slider(0.05, sampler.MAX_SCALE, value=1.0, step=0.05, elem_id='scale',
                            label='Latent scale (multiplies z: < 1 cleaner, > 1 more varied)')
          # Steps of 0.25 from 0: every value the slider offers is valid (0 is off, the minimum threshold is 0.25).
          truncation = gr.Slider(0, sampler.MAX_TRUNCATION, value=0, step=sampler.MIN_TRUNCATION, elem_id='truncation',
                                 label=f'Truncation threshold (components of z beyond ±t redrawn; 0: off, else at '
                                       f'least {sampler.MIN_TRUNCATION:g})')
          class_choice = gr.Dropdown([handlers_lib.ALL_CLASSES] + first_classes, value=handlers_lib.ALL_CLASSES,
                                     label='Class', elem_id='class-picker', visible=bool(first_classes),
                                     info='every image drawn as this class; All classes: one row per class, the '
                                          'same latent down each column (Number of images ÷ classes columns, '
                                          'rounded up)')
          generate = gr.Button('Generate', variant='primary', elem_id='generate')
        with gr.Column(scale=2):
          gallery = gr.Gallery(label='Samples (lossless PNG)', format='png', columns=GALLERY_COLUMNS,
                               object_fit='contain', height='auto', elem_id='gallery')
          grid_file = gr.File(label='Grid (PNG)', elem_id='grid-file')
          sample_time = gr.Textbox(label='Time taken', interactive=False, elem_id='sample-time')

    with gr.Tab('Interpolate', id='interpolate', visible=bool(names)):
      with gr.Row():
        with gr.Column(scale=1, min_width=300):
          i_model = gr.Dropdown(names, value=names[0] if names else None, label='Model')
          i_model_info = gr.Markdown(handlers.describe(names[0] if names else None))
          with gr.Row(equal_height=True):
            seed_a = gr.Number(value=0, label='Seed A', elem_id='seed-a')
            seed_b = gr.Number(value=1, label='Seed B', elem_id='seed-b')
            randomise_ab = gr.Button('Random seeds', size='sm')
          steps = gr.Slider(sampler.MIN_STEPS, sampler.MAX_STEPS, value=16, step=1, label='Steps (frames)',
                            elem_id='steps')
          method = gr.Radio(list(sampler.METHODS), value='slerp', label='Method',
                            info='slerp follows the sphere where Gaussian latents live; lerp cuts through it')
          i_scale = gr.Slider(0.05, sampler.MAX_SCALE, value=1.0, step=0.05, label='Latent scale (multiplies z)')
          interpolate = gr.Button('Interpolate', variant='primary', elem_id='interpolate')
          keyframes = gr.Textbox(label='Keyframes: seed:index, ... (click images in the Sample tab to add them)',
                                 placeholder='e.g. 0:3, 0:11, 7:0', elem_id='keyframes')
          through = gr.Button('Interpolate through the keyframes', elem_id='interpolate-path')
          with gr.Group(visible=bool(first_classes), elem_id='class-morph-section') as morph_section:
            gr.Markdown('**Class morph**: one latent, its class weights moving from class A to class B')
            with gr.Row(equal_height=True):
              morph_seed = gr.Number(value=0, label='Seed', elem_id='morph-seed')
              morph_index = gr.Number(value=0, label='Image # of the seed', minimum=0, maximum=sampler.MAX_COUNT - 1,
                                      elem_id='morph-index')
            with gr.Row(equal_height=True):
              class_a = gr.Dropdown(first_classes, value=first_classes[0] if first_classes else None,
                                    label='Class A (first frame)', elem_id='class-a')
              class_b = gr.Dropdown(first_classes, value=first_classes[min(1, len(first_classes) - 1)]
                                    if first_classes else None, label='Class B (last frame)', elem_id='class-b')
            morph = gr.Button('Morph from class A to class B', elem_id='class-morph')
        with gr.Column(scale=2):
          strip = gr.Image(label='Frames', type='filepath', height=160, elem_id='strip')
          gif = gr.Image(label='Animation (GIF)', type='filepath', height=300, elem_id='gif')
          gif_file = gr.File(label='GIF', elem_id='gif-file')
          mp4 = gr.Video(label='Video (MP4)', elem_id='mp4', format=None)
          frames_zip = gr.File(label='Frames (ZIP of PNGs)', elem_id='frames-zip')
          interp_time = gr.Textbox(label='Time taken', interactive=False, elem_id='interp-time')

    with gr.Tab('Text', id='text', visible=bool(text_names)):
      with gr.Row():
        with gr.Column(scale=1, min_width=300):
          t_model = gr.Dropdown(text_names, value=text_names[0] if text_names else None, label='Model')
          t_model_info = gr.Markdown(handlers.describe(text_names[0] if text_names else None))
          t_seed = gr.Number(value=0, label=f'Seed (0 – {sampler.MAX_SEED})', elem_id='text-seed')
          t_count = gr.Slider(1, text_sampler.MAX_LINES, value=_DEFAULT_COUNT, step=1, label='Number of lines',
                              elem_id='text-count')
          temperature = gr.Slider(0, text_sampler.MAX_TEMPERATURE, value=0, step=0.05, elem_id='temperature',
                                  label='Temperature (0: the most likely character at each position)')
          write = gr.Button('Generate text', variant='primary', elem_id='generate-text')
        with gr.Column(scale=2):
          lines = gr.Textbox(label='Generated lines', lines=16, interactive=False, elem_id='text-lines')
          text_time = gr.Textbox(label='Time taken', interactive=False, elem_id='text-time')

    with gr.Tab('Models', id='models'):
      models_json = gr.JSON(value=handlers.list_models(), label='Loaded models')
      refresh = gr.Button('Refresh (rescan the models folder)', elem_id='refresh')
      with gr.Row(visible=False):  # API-only outputs
        npz_file = gr.File()
        npz_time = gr.Textbox()
        health_json = gr.JSON()
        npz_button, health_button, sample_button = gr.Button(), gr.Button(), gr.Button()
        # The class endpoints' own inputs: a class is a name or an id, which the pickers' choices do not describe.
        class_api, class_a_api, class_b_api = gr.Textbox(label='class'), gr.Textbox(label='class_a'), gr.Textbox(
            label='class_b')
        per_class_api = gr.Number(label='per_class')
        truncated_button, class_button, all_classes_button, morph_button = (gr.Button() for _ in range(4))

    model.change(handlers.describe, model, model_info, api_visibility='private', queue=False)
    model.change(handlers.class_picker, [model, class_choice], class_choice, api_visibility='private', queue=False)
    i_model.change(handlers.describe, i_model, i_model_info, api_visibility='private', queue=False)
    i_model.change(handlers.morph_controls, [i_model, class_a, class_b], [morph_section, class_a, class_b],
                   api_visibility='private', queue=False)
    randomise.click(handlers_lib.random_seed, None, seed, api_visibility='private', queue=False)
    randomise_ab.click(handlers_lib.random_seed_pair, None, [seed_a, seed_b], api_visibility='private', queue=False)
    sample_outputs = [gallery, grid_file, sample_time]
    # Generate runs /sample_truncated, /sample_class or /sample_all_classes by the class picker (handlers.on_generate);
    # the endpoints themselves are API-only, so each keeps its own parameters.
    generate.click(guard(handlers.on_generate), [model, seed, count, scale, truncation, class_choice], sample_outputs,
                   api_visibility='private', preprocess=False)
    truncated_button.click(guard(handlers.sample_truncated), [model, seed, count, scale, truncation], sample_outputs,
                           api_name='sample_truncated', preprocess=False)
    class_button.click(guard(handlers.sample_class), [model, seed, count, scale, truncation, class_api],
                       sample_outputs, api_name='sample_class', preprocess=False)
    all_classes_button.click(guard(handlers.sample_all_classes), [model, seed, per_class_api, scale, truncation],
                             sample_outputs, api_name='sample_all_classes', preprocess=False)
    # /sample keeps its four parameters for existing clients: the Sample tab at truncation 0, API only.
    sample_button.click(guard(handlers.sample), [model, seed, count, scale], [gallery, grid_file, sample_time],
                        api_name='sample', preprocess=False)
    interpolate.click(guard(handlers.interpolate), [i_model, seed_a, seed_b, steps, method, i_scale],
                      [strip, gif, gif_file, interp_time], api_name='interpolate', preprocess=False)
    # The endpoint first: a private event of the same function registered before it would take its name.
    morph_button.click(guard(handlers.class_morph), [i_model, morph_seed, morph_index, class_a_api, class_b_api,
                                                     steps], [strip, gif, gif_file, interp_time],
                       api_name='class_morph', preprocess=False)
    morph.click(guard(handlers.class_morph), [i_model, morph_seed, morph_index, class_a, class_b, steps],
                [strip, gif, gif_file, interp_time], api_visibility='private', preprocess=False)
    t_model.change(handlers.describe, t_model, t_model_info, api_visibility='private', queue=False)
    write.click(guard(handlers.text), [t_model, t_seed, t_count, temperature], [lines, text_time],
                api_name='text', preprocess=False)
    after_rescan = [(handlers.choices, None, [model, i_model, t_model]),  # a reloaded model may have gained labels
                    (handlers.class_picker, [model, class_choice], class_choice),
                    (handlers.morph_controls, [i_model, class_a, class_b], [morph_section, class_a, class_b])]

    def then_update_pickers(event):
      for fn, inputs, outputs in after_rescan:
        event = event.then(fn, inputs, outputs, api_visibility='private', queue=False)
    then_update_pickers(refresh.click(handlers.rescan, None, models_json, api_name='models'))
    through.click(guard(handlers.interpolate_path), [i_model, keyframes, steps, method, i_scale],
                  [strip, gif, mp4, frames_zip, interp_time], api_name='interpolate_path', preprocess=False)

    def pick(current, evt: gr.SelectData):
      return handlers.pick(current, evt)
    gallery.select(pick, keyframes, keyframes, api_visibility='private', queue=False)
    npz_button.click(guard(handlers.sample_npz), [model, seed, count, scale], [npz_file, npz_time],
                     api_name='sample_npz', preprocess=False)
    health_button.click(handlers.health, None, health_json, api_name='health')
    demo.load(handlers.first_sample, None, [gallery, grid_file, sample_time], api_visibility='private')
    if rescan_every:
      then_update_pickers(gr.Timer(rescan_every).tick(handlers.rescan, None, models_json, api_visibility='private'))
  demo.queue(default_concurrency_limit=max_concurrency)
  handlers.demo = demo
  return demo


def _no_models_message(models_dir: str) -> str:
  return (f'no models in {models_dir}/: train with `python -m training.main` and export with '
          '`python -m export.to_onnx`')


def main(argv):
  del argv  # common.cli.run refuses positional arguments
  logging.set_verbosity(logging.WARNING)  # keeps httpx's per-request INFO lines (Gradio's start-up probes) quiet
  # Every check below runs before Gradio is imported: bad input costs no start-up.
  auth = parse_auth(FLAGS.auth if FLAGS.auth is not None else os.environ.get(AUTH_ENV))
  if FLAGS.max_concurrency < 1:
    raise UsageError(f'--max_concurrency must be at least 1, got {FLAGS.max_concurrency}')
  if not FLAGS.models_dir.strip():
    raise UsageError('--models_dir must name a folder of exported models, got an empty value')
  if os.path.exists(FLAGS.models_dir) and not os.path.isdir(FLAGS.models_dir):
    raise UsageError(f'--models_dir {FLAGS.models_dir!r} is a file, not a folder of exported models')
  registry = registry_lib.ModelRegistry(FLAGS.models_dir, FLAGS.provider, precision=FLAGS.precision, tf32=FLAGS.tf32)
  registry.scan()
  models, warnings = registry.models, registry.warnings
  for warning in warnings:
    print(f'warning: {warning}', file=sys.stderr)
  if not models:
    return cli.error(_no_models_message(FLAGS.models_dir.rstrip('/')), 1)
  for m in models.values():
    print(f'loaded {m.name}: {m.shape_text()}, loss {m.metadata["loss"]}, step {m.metadata["step"]}, on {m.provider} '
          f'({m.precision})' + (f', label input of {m.num_classes} classes' if m.label_name else ''))

  from gradio.utils import get_upload_folder  # Gradio's own temp space ($GRADIO_TEMP_DIR, else <tmp>/gradio)
  os.makedirs(get_upload_folder(), exist_ok=True)
  # Inside Gradio's cache, our files are served as they are; elsewhere Gradio hashes and copies every one.
  output_dir = tempfile.mkdtemp(prefix='gan-serve-', dir=get_upload_folder())
  atexit.register(shutil.rmtree, output_dir, ignore_errors=True)
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a plain `kill` also runs the atexit clean-up
  from serve import api_errors  # imports Gradio
  demo = build_demo(handlers_lib.Handlers(registry, output_dir, FLAGS.keep_outputs_s), FLAGS.max_concurrency,
                    FLAGS.rescan_every)
  try:
    _, local_url, _ = demo.launch(server_name=FLAGS.host, server_port=FLAGS.port, share=False, auth=auth,
                                  ssr_mode=False, quiet=True, prevent_thread_lock=True, footer_links=['api'],
                                  # Gradio keeps each session's component state (a copy of every component's
                                  # config, ~140 KB by tracemalloc; each gradio_client is a session), by default
                                  # 10,000 (~1.4 GB): under load new clients were the server's steady growth.
                                  css=CSS, state_session_capacity=FLAGS.max_sessions,
                                  app_kwargs=api_errors.app_kwargs())
  except OSError as e:  # port taken
    return cli.error(f'cannot serve on {FLAGS.host}:{FLAGS.port}: {e}', 1)
  print(f'GAN sampler ready: {local_url}' + ('  (login required)' if auth else ''), flush=True)
  try:
    demo.block_thread()
  except KeyboardInterrupt:
    pass
  return 0


if __name__ == '__main__':
  define_flags()
  cli.run(main, errors={models_lib.ModelError: 1})
