r"""The bad-input catalogue: every bad input the command-line tools handle, the one line the user sees, the exit code.

Each case is a command run as a user runs it (`python -m MODULE ARGS` from the repository root; the cases of one
command run in warm interpreters, tests/warm.py, unless --one_process_per_case) against a workspace of its
own: `setup` builds the files the case needs in a fresh folder (`{tmp}` in its arguments, `<tmp>` in its message),
e.g. a copy of a real two-step run with a corrupt checkpoint. For every case, tests/test_bad_inputs.py checks: the
exit code is the catalogue's (2 usage error, 1 otherwise); the last non-empty line of stderr is `error: ...` and
matches the case's `message` ('...' matches any text); no `Traceback` anywhere; every file of the workspace is as
it was (path, size, sha256), nothing new outside `may_create`. tests/bad_input_workspaces.py builds what the cases
are given; tests/bad_inputs_runner.py runs cases and writes docs/bad_inputs.md from what they really print:

  python -m tests.bad_inputs --write_docs                             # every case; regenerates the doc
  python -m tests.bad_inputs --run=train_steps_zero,serve_bad_auth   # what those cases print, what fails

Adding a case: append a `Case` (tests/bad_input_case.py) to its command's list below (the training cases are in
tests/bad_inputs_train.py) with the message the tool should print (a new
command gets a list of its own and a section in bad_inputs_runner._SECTIONS), see what it prints today with
--run, and regenerate the doc. A case the tool gets wrong today carries `known_bug='why'`: its test is a strict
xfail until the owner fixes the tool and removes the mark.

The app's bad requests (the API of the running `python -m serve.app`) are the catalogue's last section, in
tests/bad_inputs_app.py: same ids, same doc, same --run.
"""

from tests.bad_input_case import Case
from tests.bad_input_workspaces import (REPO_ROOT, class_folders, garbage, grouped_people, image_folder,
                                        judged_class_folders, model_folder, run_json, run_with, run_without, tiny_onnx,
                                        truncate)
from tests.bad_inputs_train import TRAIN, readable_and_broken

DOC_PATH = REPO_ROOT / 'docs' / 'bad_inputs.md'


# --- The catalogue (training's cases: tests/bad_inputs_train.py) --------------------------------------------

def _export(id, module, argv, code, message, **kw):
  return Case(id, f'export.{module}', tuple(argv), code, message, **kw)


def _export_run(**changes):
  return run_json('generator/generator.json', **changes)


