"""Request handlers of the app: validate the inputs, call the model, write the files the components show.

Every handler raises ValueError (or ModelError) with a one-line message for a bad request; `user_errors` turns
those into gr.Error without a stack trace. Each request writes into a folder of its own under `output_dir`
(see Handlers._new_folder). serve/app.py lays the page out and names the API endpoints.
"""

import functools
import os
import re
import secrets
import shutil
import sys
import time
import uuid

import numpy as np

from common import images as common_images
from common import kinds
from common import labels as common_labels
from serve import models as models_lib
from serve import registry as registry_lib
from serve import sampler, text_sampler, video

OUTPUT_MAX_AGE_S = 15 * 60  # how long a request's files (PNGs, grid, GIF, MP4) stay downloadable
DEFAULT_COUNT = 16
# The app's GIFs play forward and back (no jump at the loop), enlarged to >= 128 px (viewers blur tiny frames).
GIF_FRAME_MS, GIF_MIN_SIZE = 80, 128
ALL_CLASSES = 'All classes (grid)'  # the Sample tab's class picker: one grid row per class (/sample_all_classes)


def user_errors(fn):
  @functools.wraps(fn)
  def wrapper(*args):
    import gradio as gr
    try:
      return fn(*args)
    except (ValueError, models_lib.ModelError) as e:
      raise gr.Error(str(e), print_exception=False) from None
  return wrapper


