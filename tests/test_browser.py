"""A real headless Chromium drives the app: set the count, Generate, see the images, Interpolate, get a GIF; pick a
class-conditional model and a class, Generate, see that class's images; All classes shows whole class rows and
captions that can be read in full.

Uses Debian's `chromium` through Playwright's `executable_path` (never a browser Playwright downloads; `make
browser` installs it). The screenshot goes to tmp_path, or to docs/serve_screenshot.png with SAVE_SCREENSHOT=1;
SCREENSHOT_MODELS_DIR=<dir> then serves that folder (e.g. a trained export) instead of the untrained tiny
models, so the committed picture shows real samples:

  SAVE_SCREENSHOT=1 SCREENSHOT_MODELS_DIR=models python -m pytest -q tests/test_browser.py
"""

import json
import os
import re
import shutil

import pytest

from tests.serve_server import COND, REPO_ROOT, Server, build_models_dir

pytestmark = pytest.mark.slow  # a real server and a real browser

COUNT = 12
STEPS = 5
# COND's graph under the emoji folder's class names (and one far longer): what captions must show in full
NAMED = 'tiny-named'
NAMES = ['activities', 'animals_nature', 'component', 'a_class_name_far_longer_than_the_others', 'flags',
         'food_drink', 'objects', 'people_body', 'smileys_emotion', 'travel_places']


@pytest.fixture(scope='module')
def browser_server(request, tmp_path_factory):
  save = os.environ.get('SAVE_SCREENSHOT') == '1'
  models_dir = os.environ.get('SCREENSHOT_MODELS_DIR') if save else None
  if not models_dir:
    models_dir = build_models_dir(tmp_path_factory.mktemp('browser'))
    # the class-conditional models sort after tiny-gray: the page still opens on tiny-gray
    shutil.copytree(request.getfixturevalue('serve_conditional_model'), models_dir / COND)
    shutil.copytree(models_dir / COND, models_dir / NAMED)
    metadata = json.loads((models_dir / NAMED / 'metadata.json').read_text())
    (models_dir / NAMED / 'metadata.json').write_text(json.dumps({**metadata, 'label_classes': NAMES}))
  server = Server(tmp_path_factory.mktemp('browser-server') / 'server.log', f'--models_dir={models_dir}')
  yield server.wait_ready()
  server.stop()


@pytest.fixture(scope='module')
def chromium():
  executable = shutil.which('chromium')
  if not executable:
    pytest.skip('Debian chromium is not installed (run `make browser` or `apt-get install -y chromium`)')
  from playwright.sync_api import sync_playwright
  with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=executable, args=['--no-sandbox', '--disable-gpu'])
    yield browser
    browser.close()


def test_generate_then_interpolate_in_a_real_browser(chromium, browser_server, tmp_path):
  from playwright.sync_api import expect
  page = chromium.new_page(viewport={'width': 1280, 'height': 900})
  errors = []
  page.on('pageerror', lambda e: errors.append(str(e)))
  page.goto(browser_server.url)
  # The page opens with a sample (16 images of seed 0) before anything is pressed.
  expect(page.locator('#gallery .thumbnail-item img')).to_have_count(16, timeout=30_000)

  # Sample tab: COUNT images, lossless PNGs, a grid to download and the time taken
  count_box = page.locator('#count input[type=number]')
  count_box.fill(str(COUNT))
  count_box.press('Enter')
  page.locator('#generate').click()
  thumbnails = page.locator('#gallery .thumbnail-item img')
  expect(thumbnails).to_have_count(COUNT, timeout=30_000)
  for i in range(COUNT):
    assert thumbnails.nth(i).get_attribute('src').endswith(f'-{i:02d}.png')
  expect(page.locator('#grid-file')).to_contain_text(f'-seed0-x{COUNT}')  # the name; the page shows ".png" apart
  timing = re.compile(rf'^{COUNT} images in [0-9.]+ ms on (CPU|GPU \(CUDA\)) \((fp32|fp16)\) · weights [0-9a-f]{{12}}$')
  expect(page.locator('#sample-time textarea')).to_have_value(timing)
  shot = tmp_path / 'serve_screenshot.png'
  if os.environ.get('SAVE_SCREENSHOT') == '1':
    shot = REPO_ROOT / 'docs' / 'serve_screenshot.png'
    shot.parent.mkdir(exist_ok=True)
  page.screenshot(path=str(shot), full_page=True)
  assert shot.stat().st_size > 10_000

  # Picking: clicking images #2 and #5 of the sample puts them in the keyframes box
  page.locator('#gallery .thumbnail-item').nth(2).click()
  page.keyboard.press('Escape')  # leave the gallery's preview mode
  page.locator('#gallery .thumbnail-item').nth(5).click()
  page.keyboard.press('Escape')

  # Interpolate tab: a strip of STEPS frames and an animated GIF
  page.get_by_role('tab', name='Interpolate').click()
  steps_box = page.locator('#steps input[type=number]')
  steps_box.fill(str(STEPS))
  steps_box.press('Enter')
  page.locator('#interpolate').click()
  expect(page.locator('#gif img')).to_have_attribute('src', re.compile(rf'-x{STEPS}\.gif$'), timeout=30_000)
  expect(page.locator('#strip img')).to_have_attribute('src', re.compile(rf'-x{STEPS}\.png$'))
  expect(page.locator('#gif-file')).to_contain_text(f'-x{STEPS}')
  gif_src = page.locator('#gif img').get_attribute('src')
  response = page.request.get(gif_src)
  assert response.ok and response.body()[:6] in (b'GIF87a', b'GIF89a')
  # Through the picked keyframes: an MP4 the page plays and a ZIP of the frames
  expect(page.locator('#keyframes textarea')).to_have_value('0:2, 0:5')
  page.locator('#interpolate-path').click()
  expect(page.locator('#mp4 video')).to_have_attribute('src', re.compile(r'\.mp4$'), timeout=30_000)
  expect(page.locator('#frames-zip')).to_contain_text('-frames')
  video_src = page.locator('#mp4 video').get_attribute('src')
  body = page.request.get(video_src).body()
  assert body[4:8] == b'ftyp'
  page.screenshot(path=str(tmp_path / 'interpolate.png'), full_page=True)
  assert not errors, errors
  assert 'Traceback' not in browser_server.log()


