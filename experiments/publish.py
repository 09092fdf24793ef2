"""Keeping a finished table in the repository: ``python -m experiments publish TABLE``.

Copies from a table's folder exactly the small files a reader needs, into
``<to>/<table>/`` (default ``docs/results/``), replacing an earlier copy in
one step (``run_folder.atomic_folder``)::

    table.md        the table (experiments.summary), under a line that says
                    which data it ran on (the ytf stand-in is not Kaggle's)
    table.csv       the same figures
    curves.png      every row's validation curve
    first_layer.png, faces.png
                    the best row's pictures, where the table has them
    report.md       the best row's error per keypoint beside the mean-keypoint
                    baseline (its run report, evaluation.run_report)
    made.md, made.json
                    how it was made: per row (and seed) the command, commit,
                    data file and SHA-256, machine, start, end and seconds;
                    the table's wall time

Never weights, checkpoints or predictions. The table published is
``<results>/seeds/<table>/`` when the table ran with ``--seeds``, else
``<results>/<table>/``.
"""
import datetime
import os
import shutil

from errors import UserError
from experiments.summary import (SEEDS_DIR, read_settings, row_results,
                                 seeds_row_results, table_dir)
from experiments.tables import get_table
from run_folder import atomic_folder, atomic_open, run_path, write_json

#: The files copied as they are, where the table folder has them.
COPIED = ('table.csv', 'curves.png', 'first_layer.png', 'faces.png')
#: The largest file published: pictures and tables only, never weights.
MAX_BYTES = 2 * 1024 * 1024
DOCS_RESULTS = os.path.join('docs', 'results')


def data_note(path):
    """data_note(path)

    One sentence saying which data a table ran on.

    >>> data_note('/x/shared/data/ytf_kfkd/training.csv')[:46]
    "**Data: the ytf stand-in, not Kaggle's data**:"
    >>> data_note('synthetic')
    "**Data: synthetic faces** (data_prep.synthetic), not Kaggle's data."
    """
    path = str(path or '')
    if path == 'synthetic':
        return "**Data: synthetic faces** (data_prep.synthetic), not Kaggle's data."
    if 'ytf_kfkd' in path:
        return ("**Data: the ytf stand-in, not Kaggle's data**: "
                "ytf_kfkd/training.csv, 3385 real faces (YouTube Faces frames) "
                "with keypoints derived from 68 landmarks, in Kaggle's CSV format. "
                "The slides' numbers are on Kaggle's 2140 complete rows: compare "
                "trends between rows, not losses between the two data sets.")
    return "**Data: %s** (Kaggle's format)." % os.path.basename(path)


def _source(results_dir, table_name):
    """The folder to publish and the per-row results behind it."""
    seeds_folder = table_dir(os.path.join(results_dir, SEEDS_DIR), table_name)
    if os.path.isfile(os.path.join(seeds_folder, 'table.md')):
        settings = read_settings(seeds_folder) or {}
        seeds = settings.get('seeds') or []
        results = seeds_row_results(table_name, results_dir, seeds)
        runs = [(r['row'], seed, one) for r in results for seed, one in r['per_seed']]
        return seeds_folder, settings, results, runs
    folder = table_dir(results_dir, table_name)
    if not os.path.isfile(os.path.join(folder, 'table.md')):
        raise UserError('%s has no table.md: run `python -m experiments run %s` '
                        'first (or give --out)' % (folder, table_name))
    settings = read_settings(folder) or {}
    results = row_results(table_name, results_dir)
    runs = [(r['row'], settings.get('seed'), r) for r in results]
    return folder, settings, results, runs


def _iso(text):
    try:
        return datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def provenance_record(table_name, settings, runs):
    """provenance_record(table_name, settings, runs)

    ``made.json``: the table's settings and command, its wall time (first
    row's start to last row's end) and per run (row, seed) its command,
    commit, data, machine and seconds, from the run's manifest.
    """
    records = []
    for row, seed, result in runs:
        manifest = result.get('manifest') or {}
        data = manifest.get('data') or {}
        git = manifest.get('git') or {}
        theano = manifest.get('theano') or {}
        records.append({
            'row': row, 'seed': seed, 'status': result.get('status'),
            'command': manifest.get('command'),
            'commit': git.get('commit'), 'dirty': git.get('dirty'),
            'data_file': data.get('path'), 'data_sha256': data.get('sha256'),
            'n_train': data.get('n_train'), 'n_valid': data.get('n_valid'),
            'platform': manifest.get('platform'), 'python': manifest.get('python'),
            'device': theano.get('device_used', theano.get('device')),
            'started': manifest.get('started'), 'ended': manifest.get('ended'),
            'wall_s': round(result.get('wall_seconds') or 0.0, 1),
            'epochs_s': round(result.get('seconds') or 0.0, 1),
        })
    starts = [_iso(r['started']) for r in records if _iso(r['started'])]
    ends = [_iso(r['ended']) for r in records if _iso(r['ended'])]
    command = ['python', '-m', 'experiments', 'run', table_name,
               '--epochs-scale', '%g' % settings.get('epochs_scale', 1.0),
               '--data', str(settings.get('data'))]
    if settings.get('seeds'):
        command += ['--seeds', ','.join(map(str, settings['seeds']))]
    elif settings.get('seed') is not None:
        command += ['--seed', str(settings['seed'])]
    if settings.get('limit') is not None:
        command += ['--limit', str(settings['limit'])]
    if settings.get('cv'):
        command += ['--cv', str(settings['cv'])]
    return {
        'table': table_name, 'settings': settings, 'command': command,
        'commits': sorted({r['commit'] for r in records if r['commit']}),
        'data_sha256': sorted({r['data_sha256'] for r in records if r['data_sha256']}),
        'machines': sorted({r['platform'] for r in records if r['platform']}),
        'table_wall_s': (round((max(ends) - min(starts)).total_seconds(), 1)
                         if starts and ends else None),
        'rows_wall_s': round(sum(r['wall_s'] for r in records), 1),
        'runs': records,
        'published': datetime.datetime.now().isoformat(timespec='seconds'),
    }