class Handlers:
  """The app's actions over the models of a registry (serve/registry.py), rescanned on Refresh; files go to
  `output_dir` (served by Gradio's cache)."""

  def __init__(self, registry: registry_lib.ModelRegistry, output_dir: str,
               keep_outputs_s: float = OUTPUT_MAX_AGE_S):
    self.registry, self.output_dir, self.keep_outputs_s = registry, output_dir, keep_outputs_s
    self.demo = None  # the Blocks app, once built (for _forget)
    self.started = time.monotonic()

  @property
  def models(self) -> dict:
    return self.registry.models

  @property
  def warnings(self) -> list:
    return self.registry.warnings

  def names(self, kind: str) -> list:
    return [name for name, m in self.models.items() if m.kind == kind]

  def model(self, name, kind: str = kinds.IMAGE) -> models_lib.LoadedModel:
    """The loaded model `name` of `kind`; ValueError naming the models of that kind otherwise."""
    names = self.names(kind)
    if not isinstance(name, str) or name not in names:
      other = self.models[name].kind if isinstance(name, str) and name in self.models else None
      article = 'an' if other and other[0] in 'aeiou' else 'a'
      skipped = getattr(self.registry, 'why_not_served', lambda _: '')(name)  # a folder whose checks failed
      what = (f'model {name!r} is {article} {other} model' if other else
              f'model {name!r} is not served: {skipped}' if skipped else f'unknown model {name!r}')
      raise ValueError(f'{what}; {kind} models: {", ".join(names) or "none"}')
    return self.models[name]

  def describe(self, name) -> str:
    if not isinstance(name, str) or name not in self.models:
      return ''
    m = self.models[name]
    md = m.metadata
    return (f'**{name}** · loss `{md["loss"]}` · dataset `{md["dataset"]}`{models_lib.classes_text(m.signature)} · '
            f'step {md["step"]} · {m.shape_text()} · latent {md["latent_dim"]} · runs on **{m.device}** '
            f'(`{m.provider}`, {m.precision})')

  def _new_folder(self) -> str:
    """A fresh folder under output_dir for one request's files; folders older than keep_outputs_s go first.

    Every output is a file we write here, never a numpy array handed to Gradio: Gradio 6.31 saves arrays into
    a content-addressed cache by rewriting the file in place, so two concurrent requests for the same seed
    race, and one of them is served a half-written PNG ("Too little data for declared Content-Length").
    A folder per request never rewrites a file another request may be reading.
    """
    now, removed = time.time(), []
    for entry in os.scandir(self.output_dir):
      try:
        if now - entry.stat().st_mtime > self.keep_outputs_s:
          shutil.rmtree(entry.path, ignore_errors=True)
          removed.append(entry.path + os.sep)
      except FileNotFoundError:  # a concurrent request removed it first
        pass
    if removed:
      self._forget(tuple(removed))
    folder = os.path.join(self.output_dir, uuid.uuid4().hex)
    os.makedirs(folder)
    return folder

  def _forget(self, prefixes: tuple) -> None:
    """Drops deleted files from the sets in which Gradio records every file it ever served (one per output
    component; they only grow): measured with tracemalloc, they were the largest memory holder under load."""
    for paths in getattr(self.demo, 'temp_file_sets', []) if self.demo is not None else []:
      for path in [p for p in list(paths) if p.startswith(prefixes)]:
        paths.discard(path)

  @staticmethod
  def _write_png(image, path: str) -> str:
    with open(path, 'wb') as f:
      f.write(common_images.png_bytes(image))
    return path

  @staticmethod
  def _write_gif(frames, path: str) -> str:
    return common_images.write_gif(frames, path, frame_ms=GIF_FRAME_MS, pingpong=True, min_size=GIF_MIN_SIZE)

  def _write_strip(self, frames, stem: str) -> tuple:
    """(strip PNG, GIF) of a short path of frames in a new output folder, named <stem>-x<frames>."""
    folder, stem = self._new_folder(), f'{stem}-x{len(frames)}'
    strip_path = self._write_png(common_images.grid(frames, cols=len(frames)), os.path.join(folder, f'{stem}.png'))
    return strip_path, self._write_gif(frames, os.path.join(folder, f'{stem}.gif'))

  def sample(self, name, seed, count, scale):
    """/sample: the endpoint of clients from before truncation (its four parameters unchanged)."""
    return self.sample_truncated(name, seed, count, scale, 0.0)

  def sample_truncated(self, name, seed, count, scale, truncation):
    """/sample_truncated: truncation 0 gives /sample's images and file names. A conditional model draws image i
    of class i mod K (the SavedModel's `sample` and `sample_truncated` alike); the captions name it."""
    return self._sample(name, seed, count, scale, truncation, None)

  def sample_class(self, name, seed, count, scale, truncation, label):
    """/sample_class: /sample_truncated with every image of class `label` (a name or an id) of a conditional
    model: the latents of /sample, so image i is z_i of the seed asked for that class."""
    return self._sample(name, seed, count, scale, truncation, label)

  def _sample(self, name, seed, count, scale, truncation, label):
    start = time.perf_counter()
    model = self.model(name)
    seed, count, scale = sampler.validate_seed(seed), sampler.validate_count(count), sampler.validate_scale(scale)
    truncation = sampler.validate_truncation(truncation)
    class_id = None if label is None else model.class_id(label)
    images = model.sample(seed, count, scale, truncation, class_id)  # (count, H, W[, 3]) uint8
    folder = self._new_folder()
    stem = (f'{name}-seed{seed}' + ('' if class_id is None else f'-class{class_id}') +
            (f'-t{truncation:g}' if truncation else ''))
    # The caption is what a click adds to the keyframes (seed:index): the Interpolate tab draws plain latents.
    if class_id is not None or not model.label_name:
      classes = [class_id] * count  # None: no class to name
    else:
      classes = model.signature.row_classes(count).tolist()  # what model.sample asked image i for
    gallery = [(self._write_png(image, os.path.join(folder, f'{stem}-{i:02d}.png')), _caption(seed, i, model, k))
               for i, (image, k) in enumerate(zip(images, classes))]
    grid_path = self._write_png(common_images.grid(images), os.path.join(folder, f'{stem}-x{count}.png'))
    what = f'{count} image{"s" * (count > 1)}' + ('' if class_id is None else
                                                  f' of class {model.label_classes[class_id]}')
    return gallery, grid_path, self._timing(model, start, what)

  def sample_all_classes(self, name, seed, per_class, scale, truncation, asked=None):
    """/sample_all_classes: a grid of one row per class of a conditional model, row k class k, column j the same
    z_j (latent j of the seed, as /sample numbers them) in every row, each row's class named on its left; the
    gallery's captions name the class. asked: the count the Sample tab asked for, which the timing text compares
    with the K·per_class images shown (None: an API call, which asks for per_class)."""
    start = time.perf_counter()
    model = self.model(name)
    seed, scale = sampler.validate_seed(seed), sampler.validate_scale(scale)
    truncation = sampler.validate_truncation(truncation)
    model.require_label_input()  # before per_class, whose range depends on K
    per_class = sampler.validate_per_class(per_class, model.num_classes)
    images = model.sample_all_classes(seed, per_class, scale, truncation)  # (K·per_class, H, W[, 3]) uint8
    folder = self._new_folder()
    stem = f'{name}-seed{seed}-classes' + (f'-t{truncation:g}' if truncation else '')
    gallery = []
    for n, image in enumerate(images):
      k, j = divmod(n, per_class)
      path = self._write_png(image, os.path.join(folder, f'{stem}-class{k}-{j:02d}.png'))
      gallery.append((path, _caption(seed, j, model, k)))
    grid = common_images.labelled_grid(images, model.label_classes, cols=per_class)  # white, names on the left
    grid_path = self._write_png(grid, os.path.join(folder, f'{stem}-x{per_class}.png'))
    return gallery, grid_path, self._timing(model, start, _all_classes_text(len(images), per_class, model, asked))

  def class_morph(self, name, seed, index, class_a, class_b, steps):
    """/class_morph: `steps` frames at one z (image #index of the seed, as the Sample tab numbers them), the class
    weights moving linearly from class_a to class_b; (strip PNG, GIF, GIF file, timing) as /interpolate."""
    start = time.perf_counter()
    model = self.model(name)
    seed, index, steps = sampler.validate_seed(seed), sampler.validate_index(index), sampler.validate_steps(steps)
    class_a, class_b = model.class_id(class_a), model.class_id(class_b)
    frames = model.class_morph(seed, index, class_a, class_b, steps)  # (steps, H, W[, 3]) uint8
    strip_path, gif_path = self._write_strip(frames, f'{name}-morph-{seed}_{index}-class{class_a}-class{class_b}')
    names = model.label_classes
    return strip_path, gif_path, gif_path, self._timing(
        model, start, f'{len(frames)} frames from class {names[class_a]} to class {names[class_b]}')

  def on_generate(self, name, seed, count, scale, truncation, choice):
    """The Sample tab's Generate: /sample_truncated for a model without a label input (or no class picked),
    /sample_all_classes for ALL_CLASSES (one row per class, ⌈count ÷ K⌉ latents each: whole rows holding at least
    the count asked for, the timing text says how many), else /sample_class of the picked class."""
    model = self.model(name)
    if not model.label_name or choice in (None, ''):
      return self.sample_truncated(name, seed, count, scale, truncation)
    if choice == ALL_CLASSES:
      count = sampler.validate_count(count)
      return self.sample_all_classes(name, seed, common_labels.grid_columns_covering(count, model.num_classes),
                                     scale, truncation, count)
    return self.sample_class(name, seed, count, scale, truncation, choice)

  def classes_of(self, name) -> list:
    """The label classes of image model `name` ([] for one without a label input, or no such model)."""
    model = self.models.get(name) if isinstance(name, str) else None
    return list(model.label_classes) if model is not None and model.kind == kinds.IMAGE else []

  def class_picker(self, name, current=None):
    """The Sample tab's class picker for the picked model: ALL_CLASSES and its class names, shown only for a model
    with a label input; the current pick stays when the model has it (a rescan does not undo it)."""
    import gradio as gr
    choices = [ALL_CLASSES] + self.classes_of(name)
    return gr.update(choices=choices, value=current if current in choices else ALL_CLASSES,
                     visible=len(choices) > 1)

  def morph_controls(self, name, current_a=None, current_b=None):
    """The Interpolate tab's Class morph section for the picked model: (section, class A, class B), shown only for
    a model with a label input; A and B keep their picks when the model has them, else its first two classes."""
    import gradio as gr
    classes = self.classes_of(name)

    def pick(current, position):
      return current if current in classes else classes[min(position, len(classes) - 1)] if classes else None
    return (gr.update(visible=bool(classes)), gr.update(choices=classes, value=pick(current_a, 0)),
            gr.update(choices=classes, value=pick(current_b, 1)))

  def sample_npz(self, name, seed, count, scale):
    start = time.perf_counter()
    model = self.model(name)
    seed, count, scale = sampler.validate_seed(seed), sampler.validate_count(count), sampler.validate_scale(scale)
    images = model.sample(seed, count, scale)  # (count, H, W[, 3]) uint8
    images = images[..., None] if images.ndim == 3 else images  # (count, H, W, C)
    path = os.path.join(self._new_folder(), f'{name}-seed{seed}-x{count}.npz')
    np.savez(path, images=images, seed=np.uint32(seed), scale=np.float32(scale))
    return path, self._timing(model, start, f'{count} image{"s" * (count > 1)}')

  def interpolate_path(self, name, keyframes, steps, method, scale):
    start = time.perf_counter()
    model = self.model(name)
    keyframes = sampler.parse_keyframes(keyframes)
    latents = sampler.keyframe_latents(keyframes, steps, method, latent_dim=model.latent_dim, scale=scale)
    frames = model.frames(latents)  # ((K-1)(steps-1)+1, H, W[, 3]) uint8; a conditional model: class 0
    folder = self._new_folder()
    stem = f'{name}-{method}-' + '-'.join(f'{s}_{i}' for s, i in keyframes) + f'-x{len(frames)}'
    stem = stem if len(stem) <= 120 else f'{name}-{method}-{len(keyframes)}keys-x{len(frames)}'
    strip_path = self._write_png(common_images.grid(frames, cols=min(len(frames), 16)),
                                 os.path.join(folder, f'{stem}.png'))
    gif_path = self._write_gif(frames, os.path.join(folder, f'{stem}.gif'))
    mp4_path = video.write_mp4(frames, os.path.join(folder, f'{stem}.mp4'))
    zip_path = video.write_frames_zip(frames, os.path.join(folder, f'{stem}-frames.zip'), stem)
    return strip_path, gif_path, mp4_path, zip_path, self._timing(
        model, start, f'{len(frames)} frames through {len(keyframes)} keyframes ({method})')

  def pick(self, keyframes, evt):
    """A click on image #i of the Sample gallery (caption 'seed S · #i', a conditional model's after 'NAME · ')
    appends 'S:i' to the keyframes: the latent, whichever class the image was drawn as."""
    caption = (evt.value or {}).get('caption', '') if isinstance(evt.value, dict) else ''
    match = re.fullmatch(r'(?:.* · )?seed (\d+) · #(\d+)', caption or '', re.S)  # a class name may hold ' · '
    if not match:
      return keyframes
    items = [k.strip() for k in (keyframes or '').split(',') if k.strip()][-(sampler.MAX_KEYFRAMES - 1):]
    return ', '.join(items + [f'{match.group(1)}:{match.group(2)}'])

  def _timing(self, model, start: float, what: str) -> str:
    """'<what> in X ms on CPU (fp32) · weights <12 hex>', and the request counted in the model's statistics."""
    elapsed_ms = (time.perf_counter() - start) * 1e3
    model.record(elapsed_ms)
    weights = str(model.metadata.get('weights_sha256', ''))[:12] or 'unknown'
    return f'{what} in {elapsed_ms:.1f} ms on {model.device} ({model.precision}) · weights {weights}'

  def interpolate(self, name, seed_a, seed_b, steps, method, scale):
    start = time.perf_counter()
    model = self.model(name)
    seed_a, seed_b = sampler.validate_seed(seed_a), sampler.validate_seed(seed_b)
    frames = model.interpolate(seed_a, seed_b, steps, method, scale)  # (steps, H, W[, 3]) uint8
    strip_path, gif_path = self._write_strip(frames, f'{name}-{method}-{seed_a}-{seed_b}')
    return strip_path, gif_path, gif_path, self._timing(model, start, f'{len(frames)} frames ({method})')

  def text(self, name, seed, count, temperature):
    start = time.perf_counter()
    model = self.model(name, kinds.TEXT)
    seed, count = sampler.validate_seed(seed), text_sampler.validate_lines(count)
    temperature = text_sampler.validate_temperature(temperature)
    lines = model.text(seed, count, temperature)
    how = 'argmax' if temperature == 0 else f'sampled at temperature {temperature:g}'
    return '\n'.join(lines), self._timing(model, start, f'{count} line{"s" * (count > 1)} ({how})')

  def list_models(self):
    return {'models': [m.info() for m in self.models.values()], 'warnings': list(self.warnings)}

  def rescan(self):
    """/models: rescans --models_dir (serve/registry.ModelRegistry), then lists what is served."""
    for change in self.registry.scan():
      print(f'models: {change}', file=sys.stderr, flush=True)
    return self.list_models()

  def choices(self):
    """The three model dropdowns' choices after a rescan (image, image, text)."""
    import gradio as gr
    image_names, text_names = self.names(kinds.IMAGE), self.names(kinds.TEXT)
    return gr.update(choices=image_names), gr.update(choices=image_names), gr.update(choices=text_names)

  def health(self):
    holder = getattr(self.demo, 'state_holder', None)  # sessions: the memory that grows with clients (--max_sessions)
    return {'status': 'ok', 'models': len(self.models), 'devices': sorted({m.device for m in self.models.values()}),
            'uptime_s': round(time.monotonic() - self.started, 1),
            'sessions': len(holder.session_data) if holder else 0, 'max_sessions': holder.capacity if holder else 0}

  def first_sample(self):
    """What the Sample tab shows when the page opens: 16 images of seed 0 of the first image model (for a
    conditional one, what Generate gives with the class picker's default, ALL_CLASSES)."""
    names = self.names(kinds.IMAGE)
    if not names:
      return [], None, ''
    return self.on_generate(names[0], 0, DEFAULT_COUNT, 1.0, 0.0, ALL_CLASSES)


def _caption(seed: int, index: int, model, class_id) -> str:
  """'seed S · #i' (what a click adds to the keyframes), after 'NAME · ' for a conditional model's image: the class
  name alone, first, since it is what tells the images apart (serve/app.py's CSS wraps a caption that is long)."""
  caption = f'seed {seed} · #{index}'
  return caption if class_id is None else f'{model.label_classes[class_id]} · {caption}'


def _all_classes_text(shown: int, per_class: int, model, asked) -> str:
  """'20 images (10 classes × 2)'; when the Sample tab asked for another count, '16 asked: 20 shown, 2 per class
  for 10 classes' (a grid of whole class rows cannot hold exactly 16)."""
  if asked is None or asked == shown:
    return f'{shown} images ({model.num_classes} classes × {per_class})'
  return f'{asked} asked: {shown} shown, {per_class} per class for {model.num_classes} classes'


def random_seed() -> int:
  return secrets.randbelow(sampler.MAX_SEED + 1)


def random_seed_pair() -> tuple[int, int]:
  return random_seed(), random_seed()

