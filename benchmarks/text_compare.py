r"""The character-level language model with each way of feeding the critic, side by side in one run.

  python -m benchmarks.text_compare                              # 600 generator steps each, Tiny Shakespeare
  python -m benchmarks.text_compare --steps=200 --samplers=softmax,straight_through

Each sampler trains training/presets/text.flags (the WGAN-GP paper's gan_language.py settings at width 128) for the
same number of generator steps, one after the other in processes of their own:
  softmax           the critic sees the generator's softmax (the paper)
  gumbel            Gumbel-Softmax samples, tau annealed from 1 (--gumbel_softmax; Jang et al. 2017)
  straight_through  one-hot samples forward, the Gumbel-Softmax gradient backward (--gumbel_softmax
                    --straight_through)
Then 640 argmax lines of each generator are scored (evaluation/text_evaluate.py): the n-gram JSD (n = 1..4) against
the held-out tenth of the file, beside 640 real held-out lines against the same reference. Writes into --out:
text_compare.json and text_compare.md (the table and 8 lines of each), and prints them.
"""

import json
import os
import subprocess
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import flags

from common import cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESET = os.path.join(_REPO, 'training', 'presets', 'text.flags')
SAMPLERS = {
    'softmax': [],
    'gumbel': ['--gumbel_softmax'],
    'straight_through': ['--gumbel_softmax', '--straight_through'],
}

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defined when the benchmark runs as a command, so importing it (tests, other benchmarks) defines no flags."""
  flags.DEFINE_list('samplers', list(SAMPLERS), f'Some of {", ".join(SAMPLERS)}.')
  flags.DEFINE_integer('steps', 600, 'Generator steps per sampler (the paper: 200,000).', lower_bound=1)
  flags.DEFINE_string('text', os.path.join(_REPO, '..', 'shared', 'data', 'tinyshakespeare', 'input.txt'),
                      'UTF-8 text file.')
  flags.DEFINE_integer('num_lines', 640, 'Generated and real lines per JSD (the paper: 640).', lower_bound=10)
  flags.DEFINE_string('out', os.path.join('runs', 'text_compare'), 'Output folder (must be empty or new).')


class BenchmarkError(Exception):
  pass


def train(name: str, run_dir: str) -> float:
  cmd = [sys.executable, '-m', 'training.main', f'--flagfile={PRESET}', *SAMPLERS[name], f'--dataset=text:{FLAGS.text}',
         f'--steps={FLAGS.steps}', '--eval_every=0', f'--ckpt_every={FLAGS.steps}',
         f'--sample_every={FLAGS.steps}', f'--run_dir={run_dir}']
  started = time.monotonic()
  with open(run_dir + '.log', 'w') as log:
    code = subprocess.call(cmd, cwd=_REPO, stdout=log, stderr=subprocess.STDOUT)
  if code:
    raise BenchmarkError(f'training {name} failed (exit {code}); see {run_dir}.log')
  return time.monotonic() - started


def table(rows) -> str:
  lines = ['| critic input | steps | seconds | JSD 1-gram | 2-gram | 3-gram | 4-gram |',
           '|---|---|---|---|---|---|---|']
  for r in rows:
    lines.append(f'| {r["sampler"]} | {r["steps"]} | {r["seconds"]:.0f} | ' +
                 ' | '.join(f'{r["samples"][f"jsd{n}"]:.3f}' for n in (1, 2, 3, 4)) + ' |')
  floor = rows[0]['floor']
  lines.append(f'| {rows[0]["num_lines"]} real held-out lines (the baseline) | | | ' +
               ' | '.join(f'{floor[f"jsd{n}"]:.3f}' for n in (1, 2, 3, 4)) + ' |')
  return '\n'.join(lines)


def main(argv):
  del argv
  unknown = [s for s in FLAGS.samplers if s not in SAMPLERS]
  if unknown or not FLAGS.samplers:
    raise cli.UsageError(f'--samplers takes some of {", ".join(SAMPLERS)}, got {",".join(FLAGS.samplers) or "nothing"}')
  if not os.path.isfile(FLAGS.text):
    raise cli.UsageError(f'--text: no file at {FLAGS.text}')
  out = FLAGS.out
  if os.path.exists(out) and os.listdir(out):
    raise BenchmarkError(f'--out {out!r} already holds files; choose another (nothing was changed)')
  os.makedirs(out, exist_ok=True)
  from evaluation import text_evaluate
  rows = []
  for name in FLAGS.samplers:
    run_dir = os.path.abspath(os.path.join(out, name))
    print(f'training {name}: {FLAGS.steps} steps ...', flush=True)
    seconds = train(name, run_dir)
    result = text_evaluate.evaluate_text('run_dir', run_dir, FLAGS.num_lines)
    rows.append({'sampler': name, 'steps': FLAGS.steps, 'seconds': seconds, **result})
    print(f'  {seconds:.0f} s; JSD 4-gram {result["samples"]["jsd4"]:.3f} (real lines: '
          f'{result["floor"]["jsd4"]:.3f})', flush=True)
  text = table(rows)
  examples = '\n\n'.join(f'{r["sampler"]}:\n```\n' + '\n'.join(r['examples']) + '\n```' for r in rows)
  with open(os.path.join(out, 'text_compare.md'), 'w', encoding='utf-8') as f:
    f.write(text + '\n\n' + examples + '\n')
  with open(os.path.join(out, 'text_compare.json'), 'w') as f:
    json.dump(rows, f, indent=2)
  print(text + '\n\n' + examples)
  return 0


if __name__ == '__main__':
  _define_flags()
  cli.run(main, errors={BenchmarkError: 1})
