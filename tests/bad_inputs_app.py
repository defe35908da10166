r"""The app's part of the bad-input catalogue: bad requests to the running Gradio app and what the user is told.

One real server (`python -m serve.app` on 127.0.0.1, a free port) answers every case, started once per test
module or --write_docs run; its --models_dir holds `digits` (a valid 16x16x1 ONNX generator with latent 8, as
tests/bad_inputs.model_folder writes it), `digits-classes` (the same with a label input of 10 classes '0'..'9',
tests/serve_server.tiny_conditional_onnx) and `digits-wrong-classes` (that graph, 10 class weights wide, under
metadata naming 5 classes: skipped at load with a warning). Each case is one request to an endpoint the app names
(docs/serving.md: /sample, /interpolate, /sample_class, ...), sent the two ways a user sends it:
  - through gradio_client, `Client(url).predict(*args, api_name=...)`: the message the user sees is the text
    of the AppError it raises, the text the browser shows in its error box for the same values;
  - as plain HTTP to Gradio's REST route, POST /gradio_api/call/<endpoint> {"data": [...]} and then GET
    /gradio_api/call/<endpoint>/<event_id>: the HTTP status, the server-sent event (`error`) and its text.
A request gradio_client does not send (JSON NaN; too few values, where it fills in the defaults; an endpoint
the app lacks, which it refuses itself) is a case with a raw `body`, sent as HTTP only.

A case holds when: the request is refused (AppError; the HTTP status the case names, with `event: error` when
it is 200) with a message matching the case's ('...' matches any text) and no traceback in it; both routes say
the same; the server logged no traceback meanwhile; and right after, the server is alive and answers a good
/sample. `known_bug='why'` marks a case the app gets wrong today (a strict xfail, as for the CLI cases).
"""

import dataclasses
import json
import pathlib
import re
import time
from typing import Optional, Tuple

from tests.bad_input_workspaces import Workspace, matches, model_folder

MODEL = 'digits'  # the unconditional model the server holds (and the good /sample after each case)
CLASSES_MODEL = 'digits-classes'  # a class-conditional one: label_classes '0'..'9'
WRONG_CLASSES = 'digits-wrong-classes'  # a labels input 10 wide, metadata naming 5 classes: never served
_DIGITS = [str(k) for k in range(10)]
_SEED = 'seed must be an integer from 0 to 4294967295, got '
_COUNT = 'count (number of images) must be an integer from 1 to 64, got '
_STEPS = 'steps must be an integer from 2 to 64, got '
_SCALE = 'latent scale must be a number in (0, 2], got '
_UNKNOWN = f'; image models: {MODEL}, {CLASSES_MODEL}'
_HTTP_TIMEOUT_S = 30


@dataclasses.dataclass(frozen=True)
class AppCase:
  id: str
  api_name: str  # the endpoint: '/sample', '/interpolate', or one the app lacks
  args: Tuple = ()  # the values sent, in the endpoint's order (docs/serving.md)
  message: str = ''  # expected error text; '...' matches any text
  body: str = ''  # non-empty: sent as this raw HTTP body only (what gradio_client cannot send)
  status: int = 200  # expected HTTP status of the POST; 200: the error comes as the call's `event: error`
  known_bug: str = ''  # non-empty: the app gets this case wrong today (a strict xfail)

  def request(self) -> str:
    if self.body:
      return f'POST /gradio_api/call{self.api_name} {self.body}'
    return f'client.predict({", ".join(map(repr, self.args))}, api_name={self.api_name!r})'

  def http_body(self) -> str:
    return self.body or json.dumps({'data': list(self.args)})


def _sample(id, seed=0, count=4, scale=1.0, message='', model=MODEL, **kw):
  return AppCase(id, '/sample', (model, seed, count, scale), message, **kw)


def _interpolate(id, seed_a=1, seed_b=2, steps=8, method='slerp', scale=1.0, message='', model=MODEL, **kw):
  return AppCase(id, '/interpolate', (model, seed_a, seed_b, steps, method, scale), message, **kw)


