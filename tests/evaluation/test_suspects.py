"""evaluation.suspects and data_prep.review --suspects: rows ranked by out-of-fold error."""
import os

import numpy as np
import pandas as pd
import pytest

from data_prep.clean import read_clean_list
from data_prep.dataset import SHUFFLE_SEED, load_dataset
from data_prep.review import main as review_main
from evaluation import suspects
from training.folds import fold_rows
from tests.evaluation.tiny_cv import BAD_ROW, FOLDS, ROWS


def test_each_row_is_judged_once_by_the_fold_that_held_it_out(tiny_cv):
    data, parent = tiny_cv
    oof = suspects.out_of_fold(parent)
    assert sorted(oof['rows'].tolist()) == list(range(ROWS))
    # The run's shuffle, then block k of K: the rows fold k never trained on.
    image_ids = load_dataset(data, shuffle_seed=SHUFFLE_SEED).image_ids
    for k in range(1, FOLDS + 1):
        held_out = sorted(image_ids[fold_rows(ROWS, (k, FOLDS))[1]] - 1)
        assert sorted(oof['rows'][oof['folds'] == k].tolist()) == held_out


def test_rank_rows_puts_the_worst_first_and_unlabelled_last():
    y = np.zeros((4, 30))
    p = y.copy()
    p[0] += 1
    p[2] += 3
    y[3] = np.nan
    order, rmse = suspects.rank_rows(y, p, by='rmse')
    assert order.tolist() == [2, 0, 1, 3]
    assert rmse[2] == pytest.approx(3.0) and np.isnan(rmse[3])
    assert suspects.rank_rows(y, p)[0].tolist() == [2, 0, 1, 3]


def test_by_keypoint_weighs_each_keypoint_by_its_typical_error():
    # Keypoint 0 is always 4 px off, keypoint 1 always 1 px: row 5's 2 px on
    # keypoint 1 is the odd one out, not row 0's usual 4.4 px on keypoint 0
    # (which the row's RMSE ranks first).
    y = np.zeros((6, 30))
    p = y.copy()
    p[:, 0] = 4.0
    p[:, 2] = 1.0
    p[0, 0] = 4.4
    p[5, 2] = 2.0
    assert suspects.rank_rows(y, p)[0][0] == 5
    assert suspects.rank_rows(y, p, by='rmse')[0][0] == 0


def test_the_planted_bad_row_ranks_first(tiny_cv, tmp_path, capsys):
    data, parent = tiny_cv
    out = tmp_path / 'review'
    assert review_main([data, '--suspects', parent, '--out', str(out),
                        '--top', '5']) == 0
    table = pd.read_csv(str(out / 'oof_errors.csv'))
    assert len(table) == ROWS and table['rank'].tolist() == list(range(1, ROWS + 1))
    assert table['row'].iloc[0] == BAD_ROW
    assert table['rmse_px'].iloc[0] > 2 * table['rmse_px'].iloc[1]
    # Upside down, its eyes are below its nose: --clean auto flags it too.
    assert 'eyes_below_nose' in table['auto_rules'].iloc[0]
    assert sorted(os.listdir(str(out))) == ['oof_errors.csv', 'suspects.csv',
                                            'suspects.png']
    # suspects.csv is a clean list of the worst 5 rows.
    listed = read_clean_list(str(out / 'suspects.csv'), ROWS)
    assert sorted(listed) == sorted(table['row'].head(5))
    assert 'row %d' % BAD_ROW in capsys.readouterr().out


@pytest.mark.parametrize('case, message', [
    ('not_cv', 'is not a --cv folder'),
    ('other_data', 'is not the data'),
    ('taken', 'already holds files'),
    ('top', '--top 0: must be at least 1'),
    ('clean_list', 'leave out --clean-list'),
])
def test_suspects_errors_are_one_line(tiny_cv, tiny_run, tmp_path, capsys,
                                      case, message):
    data, parent = tiny_cv
    out = tmp_path / 'review'
    args = [data, '--suspects', parent, '--out', str(out)]
    if case == 'not_cv':
        args[2] = tiny_run
    elif case == 'other_data':
        other = tmp_path / 'other.csv'
        lines = open(data).read().splitlines(True)  # rows 0 and last swapped
        other.write_text(''.join(lines[:1] + lines[2:] + lines[1:2]))
        args[0] = str(other)
    elif case == 'taken':
        out.mkdir()
        (out / 'mine.txt').write_text('keep me')
    elif case == 'top':
        args += ['--top', '0']
    else:
        args += ['--clean-list', data]
    assert review_main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err and err.count('\n') == 1
    if case == 'taken':
        assert os.listdir(str(out)) == ['mine.txt']
    else:
        assert not out.exists()