EXPORT = [
    _export('onnx_unknown_flag', 'to_onnx', ['--run_dir={tmp}/run', '--format=onnx'], 2,
            "error: Unknown command line flag 'format'"),
    _export('onnx_sample_truncation_below_minimum', 'to_onnx', ['--run_dir={tmp}/run', '--sample_truncation=0.1'], 2,
            'error: --sample_truncation: the truncation threshold must be 0 (off) or at least 0.25, got 0.1'),
    _export('onnx_positional_argument', 'to_onnx', ['{tmp}/run'], 2, 'error: unexpected arguments: <tmp>/run...'),
    _export('onnx_opset_out_of_range', 'to_onnx', ['--opset=9', '--run_dir={tmp}/run'], 2,
            'error: flag --opset=9: ...'),
    _export('onnx_bad_name', 'to_onnx', ['--run_dir={tmp}/run', '--name=../escape', '--models_dir={tmp}/models'], 2,
            "error: --name must be ...got '../escape'"),
    _export('onnx_missing_run_dir', 'to_onnx', ['--run_dir={tmp}/nowhere', '--models_dir={tmp}/models'], 1,
            "error: run directory '<tmp>/nowhere' does not exist"),
    _export('onnx_no_runs_to_pick', 'to_onnx', ['--runs_root={tmp}/runs', '--models_dir={tmp}/models'], 1,
            "error: no run under '<tmp>/runs' holds a trained generator; ...",
            given='<tmp>/runs holds one empty folder', setup=lambda ws: (ws.tmp / 'runs' / 'r1').mkdir(parents=True)),
    _export('onnx_run_without_generator', 'to_onnx', ['--run_dir={tmp}/run', '--models_dir={tmp}/models'], 1,
            "error: '<tmp>/run' holds no trained generator ...", given='<tmp>/run: a 2-step run without generator/',
            setup=run_without('generator')),
    _export('onnx_corrupt_generator_json', 'to_onnx', ['--run_dir={tmp}/run', '--models_dir={tmp}/models'], 1,
            'error: cannot read <tmp>/run/generator/generator.json: ...',
            given='<tmp>/run: generator/generator.json cut to half',
            setup=run_with('generator/generator.json', truncate)),
    _export('onnx_generator_format_from_the_future', 'to_onnx', ['--run_dir={tmp}/run', '--models_dir={tmp}/models'],
            1, "error: '<tmp>/run' was written by another version of this project ...",
            given='<tmp>/run: generator.json says format_version 99', setup=_export_run(format_version=99)),
    _export('onnx_unknown_architecture', 'to_onnx', ['--run_dir={tmp}/run', '--models_dir={tmp}/models'], 1,
            "error: '<tmp>/run' uses architecture 'stylegan9', unknown to this version",
            given="<tmp>/run: generator.json names architecture 'stylegan9'",
            setup=_export_run(arch='stylegan9')),
    _export('onnx_weights_of_another_shape', 'to_onnx', ['--run_dir={tmp}/run', '--models_dir={tmp}/models'], 1,
            "error: cannot load the generator weights of '<tmp>/run': ...",
            given='<tmp>/run: generator.json says width 8, the weights are of width 4',
            setup=_export_run(width=8)),
    _export('onnx_truncated_weights', 'to_onnx', ['--run_dir={tmp}/run', '--models_dir={tmp}/models'], 1,
            "error: cannot load the generator weights of '<tmp>/run': ...",
            given='<tmp>/run: generator/generator.weights.h5 cut to half',
            setup=run_with('generator/generator.weights.h5', truncate)),
    _export('onnx_format_already_there', 'to_onnx', ['--run_dir={tmp}/run', '--models_dir={tmp}/models',
                                                     '--name=m'], 1,
            "error: '<tmp>/models/m' already holds the onnx format (model.onnx); pass --overwrite ...",
            given='<tmp>/models/m holds model.onnx and metadata.json',
            setup=lambda ws: (ws.run(), model_folder(ws, 'models/m'))),
    _export('onnx_models_dir_is_a_file', 'to_onnx', ['--run_dir={tmp}/run', '--models_dir={tmp}/file'], 1,
            "error: cannot write to the models dir '<tmp>/file': ...",
            given='<tmp>/run: a 2-step run; <tmp>/file is a file', setup=lambda ws: (ws.run(), ws.write('file', 'x'))),
    _export('savedmodel_opset_flag', 'to_savedmodel', ['--run_dir={tmp}/run', '--opset=17'], 2,
            "error: Unknown command line flag 'opset'"),
    _export('savedmodel_missing_run_dir', 'to_savedmodel', ['--run_dir={tmp}/nowhere', '--models_dir={tmp}/models'],
            1, "error: run directory '<tmp>/nowhere' does not exist"),
    _export('savedmodel_format_already_there', 'to_savedmodel', ['--run_dir={tmp}/run', '--models_dir={tmp}/models',
                                                                 '--name=m'], 1,
            "error: '<tmp>/models/m' already holds the savedmodel format (saved_model); pass --overwrite ...",
            given='<tmp>/models/m holds metadata.json and saved_model/1/saved_model.pb',
            setup=lambda ws: (ws.run(), ws.write('models/m/metadata.json', '{}'),
                              ws.write('models/m/saved_model/1/saved_model.pb', garbage(64)))),
    _export('savedmodel_beside_another_runs_onnx', 'to_savedmodel', ['--run_dir={tmp}/run',
                                                                     '--models_dir={tmp}/models', '--name=m'], 1,
            "error: '<tmp>/models/m' holds model.onnx exported from run other step 7, ...",
            given="<tmp>/models/m holds model.onnx from run 'other', step 7",
            setup=lambda ws: (ws.run(), model_folder(ws, 'models/m', run_name='other', step=7))),
]


def _evaluate(id, argv, code, message, **kw):
  return Case(id, 'evaluation.evaluate', tuple(argv), code, message, **kw)