APP = [
    _sample('app_sample_seed_negative', seed=-1, message=_SEED + '-1'),
    _sample('app_sample_seed_too_large', seed=2**32, message=_SEED + '4294967296'),
    _sample('app_sample_seed_fraction', seed=1.5, message=_SEED + '1.5'),
    _sample('app_sample_seed_not_a_number', seed='abc', message=_SEED + "'abc'"),
    _sample('app_sample_seed_missing', seed=None, message=_SEED + 'None'),
    _sample('app_sample_seed_boolean', seed=True, message=_SEED + 'True'),
    _sample('app_sample_count_zero', count=0, message=_COUNT + '0'),
    _sample('app_sample_count_too_many', count=65, message=_COUNT + '65'),
    _sample('app_sample_count_fraction', count=2.5, message=_COUNT + '2.5'),
    _sample('app_sample_count_not_a_number', count='many', message=_COUNT + "'many'"),
    _sample('app_sample_scale_zero', scale=0, message=_SCALE + '0'),
    _sample('app_sample_scale_negative', scale=-1.0, message=_SCALE + '-1.0'),
    _sample('app_sample_scale_too_large', scale=5.0, message=_SCALE + '5.0'),
    _sample('app_sample_scale_not_a_number', scale='big', message=_SCALE + "'big'"),
    AppCase('app_sample_scale_nan', '/sample', message=_SCALE + 'nan', body='{"data": ["digits", 1, 4, NaN]}'),
    AppCase('app_sample_scale_infinite', '/sample', message=_SCALE + 'inf',
            body='{"data": ["digits", 1, 4, Infinity]}'),
    _sample('app_sample_unknown_model', model='fashion', message="unknown model 'fashion'" + _UNKNOWN),
    _sample('app_sample_model_as_path', model='../models/digits',
            message="unknown model '../models/digits'" + _UNKNOWN),
    AppCase('app_sample_truncation_below_minimum', '/sample_truncated', (MODEL, 0, 4, 1.0, 0.1),
            'truncation threshold must be 0 (off) or at least 0.25, got 0.1'),
    AppCase('app_sample_truncation_not_a_number', '/sample_truncated', (MODEL, 0, 4, 1.0, 'strong'),
            "truncation threshold must be a number, got 'strong'"),
    _interpolate('app_interpolate_seed_negative', seed_b=-2, message=_SEED + '-2'),
    _interpolate('app_interpolate_seed_too_large', seed_a=2**40, message=_SEED + str(2**40)),
    _interpolate('app_interpolate_steps_one', steps=1, message=_STEPS + '1'),
    _interpolate('app_interpolate_steps_too_many', steps=100000, message=_STEPS + '100000'),
    _interpolate('app_interpolate_unknown_method', method='cubic',
                 message="method must be one of slerp, lerp, got 'cubic'"),
    _interpolate('app_interpolate_method_missing', method=None, message='method must be one of slerp, lerp, got None'),
    _interpolate('app_interpolate_scale_zero', scale=0, message=_SCALE + '0'),
    _interpolate('app_interpolate_unknown_model', model='fashion', message="unknown model 'fashion'" + _UNKNOWN),
    AppCase('app_sample_class_unknown_name', '/sample_class', (CLASSES_MODEL, 0, 4, 1.0, 0, 'seven'),
            "unknown class 'seven'; this generator has 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"),
    AppCase('app_sample_class_out_of_range', '/sample_class', (CLASSES_MODEL, 0, 4, 1.0, 0, 10),
            'class 10 is out of range: this generator has classes 0..9'),
    AppCase('app_sample_class_unconditional_model', '/sample_class', (MODEL, 0, 4, 1.0, 0, '3'),
            f"model '{MODEL}' has no label input (not a class-conditional generator): it cannot be asked for a class"),
    AppCase('app_sample_class_label_size_mismatch', '/sample_class', (WRONG_CLASSES, 0, 4, 1.0, 0, '3'),
            f"model '{WRONG_CLASSES}' is not served: graph label input 'labels' has shape ['batch', 10], metadata "
            f"says (batch, 5): its 5 label_classes" + _UNKNOWN),
    AppCase('app_http_data_not_a_list', '/sample', message='...Input should be a valid list...',
            body='{"data": "digits"}', status=422),
    AppCase('app_http_too_few_values', '/sample', message='...sample...4...3...',
            body='{"data": ["digits", 1, 4]}'),
    AppCase('app_http_unknown_endpoint', '/generate', message='.../generate...', body='{"data": ["digits", 1, 4, 1.0]}',
            status=404),
]
APP_BY_ID = {case.id: case for case in APP}


# --- Running the cases against one real server ------------------------------------------------------------------

