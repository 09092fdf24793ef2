"""The slides' numbers as data: every table, exact values, notes on garbled cells."""
import pytest

from errors import UserError
from experiments.slides import read_slide_numbers
from experiments.tables import TABLES


@pytest.fixture(scope='module')
def slides():
    return read_slide_numbers()


def test_every_table_and_row_has_slide_data(slides):
    assert list(slides) == list(TABLES)
    for name, table in TABLES.items():
        assert list(slides[name]) == list(table.rows), name


@pytest.mark.parametrize('table, row, train, val, duration, epochs', [
    ('preprocessing', 'none', 0.00094, 0.00244, 0.09263, 1000),
    ('preprocessing', 'stretch', 0.00091, 0.00268, None, 1000),
    ('preprocessing', 'equalize', 0.00099, 0.00197, 0.09257, 1000),
    ('hidden_units', '100', 0.00234, 0.00302, 0.07048, 1000),
    ('hidden_units', '500', 0.00094, 0.00253, 0.10468, 1000),
    ('hidden_units', '1000', 0.00069, 0.00283, 0.14717, 1000),
    ('conv1_filter_size', '3x3', 0.00294, 0.00286, 2.88116, 150),
    ('conv1_filter_size', '12x12', 0.00211, 0.00216, 3.75244, 150),
    ('dropout', '0', 0.00097, 0.00268, 0.09222, 1000),
    ('dropout', '0.45', 0.00232, 0.00227, 0.09407, 1000),
    ('conv_nets', 'net6', 0.001902, 0.001607, 3.01, None),
    ('conv_nets', 'net6lp', 0.00444, 0.00428, 2.45, 1000),
    ('conv_nets', 'net6np', 0.00108, 0.00136, 5.14, 1000),
    ('conv_nets', 'net6nplf', 0.00108, 0.00109, 8.50, 1000),
    ('conv_nets', 'net6rhl', 0.00037, 0.00105, 18.95, 2000),
    ('conv_nets', 'net6rp', 0.00324, 0.00273, 2.97, 1000),
    ('conv_nets', 'net6rpxl', 0.00226, 0.00180, 14.29, 1000),
    ('conv_nets', 'cnet_nplfxl', 0.00100, 0.00107, 18.93, 1000),
])
def test_exact_numbers(slides, table, row, train, val, duration, epochs):
    slide = slides[table][row]
    assert (slide.train_loss, slide.val_loss, slide.duration_s,
            slide.epochs) == (train, val, duration, epochs)


def test_tables_without_numbers_hold_the_slides_words(slides):
    for table in ('dct_augmentation', 'hidden_layers', 'nonlinearity'):
        for slide in slides[table].values():
            assert slide.train_loss is None and slide.val_loss is None
            assert slide.verdict
    assert slides['dct_augmentation']['lpf5'].verdict == 'slightly worse'
    assert slides['hidden_layers']['units300'].verdict == 'no noticeable impact'
    assert slides['nonlinearity']['sigmoid'].verdict == 'a little worse'


def test_garbled_cells_are_noted(slides):
    assert '0.09263 0.09288' in slides['preprocessing']['none'].note
    assert 'Num_hidden_layer' in slides['hidden_units']['100'].note
    assert slides['preprocessing']['adaptive'].train_loss is None


def test_malformed_file_is_a_user_error(tmp_path):
    path = tmp_path / 'bad.csv'
    path.write_text('table,row,label,train_loss,val_loss,duration_s,epochs,'
                    'verdict,note\nx,a,A,zero,,,,,\n')
    with pytest.raises(UserError, match='row 2'):
        read_slide_numbers(str(path))
    path.write_text('table,row,label,train_loss,val_loss,duration_s,epochs,'
                    'verdict,note\nx,a,A,,,,,,\nx,a,A,,,,,,\n')
    with pytest.raises(UserError, match="row 'a' of table 'x' twice"):
        read_slide_numbers(str(path))


def test_the_convnet_comparison_is_a_picture_with_words(slides):
    rows = slides['convnet_comparison']
    assert list(rows) == ['net%d' % i for i in range(1, 7)]
    for i, slide in enumerate(rows.values(), 1):
        assert slide.train_loss is None and slide.val_loss is None
        assert slide.epochs == 750 and slide.verdict
        assert 'w207final_net%d.csv' % i in slide.note
    assert rows['net5'].verdict == 'better than Net6'
    assert (rows['net1'].duration_s, rows['net6'].duration_s) == (0.07, 3.01)
    assert 'ends at train 0.00239 / val 0.00210' in rows['net6'].note