EVALUATE = [
    _evaluate('evaluate_unknown_flag', ['--run_dir={tmp}/run', '--samples=10'], 2,
              "error: Unknown command line flag 'samples'"),
    _evaluate('evaluate_positional_argument', ['--run_dir={tmp}/run', 'extra'], 2,
              'error: unexpected arguments: extra...'),
    _evaluate('evaluate_no_source', [], 2, 'error: pass exactly one of --run_dir ...'),
    _evaluate('evaluate_two_sources', ['--run_dir={tmp}/run', '--model={tmp}/model.onnx'], 2,
              'error: pass exactly one of --run_dir ...'),
    _evaluate('evaluate_missing_model', ['--model={tmp}/nowhere.onnx'], 2,
              'error: --model: no such file or directory: <tmp>/nowhere.onnx'),
    _evaluate('evaluate_label_classes_without_label_input', ['--model={tmp}/models/m/model.onnx'], 1,
              "error: <tmp>/models/m/model.onnx: its metadata names 2 classes, but the graph has no 'labels' input",
              given="<tmp>/models/m: metadata.json with label_classes ['a', 'b'], a model.onnx taking z only",
              setup=lambda ws: model_folder(ws, 'models/m', label_classes=['a', 'b'])),
    _evaluate('evaluate_too_few_samples', ['--run_dir={tmp}/run', '--num_samples=1'], 2,
              'error: --num_samples must be >= 2, got 1', given='<tmp>/run: a 2-step run', setup=lambda ws: ws.run()),
    _evaluate('evaluate_too_few_samples_for_fcd', ['--model={tmp}/model.onnx', '--num_samples=10'], 1,
              'error: 10 samples are too few: FCD ...', given='<tmp>/model.onnx: a valid 16x16x1 ONNX generator',
              setup=lambda ws: ws.write('model.onnx', tiny_onnx())),
    _evaluate('evaluate_dataset_typo', ['--model={tmp}/model.onnx', '--dataset=fashion_mnst'], 2,
              "error: ...'fashion_mnst'...", given='<tmp>/model.onnx: a valid 16x16x1 ONNX generator',
              setup=lambda ws: ws.write('model.onnx', tiny_onnx())),
    _evaluate('evaluate_corrupt_onnx', ['--model={tmp}/model.onnx'], 1,
              'error: cannot load ONNX model <tmp>/model.onnx: ...', given='<tmp>/model.onnx: 4 KiB of random bytes',
              setup=lambda ws: ws.write('model.onnx', garbage(4096))),
    _evaluate('evaluate_truncated_onnx', ['--model={tmp}/model.onnx'], 1,
              'error: cannot load ONNX model <tmp>/model.onnx: ...',
              given='<tmp>/model.onnx: a valid ONNX generator cut to half',
              setup=lambda ws: truncate(ws.write('model.onnx', tiny_onnx()))),
    _evaluate('evaluate_wrong_shape_onnx', ['--model={tmp}/model.onnx', '--dataset=digits'], 1,
              'error: the digits judge reads 1-channel images, <tmp>/model.onnx makes 5-channel ones',
              given='<tmp>/model.onnx: a valid ONNX model z (B, 3) -> (B, 4, 4, 5)',
              setup=lambda ws: ws.write('model.onnx', tiny_onnx(3, (4, 4, 5)))),
    _evaluate('evaluate_onnx_without_dataset', ['--model={tmp}/model.onnx'], 1,
              'error: <tmp>/model.onnx does not say which dataset it was trained on; pass --dataset',
              given='<tmp>/model.onnx: a valid ONNX generator whose metadata names no dataset',
              setup=lambda ws: ws.write('model.onnx', tiny_onnx(dataset=None))),
    _evaluate('evaluate_not_a_saved_model', ['--saved_model={tmp}/models/m'], 1,
              'error: --saved_model: no SavedModel (saved_model.pb) at <tmp>/models/m, ...',
              given='<tmp>/models/m holds model.onnx and metadata.json only',
              setup=lambda ws: model_folder(ws, 'models/m')),
    _evaluate('evaluate_run_without_generator', ['--run_dir={tmp}/run'], 1,
              "error: '<tmp>/run' holds no trained generator ...", given='<tmp>/run: a 2-step run without generator/',
              setup=run_without('generator')),
    _evaluate('evaluate_folder_without_judge', ['--run_dir={tmp}/run', '--dataset=folder:{tmp}/images',
                                                '--judges_dir={tmp}/judges'], 2,
              'error: no judge for folder:<tmp>/images in <tmp>/judges/ (looked for images-....json); train it '
              'with: python -m evaluation.train_judge --dataset=folder:<tmp>/images',
              given='<tmp>/run: a 2-step run; <tmp>/images: two class folders; no judge of it',
              setup=lambda ws: (ws.run(), class_folders({'cats': 2, 'dogs': 2})(ws))),
    _evaluate('evaluate_judge_of_another_background', ['--run_dir={tmp}/run', '--dataset=folder:{tmp}/images',
                                                       '--judges_dir={tmp}/judges'], 2,
              "error: <tmp>/run (step ...) composited transparent pixels over 'black', the judge of its folder over "
              "'white': scores would measure the background; retrain the judge with --alpha_background=black "
              '(python -m evaluation.train_judge)',
              given="<tmp>/run: a 2-step run whose generator.json records alpha_background 'black'; <tmp>/images: "
                    'three class folders and their judge, trained over white',
              setup=lambda ws: (ws.run(), judged_class_folders(ws),
                                ws.edit_json('run/generator/generator.json', alpha_background='black'))),
    _evaluate('evaluate_fid_without_weights', ['--run_dir={tmp}/run', '--fid'], 2, 'error: ...--inception_weights...',
              given='<tmp>/run: a 2-step run', setup=lambda ws: ws.run()),
]


