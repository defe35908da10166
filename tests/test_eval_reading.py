"""The paragraph under evaluate's table (evaluation/reading.py, issue 31): each sentence from hand-made numbers,
shown when its condition holds and absent when it does not; and the warning for an unconditional run whose data
classes are not the judge's (evaluation/per_class.py). The real evaluate runs that print them are in
tests/test_evaluate.py (digits) and tests/test_folder_judge.py (a folder)."""

import copy
import types

import pytest

from evaluation import per_class, reading


def _result(**changes) -> dict:
  """A result as evaluate returns it, of a decent generator: 1.5x the floor, no collapse, every class made."""
  result = {
      'dataset': 'digits',
      'samples': {'fcd': 15.0, 'kid': 0.5, 'kid_stderr': 0.2, 'precision': 0.7, 'recall': 0.6},
      'floor': {'fcd': 10.0, 'kid': 0.1, 'kid_stderr': 0.2, 'precision': 0.8, 'recall': 0.7},
      'class_counts': {'samples': [24, 26, 25, 25], 'floor': [25, 25, 25, 25]},
      'class_names': ['a', 'b', 'c', 'd'],
  }
  for key, value in changes.items():  # samples__recall=0.1 sets one metric
    side, _, metric = key.partition('__')
    if metric:
      result[side][metric] = value
    else:
      result[key] = value
  return result


def _text(result) -> str:
  return ' '.join(reading.read(result))


def test_a_decent_generator_reads_as_its_floor_ratio_alone():
  assert reading.read(_result()) == [
      'FCD is 1.5x its floor (15.0 against 10.0 for held-out real images at the same N): the judge tells the samples '
      'from real images.']


@pytest.mark.parametrize('fcd, dataset, copy_ratio, expected', [
    (40.0, 'digits', None, 'FCD is 4.0x its floor (40.0 against 10.0'),
    (10.5, 'digits', None, 'FCD is at its floor (10.5 against 10.0)'),
    (9.5, 'digits', None, 'FCD is at its floor (9.5 against 10.0)'),
    (8.0, 'digits', 1.0, 'FCD is below its floor (0.80x): as close to the reference as held-out real images; '
                         'copy_ratio says whether they are copies'),
    (8.0, 'digits', None, 'FCD is below its floor (0.80x): as close to the reference as held-out real images.'),
    (8.0, 'folder:/x', None, 'FCD is below its floor (0.80x): the GAN trained on the reference part too'),
])
def test_the_floor_ratio_reads_above_at_and_below_the_floor(fcd, dataset, copy_ratio, expected):
  result = _result(samples__fcd=fcd, dataset=dataset)
  if copy_ratio is not None:
    result['samples']['copy_ratio'] = copy_ratio
  assert expected in _text(result)
  assert _text(result).count('FCD is') == 1


def test_no_floor_ratio_without_a_floor_to_divide_by():
  assert 'FCD' not in _text(_result(floor__fcd=0.0))
  result = _result()
  del result['floor']['fcd']
  assert 'FCD' not in _text(result)


def test_high_precision_with_low_recall_reads_as_collapse():
  text = _text(_result(samples__precision=0.84, samples__recall=0.006))
  assert 'Precision 0.84 with recall 0.006 (floor 0.80 and 0.70)' in text and 'mode collapse' in text


@pytest.mark.parametrize('precision, recall', [
    (0.84, 0.3),  # recall is lower than the floor's, not a quarter of it
    (0.5, 0.006),  # low recall, but the samples do not look real either: not "good-looking"
])
def test_no_collapse_unless_precision_holds_and_recall_falls(precision, recall):
  assert 'collapse' not in _text(_result(samples__precision=precision, samples__recall=recall))


def test_low_precision_reads_as_off_the_data_and_not_as_collapse():
  text = _text(_result(samples__precision=0.2, samples__recall=0.01))
  assert "Precision 0.20 against the floor's 0.80: most samples lie outside" in text and 'collapse' not in text
  assert 'outside' not in _text(_result(samples__precision=0.45))  # above half the floor's 0.80