@dataclasses.dataclass
class AppResult:
  case: AppCase
  client_error: str  # type of what gradio_client raised: '' when it returned, or for a raw-body case
  client_message: str
  status: Optional[int]  # HTTP status of the POST (None: no answer)
  event: str  # the call's server-sent event (`error`, `complete`); '' when the POST was refused
  http_message: str  # the event's error text, or the body of a refused POST
  seconds: float
  log: str  # what the server logged from the request until after the good /sample that followed it
  serving: str  # '' when the server then answered a good /sample, else what went wrong

  @property
  def message(self) -> str:
    """What the user reads: gradio_client's AppError, or for a raw-body case what the HTTP answer says."""
    return self.http_message if self.case.body else self.client_message

  def answer(self) -> str:
    """How the API refused the request, in words (for the doc)."""
    parts = [] if self.case.body else [f'gradio_client {self.client_error or "returned normally"}']
    http = 'HTTP no answer' if self.status is None else f'HTTP {self.status}'
    parts.append(f'{http}, event: {self.event}' if self.event else http)
    if 'Traceback' in self.log:
      parts.append('server log: a traceback')
    return '; '.join(parts)

  def problems(self) -> list:
    """What is wrong with this outcome, in words; [] when the case holds."""
    case, found = self.case, []
    if not case.body and self.client_error != 'AppError':
      found.append(f'gradio_client raised {self.client_error}, not AppError' if self.client_error else
                   'gradio_client: the request was accepted')
    if self.status != case.status:
      found.append(f'HTTP {self.status}, expected {case.status}')
    elif case.status == 200 and self.event != 'error':
      found.append(f"the call's event is {self.event!r}, not 'error'")
    if not matches(case.message, self.message):
      found.append(f'message {self.message!r} does not match {case.message!r}')
    if not case.body and self.http_message != self.client_message:
      found.append(f'HTTP says {self.http_message!r}, gradio_client says {self.client_message!r}')
    if 'Traceback' in self.client_message + self.http_message:
      found.append('the answer holds a traceback')
    if 'Traceback' in self.log:
      found.append('the server logged a traceback')
    if self.serving:
      found.append(self.serving)
    return found


def _http_call(base_url: str, case: AppCase):
  """Gradio's REST route: (HTTP status of the POST, event of the call, its error text or the refused body)."""
  import httpx
  url = f'{base_url.rstrip("/")}/gradio_api/call{case.api_name}'
  try:
    posted = httpx.post(url, content=case.http_body(), headers={'Content-Type': 'application/json'},
                        timeout=_HTTP_TIMEOUT_S)
    if posted.status_code != 200:
      return posted.status_code, '', posted.text.strip()
    events = httpx.get(f'{url}/{posted.json()["event_id"]}', timeout=_HTTP_TIMEOUT_S).text
  except httpx.HTTPError as e:
    return None, '', f'{type(e).__name__}: {e}'
  found = [(event, data) for event, data in re.findall(r'^event: (\w+)\ndata: (.*)$', events, re.M)
           if event != 'heartbeat']
  if not found:
    return posted.status_code, '', events.strip()
  event, data = found[-1]
  try:
    data = json.loads(data)
  except ValueError:
    return posted.status_code, event, data
  error = data.get('error') if isinstance(data, dict) else None
  return posted.status_code, event, '' if error is None else str(error)


def _still_serving(client, server) -> str:
  if server.proc.poll() is not None:
    return f'the server then exited with {server.proc.returncode}'
  try:
    timing = client.predict(MODEL, 0, 1, 1.0, api_name='/sample')[2]
  except Exception as e:  # any failure of the good request is this case's finding
    return f'a good /sample then failed: {type(e).__name__}: {e}'
  return '' if timing.startswith('1 image in ') else f'a good /sample then answered {timing!r}'


def run_app_case(case: AppCase, client, server) -> AppResult:
  log_start = len(server.log())
  started = time.monotonic()
  client_error = client_message = ''
  if not case.body:
    try:
      client.predict(*case.args, api_name=case.api_name)
    except Exception as e:  # what the user's script would get: recorded, judged by problems()
      client_error, client_message = type(e).__name__, str(e)
  status, event, http_message = _http_call(server.url, case)
  seconds = time.monotonic() - started
  serving = _still_serving(client, server)
  return AppResult(case, client_error, client_message, status, event, http_message, seconds,
                   server.log()[log_start:], serving)


def run_app_cases(cases, root: pathlib.Path) -> dict:
  """Starts one server on a fresh models dir under `root`, runs `cases` one after another; {id: AppResult}."""
  import logging
  from gradio_client import Client
  from tests.serve_server import Server  # the same start-up the serving tests use
  logging.getLogger('httpx').setLevel(logging.WARNING)  # a line per request under absl's INFO otherwise
  root.mkdir(parents=True, exist_ok=True)
  from tests.serve_server import tiny_conditional_onnx
  workspace = Workspace(root, shared=None)
  model_folder(workspace, f'models/{MODEL}')
  model_folder(workspace, f'models/{CLASSES_MODEL}', tiny_conditional_onnx(10), label_classes=_DIGITS)
  model_folder(workspace, f'models/{WRONG_CLASSES}', tiny_conditional_onnx(10), label_classes=_DIGITS[:5])
  server = Server(root / 'server.log', f'--models_dir={root / "models"}')
  try:
    server.wait_ready()
    client = Client(server.url, verbose=False)
    return {case.id: run_app_case(case, client, server) for case in cases}
  finally:
    server.stop()
