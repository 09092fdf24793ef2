"""run --seeds (experiments.seeds) and publish (experiments.publish) on synthetic faces."""
import csv
import json
import os

import pytest

from errors import UserError
from experiments.__main__ import main
from experiments.publish import publish_table


def _csv(path):
    with open(path, newline='') as f:
        return {r['row']: r for r in csv.DictReader(f)}


def test_seeds_then_publish(tmp_path, capsys):
    out, docs = str(tmp_path / 'results'), str(tmp_path / 'docs')
    rc = main(['run', 'preprocessing', '--rows', 'none', '--epochs-scale', '1e-6',
               '--data', 'synthetic', '--limit', '20', '--seeds', '1,2', '--out', out])
    assert rc == 0
    for seed in (1, 2):
        assert os.path.isfile(os.path.join(out, 'seed%d' % seed, 'preprocessing', 'none',
                                           'weights.npz'))
    rows = _csv(os.path.join(out, 'seeds', 'preprocessing', 'table.csv'))
    one = [_csv(os.path.join(out, 'seed%d' % s, 'preprocessing', 'table.csv'))['none']
           for s in (1, 2)]
    losses = [float(r['our val loss']) for r in one]
    assert losses[0] != losses[1]  # the seeds really differ
    assert float(rows['none']['our val loss']) == pytest.approx(sum(losses) / 2, abs=1e-5)
    assert float(rows['none']['our val loss std']) == pytest.approx(
        abs(losses[0] - losses[1]) / 2, abs=1e-5)
    assert rows['none']['seeds'] == '2' and rows['stretch']['our val loss'] == ''

    assert main(['publish', 'preprocessing', '--out', out, '--to', docs]) == 0
    dest = os.path.join(docs, 'preprocessing')
    files = sorted(os.listdir(dest))
    assert files == ['curves.png', 'faces.png', 'first_layer.png', 'made.json', 'made.md',
                     'report.md', 'table.csv', 'table.md']
    md = open(os.path.join(dest, 'table.md')).read()
    assert "**Data: synthetic faces**" in md and 'seeds 1, 2' in md
    made = json.load(open(os.path.join(dest, 'made.json')))
    assert [(r['row'], r['seed'], r['status']) for r in made['runs'][:2]] == [
        ('none', 1, 'completed'), ('none', 2, 'completed')]
    assert ' '.join(made['command']).startswith(
        'python -m experiments run preprocessing --epochs-scale 1e-06 --data synthetic '
        '--seeds 1,2')
    assert len(made['runs'][0]['data_sha256']) == 64 and made['table_wall_s'] > 0
    assert 'Row **none**' in open(os.path.join(dest, 'report.md')).read()


def test_publish_refuses_a_table_that_has_not_run(tmp_path):
    with pytest.raises(UserError, match='no table.md'):
        publish_table('dropout', str(tmp_path), str(tmp_path / 'docs'))


def test_seeds_must_be_distinct_integers(tmp_path, capsys):
    assert main(['run', 'dropout', '--seeds', '1,1', '--out', str(tmp_path)]) == 2
    assert '--seeds 1,1' in capsys.readouterr().err