def _judge(id, argv, code, message, **kw):
  return Case(id, 'evaluation.train_judge', tuple(argv), code, message, **kw)


TRAIN_JUDGE = [
    _judge('judge_unknown_flag', ['--dataset=digits', '--epoch=3'], 2,
           "error: Unknown command line flag 'epoch'. Did you mean: epochs ?"),
    _judge('judge_positional_argument', ['--dataset=digits', 'now'], 2, 'error: unexpected arguments: now...'),
    _judge('judge_no_dataset', ['--judges_dir={tmp}/judges'], 2, 'error: --dataset is required ...'),
    _judge('judge_dataset_typo', ['--dataset=fashion_mnst', '--judges_dir={tmp}/judges'], 2,
           "error: ...'fashion_mnst'..."),
    _judge('judge_epochs_zero', ['--dataset=digits', '--epochs=0', '--judges_dir={tmp}/judges'], 2,
           'error: flag --epochs=0: ...'),
    _judge('judge_unlabelled_folder', ['--dataset=folder:{tmp}/images', '--judges_dir={tmp}/judges'], 2,
           'error: folder:<tmp>/images has 0 class folder(s): a judge learns to tell classes apart, so sort the '
           'images into two or more class folders ...', given='<tmp>/images holds three loose image files',
           setup=image_folder),
    _judge('judge_folder_with_unreadable_files', ['--dataset=folder:{tmp}/images', '--epochs=1', '--image_size=16',
                                                   '--judges_dir={tmp}/judges'], 2,
           'error: folder:<tmp>/images: 2 image files skipped: dogs/broken.png (UnidentifiedImageError: cannot '
           'identify image file), dogs/scan.png (too large: 16000x16000 = 256.0 M px, cap 250 M); remove them so the '
           'split is the same for the judge and the metrics',
           given='<tmp>/images: cats and dogs 20 PNGs each; dogs also broken.png (random bytes) and scan.png (a valid '
           '16000x16000 PNG)', setup=lambda ws: readable_and_broken(ws)),
    _judge('judge_class_below_part_minimum', ['--dataset=folder:{tmp}/images', '--judges_dir={tmp}/judges'], 2,
           "error: class 'cats' has ... image(s) in the ... part of the split (grouped by content; 6 in all), fewer "
           'than 5: add images of it, or move its folder out', given='<tmp>/images: class folders of 6 images each',
           setup=class_folders({'cats': 6, 'dogs': 6})),
]


def _serve(id, argv, code, message, **kw):
  return Case(id, 'serve.app', tuple(argv), code, message, timeout_s=60, **kw)


_GOOD_MODEL = '<tmp>/models/good holds a valid 16x16x1 ONNX model and its metadata.json'


