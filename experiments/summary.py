"""A table's results beside the slides': ``table.csv``, ``table.md``, pictures.

:func:`write_table` reads every row's run folder under
``results/<table>/`` (``manifest.json``, ``metrics.json``, ``history.csv``,
``weights.npz``, ``valid_predictions.csv``) and writes:

* ``table.csv`` and ``table.md``: per row the slides' train and validation
  loss (or their words, where they print none), ours, our validation RMSE
  in pixels, seconds per epoch (theirs on a GPU, ours here), epochs run and
  the data set; ``table.md`` says above the table which epoch scale and
  which data produced it; a table run with ``--cv K`` gives our figures as
  the mean ± standard deviation over the folds (``table.csv``: a ``std``
  column beside each mean, and ``folds``); :func:`write_seeds_table` does
  the same over a table run once per seed (``run --seeds``) into
  ``<results>/seeds/<table>/``;
* ``curves.png``: every row's validation curve, log scale, the study's
  dashed beside ours where its log is at hand;
* ``first_layer.png``: the first layer's weights of the best row (conv1 for
  the conv nets, the hidden units as 96x96 images for net1);
* ``faces.png``: validation faces of the best row with true and predicted
  keypoints.

It also says where a table's files are (:func:`table_dir`,
:data:`SETTINGS_FILE`) and where the study's own log of a row is
(:func:`study_log_path`); ``experiments.runner`` writes them there.
"""
import csv
import datetime
import os

import numpy as np

from errors import UserError
from evaluation.pictures import face_grid
from evaluation.run_report import load_run_data
from experiments.pictures import plot_first_layer, plot_valid_curves
from experiments.slides import read_slide_numbers
from experiments.tables import get_table
from paths import REPO
from run_folder import (FINISHED_STATUSES, HISTORY, METRICS, VALID_PREDICTIONS,
                        WEIGHTS, RunFolderError, atomic_open, read_history_csv,
                        read_json, read_manifest, read_metrics,
                        read_valid_predictions, run_path, run_status, write_json)
from training import cv as training_cv
from training.weights import load_arrays

#: ``results/<table>/settings.json``: the epoch scale, data, limit and seed
#: the table's rows ran with.
SETTINGS_FILE = 'settings.json'

#: The study's per-epoch logs, on the developers' machines only.
STUDY_LOGS = os.path.join(os.path.dirname(REPO), 'shared', 'data',
                          'w207_logs')

COLUMNS = ('row', 'label', 'slide train loss', 'slide val loss',
           'our train loss', 'our val loss', 'our val RMSE px',
           'slide s/epoch', 's/epoch', 'epochs run', 'data set')
#: ``table.csv``'s columns for a table run with ``--cv K``: each of our
#: figures is the mean over the folds, its standard deviation beside it.
CV_COLUMNS = (COLUMNS[:4]
              + tuple(c + suffix for c in COLUMNS[4:7] for suffix in ('', ' std'))
              + COLUMNS[7:] + ('folds',))
#: ``table.csv``'s columns for a table run once per seed (``--seeds``).
SEED_COLUMNS = CV_COLUMNS[:-1] + ('seeds',)
#: ``<results>/seeds/<table>/``: the mean ± std over the seeds' tables.
SEEDS_DIR = 'seeds'
FACES = 16


def table_dir(results_dir, table_name):
    """table_dir(results_dir, table_name)

    The folder of a table's rows and files: ``<results_dir>/<table>``.
    """
    return os.path.join(results_dir, table_name)


def study_log_path(row):
    """study_log_path(row)

    Path of the study's log of ``row`` when ``../shared`` is present, else
    None.
    """
    if row.study_log is None:
        return None
    path = os.path.join(STUDY_LOGS, row.study_log)
    return path if os.path.isfile(path) else None


def _read_history(folder):
    """A row's history rows; none while it has not written a readable one."""
    path = run_path(folder, HISTORY)
    if not os.path.isfile(path):
        return []
    try:
        return read_history_csv(path)
    except RunFolderError:
        return []


def _read_metrics(folder):
    """A row's metrics.json, or {} when it has none (or an unreadable one)."""
    if not os.path.isfile(run_path(folder, METRICS)):
        return {}
    try:
        return read_metrics(folder)
    except RunFolderError:
        return {}


