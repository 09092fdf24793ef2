"""The 30 Kaggle keypoint columns and the left/right pairs a mirror swaps.

"Left" is the subject's left, which is the larger x in the image (Kaggle's
convention, checked against ``training.csv`` and ``IdLookupTable.csv``).

>>> len(KEYPOINT_COLUMNS), KEYPOINT_COLUMNS[0], KEYPOINT_COLUMNS[-1]
(30, 'left_eye_center_x', 'mouth_center_bottom_lip_y')
>>> [KEYPOINT_COLUMNS[i] for i in FLIP_PAIRS[0]]
['left_eye_center_x', 'right_eye_center_x']
>>> SPARSE_INDICES
(0, 1, 2, 3, 20, 21, 28, 29)
"""

_POINTS = (
    'left_eye_center', 'right_eye_center',
    'left_eye_inner_corner', 'left_eye_outer_corner',
    'right_eye_inner_corner', 'right_eye_outer_corner',
    'left_eyebrow_inner_end', 'left_eyebrow_outer_end',
    'right_eyebrow_inner_end', 'right_eyebrow_outer_end',
    'nose_tip',
    'mouth_left_corner', 'mouth_right_corner',
    'mouth_center_top_lip', 'mouth_center_bottom_lip',
)

#: Kaggle's 30 keypoint column names, in the order of its ``training.csv``.
KEYPOINT_COLUMNS = tuple('%s_%s' % (point, axis)
                         for point in _POINTS for axis in ('x', 'y'))

#: Column index pairs swapped by a horizontal flip, as in Daniel Nouri's
#: tutorial: eye centres, inner and outer eye corners, inner and outer
#: eyebrow ends, mouth corners; both the x and the y column of each.
FLIP_PAIRS = tuple(
    (KEYPOINT_COLUMNS.index('left_%s_%s' % (part, axis)),
     KEYPOINT_COLUMNS.index('right_%s_%s' % (part, axis)))
    for part in ('eye_center', 'eye_inner_corner', 'eye_outer_corner',
                 'eyebrow_inner_end', 'eyebrow_outer_end')
    for axis in ('x', 'y')
) + tuple(
    (KEYPOINT_COLUMNS.index('mouth_left_corner_%s' % axis),
     KEYPOINT_COLUMNS.index('mouth_right_corner_%s' % axis))
    for axis in ('x', 'y'))

#: The 8 columns every row of Kaggle's ``training.csv`` has: eye centres,
#: nose tip and the bottom lip centre.
SPARSE_COLUMNS = tuple('%s_%s' % (point, axis)
                       for point in ('left_eye_center', 'right_eye_center',
                                     'nose_tip', 'mouth_center_bottom_lip')
                       for axis in ('x', 'y'))

#: Indices of :data:`SPARSE_COLUMNS` in :data:`KEYPOINT_COLUMNS`.
SPARSE_INDICES = tuple(KEYPOINT_COLUMNS.index(c) for c in SPARSE_COLUMNS)

#: Image side in pixels; each Kaggle ``Image`` holds SIDE * SIDE values.
SIDE = 96
N_PIXELS = SIDE * SIDE
