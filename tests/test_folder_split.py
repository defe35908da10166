"""data/folder_split.py: a folder's deterministic, grouped split into judge / floor / reference parts."""

import os

import pytest

from data import folder_split
from tests.conftest import SHARED_DATA

EMOJI = SHARED_DATA / 'emoji'
EMOJI_RULE = 'strip:^[^-]+-|-1f3f[b-f]'  # the style prefix and skin-tone modifiers: one group per base emoji


def _tree(root, names):
  """Writes files (relative path -> bytes) under root; returns (files, classes) as the loader lists them."""
  for relative, content in names.items():
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
  files = sorted(names)
  return files, [f.split('/')[0] if '/' in f else '' for f in files]


def test_assignment_is_pinned_to_the_key_alone():
  """The same key falls in the same part on every machine and run: pinned values of SHA-256 of (salt, key)."""
  assert [folder_split.part_of(k) for k in ('1f600', '1f44b', 'a', 'b', 'c')] == [
      'judge', 'judge', 'reference', 'judge', 'judge']
  fractions = [folder_split.part_of(str(i)) for i in range(20000)]
  for part, share in folder_split.FRACTIONS.items():
    assert abs(fractions.count(part) / 20000 - share) < 0.01, part


@pytest.mark.parametrize('group_by, expected', [
    ('name_after:-', {'noto-1f600.png': '1f600', 'twemoji-1f600.png': '1f600', 'plain.png': 'plain'}),
    (EMOJI_RULE, {'noto-1f44b-1f3fb.png': '1f44b', 'twemoji-1f44b.png': '1f44b',
                  'noto-1f468-1f3ff-200d-1f4bb.png': '1f468-200d-1f4bb'}),
])
def test_group_keys_of_file_name_rules(group_by, expected):
  key = folder_split.group_key_function(group_by)
  assert {name: key('/nowhere', f'people/{name}') for name in expected} == expected


def test_content_groups_identical_files_and_parts_are_disjoint_by_group(tmp_path):
  names = {f'cat/{i:03d}.png': bytes([i % 40]) * 10 for i in range(200)}  # 40 distinct contents, 5 copies each
  names.update({f'dog/{i:03d}.png': bytes([100 + i % 50]) * 10 for i in range(200)})
  files, classes = _tree(tmp_path, names)
  split = folder_split.split_folder(str(tmp_path), files, classes, 'content', min_per_part=1)
  part_of_file = {f: part for part, found in split.parts.items() for f in found}
  assert sorted(part_of_file) == files  # every file in exactly one part
  by_content = {}
  for f in files:
    by_content.setdefault((tmp_path / f).read_bytes(), set()).add(part_of_file[f])
  assert all(len(parts) == 1 for parts in by_content.values())  # no group straddles parts
  assert split.classes == ('cat', 'dog')
  assert sum(split.counts[p]['cat'] for p in folder_split.PARTS) == 200


def test_split_is_stable_when_files_are_added(tmp_path):
  names = {f'a/{i}.png': str(i).encode() for i in range(300)}
  files, classes = _tree(tmp_path, names)
  before = folder_split.split_folder(str(tmp_path), files, classes, 'content', min_per_part=1)
  more = {**names, **{f'a/new{i}.png': f'new{i}'.encode() for i in range(50)}}
  files, classes = _tree(tmp_path, more)
  after = folder_split.split_folder(str(tmp_path), files, classes, 'content', min_per_part=1)
  for part in folder_split.PARTS:
    assert set(before.parts[part]) <= set(after.parts[part])


def test_too_few_images_of_a_class_in_a_part_is_one_line(tmp_path):
  names = {f'big/{i}.png': str(i).encode() for i in range(300)}
  names.update({f'tiny/{i}.png': f't{i}'.encode() for i in range(4)})
  files, classes = _tree(tmp_path, names)
  with pytest.raises(folder_split.SplitError, match=r"class 'tiny' has \d image\(s\) in the \w+ part"):
    folder_split.split_folder(str(tmp_path), files, classes, 'content')


@pytest.mark.parametrize('rule', ['name_after:', 'strip:(', 'by_size'])
def test_malformed_group_rule(rule):
  with pytest.raises(folder_split.SplitError):
    folder_split.group_key_function(rule)


def test_emoji_folder_splits_with_both_styles_and_skin_tones_together():
  if not EMOJI.is_dir():
    pytest.skip(f'no emoji folder at {EMOJI}: put the shared data there or set GAN_SHARED_DATA (tests never download)')
  files, classes = [], []
  for label in sorted(p.name for p in EMOJI.iterdir() if p.is_dir()):
    for name in sorted(os.listdir(EMOJI / label)):
      files.append(f'{label}/{name}')
      classes.append(label)
  split = folder_split.split_folder(str(EMOJI), files, classes, EMOJI_RULE)
  assert len(split.classes) == 9 and sum(len(found) for found in split.parts.values()) == 7562
  key = folder_split.group_key_function(EMOJI_RULE)
  seen = {}
  for part, found in split.parts.items():
    for f in found:
      assert seen.setdefault(key(str(EMOJI), f), part) == part  # one part per base emoji
  assert min(split.counts['reference'].values()) >= folder_split.DEFAULT_MIN_PER_PART
  assert split.record()['group_by'] == EMOJI_RULE