def _loss(value):
    return '' if value is None else '%.5f' % value


def data_description(data):
    """data_description(data)

    One line for the ``data`` block of a manifest.

    >>> data_description({'path': 'synthetic', 'n_train': 48, 'n_valid': 12,
    ...                   'limit': 60, 'sha256': 'ab' * 32})
    'synthetic, 48 train / 12 valid (limit 60)'
    """
    if not data:
        return ''
    path = data.get('path', '')
    name = path if path == 'synthetic' else '%s (sha256 %s)' % (
        os.path.basename(path), (data.get('sha256') or '')[:10])
    text = '%s, %s train / %s valid' % (name, data.get('n_train'),
                                        data.get('n_valid'))
    if data.get('limit') is not None:
        text += ' (limit %s)' % data['limit']
    return text


def _run_results(folder):
    """Our cells of a row trained once (one run folder)."""
    status = run_status(folder)
    manifest = (read_manifest(folder)
                if status not in ('absent', 'broken') else {})
    metrics = _read_metrics(folder)
    history = _read_history(folder)
    durations = [r['dur_s'] for r in history]
    finished = status in FINISHED_STATUSES
    epochs = str(len(history)) if history else ''
    if history and status != 'completed':
        epochs += ' (%s)' % status
    return {
        'our train loss': _loss(history[-1]['train_loss']) if history else '',
        'our val loss': _loss(history[-1]['valid_loss']) if history else '',
        'our val RMSE px': ('%.2f' % metrics['valid_rmse_px']
                            if finished and 'valid_rmse_px' in metrics
                            else ''),
        's/epoch': '%.3f' % np.median(durations) if durations else '',
        'epochs run': epochs or ('not run' if status == 'absent'
                                 else status),
        'data set': data_description(manifest.get('data')),
        'history': history, 'folder': folder, 'status': status,
        'manifest': manifest,
        'valid_loss': history[-1]['valid_loss'] if finished and history
        else None,
        'seconds': sum(durations),
        'wall_seconds': _wall_seconds(manifest),
    }


def _mean_curve(histories):
    """Per epoch, the mean validation loss of the folds that reached it."""
    losses = {}
    for history in histories:
        for r in history:
            losses.setdefault(r['epoch'], []).append(r['valid_loss'])
    return [{'epoch': epoch, 'valid_loss': float(np.mean(values))}
            for epoch, values in sorted(losses.items())]


def _cv_results(folder):
    """Our cells of a row trained as K folds (a ``training.cv`` parent):
    means, with the standard deviations in the ``... std`` cells; the
    first fold's run folder stands for the row in the pictures."""
    status = training_cv.cv_status(folder)
    summary = training_cv.summarize(folder)
    folds = [_run_results(training_cv.fold_folder(folder, k))
             for k in range(1, summary['folds'] + 1)]
    mean, std = summary['mean'], summary['std']
    cells = {}
    for column, name, form in (('our train loss', 'train_loss', '%.5f'),
                               ('our val loss', 'valid_loss', '%.5f'),
                               ('our val RMSE px', 'valid_rmse_px', '%.2f')):
        cells[column] = '' if mean[name] is None else form % mean[name]
        cells[column + ' std'] = '' if std[name] is None else form % std[name]
    epochs = sorted({len(f['history']) for f in folds if f['history']})
    text = ('' if not epochs else str(epochs[0]) if len(epochs) == 1
            else '%d-%d' % (epochs[0], epochs[-1]))
    if epochs and status != 'completed':
        text += ' (%d of %d folds finished)' % (summary['finished'],
                                                summary['folds'])
    durations = [r['dur_s'] for f in folds for r in f['history']]
    first = folds[0]
    cells.update({
        's/epoch': '%.3f' % np.median(durations) if durations else '',
        'epochs run': text or status,
        'folds': '%d' % summary['folds'],
        'data set': ('%s; %d folds' % (first['data set'], summary['folds'])
                     if first['data set'] else ''),
        'history': _mean_curve(f['history'] for f in folds),
        'folder': first['folder'], 'status': status,
        'manifest': first['manifest'],
        'valid_loss': mean['valid_loss'] if status == 'completed' else None,
        'seconds': sum(f['seconds'] for f in folds),
        'wall_seconds': sum(f['wall_seconds'] for f in folds),
    })
    return cells


