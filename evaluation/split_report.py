"""What a folder judge's split holds, printed when the judge is trained (issue 31): images per class per part, and a
warning for each class whose floor and reference parts differ by more than SKEW_RATIO.

Why it is printed: the --group_by rule decides the split, and a rule copied from another folder can group files
that have nothing in common (the emoji rule `strip:^[^-]+-|-1f3f[b-f]` on names without the `noto-` prefix keys
every skin-tone variant of every emoji by its tone alone: five groups hold most of `people_body`). Whole groups
go to one part, so the parts of such a class are skewed, and nothing failed: the floor then compares a floor of
one class mix with a reference of another, and per-class floors rest on a handful of images.

No TensorFlow: a FolderSplit (data/folder_split.py) in, lines of text out.
"""

import math
from typing import List

from data import folder_split

SKEW_RATIO = 1.5  # larger / smaller of a class's floor and reference counts above which the class is warned about
# A split of single files sends each held-out image to floor or reference with probability 1/2, so floor -
# reference has a standard deviation of sqrt(floor + reference). Beyond CHANCE_SIGMAS of it, chance is an unlikely
# explanation and the groups are: the warning then points at --group_by instead of at the class's size.
CHANCE_SIGMAS = 3.0


def split_table(split: 'folder_split.FolderSplit') -> str:
  """'images per part (grouped by RULE):' then class | judge | floor | reference, one row per class and a total."""
  rows = [('class',) + folder_split.PARTS]
  rows += [(name or '(unlabelled)',) + tuple(f'{split.counts[part][name]:,}' for part in folder_split.PARTS)
           for name in split.classes]
  rows.append(('all',) + tuple(f'{sum(split.counts[part].values()):,}' for part in folder_split.PARTS))
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
  lines = [' | '.join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])])
           for row in rows]
  lines.insert(1, '-+-'.join('-' * w for w in widths))
  return '\n'.join([f'images per part (grouped by {split.group_by}):'] + lines)


def skew_warnings(split: 'folder_split.FolderSplit') -> List[str]:
  """One 'warning: ...' line per class whose floor and reference counts differ by more than SKEW_RATIO (either
  way); [] when none does."""
  lines = []
  for name in split.classes:
    floor, reference = split.counts['floor'][name], split.counts['reference'][name]
    ratio = max(floor, reference) / max(min(floor, reference), 1)
    if ratio <= SKEW_RATIO:
      continue
    label = f'class {name!r}' if name else 'the folder'
    head = f'warning: {label}: {floor:,} floor against {reference:,} reference images ({ratio:.2f}x)'
    if abs(floor - reference) > CHANCE_SIGMAS * math.sqrt(floor + reference):
      lines.append(f'{head}, more than a split of single files gives: --group_by={split.group_by} gathers its '
                   f'files in large groups. A rule written for other file names needs replacing (docs/evaluation.md, '
                   f'"Choosing --group_by"); with the right one, the floor of this class rests on few groups')
    else:
      lines.append(f'{head}, as a split of so few images can by chance: its floor is noisy; more images of it '
                   f'would steady it')
  return lines
