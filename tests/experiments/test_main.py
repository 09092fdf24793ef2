"""The command line: list, show, errors as one line and exit 2."""
import pytest

from experiments.__main__ import main


def test_list(capsys, tmp_path):
    assert main(['list', '--out', str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 9
    assert lines[0].split()[:2] == ['preprocessing', '0/4']
    assert lines[1].split()[:2] == ['convnet_comparison', '0/6']
    assert lines[-1].split()[:2] == ['conv_nets', '0/8']


def test_show(capsys):
    assert main(['show', 'conv1_filter_size']) == 0
    out = capsys.readouterr().out
    assert 'conv1_filter_size=(12, 12)' in out
    row = [line.split() for line in out.splitlines()
           if line.startswith('12x12')][0]
    assert row[:6] == ['12x12', 'net2', '150', 'none', '0.00211', '0.00216']


def test_show_words_where_the_slides_print_no_numbers(capsys):
    assert main(['show', 'nonlinearity']) == 0
    out = capsys.readouterr().out
    assert 'net6_tanh' in out and 'a little worse' in out


@pytest.mark.parametrize('argv, message', [
    (['show', 'pools'], "unknown table 'pools'"),
    (['run', 'dropout', '--epochs-scale', '0'], '--epochs-scale must be'),
    (['run', 'dropout', '--jobs', '0'], '--jobs must be'),
    (['run', 'dropout', '--rows', '0.7'], "no row '0.7'"),
    (['run', 'dropout', '--cv', '1'], '--cv 1: cross-validation needs at least'),
    (['run', 'dct_augmentation', '--cv', '3'],
     'dct_augmentation/lpf5,lpf10,hpf5,hpf10 augment the training split'),
])
def test_user_errors(capsys, tmp_path, argv, message):
    assert main(argv + (['--out', str(tmp_path)] if argv[0] == 'run'
                        else [])) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err
    assert len(err.strip().splitlines()) == 1