def row_results(table_name, results_dir):
    """row_results(table_name, results_dir)

    One dict per row of the table, in its order: the slides' cells and ours
    (None where the row has not run), plus ``history``, ``study`` (the
    study's curve or None), ``folder``, ``status``, ``manifest``. A row run
    as K folds (``--cv K``) gives the mean over its folds, the standard
    deviations in ``our ... std`` cells, the mean curve as ``history``, and
    its first fold's ``folder`` and ``manifest``.
    """
    table = get_table(table_name)
    slides = read_slide_numbers().get(table_name, {})
    results = []
    for name, row in table.rows.items():
        slide = slides.get(name)
        folder = os.path.join(table_dir(results_dir, table_name), name)
        study_path = study_log_path(row)
        words = slide.verdict if slide is not None else ''
        result = {
            'row': name,
            'label': slide.label if slide is not None else name,
            'slide train loss': (_loss(slide.train_loss) if slide is not None
                                 and slide.train_loss is not None else words),
            'slide val loss': (_loss(slide.val_loss) if slide is not None
                               and slide.val_loss is not None else words),
            'slide s/epoch': ('%g' % slide.duration_s if slide is not None
                              and slide.duration_s is not None else ''),
            'note': slide.note if slide is not None else '',
            'study': read_history_csv(study_path) if study_path else None,
        }
        result.update(_cv_results(folder) if training_cv.is_cv_folder(folder)
                      else _run_results(folder))
        results.append(result)
    return results


def seed_results_dir(results_dir, seed):
    """seed_results_dir(results_dir, seed)

    The results folder of one seed of a table run with ``--seeds``.

    >>> seed_results_dir('results', 43)
    'results/seed43'
    """
    return os.path.join(results_dir, 'seed%d' % int(seed))


def seeds_row_results(table_name, results_dir, seeds):
    """seeds_row_results(table_name, results_dir, seeds)

    :func:`row_results` of a table run once per seed (each seed's rows in
    :func:`seed_results_dir`): per row, the mean over the seeds whose run
    finished, the standard deviations in ``our ... std`` cells
    (``training.cv.mean_std``), the mean validation curve, and the first
    finished seed's ``folder`` and ``manifest``; ``per_seed`` holds each
    seed's own result.
    """
    per_seed = [row_results(table_name, seed_results_dir(results_dir, s))
                for s in seeds]
    combined = []
    for rows in zip(*per_seed):
        done = [r for r in rows if r['status'] in FINISHED_STATUSES]
        first = done[0] if done else rows[0]
        cells = {key: rows[0][key] for key in (
            'row', 'label', 'slide train loss', 'slide val loss',
            'slide s/epoch', 'note', 'study')}
        metrics = [_read_metrics(r['folder']) for r in done]
        for column, name, form in (('our train loss', 'train_loss', '%.5f'),
                                   ('our val loss', 'valid_loss', '%.5f'),
                                   ('our val RMSE px', 'valid_rmse_px', '%.2f')):
            mean, std = training_cv.mean_std(m.get(name) for m in metrics)
            cells[column] = '' if mean is None else form % mean
            cells[column + ' std'] = '' if std is None else form % std
        durations = [h['dur_s'] for r in done for h in r['history']]
        complete = len(done) == len(rows)
        status = ('completed' if complete else next(
            r['status'] for r in rows if r['status'] not in FINISHED_STATUSES))
        cells.update({
            's/epoch': '%.3f' % np.median(durations) if durations else '',
            'epochs run': (first['epochs run'] if complete
                           else '%s (%d of %d seeds finished)'
                           % (first['epochs run'], len(done), len(rows))),
            'seeds': '%d' % len(done),
            'data set': first['data set'],
            'history': _mean_curve(r['history'] for r in done),
            'folder': first['folder'], 'status': status,
            'manifest': first['manifest'],
            'valid_loss': (training_cv.mean_std(m.get('valid_loss')
                                                for m in metrics)[0]
                           if complete else None),
            'seconds': sum(r['seconds'] for r in rows),
            'wall_seconds': sum(r['wall_seconds'] for r in rows),
            'per_seed': list(zip(seeds, rows)),
        })
        combined.append(cells)
    return combined