SERVE = [
    _serve('serve_unknown_flag', ['--models_dir={tmp}/models', '--prot=8000'], 2,
           "error: Unknown command line flag 'prot'. Did you mean: port..."),
    _serve('serve_positional_argument', ['--models_dir={tmp}/models', 'now'], 2,
           'error: unexpected arguments: now...'),
    _serve('serve_port_not_a_number', ['--models_dir={tmp}/models', '--port=http'], 2, 'error: flag --port=http: ...'),
    _serve('serve_missing_models_dir', ['--models_dir={tmp}/nowhere'], 1, 'error: no models in <tmp>/nowhere...'),
    _serve('serve_only_corrupt_models', ['--models_dir={tmp}/models'], 1, 'error: no models in <tmp>/models...',
           given='<tmp>/models/bad holds 4 KiB of random bytes as model.onnx, and metadata.json',
           setup=lambda ws: model_folder(ws, 'models/bad', garbage(4096))),
    _serve('serve_only_wrong_shape_models', ['--models_dir={tmp}/models'], 1, 'error: no models in <tmp>/models...',
           given='<tmp>/models/odd: metadata.json says latent 8, the ONNX graph takes latent 3',
           setup=lambda ws: model_folder(ws, 'models/odd', tiny_onnx(3))),
    _serve('serve_port_out_of_range', ['--models_dir={tmp}/models', '--port=70000'], 2, 'error: ...--port...',
           given=_GOOD_MODEL, setup=lambda ws: model_folder(ws, 'models/good')),
    _serve('serve_bad_auth', ['--models_dir={tmp}/models', '--auth=admin'], 2,
           'error: --auth / $GAN_SERVE_AUTH must look like user:password'),
    _serve('serve_max_concurrency_zero', ['--models_dir={tmp}/models', '--max_concurrency=0'], 2,
           'error: --max_concurrency must be at least 1, got 0'),
    _serve('serve_cuda_without_gpu', ['--models_dir={tmp}/models', '--provider=cuda'], 1,
           'error: --provider=cuda: ...', given=_GOOD_MODEL + '; CUDA_VISIBLE_DEVICES is empty',
           setup=lambda ws: model_folder(ws, 'models/good')),
]

def _sweep(id, argv, code, message, **kw):
  return Case(id, 'benchmarks.architecture_sweep', tuple(argv), code, message, **kw)


def _a_sweep(ws):
  ws.write('sweep/sweep.json', '{"dataset": "mnist", "steps": 300, "batch_size": 32, "widths": [8, 16, 32], '
           '"seed": 0, "num_samples": 1000}\n')


SWEEP = [
    _sweep('sweep_widths_not_numbers', ['--widths=small,large', '--out={tmp}/sweep'], 2,
           'error: --widths takes integers and --thresholds numbers, got small,large and 2,4,6,8'),
    _sweep('sweep_dataset_without_28px_judge', ['--dataset=cifar10', '--out={tmp}/sweep'], 2,
           "error: --dataset must be mnist or fashion_mnist (28x28 with a judge), got 'cifar10'"),
    _sweep('sweep_resume_with_other_steps', ['--steps=500', '--out={tmp}/sweep'], 1,
           'error: <tmp>/sweep holds a sweep with --steps=300 --batch_size=32; pass those, or another --out',
           given='<tmp>/sweep/sweep.json of a sweep run with --steps=300 --batch_size=32 '
           '--widths=8,16,32', setup=_a_sweep),
]

def _gallery(id, argv, code, message, **kw):
  return Case(id, 'benchmarks.architecture_gallery', tuple(argv), code, message, **kw)


def _a_gallery(ws):
  ws.write('gallery/gallery.json', '{"dataset": "fashion_mnist", "image_size": 32, "steps": 500, "width": 16, '
           '"batch_size": 64, "seed": 0, "num_samples": 1000}\n')


GALLERY = [
    _gallery('gallery_unknown_row', ['--rows=baseline,resnet101', '--out={tmp}/gallery'], 2,
             'error: --rows takes any of baseline,crippled,mlp,no_norm,gated,tanh,resnet and --losses any of '
             'dcgan,lsgan,wgan,wgan_gp, got resnet101'),
    _gallery('gallery_on_points', ['--dataset=toy:25gaussians', '--out={tmp}/gallery'], 2,
             "error: --dataset must be image data with a judge, got 'toy:25gaussians'"),
    _gallery('gallery_resume_with_other_steps', ['--steps=300', '--out={tmp}/gallery'], 1,
             'error: <tmp>/gallery holds a gallery with --steps=500; pass those, or another --out',
             given='<tmp>/gallery/gallery.json of a gallery run with --steps=500', setup=_a_gallery),
]

QUALITY = [
    Case('quality_score_only_without_runs', 'benchmarks.quality',
         ('--dataset=digits', '--score_only', '--out={tmp}/quality', '--presets=a=training/presets/digits.flags'), 2,
         'error: --score_only: no trained run at <tmp>/quality/a (its a.started is missing or unreadable): run '
         'without --score_only first'),
]