def test_classes_the_samples_lack_against_the_floors_count_are_named():
  text = _text(_result(class_counts={'samples': [50, 48, 2, 0], 'floor': [25, 25, 25, 25]}))
  assert ("The judge reads few or no samples as 'c' 2 (floor 25), 'd' 0 (floor 25), under half the floor's "
          "count: the generator rarely makes these 2 of 4 classes.") in text
  assert "'a'" not in text and "'b'" not in text


def test_a_rare_class_of_an_imbalanced_folder_is_not_called_missing():
  # 'b' gets its floor's share of an imbalanced mix (far below a uniform share); 'c' is too rare to judge.
  counts = {'samples': [92, 6, 2], 'floor': [90, 6, 4]}
  assert 'few or no samples' not in _text(_result(class_counts=counts, class_names=['a', 'b', 'c']))


def test_missing_classes_are_named_by_number_without_names():
  text = _text(_result(class_counts={'samples': [100, 0], 'floor': [50, 50]}, class_names=[]))
  assert "'class 1' 0 (floor 50)" in text and 'rarely makes this class' in text


def test_many_missing_classes_are_named_without_their_counts_up_to_eight_then_counted():
  counts = {'samples': [1000] + [0] * 10, 'floor': [100] * 11}
  text = _text(_result(class_counts=counts, class_names=[str(k) for k in range(11)]))
  assert ("few or no samples as '1', '2', '3', '4', '5', '6', '7', '8' and 2 more, under half the floor's count: "
          "the generator rarely makes these 10 of 11 classes.") in text


def test_a_conditional_generators_missing_classes_are_read_from_its_per_class_rows_alone():
  rows = _per_class({'name': 'd', 'n': 30, 'agreement': 0.0, 'floor_agreement': 0.9, 'kid': 1.0, 'kid_stderr': 0.1,
                     'floor_kid': 0.1, 'floor_kid_stderr': 0.1})
  text = _text(_result(class_counts={'samples': [50, 50, 25, 0], 'floor': [25] * 4}, per_class=rows))
  assert "Asked for 'd' 0.00 (floor 0.90)" in text and 'few or no samples' not in text


def _per_class(*rows):
  return {'classes': list(rows), 'chance': 0.25}


def test_per_class_rows_name_classes_the_label_does_not_reach_and_those_skipped():
  rows = _per_class(
      {'name': 'a', 'n': 30, 'agreement': 0.05, 'floor_agreement': 0.9, 'kid': 1.0, 'kid_stderr': 0.1,
       'floor_kid': 0.1, 'floor_kid_stderr': 0.1},
      {'name': 'b', 'n': 30, 'agreement': 0.8, 'floor_agreement': 0.9, 'kid': 1.0, 'kid_stderr': 0.1,
       'floor_kid': 0.1, 'floor_kid_stderr': 0.1},
      {'name': 'c', 'n': 2, 'skipped': '2 floor / 3 reference images'})
  text = _text(_result(per_class=rows))
  assert ("Asked for 'a' 0.05 (floor 0.90), the samples are read as that class in under half the floor's share: "
          "the label input does not yet steer the generator to it.") in text
  assert "'b'" not in text.split('No per-class')[0]
  assert "No per-class scores for 'c' (2 floor / 3 reference images): too few held-out images of it." in text


def test_per_class_rows_that_all_agree_add_nothing():
  rows = _per_class({'name': 'a', 'n': 30, 'agreement': 0.85, 'floor_agreement': 0.9, 'kid': 1.0,
                     'kid_stderr': 0.1, 'floor_kid': 0.1, 'floor_kid_stderr': 0.1})
  assert reading.read(_result(per_class=rows)) == reading.read(_result())


