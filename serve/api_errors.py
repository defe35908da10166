"""Two bad API calls Gradio itself answers badly, answered like every other bad input of the app: one line of
text for the caller, no traceback in the server log.

- Too few values (`POST /gradio_api/call/sample {"data": ["digits", 1, 4]}`): Gradio's input-count check raises
  a plain ValueError before our handler runs; the caller gets an error event with no text (`"error": null`) and
  the server prints a traceback. `Blocks.validate_inputs` raises a gr.Error naming the endpoint instead.
- An endpoint the app lacks (`POST /gradio_api/call/generate`): Gradio's FnIndexInferError escapes the route
  as HTTP 500 with a traceback. `unknown_endpoint` answers 404 with the endpoints there are.

Both hooks are Gradio internals (gradio 6.x, pinned in requirements.txt); tests/bad_inputs_app.py's
app_http_too_few_values and app_http_unknown_endpoint cases fail if an upgrade changes them.
"""

import gradio as gr
from gradio.route_utils import FnIndexInferError


def _endpoints(blocks) -> str:
  names = [f'/{fn.api_name}' for fn in blocks.fns.values() if fn.api_name and fn.api_visibility == 'public']
  return ', '.join(sorted(names))


class Blocks(gr.Blocks):
  """gr.Blocks whose input-count check says which endpoint wanted how many values."""

  def validate_inputs(self, block_fn, inputs):
    if len(inputs) < len(block_fn.inputs):
      name = block_fn.api_name or block_fn.name
      raise gr.Error(f'/{name} takes {len(block_fn.inputs)} values, got {len(inputs)} (docs/serving.md lists them)',
                     print_exception=False)
    super().validate_inputs(block_fn, inputs)


async def unknown_endpoint(request, error):
  """FastAPI exception handler for FnIndexInferError: HTTP 404 naming the endpoint asked for and those there are."""
  from fastapi.responses import JSONResponse
  name = request.path_params.get('api_name') or request.url.path.rstrip('/').rsplit('/', 1)[-1]
  return JSONResponse({'detail': f'no API endpoint /{name.lstrip("/")}; this app has '
                                 f'{_endpoints(request.app.get_blocks())}'}, status_code=404)


def app_kwargs() -> dict:
  """For `launch(app_kwargs=...)`: a new dict each time, as Gradio adds its own keys to the one it is given."""
  return {'exception_handlers': {FnIndexInferError: unknown_endpoint}}