def _warn(id, module, argv, message, **kw):
  """A warning: the command goes on (exit 0) and prints a line matching `message` (stdout or stderr)."""
  return Case(id, module, tuple(argv), 0, message, **kw)


_SMALL_RUN = ('--steps=1', '--batch_size=8', '--image_size=16', '--width=4', '--run_dir={tmp}/run')


def _run_of_other_classes(ws):
  from benchmarks.bench_models import save_untrained_run
  judged_class_folders(ws, per_class=320)  # a reference part of > 128 images: FCD's covariance needs them
  save_untrained_run(ws.tmp / 'run', 8, 16, 3, 4, dataset=f'folder:{ws.tmp / "images"}', step=3)
  ws.edit_json('run/generator/generator.json', data_classes=['a', 'b', 'z'])


WARNINGS = [
    _warn('train_folder_small_class', 'training.main', ['--dataset=folder:{tmp}/images', *_SMALL_RUN],
          '...folder:<tmp>/images: 1 of 2 classes holds fewer than 20 images (cats 3): too few for --conditioning '
          'to learn such a class, or for a folder judge to measure it (its held-out parts need 5 of each class); '
          'add images, or move the folder out', given='<tmp>/images: cats 3 PNGs, dogs 25',
          setup=class_folders({'cats': 3, 'dogs': 25}), may_create=('run', 'run/*')),
    _warn('train_folder_imbalanced', 'training.main', ['--dataset=folder:{tmp}/images', *_SMALL_RUN],
          "...folder:<tmp>/images: its classes are imbalanced 60:1 (dogs 120, cats 2): the generator, unconditioned, "
          "learns the data's mixture: at best about 1 of every 61 samples will be cats; with --conditioning, "
          '--fake_labels=uniform asks the generator for every class equally often',
          given='<tmp>/images: cats 2 PNGs, dogs 120', setup=class_folders({'cats': 2, 'dogs': 120}),
          may_create=('run', 'run/*')),
    _warn('train_folder_skipped_files', 'training.main', ['--dataset=folder:{tmp}/images', *_SMALL_RUN],
          '...folder:<tmp>/images: 2 image files skipped: dogs/broken.png (UnidentifiedImageError: cannot identify '
          'image file), dogs/scan.png (too large: 16000x16000 = 256.0 M px, cap 250 M); 40 of 42 read',
          given='<tmp>/images: cats and dogs 20 PNGs each; dogs also broken.png (random bytes) and scan.png (a valid '
          '16000x16000 PNG)', setup=readable_and_broken, may_create=('run', 'run/*')),
    _warn('judge_split_skewed_by_groups', 'evaluation.train_judge',
          ['--dataset=folder:{tmp}/people', '--group_by=strip:_\\d+$', '--epochs=1', '--image_size=16',
           '--judges_dir={tmp}/judges'],
          "warning: class '...': ... floor against ... reference images (...x), more than a split of single files "
          'gives: --group_by=strip:_\\d+$ gathers its files in large groups. A rule written for other file names needs '
          'replacing (docs/evaluation.md, "Choosing --group_by"); with the right one, the floor of this class rests '
          'on few groups', given='<tmp>/people/cats and dogs: 200 distinct PNGs each, named <class>NN_MMM.png (20 '
          'groups of 10)', setup=grouped_people, may_create=('judges', 'judges/*')),
    _warn('evaluate_run_of_other_classes', 'evaluation.evaluate',
          ['--run_dir={tmp}/run', '--dataset=folder:{tmp}/images', '--judges_dir={tmp}/judges'],
          'warning: <tmp>/run (step 3, wgan_gp) was trained on 3 classes (a, b, z) but the folder:<tmp>/images judge knows 3 (a, b, '
          "c); class z is not in the judge: samples of it count against FCD and precision; the judge's class c is "
          "not in the run's data: no sample aims at its reference images, which lowers recall",
          given='<tmp>/run: an untrained unconditional 16x16 RGB generator whose generator.json says data_classes '
          'a, b, z; <tmp>/images: classes a, b, c (320 PNGs each) and their judge', setup=_run_of_other_classes),
]

CASES = TRAIN + EXPORT + EVALUATE + TRAIN_JUDGE + SERVE + SWEEP + GALLERY + QUALITY + WARNINGS
BY_ID = {case.id: case for case in CASES}


if __name__ == '__main__':  # the writer lives beside the catalogue: `python -m tests.bad_inputs --write_docs`
  from tests import bad_inputs_runner
  bad_inputs_runner.cli_main()
