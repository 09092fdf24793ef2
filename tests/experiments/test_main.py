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


@pytest.mark.parametrize('argv, message', [
    (['--epochs-scale', '0'], 'argument --epochs-scale: 0: must be a finite number above 0'),
    (['--epochs-scale', 'inf'], 'argument --epochs-scale: inf: must be a finite number above 0'),
    (['--seed', '-1'], 'argument --seed: -1 is not a seed: seeds are integers 0 to '
                       '4294967295'),
    (['--seed', '99999999999'], '99999999999 is not a seed: seeds are integers 0 to 4294967295'),
    (['--price-per-hour', '-1', '--dry-run'],
     'argument --price-per-hour: -1: a price is a finite number of at least 0'),
    (['--limit', '0'], 'argument --limit: 0: must be at least 1'),
])
def test_options_out_of_range_are_refused_before_any_folder(capsys, tmp_path, argv,
                                                            message):
    with pytest.raises(SystemExit) as refused:
        main(['run', 'dropout', '--out', str(tmp_path / 'results')] + argv)
    assert refused.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(message)
    assert not (tmp_path / 'results').exists()


def test_an_address_where_no_ray_listens_is_refused_within_seconds(capsys, tmp_path):
    import time
    started = time.time()
    assert main(['run', 'hidden_units', '--rows', '100', '--data', 'synthetic',
                 '--out', str(tmp_path), '--ray', '127.0.0.1:1']) == 2
    assert time.time() - started < 15
    assert capsys.readouterr().err == (
        'error: no Ray cluster at 127.0.0.1:1: nothing answers there '
        '(Connection refused)\n')


def test_storage_under_a_file_is_one_line(capsys, tmp_path):
    (tmp_path / 'file').write_text('')
    assert main(['run', 'hidden_units', '--rows', '100', '--data', 'synthetic',
                 '--out', str(tmp_path / 'results'), '--jobs', '2',
                 '--storage', str(tmp_path / 'file' / 'storage')]) == 2
    assert capsys.readouterr().err == ('error: %s: Not a directory\n'
                                       % (tmp_path / 'file' / 'storage'))