def test_text_tab_in_a_real_browser(chromium, browser_server, tmp_path):
  """The Text tab: 5 argmax lines, then sampled ones at temperature 1.5 (other lines, the time says so)."""
  from playwright.sync_api import expect
  if os.environ.get('SAVE_SCREENSHOT') == '1' and os.environ.get('SCREENSHOT_MODELS_DIR'):
    pytest.skip('the screenshot models dir may hold no text model')
  page = chromium.new_page(viewport={'width': 1280, 'height': 900})
  errors = []
  page.on('pageerror', lambda e: errors.append(str(e)))
  page.goto(browser_server.url)
  page.get_by_role('tab', name='Text').click()
  count_box = page.locator('#text-count input[type=number]')
  count_box.fill('5')
  count_box.press('Enter')
  page.locator('#generate-text').click()
  expect(page.locator('#text-time textarea')).to_have_value(re.compile(r'^5 lines \(argmax\) in [0-9.]+ ms on '),
                                                            timeout=30_000)
  argmax_lines = page.locator('#text-lines textarea').input_value().split('\n')
  assert len(argmax_lines) == 5 and all(len(line) == 12 for line in argmax_lines)
  temperature = page.locator('#temperature input[type=number]')
  temperature.fill('1.5')
  temperature.press('Enter')
  page.locator('#generate-text').click()
  expect(page.locator('#text-time textarea')).to_have_value(re.compile(r'sampled at temperature 1\.5'),
                                                            timeout=30_000)
  assert page.locator('#text-lines textarea').input_value().split('\n') != argmax_lines
  page.screenshot(path=str(tmp_path / 'text.png'), full_page=True)
  assert not errors, errors


def test_truncation_slider_shows_the_apis_pixels(chromium, browser_server):
  """The Sample tab at truncation 0.5: file names say so, and the pixels the page shows are those that
  /sample_truncated returns to an API client for the same model, seed, count and threshold."""
  import io
  import numpy as np
  from PIL import Image
  from gradio_client import Client
  from playwright.sync_api import expect
  if os.environ.get('SAVE_SCREENSHOT') == '1':
    pytest.skip('screenshot run')
  page = chromium.new_page(viewport={'width': 1280, 'height': 900})
  errors = []
  page.on('pageerror', lambda e: errors.append(str(e)))
  page.goto(browser_server.url)
  expect(page.locator('#gallery .thumbnail-item img')).to_have_count(16, timeout=30_000)
  for elem, value in (('count', 3), ('truncation', 0.5)):
    box = page.locator(f'#{elem} input[type=number]')
    box.fill(str(value))
    box.press('Enter')
  page.locator('#generate').click()
  thumbnails = page.locator('#gallery .thumbnail-item img')
  expect(thumbnails).to_have_count(3, timeout=30_000)
  expect(thumbnails.nth(0)).to_have_attribute('src', re.compile(r'-seed0-t0\.5-00\.png$'), timeout=30_000)
  shown = [np.asarray(Image.open(io.BytesIO(page.request.get(thumbnails.nth(i).get_attribute('src')).body())))
           for i in range(3)]
  name = re.search(r'/([^/]+)-seed0-t0\.5-00\.png$', thumbnails.nth(0).get_attribute('src')).group(1)
  gallery, _, _ = Client(browser_server.url, verbose=False).predict(name, 0, 3, 1.0, 0.5,
                                                                   api_name='/sample_truncated')
  for i, item in enumerate(gallery):
    np.testing.assert_array_equal(shown[i], np.asarray(Image.open(item['image'])))
  assert not errors, errors