def _wall_seconds(manifest):
    """Seconds from a row's start to its end (compiling, data and all)."""
    try:
        started = datetime.datetime.fromisoformat(manifest['started'])
        ended = datetime.datetime.fromisoformat(manifest['ended'])
    except (KeyError, TypeError, ValueError):
        return 0.0
    return (ended - started).total_seconds()


def best_row(results):
    """best_row(results)

    The finished row with the lowest final validation loss, or None.
    """
    done = [r for r in results if r['valid_loss'] is not None
            and np.isfinite(r['valid_loss'])]
    return min(done, key=lambda r: r['valid_loss']) if done else None


def _markdown_cell(result, column):
    """A cell of table.md: ``mean ± std`` where the row has a std."""
    text = str(result.get(column, ''))
    if result.get(column + ' std'):
        text = '%s ± %s' % (text, result[column + ' std'])
    return text.replace('|', '/')


def _markdown_table(results):
    lines = ['| ' + ' | '.join(COLUMNS[1:]) + ' |',
             '|' + '---|' * (len(COLUMNS) - 1)]
    for r in results:
        lines.append('| ' + ' | '.join(_markdown_cell(r, c)
                                       for c in COLUMNS[1:]) + ' |')
    return lines


def _settings_line(settings, results):
    if not settings:
        return 'Not run yet.'
    scale = settings.get('epochs_scale')
    data = settings.get('data')
    seeds = settings.get('seeds')
    line = ('**This run: epoch scale %g** (each row trained %g x the slides\' '
            'epochs; the slides\' numbers are at their full epochs), '
            '**data: %s**%s, %s.'
            % (scale, scale, data,
               '' if settings.get('limit') is None
               else ' (first %s shuffled rows only)' % settings['limit'],
               'seeds %s' % ', '.join(map(str, seeds)) if seeds
               else 'seed %s' % settings.get('seed')))
    if seeds:
        line += (' **Each row trained once per seed** (weights, batches\' '
                 'flips and dropout); our figures are the mean ± standard '
                 'deviation over the seeds (numpy, ddof %d), the curves the '
                 'mean over the seeds, the pictures those of the first seed.'
                 % training_cv.STD_DDOF)
    if settings.get('cv'):
        line += (' **Cross-validation: each row trained %d times**, fold k '
                 'validating on block k of %d of the rows (unshuffled, as '
                 'nolearn splits); our figures are the mean ± standard '
                 'deviation over the folds (numpy, ddof %d), the curves the '
                 'mean over the folds, the pictures those of fold 1.'
                 % (settings['cv'], settings['cv'], training_cv.STD_DDOF))
    seconds = sum(r['seconds'] for r in results)
    done = sum(1 for r in results if r['status'] in FINISHED_STATUSES)
    wall = sum(r['wall_seconds'] for r in results)
    line += (' %d of %d rows finished; their epochs took %.1f min of '
             'training in all, %.1f min from start to end of each row '
             '(with compiling and loading data).'
             % (done, len(results), seconds / 60.0, wall / 60.0))
    return line


def _pictures(table_name, results, folder):
    """first_layer.png and faces.png of the best row; returns their names."""
    best = best_row(results)
    if best is None:
        return []
    written = []
    weights_path = run_path(best['folder'], WEIGHTS)
    if os.path.isfile(weights_path):
        first = load_arrays(weights_path, names=('conv1.W', 'hidden.W'))
        key = next((k for k in ('conv1.W', 'hidden.W') if k in first), None)
        W = first[key] if key else None
        if W is not None:
            what = 'conv1' if key == 'conv1.W' else 'hidden layer'
            plot_first_layer(W, os.path.join(folder, 'first_layer.png'),
                             '%s: %s weights of the best row (%s)'
                             % (table_name, what, best['row']))
            written.append(('first_layer.png', 'Weights of %s of row %s'
                            % (what, best['row'])))
    faces = _validation_faces(best)
    if faces is not None:
        images, y_true, y_pred = faces
        face_grid(images, y_true, y_pred, os.path.join(folder, 'faces.png'),
                  suptitle='%s, row %s: validation faces (o true, x predicted)'
                  % (table_name, best['row']))
        written.append(('faces.png', 'Validation faces of row %s, true (o) '
                        'and predicted (x) keypoints' % best['row']))
    return written


