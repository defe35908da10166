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

Adding a case: append a `Case` to its command's list below with the message the tool should print (a new
command gets a list of its own and a section in bad_inputs_runner._SECTIONS), see what it prints today with
--run, and regenerate the doc. A case the tool gets wrong today carries `known_bug='why'`: its test is a strict
xfail until the owner fixes the tool and removes the mark.

The app's bad requests (the API of the running `python -m serve.app`) are the catalogue's last section, in
tests/bad_inputs_app.py: same ids, same doc, same --run.
"""

import dataclasses
from typing import Callable, Optional, Tuple

from tests.bad_input_workspaces import (REPO_ROOT, Workspace, class_folders, distinct_pngs, garble, garbage,
                                        grouped_people, image_folder, oversized_png,
                                        judged_class_folders, model_folder, run_json, run_with, run_without, tiny_onnx,
                                        truncate)

DOC_PATH = REPO_ROOT / 'docs' / 'bad_inputs.md'
# Keeps a case short should the tool wrongly accept it and start training (then the workspace check fails it).
TINY = ('--steps=1',)


@dataclasses.dataclass(frozen=True)
class Case:
  id: str
  module: str  # run as `python -m module`
  argv: Tuple[str, ...]  # '{tmp}' is the case's workspace
  code: int  # expected exit code: 2 usage error, 1 anything else
  message: str  # expected last stderr line; '<tmp>' is the workspace, '...' matches any text
  given: str = ''  # what the workspace holds, in words (for the doc)
  setup: Optional[Callable[['Workspace'], None]] = None
  may_create: Tuple[str, ...] = ()  # globs (relative to the workspace) of files the case may create
  known_bug: str = ''  # non-empty: the tool gets this case wrong today (a strict xfail)
  timeout_s: float = 180

  def command(self, tmp: str = '<tmp>') -> str:
    args = [a.replace('{tmp}', tmp) for a in self.argv]
    return ' '.join(['python -m', self.module] + [f"'{a}'" if ' ' in a or not a else a for a in args])


# --- The catalogue ------------------------------------------------------------------------------------------



def _train(id, argv, code, message, **kw):
  return Case(id, 'training.main', tuple(argv), code, message, **kw)


def _resume_damaged(id, damage, setup, message='error: --resume: no complete checkpoint in <tmp>/run/checkpoints; '
                    'start a new run with another --run_dir', known_bug=''):
  """`--resume --steps=3` of a copy of the tiny run damaged by `setup`."""
  return _train(id, ['--resume', '--run_dir={tmp}/run', '--steps=3'], 1, message, known_bug=known_bug,
                given=f'<tmp>/run: a 2-step run, {damage}', setup=setup)


def _readable_and_broken(ws):
  """<tmp>/images: cats and dogs, 20 distinct PNGs each, and in dogs a file of random bytes and a 16000x16000 PNG."""
  distinct_pngs(ws, 'images/cats', 20)
  distinct_pngs(ws, 'images/dogs', 20, seed=1)
  ws.write('images/dogs/broken.png', garbage(300))
  oversized_png(ws, 'images/dogs/scan.png')


TRAIN = [
    _train('train_unknown_flag', ['--stepz=5'], 2, "error: Unknown command line flag 'stepz'. Did you mean: steps ?"),
    _train('train_positional_argument', ['--steps=5', 'fashion_mnist'], 2,
           'error: unexpected arguments: fashion_mnist ...'),
    _train('train_steps_not_a_number', ['--steps=many'], 2,
           "error: flag --steps=many: invalid literal for int() with base 10: 'many'"),
    _train('train_unknown_loss', ['--loss=wgan-gp'], 2, 'error: flag --loss=wgan-gp: value should be one of ...'),
    _train('train_steps_zero', ['--steps=0', '--run_dir={tmp}/run'], 2, 'error: ...--steps...0...'),
    _train('train_batch_size_negative', ['--batch_size=-8', '--run_dir={tmp}/run'], 2,
           'error: ...--batch_size...-8...'),
    _train('train_image_size_unsupported', ['--image_size=30', '--run_dir={tmp}/run'], 2, 'error: ...30...'),
    _train('train_ema_decay_one', ['--ema_decay=1', '--run_dir={tmp}/run'], 2, 'error: ...--ema_decay...'),
    _train('train_too_many_samples', ['--num_samples=1000', '--run_dir={tmp}/run'], 2,
           'error: ...--num_samples...'),
    _train('train_lsgan_labels_two', ['--loss=lsgan', '--lsgan_labels=0,1', '--run_dir={tmp}/run'], 2,
           'error: ...--lsgan_labels...three...'),
    _train('train_lsgan_labels_not_numbers', ['--loss=lsgan', '--lsgan_labels=a,b,c', '--run_dir={tmp}/run'], 2,
           'error: ...--lsgan_labels...'),
    _train('train_wgan_gp_with_clipping', ['--loss=wgan_gp', '--clip_value=0.01', *TINY, '--run_dir={tmp}/run'], 2,
           'error: ...--clip_value...'),
    _train('train_penalty_on_batchnorm_critic', ['--loss=wgan', '--gp_weight=10', *TINY, '--run_dir={tmp}/run'],
           2, 'error: ...--gp_weight...'),
    _train('train_batchnorm_critic_with_wgan_gp', ['--loss=wgan_gp', '--critic_norm=batch', *TINY,
                                                   '--run_dir={tmp}/run'], 2, 'error: ...--critic_norm...'),
    _train('train_label_smoothing_not_dcgan', ['--loss=wgan_gp', '--label_smoothing=0.1', *TINY,
                                               '--run_dir={tmp}/run'], 2, 'error: ...--label_smoothing...'),
    _train('train_r1_gamma_negative', ['--loss=ns_r1', '--r1_gamma=-1', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --r1_gamma must be >= 0, got -1.0'),
    _train('train_r1_every_zero', ['--loss=ns_r1', '--r1_every=0', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --r1_every must be >= 1, got 0'),
    _train('train_r1_gamma_without_r1', ['--loss=hinge', '--r1_gamma=1', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --r1_gamma applies to --loss=ns_r1 only (got --loss=hinge)'),
    _train('train_gradient_penalty_with_r1', ['--loss=ns_r1', '--gp_weight=10', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --gp_weight=10.0: --loss=ns_r1 has its own penalty, R1 on real images (--r1_gamma); pass '
           '--gp_weight=0'),
    _train('train_spectral_critic_with_wgan_gp', ['--loss=wgan_gp', '--critic_norm=spectral', *TINY,
                                                  '--run_dir={tmp}/run'], 2,
           'error: --critic_norm=spectral is not allowed with --loss=wgan_gp and --arch=dcgan; choose one of layer, '
           'none'),
    _train('train_spectral_critic_on_toy_points', ['--dataset=toy:8gaussians', '--arch=mlp', '--loss=hinge',
                                                   '--critic_norm=spectral', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --critic_norm=spectral is not allowed with --loss=hinge and --arch=mlp; choose one of none'),
    _train('train_dataset_typo', ['--dataset=fashion_mnst', *TINY, '--run_dir={tmp}/run'], 2,
           "error: unknown dataset 'fashion_mnst'; did you mean 'fashion_mnist'? known: ..."),
    _train('train_toy_dataset_typo', ['--dataset=toy:25gaussian', '--arch=mlp', '--run_dir={tmp}/run'], 2,
           "error: unknown toy dataset '25gaussian' (did you mean 25gaussians?); choose toy:8gaussians, "
           "toy:25gaussians, toy:swissroll"),
    _train('train_text_missing_file', ['--dataset=text:{tmp}/play.txt', '--arch=resnet1d', *TINY,
                                       '--run_dir={tmp}/run'], 2, "error: text file '<tmp>/play.txt' does not exist"),
    _train('train_text_empty_file', ['--dataset=text:{tmp}/play.txt', '--arch=resnet1d', *TINY, '--run_dir={tmp}/run'],
           2, "error: text file '<tmp>/play.txt' is empty", given='<tmp>/play.txt: three blank lines',
           setup=lambda ws: ws.write('play.txt', '\n \n\n')),
    _train('train_text_not_utf8', ['--dataset=text:{tmp}/play.txt', '--arch=resnet1d', *TINY, '--run_dir={tmp}/run'],
           2, "error: '<tmp>/play.txt' is not UTF-8 text (byte 17, line 2: invalid continuation byte)",
           given='<tmp>/play.txt: Latin-1 text (an e-acute as byte 0xE9)',
           setup=lambda ws: ws.write('play.txt', b'First Citizen\ncaf\xe9 society\n')),
    _train('train_text_too_short', ['--dataset=text:{tmp}/play.txt', '--arch=resnet1d', '--text_unit=window', *TINY,
                                    '--run_dir={tmp}/run'], 2,
           "error: '<tmp>/play.txt' holds 1 window of 32 characters; it needs at least 3 (one to train on and 2 "
           'held out)', given='<tmp>/play.txt: 40 characters', setup=lambda ws: ws.write('play.txt', 'x' * 40)),
    _train('train_gumbel_on_images', ['--gumbel_softmax', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --gumbel_softmax applies to text data only (--dataset=digits is image data)'),
    _train('train_augment_unknown_policy', ['--augment=colour,cutout', *TINY, '--run_dir={tmp}/run'], 2,
           "error: unknown --augment policy 'colour'; choose any of color,translation,cutout, comma-separated (did "
           'you mean color?)'),
    _train('train_augment_on_toy_points', ['--dataset=toy:8gaussians', '--arch=mlp', '--augment=color', *TINY,
                                           '--run_dir={tmp}/run'], 2,
           'error: --augment applies to image data only (--dataset=toy:8gaussians is points data)'),
    _train('train_image_arch_on_toy_points', ['--dataset=toy:8gaussians', '--arch=dcgan', '--run_dir={tmp}/run'], 2,
           'error: --arch=dcgan trains image data, --dataset=toy:8gaussians is points data; choose --arch=mlp'),
    _train('train_toy_arch_on_images', ['--arch=mlp', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --arch=mlp trains points data, --dataset=digits is image data; choose --arch=dcgan or dcgan5 or '
           'dcgan_family or mlp_image or resnet'),
    _train('train_resnet_on_text', ['--dataset=text:../shared/data/tinyshakespeare/input.txt', '--arch=resnet',
                                    '--run_dir={tmp}/run'], 2,
           'error: --arch=resnet trains image data, --dataset=text:... is text data; choose --arch=resnet1d'),
    _train('train_resnet_with_depth', ['--arch=resnet', '--depth=101', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --depth applies to --arch=dcgan_family only, not --arch=resnet'),
    _train('train_resnet_at_unsupported_size', ['--arch=resnet', '--image_size=48', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --image_size must be one of 16, 28, 32, 56, 64, 112, 128 (4 or 7 times a power of two), got 48'),
    _train('train_lr_decay_negative', ['--lr_decay_steps=-5', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --lr_decay_steps must be >= 0, got -5'),
    _train('train_generator_batch_ratio_zero', ['--g_batch_ratio=0', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --g_batch_ratio must be in [1, 16], got 0'),
    _train('train_generator_filters_on_dcgan', ['--generator_filters=constant', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --generator_filters applies to --arch=dcgan_family only, not --arch=dcgan'),
    _train('train_family_option_on_dcgan', ['--depth=8', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --depth applies to --arch=dcgan_family only, not --arch=dcgan'),
    _train('train_family_depth_below_strided', ['--arch=dcgan_family', '--depth=2', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --depth=2 is below the 3 strided convolutions of a 32x32 dcgan_family; pass --depth >= 3 or 0'),
    _train('train_family_unknown_nonlinearity', ['--arch=dcgan_family', '--nonlinearity=gelu', *TINY,
                                                 '--run_dir={tmp}/run'], 2, 'error: ...gelu...'),
    _train('train_folder_missing', ['--dataset=folder:{tmp}/nowhere', *TINY, '--run_dir={tmp}/run'], 2,
           'error: folder:<tmp>/nowhere: no such directory'),
    _train('train_folder_no_images', ['--dataset=folder:{tmp}/images', *TINY, '--run_dir={tmp}/run'], 2,
           'error: folder:<tmp>/images holds no image files ...', given='<tmp>/images holds notes.txt only',
           setup=lambda ws: ws.write('images/notes.txt', 'not an image')),
    _train('train_folder_unreadable_images', ['--dataset=folder:{tmp}/images', *TINY, '--run_dir={tmp}/run'], 2,
           'error: folder:<tmp>/images: none of its 3 image files can be read...',
           given='<tmp>/images holds three .png files of random bytes', setup=image_folder),
    _train('train_folder_empty_class', ['--dataset=folder:{tmp}/images', *TINY, '--run_dir={tmp}/run'], 2,
           "error: folder:<tmp>/images: class folder 'dogs' holds no image files (.bmp, .gif, .jpeg, .jpg, .png, "
           '.webp); put images in it or remove it', given='<tmp>/images/cats holds two PNGs, <tmp>/images/dogs nothing',
           setup=class_folders({'cats': 2, 'dogs': 0})),
    _train('train_folder_unreadable_class', ['--dataset=folder:{tmp}/images', *TINY, '--run_dir={tmp}/run'], 2,
           "error: folder:<tmp>/images: none of the 2 image files of class folder 'dogs' can be read, e.g. "
           "<tmp>/images/dogs/img0.png: UnidentifiedImageError: ...",
           given='<tmp>/images/cats holds two PNGs, <tmp>/images/dogs two .png files of random bytes',
           setup=class_folders({'cats': 2, 'dogs': 2}, unreadable=('dogs',))),
    _train('train_folder_loose_files_beside_classes', ['--dataset=folder:{tmp}/images', *TINY, '--run_dir={tmp}/run'],
           2, 'error: folder:<tmp>/images: 1 image file(s) lie beside its class folders, e.g. <tmp>/images/loose0.png; '
           'move them into a class folder (or all images out of the sub-folders for one unlabelled class)',
           given='<tmp>/images/cats and <tmp>/images/dogs hold two PNGs each, <tmp>/images one more',
           setup=class_folders({'cats': 2, 'dogs': 2}, loose=1)),
    _train('train_folder_fewer_than_one_batch', ['--dataset=folder:{tmp}/images', '--run_dir={tmp}/run'], 2,
           'error: folder:<tmp>/images has 6 examples, fewer than one batch of 64: pass a smaller --batch_size',
           given='<tmp>/images/cats and dogs hold three PNGs each; the default batch is 64',
           setup=class_folders({'cats': 3, 'dogs': 3})),
    _train('train_folder_only_an_oversized_image', ['--dataset=folder:{tmp}/images', *TINY, '--run_dir={tmp}/run'], 2,
           'error: folder:<tmp>/images: none of its 1 image files can be read, e.g. <tmp>/images/scan.png: too '
           'large: 16000x16000 = 256.0 M px, cap 250 M', given='<tmp>/images holds scan.png, a valid 16000x16000 PNG',
           setup=lambda ws: oversized_png(ws, 'images/scan.png')),
    _train('train_preset_without_dataset', ['--flagfile=training/presets/emoji.flags', '--run_dir={tmp}/run'], 2,
           'error: --dataset=folder: names no folder: add --dataset=folder:PATH after the --flagfile (a preset that '
           'trains on your data leaves the path to you)'),
    _train('train_text_preset_without_file', ['--flagfile=training/presets/text.flags', '--run_dir={tmp}/run'], 2,
           'error: --dataset=text: names no file: add --dataset=text:FILE after the --flagfile (a preset that trains '
           'on your data leaves the path to you)'),
    _train('train_max_minutes_negative', ['--max_minutes=-1', '--run_dir={tmp}/run'], 2,
           'error: --max_minutes must be >= 0, got -1.0'),
    _train('train_sample_every_minutes_negative', ['--sample_every_minutes=-5', '--run_dir={tmp}/run'], 2,
           'error: --sample_every_minutes must be >= 0, got -5.0'),
    _train('train_alpha_background_two_numbers', ['--alpha_background=1,2', *TINY, '--run_dir={tmp}/run'], 2,
           "error: --alpha_background must be white, black, none or R,G,B (three integers 0..255, e.g. 128,128,128), "
           "got '1,2'"),
    _train('train_alpha_background_colour_name', ['--alpha_background=red', *TINY, '--run_dir={tmp}/run'], 2,
           "error: --alpha_background must be white, black, none or R,G,B (three integers 0..255, e.g. 128,128,128), "
           "got 'red'"),
    _train('train_resume_without_run_dir', ['--resume'], 2, 'error: --resume needs --run_dir'),
    _train('train_resume_not_a_run', ['--resume', '--run_dir={tmp}/empty'], 1,
           "error: ...'<tmp>/empty'...", given='<tmp>/empty is empty',
           setup=lambda ws: (ws.tmp / 'empty').mkdir()),
    _train('train_resume_missing_run_dir', ['--resume', '--run_dir={tmp}/nowhere'], 1, 'error: ...<tmp>/nowhere...'),
    _train('train_into_existing_run', ['--run_dir={tmp}/run', *TINY], 1,
           "error: '<tmp>/run' already holds files; pass --resume ...", given='<tmp>/run: a finished 2-step run',
           setup=lambda ws: ws.run()),
    _train('train_run_dir_is_a_file', ['--run_dir={tmp}/file', *TINY], 1, "error: ...'<tmp>/file'...",
           given='<tmp>/file is a file', setup=lambda ws: ws.write('file', 'x')),
    _train('train_resume_change_fixed_setting', ['--resume', '--run_dir={tmp}/run', '--loss=dcgan', '--steps=3'], 2,
           "error: --loss cannot change when resuming (the run has 'wgan_gp')",
           given='<tmp>/run: a finished 2-step wgan_gp run', setup=lambda ws: ws.run()),
    _train('train_resume_finished_run', ['--resume', '--run_dir={tmp}/run', '--steps=2'], 1,
           'error: the run is already at step 2; pass a larger --steps to continue it',
           given='<tmp>/run: a finished 2-step run', setup=lambda ws: ws.run()),
    _train('train_resume_no_checkpoint', ['--resume', '--run_dir={tmp}/run', '--steps=3'], 1,
           'error: --resume: no complete checkpoint in <tmp>/run/checkpoints; start a new run with another --run_dir',
           given='<tmp>/run: a 2-step run without checkpoints/', setup=run_without('checkpoints')),
    _resume_damaged('train_resume_corrupt_checkpoint', 'its checkpoints/*.data-* random bytes',
                    run_with('checkpoints/*.data-*', garble)),
    _resume_damaged('train_resume_truncated_checkpoint', 'its checkpoints/*.data-* cut to half',
                    run_with('checkpoints/*.data-*', truncate)),
    _resume_damaged('train_resume_corrupt_checkpoint_index', 'its checkpoints/*.index random bytes',
                    run_with('checkpoints/*.index', garble)),
    _resume_damaged('train_resume_missing_checkpoint_data', 'without its checkpoints/*.data-* files',
                    run_without('checkpoints/*.data-*')),
    _train('train_resume_corrupt_config', ['--resume', '--run_dir={tmp}/run', '--steps=3'], 2,
           'error: config.json is not a JSON object of settings (damaged or edited by hand); restore it, or start a '
           'new run with another --run_dir', given='<tmp>/run: a 2-step run, its config.json cut to half',
           setup=run_with('config.json', truncate)),
    _train('train_resume_config_from_the_future', ['--resume', '--run_dir={tmp}/run', '--steps=3'], 2,
           'error: config.json has settings this version does not know: warp_drive',
           given="<tmp>/run: a 2-step run whose config.json has a setting 'warp_drive'",
           setup=run_json('config.json', warp_drive=True)),
    _train('train_eval_samples_too_few', ['--eval_every=1', '--eval_samples=1', '--run_dir={tmp}/run'], 2,
           'error: ...--eval_samples...'),
    _train('train_eval_without_judge', ['--eval_every=1', '--dataset=folder:{tmp}/images', *TINY,
                                        '--run_dir={tmp}/run'], 2, 'error: --eval_every: ...',
           given='<tmp>/images holds three .png files of random bytes', setup=image_folder),
    # --- Class-conditional training (--conditioning) ---
    _train('train_conditioning_on_toy_points', ['--dataset=toy:8gaussians', '--conditioning=projection', *TINY,
                                                '--run_dir={tmp}/run'], 2,
           'error: --conditioning applies to image data only (--dataset=toy:8gaussians is points data)'),
    _train('train_conditioning_on_text', ['--dataset=text:{tmp}/play.txt', '--conditioning=acgan', *TINY,
                                          '--run_dir={tmp}/run'], 2,
           'error: --conditioning applies to image data only (--dataset=text:<tmp>/play.txt is text data)',
           given='<tmp>/play.txt: a few lines of text',
           setup=lambda ws: ws.write('play.txt', 'To be.\nOr not.\n' * 40)),
    _train('train_conditioning_one_class', ['--dataset=folder:{tmp}/images', '--conditioning=projection', *TINY,
                                            '--run_dir={tmp}/run'], 2,
           'error: --conditioning=projection needs at least 2 classes; folder:<tmp>/images has 1 (cats): pass '
           '--conditioning=none', given='<tmp>/images/cats holds two PNGs, the only class folder',
           setup=class_folders({'cats': 2})),
    _train('train_conditioning_unlabelled_folder', ['--dataset=folder:{tmp}/images', '--conditioning=acgan', *TINY,
                                                    '--run_dir={tmp}/run'], 2,
           'error: folder:<tmp>/images has no labels: ...', given='<tmp>/images holds two PNGs, no class folders',
           setup=class_folders({}, loose=2)),
    _train('train_acgan_weight_without_acgan', ['--acgan_weight=2', '--conditioning=projection', *TINY,
                                                '--run_dir={tmp}/run'], 2,
           'error: --acgan_weight applies only with --conditioning=acgan (got --conditioning=projection)'),
    _train('train_fake_labels_without_conditioning', ['--fake_labels=uniform', *TINY, '--run_dir={tmp}/run'], 2,
           'error: --fake_labels applies only with --conditioning=projection or acgan'),
]


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
           '16000x16000 PNG)', setup=lambda ws: _readable_and_broken(ws)),
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
          '16000x16000 PNG)', setup=_readable_and_broken, may_create=('run', 'run/*')),
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