def test_a_negative_kid_within_its_error_reads_as_zero():
  text = _text(_result(floor__kid=-0.0012, floor__kid_stderr=0.003))
  assert ('KID below 0 (floor -0.0012 ± 0.0030) is no error: KID is an unbiased estimate of a squared distance'
          in text)
  assert 'it is within 2 standard errors of 0: read it as 0.' in text and 'per-class' not in text


def test_a_negative_per_class_kid_says_small_classes_have_large_errors():
  rows = _per_class({'name': 'flags', 'n': 6, 'agreement': 0.9, 'floor_agreement': 0.9, 'kid': -0.02,
                     'kid_stderr': 0.005, 'floor_kid': -0.01, 'floor_kid_stderr': 0.02})
  text = _text(_result(per_class=rows))
  assert "KID below 0 ('flags' -0.0200 ± 0.0050, 'flags' floor -0.0100 ± 0.0200)" in text
  assert 'per-class KIDs rest on few images' in text
  assert "'flags' floor is within 2 standard errors of 0: read it as 0" in text
  assert "'flags' lies more than 2 standard errors below 0" in text


def test_two_negative_kids_within_their_errors_read_as_zero_together():
  text = _text(_result(samples__kid=-0.001, samples__kid_stderr=0.003, floor__kid=-0.002, floor__kid_stderr=0.003))
  assert 'KID below 0 (samples -0.0010 ± 0.0030, floor -0.0020 ± 0.0030)' in text
  assert 'all are within 2 standard errors of 0: read them as 0.' in text


def test_no_kid_sentence_when_every_kid_is_positive():
  assert 'KID' not in _text(_result())


def test_fid_reads_beside_its_floor_only_when_measured():
  assert 'FID' not in _text(_result())
  result = _result()
  result['samples']['fid'], result['floor']['fid'] = 60.0, 20.0
  assert 'FID is 3.0x its floor (60.0 against 20.0' in _text(result)


def test_reading_is_a_pure_function_of_the_result():
  result = _result(samples__precision=0.84, samples__recall=0.006)
  before = copy.deepcopy(result)
  assert reading.read(result) == reading.read(result) and result == before


def test_format_reading_puts_the_class_warning_first_and_wraps_the_paragraph():
  result = _result(samples__precision=0.84, samples__recall=0.006, class_warning='warning: the run ...')
  lines = reading.format_reading(result).splitlines()
  assert lines[0] == 'warning: the run ...' and lines[1].startswith('reading: FCD is 1.5x its floor')
  assert all(len(line) <= reading.WIDTH for line in lines[1:]) and len(lines) > 2
  assert reading.format_reading(_result(floor__fcd=0.0)) == ''  # nothing holds: nothing printed


# --- An unconditional run whose data classes are not the judge's -------------------------------------------------

_JUDGE = types.SimpleNamespace(record={'class_names': ['apple', 'pear', 'plum']})  # a folder judge's record


def test_the_same_classes_in_another_order_are_no_warning():
  assert per_class.data_classes_warning(('plum', 'apple', 'pear'), 'folder:/f', _JUDGE, 'runs/r') == ''


def test_classes_only_the_run_knows_and_only_the_judge_knows_are_named():
  line = per_class.data_classes_warning(('apple', 'fig', 'kiwi', 'pear'), 'folder:/f', _JUDGE, 'runs/r')
  assert line == ("warning: runs/r was trained on 4 classes (apple, fig, kiwi, pear) but the folder:/f judge knows "
                  "3 (apple, pear, plum); classes fig, kiwi are not in the judge: samples of them count against FCD "
                  "and precision; the judge's class plum is not in the run's data: no sample aims at its reference "
                  "images, which lowers recall")
  only_extra = per_class.data_classes_warning(('apple', 'pear', 'plum', 'fig'), 'folder:/f', _JUDGE, 'runs/r')
  assert 'class fig is not in the judge' in only_extra and "the judge's" not in only_extra