def _validation_faces(result, n=FACES):
    """Images, true and predicted keypoints (px) of the first n validation rows."""
    path = run_path(result['folder'], VALID_PREDICTIONS)
    if not os.path.isfile(path) or 'data' not in result['manifest']:
        return None
    try:
        rows, y_true, y_pred = read_valid_predictions(path)
        X, _ = load_run_data(result['manifest'])
    except UserError:  # the data moved away: no faces, the table still stands
        return None
    rows = rows[:n]
    return X[rows].reshape((-1, 96, 96)), y_true[:n], y_pred[:n]


def read_settings(folder):
    """read_settings(folder)

    The table folder's ``settings.json``, or None before its first run (or
    when it is unreadable).
    """
    path = os.path.join(folder, SETTINGS_FILE)
    if not os.path.isfile(path):
        return None
    try:
        return read_json(path)
    except RunFolderError:
        return None


def write_table(table_name, results_dir):
    """write_table(table_name, results_dir)

    Write ``table.csv``, ``table.md``, ``curves.png`` and the best row's
    pictures into ``<results_dir>/<table>/`` from whatever rows have run.

    Returns
    -------
    str
        The path of ``table.md``.
    """
    folder = table_dir(results_dir, table_name)
    os.makedirs(folder, exist_ok=True)
    settings = read_settings(folder)
    columns = CV_COLUMNS if settings and settings.get('cv') else COLUMNS
    return _write_files(table_name, folder, row_results(table_name, results_dir),
                        settings, columns, 'folds')


def write_seeds_table(table_name, results_dir, seeds):
    """write_seeds_table(table_name, results_dir, seeds)

    Write ``table.csv``, ``table.md``, ``curves.png``, the first seed's
    pictures and ``settings.json`` (the seeds' settings, ``seeds`` for
    ``seed``) into ``<results_dir>/seeds/<table>/`` from the table run once
    per seed in :func:`seed_results_dir`: our figures are the mean ±
    standard deviation over the seeds (:func:`seeds_row_results`).

    Returns
    -------
    str
        The path of ``table.md``.
    """
    seeds = [int(s) for s in seeds]
    folder = table_dir(os.path.join(results_dir, SEEDS_DIR), table_name)
    os.makedirs(folder, exist_ok=True)
    settings = dict(read_settings(table_dir(seed_results_dir(results_dir, seeds[0]),
                                            table_name)) or {})
    settings.pop('seed', None)
    settings['seeds'] = seeds
    write_json(os.path.join(folder, SETTINGS_FILE), settings)
    return _write_files(table_name, folder,
                        seeds_row_results(table_name, results_dir, seeds),
                        settings, SEED_COLUMNS, 'seeds')


def _write_files(table_name, folder, results, settings, columns, repeats):
    """table.csv, curves.png, the pictures and table.md of `results`; our
    figures are means over `repeats` ('folds' or 'seeds') when `columns`
    has ``std`` columns."""
    table = get_table(table_name)
    with atomic_open(os.path.join(folder, 'table.csv'), newline='') as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for r in results:
            writer.writerow([r.get(c, '') for c in columns])

    plot_valid_curves([(r['label'], r['history'], r['study'])
                       for r in results], os.path.join(folder, 'curves.png'),
                      '%s: validation loss per epoch' % table.title)
    caption = 'Validation loss of every row (log scale%s)' % (
        '; ours: the mean over the %s' % repeats if columns is not COLUMNS else '')
    if any(r['study'] for r in results):
        caption += '; dashed: the study\'s own log of that row'
    pictures = [('curves.png', caption)]
    pictures += _pictures(table_name, results, folder)

    lines = ['# %s (`%s`)' % (table.title, table_name), '',
             table.about, '', _settings_line(settings, results), '']
    lines += _markdown_table(results)
    notes = [(r['label'], r['note']) for r in results if r['note']]
    if notes:
        lines += ['', 'Notes on the slides\' numbers:', '']
        lines += ['- %s: %s' % (label, note) for label, note in notes]
    lines += ['']
    for name, caption in pictures:
        lines += ['![%s](%s)' % (caption, name), '', '*%s*' % caption, '']
    lines += ['Written %s.' % datetime.datetime.now().strftime(
        '%Y-%m-%d %H:%M')]
    path = os.path.join(folder, 'table.md')
    with atomic_open(path) as f:
        f.write('\n'.join(lines) + '\n')
    return path