def test_class_picker_shows_the_apis_class_images(chromium, browser_server):
  """Picking the class-conditional model shows the Class picker; class 7 and Generate show the very pixels that
  /sample_class returns to an API client for that model, seed, count and class."""
  import io
  import numpy as np
  from PIL import Image
  from gradio_client import Client
  from playwright.sync_api import expect
  if os.environ.get('SAVE_SCREENSHOT') == '1':
    pytest.skip('screenshot run')
  page = chromium.new_page(viewport={'width': 1280, 'height': 900})
  errors = []
  page.on('pageerror', lambda e: errors.append(str(e)))
  page.goto(browser_server.url)
  expect(page.locator('#gallery .thumbnail-item img')).to_have_count(16, timeout=30_000)
  expect(page.locator('#class-picker')).to_be_hidden()  # tiny-gray has no label input
  page.locator('#model input').click()
  page.get_by_role('option', name=COND, exact=True).click()
  expect(page.locator('#class-picker')).to_be_visible(timeout=10_000)
  page.locator('#class-picker input').click()
  page.get_by_role('option', name='7', exact=True).click()
  count_box = page.locator('#count input[type=number]')
  count_box.fill('3')
  count_box.press('Enter')
  page.locator('#generate').click()
  thumbnails = page.locator('#gallery .thumbnail-item img')
  expect(thumbnails).to_have_count(3, timeout=30_000)
  expect(thumbnails.nth(0)).to_have_attribute('src', re.compile(rf'/{COND}-seed0-class7-00\.png$'), timeout=30_000)
  shown = [np.asarray(Image.open(io.BytesIO(page.request.get(thumbnails.nth(i).get_attribute('src')).body())))
           for i in range(3)]
  gallery, _, _ = Client(browser_server.url, verbose=False).predict(COND, 0, 3, 1.0, 0, '7', api_name='/sample_class')
  for i, item in enumerate(gallery):
    np.testing.assert_array_equal(shown[i], np.asarray(Image.open(item['image'])))
  assert not errors, errors


def test_all_classes_shows_whole_rows_with_captions_read_in_full(chromium, browser_server):
  """All classes at 16 images on a 10-class model: 2 per class, 20 images, the timing text says so; every caption
  ('NAME · seed 0 · #j') is on the page in full: not cut by its box (scroll size within client size) nor by its
  thumbnail (the caption's box inside the thumbnail's), the longest name included."""
  from playwright.sync_api import expect
  if os.environ.get('SAVE_SCREENSHOT') == '1':
    pytest.skip('screenshot run')
  page = chromium.new_page(viewport={'width': 1280, 'height': 900})
  errors = []
  page.on('pageerror', lambda e: errors.append(str(e)))
  page.goto(browser_server.url)
  expect(page.locator('#gallery .thumbnail-item img')).to_have_count(16, timeout=30_000)
  page.locator('#model input').click()
  page.get_by_role('option', name=NAMED, exact=True).click()
  expect(page.locator('#class-picker input')).to_have_value('All classes (grid)', timeout=10_000)
  page.locator('#generate').click()
  expect(page.locator('#gallery .thumbnail-item img')).to_have_count(20, timeout=30_000)
  expect(page.locator('#sample-time textarea')).to_have_value(
      re.compile(r'^16 asked: 20 shown, 2 per class for 10 classes in [0-9.]+ ms on '))
  expect(page.locator('#grid-file')).to_contain_text(f'{NAMED}-seed0-classes-x2')
  items = page.locator('#gallery .thumbnail-item')
  for i in range(20):
    caption = items.nth(i).locator('.caption-label')
    assert caption.text_content().strip() == f'{NAMES[i // 2]} · seed 0 · #{i % 2}'
    fits = caption.evaluate("""e => {
      const box = e.getBoundingClientRect(), frame = e.closest('.thumbnail-item').getBoundingClientRect();
      return [e.scrollWidth <= e.clientWidth, e.scrollHeight <= e.clientHeight, box.left >= frame.left,
              box.right <= frame.right, box.top >= frame.top, box.bottom <= frame.bottom];
    }""")
    assert all(fits), (i, caption.text_content(), fits)
  assert not errors, errors