def _made_markdown(record):
    table_wall = record['table_wall_s']
    wall = '%.0f s' % table_wall if table_wall is not None else 'unknown'
    lines = ['# How `%s` was made' % record['table'], '',
             '- command: `%s`' % ' '.join(record['command']),
             '- commit(s): %s' % ', '.join('`%s`' % c for c in record['commits']),
             '- data SHA-256: %s' % ', '.join('`%s`' % s for s in record['data_sha256']),
             '- machine: %s' % '; '.join(record['machines']),
             '- wall time: %s (first row\'s start to last row\'s end); the rows '
             'themselves %.0f s' % (wall, record['rows_wall_s']),
             '', '| row | seed | status | started | wall s | epochs s | commit |',
             '|---|---|---|---|---|---|---|']
    for r in record['runs']:
        lines.append('| %s | %s | %s | %s | %s | %s | %s%s |' % (
            r['row'], r['seed'], r['status'], r['started'] or '', r['wall_s'],
            r['epochs_s'], (r['commit'] or '')[:10], ' (dirty)' if r['dirty'] else ''))
    return '\n'.join(lines) + '\n'


def _report_markdown(table_name, results):
    """report.md: the best row's errors per keypoint (its run report)."""
    done = [r for r in results if r.get('valid_loss') is not None]
    if not done:
        return '# %s: no finished row yet\n' % table_name
    best = min(done, key=lambda r: r['valid_loss'])
    path = run_path(best['folder'], 'errors.md')
    lines = ['# %s: the best row\'s errors' % table_name, '',
             'Row **%s** (lowest validation loss; %s): RMSE per keypoint in '
             'pixels beside the mean-keypoint baseline, on the validation rows.'
             % (best['row'], os.path.relpath(best['folder'])), '']
    if os.path.isfile(path):
        with open(path) as f:  # its headings one level down, under this one
            lines += ['#' + line if line.startswith('#') else line
                      for line in f.read().strip().split('\n')]
    return '\n'.join(lines) + '\n'


def publish_table(table_name, results_dir='results', to=DOCS_RESULTS):
    """publish_table(table_name, results_dir='results', to='docs/results')

    Copy a finished table's files (the module's list) into
    ``<to>/<table_name>/``, replacing an earlier copy.

    Returns
    -------
    (str, list of str)
        The folder written and the files in it.
    """
    get_table(table_name)
    folder, settings, results, runs = _source(results_dir, table_name)
    dest = os.path.join(to, table_name)
    os.makedirs(to, exist_ok=True)
    record = provenance_record(table_name, settings, runs)
    with atomic_folder(dest) as tmp:
        with open(os.path.join(folder, 'table.md')) as f:
            body = f.read().split('\n')
        body[1:1] = ['', data_note(settings.get('data')),
                     'Published from `%s` (`python -m experiments publish`); how it '
                     'was made: [made.md](made.md).' % os.path.relpath(folder)]
        with atomic_open(os.path.join(tmp, 'table.md')) as f:
            f.write('\n'.join(body))
        for name in COPIED:
            source = os.path.join(folder, name)
            if os.path.isfile(source):
                if os.path.getsize(source) > MAX_BYTES:
                    raise UserError('%s is %d bytes, over the %d a published file '
                                    'may have' % (source, os.path.getsize(source),
                                                  MAX_BYTES))
                shutil.copyfile(source, os.path.join(tmp, name))
        with atomic_open(os.path.join(tmp, 'report.md')) as f:
            f.write(_report_markdown(table_name, results))
        write_json(os.path.join(tmp, 'made.json'), record)
        with atomic_open(os.path.join(tmp, 'made.md')) as f:
            f.write(_made_markdown(record))
    return dest, sorted(os.listdir(dest))
