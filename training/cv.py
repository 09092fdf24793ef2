"""K-fold cross-validation of a net: one run folder per fold under one parent, and a summary.

The slides: "cross-validation, used instead of conventional validation, to
maximise the training data". :func:`run_cv` trains the net K times with
``training.run.run(..., fold=(k, K))`` (``training.folds``: the old
scikit-learn layout, unshuffled contiguous blocks of the study's shuffled
rows, as nolearn splits; fold 1 of 5 validates on the rows a default run
validates on) and writes::

    <parent>/cv.json          CV_MANIFEST: net, folds, the run's options,
                              status (written first)
    <parent>/fold1 .. foldK   a run folder per fold (training.run)
    <parent>/cv_summary.json  SUMMARY_JSON: per fold and mean, standard
                              deviation of the final losses, RMSE, baseline
    <parent>/cv_summary.md    SUMMARY_MD: the same as a Markdown table
    <parent>/cv_curves.png    CURVES_PLOT: every fold's validation loss

The parent is ``runs/<net>-cv<K>-<YYYYmmdd-HHMMSS>`` by default. The
standard deviation is numpy's ``std`` (ddof 0, as scikit-learn's
cross-validation examples report it) over the folds that finished; the
out-of-fold RMSE pools every fold's held-out predictions (each row once).
:func:`resume_cv` goes on with a parent: finished folds are kept, an
interrupted one resumes from its checkpoint, a missing one (or one killed
before its first checkpoint) is trained.
"""
import json
import os
import shutil

import numpy as np

import nets
from data_prep.dataset import default_data_dir, load_training_data
from errors import UserError
from evaluation.metrics import overall_rmse
from experiments.pictures import plot_valid_curves
from run_folder import (FINISHED_STATUSES, HISTORY, VALID_PREDICTIONS,
                        RunFolderError, atomic_open, check_new_run_folder,
                        default_run_folder, find_checkpoint,
                        manifest_cleaning, manifest_net_overrides, now,
                        read_history_csv, read_json, read_manifest,
                        read_metrics, read_valid_predictions, run_path,
                        run_status, write_json)
from training import run as training_run
from training.folds import fold_overrides

__all__ = ['CV_MANIFEST', 'SUMMARY_JSON', 'SUMMARY_MD', 'CURVES_PLOT',
           'STD_DDOF', 'resolve_data', 'default_cv_folder', 'fold_folder',
           'is_cv_folder', 'read_cv_manifest', 'cv_status', 'run_cv',
           'resume_cv', 'summarize', 'write_summary', 'summary_line',
           'mean_std']

CV_MANIFEST = 'cv.json'
SUMMARY_JSON = 'cv_summary.json'
SUMMARY_MD = 'cv_summary.md'
CURVES_PLOT = 'cv_curves.png'

#: ``numpy.std``'s ddof of the summary's standard deviations.
STD_DDOF = 0

#: The figures of each fold's ``metrics.json`` that are averaged.
FIGURES = ('train_loss', 'valid_loss', 'valid_rmse_px', 'baseline_rmse_px')

#: ``training.run.run`` keywords that the driver sets for each fold.
_DRIVER_KEYWORDS = ('out', 'fold', 'runs_dir', 'command')


def resolve_data(data):
    """resolve_data(data)

    ``'synthetic'``, or the absolute path of the data folder/file (default:
    ``$KFKD_DATA``, else ``data/``), so that what a run records holds from
    any directory.

    >>> resolve_data('synthetic')
    'synthetic'
    >>> os.path.isabs(resolve_data('data'))
    True
    """
    if data is None:
        data = default_data_dir()
    data = os.fspath(data)
    return data if data == 'synthetic' else os.path.abspath(data)


def default_cv_folder(net_name, n_folds, runs_dir='runs', when=None):
    """default_cv_folder(net_name, n_folds, runs_dir='runs', when=None)

    ``<runs_dir>/<net>-cv<K>-<YYYYmmdd-HHMMSS>`` (never an existing one).

    >>> import datetime
    >>> default_cv_folder('Net1', 5, 'runs', datetime.datetime(2016, 4, 1, 9, 5))
    'runs/net1-cv5-20160401-090500'
    """
    return default_run_folder('%s-cv%d' % (net_name.lower(), n_folds),
                              runs_dir, when)


def fold_folder(parent, k):
    """fold_folder(parent, k)

    The run folder of fold `k` (1-based).

    >>> fold_folder('runs/net1-cv5', 2)
    'runs/net1-cv5/fold2'
    """
    return os.path.join(os.fspath(parent), 'fold%d' % int(k))


def is_cv_folder(folder):
    """is_cv_folder(folder)

    Whether `folder` is a cross-validation parent (holds ``cv.json``).
    """
    return os.path.isfile(os.path.join(os.fspath(folder), CV_MANIFEST))


def read_cv_manifest(parent):
    """read_cv_manifest(parent)

    The parent's ``cv.json`` as a dict.

    Raises
    ------
    RunFolderError
        No readable ``cv.json`` there.
    """
    if not is_cv_folder(parent):
        raise RunFolderError('%s is not a cross-validation folder (no %s)'
                             % (parent, CV_MANIFEST))
    manifest = read_json(os.path.join(parent, CV_MANIFEST))
    if not isinstance(manifest, dict) or 'folds' not in manifest:
        raise RunFolderError('%s/%s is not a cross-validation manifest'
                             % (parent, CV_MANIFEST))
    return manifest


def _fold_statuses(parent, n_folds):
    return [run_status(fold_folder(parent, k)) for k in range(1, n_folds + 1)]


def cv_status(parent):
    """cv_status(parent)

    ``'absent'`` (no folder or an empty one), ``'broken'`` (no readable
    ``cv.json``), ``'completed'`` when every fold finished by itself
    (``run_folder.FINISHED_STATUSES``), ``'failed'`` when a fold failed,
    else ``'interrupted'`` (folds left to train or to resume).
    """
    if not os.path.isdir(parent) or not os.listdir(parent):
        return 'absent'
    try:
        n_folds = int(read_cv_manifest(parent)['folds'])
    except (RunFolderError, TypeError, ValueError):
        return 'broken'
    statuses = _fold_statuses(parent, n_folds)
    if all(s in FINISHED_STATUSES for s in statuses):
        return 'completed'
    return 'failed' if 'failed' in statuses else 'interrupted'


def _plain(keywords, what):
    """`keywords` as JSON holds them, or a UserError naming `what`."""
    try:
        return json.loads(json.dumps(keywords))
    except (TypeError, ValueError):
        raise UserError('%s cannot be recorded in %s (not plain values), so '
                        'the folds could not be resumed' % (what, CV_MANIFEST))


def run_cv(net_name, n_folds, out=None, runs_dir='runs', command=None,
           log=print, **run_keywords):
    """run_cv(net_name, n_folds, out=None, runs_dir='runs', command=None, log=print,
    **run_keywords)

    Train fold 1..K of `net_name` into ``<parent>/fold<k>`` and write the
    summary (see the module's doc).

    Parameters
    ----------
    n_folds : int
        K, at least 2.
    out : str or None
        The parent folder; must not exist or be empty. None:
        :func:`default_cv_folder`.
    command : list of str or None
        The command line, for every manifest.
    log : callable
        Where progress lines go.
    run_keywords
        ``training.run.run``'s other keywords (epochs, data, preprocess,
        labels, seed, limit, batch_size, checkpoint_every, compare_log,
        net_overrides, ...), the same for every fold; plain values.

    Returns
    -------
    str
        The parent folder.

    Raises
    ------
    UserError
        Bad K, a keyword the driver sets, an unknown net, a taken folder,
        or what ``training.run.run`` raises. A run that fails before its
        first fold holds a file leaves no parent behind.
    """
    try:
        n_folds = int(n_folds)
    except (TypeError, ValueError):
        raise UserError('n_folds=%r: the number of folds is an integer'
                        % (n_folds,))
    if n_folds < 2:
        raise UserError('n_folds=%d: cross-validation needs at least 2 folds'
                        % n_folds)
    fixed = [k for k in _DRIVER_KEYWORDS if k in run_keywords]
    if fixed:
        raise UserError('run_cv sets %s for each fold itself'
                        % ', '.join(fixed))
    nets.net_builder(net_name)
    fold_overrides(run_keywords.get('net_overrides'), (1, n_folds))
    keywords = dict(run_keywords)
    keywords['data'] = resolve_data(keywords.get('data'))
    if keywords.get('compare_log'):
        keywords['compare_log'] = os.path.abspath(keywords['compare_log'])
    keywords = _plain(keywords, 'the run\'s options')
    parent = os.fspath(out or default_cv_folder(net_name, n_folds, runs_dir))
    check_new_run_folder(parent)
    created = not os.path.isdir(parent)
    os.makedirs(parent, exist_ok=True)
    manifest = {'net': net_name, 'folds': n_folds, 'run': keywords,
                'command': command, 'status': 'running', 'started': now(),
                'ended': None,
                'fold_folders': [os.path.basename(fold_folder(parent, k))
                                 for k in range(1, n_folds + 1)]}
    write_json(os.path.join(parent, CV_MANIFEST), manifest)
    try:
        _run_folds(parent, manifest, command=command, log=log)
    except UserError:
        if not any(os.path.exists(fold_folder(parent, k))
                   for k in range(1, n_folds + 1)):
            os.remove(os.path.join(parent, CV_MANIFEST))
            if created:
                shutil.rmtree(parent, ignore_errors=True)
        raise
    return parent


def resume_cv(parent, epochs=None, compare_log=None, command=None, data=None,
              log=print):
    """resume_cv(parent, epochs=None, compare_log=None, command=None, data=None, log=print)

    Go on with a cross-validation parent: a finished fold is kept (unless
    `epochs` asks for more than it was asked for), an unfinished one resumes
    from its checkpoint (``training.run.resume``), a missing one is trained
    with the options of ``cv.json``; then the summary is written again.

    Parameters
    ----------
    epochs : int or None
        The epochs every fold should reach; None: the run's own.
    data : str or None
        Where the data is now, when it moved (each fold checks its SHA-256).

    Returns
    -------
    str
        The parent folder.
    """
    manifest = read_cv_manifest(parent)
    # Everything that can be refused is checked before cv.json changes: a
    # refused command leaves the parent as it was.
    if epochs is not None:
        if int(epochs) < 1:
            raise UserError('epochs=%s: must be at least 1' % epochs)
        manifest['run']['epochs'] = int(epochs)
    if compare_log is not None:
        read_history_csv(compare_log)
        manifest['run']['compare_log'] = os.path.abspath(compare_log)
    if data is not None:
        _check_data(parent, manifest, data)
        manifest['run']['data'] = resolve_data(data)
    manifest.update(status='running', ended=None)
    write_json(os.path.join(parent, CV_MANIFEST), manifest)
    _run_folds(parent, manifest, epochs=epochs, command=command, log=log)
    return parent


def _check_data(parent, manifest, data):
    """Refuse `data` unless it is the file the folds trained on (their
    manifests' SHA-256), as ``training.run.resume`` would for each fold."""
    for k in range(1, int(manifest['folds']) + 1):
        folder = fold_folder(parent, k)
        if run_status(folder) in ('absent', 'broken'):
            continue
        fold = read_manifest(folder)
        data_info = fold.get('data') or {}
        if data_info.get('sha256'):
            load_training_data(data, fold.get('preprocess', 'none'),
                               fold.get('labels', 'complete'),
                               data_info.get('limit'),
                               sha256=data_info['sha256'],
                               **manifest_cleaning(fold))
            return


def _run_folds(parent, manifest, epochs=None, command=None, log=print):
    """Train, resume or keep each fold; write the summary; record the status."""
    n_folds = int(manifest['folds'])
    keywords = dict(manifest['run'])
    if keywords.get('net_overrides'):  # JSON's lists back as tuples
        keywords['net_overrides'] = manifest_net_overrides(keywords)
    try:
        for k in range(1, n_folds + 1):
            folder = fold_folder(parent, k)
            status = run_status(folder)
            if status in FINISHED_STATUSES:
                asked = read_manifest(folder).get('epochs_requested')
                if epochs is None or int(epochs) <= int(asked or 0):
                    log('fold %d of %d: %s, kept' % (k, n_folds, status))
                    continue
            if status not in ('absent', 'broken') \
                    and find_checkpoint(folder) is None:
                # Killed before its first checkpoint: nothing to keep.
                log('fold %d of %d: %s with no checkpoint; training it '
                    'afresh' % (k, n_folds, status))
                shutil.rmtree(folder)
                status = 'absent'
            if status == 'absent':
                log('fold %d of %d: training %s' % (k, n_folds,
                                                    manifest['net']))
                training_run.run(manifest['net'], out=folder,
                                 fold=(k, n_folds), command=command,
                                 **keywords)
            elif status != 'broken':
                log('fold %d of %d: %s, resuming' % (k, n_folds, status))
                training_run.resume(folder, epochs=keywords.get('epochs'),
                                    compare_log=keywords.get('compare_log'),
                                    command=command,
                                    data=keywords.get('data'))
            else:
                raise UserError('%s: no readable manifest.json; move it away '
                                'and run again to train it afresh' % folder)
            if run_status(folder) == 'interrupted':
                log('fold %d of %d: interrupted; --resume %s goes on'
                    % (k, n_folds, parent))
                break
    finally:
        manifest.update(status=cv_status(parent), ended=now())
        write_json(os.path.join(parent, CV_MANIFEST), manifest)
    if any(os.path.isfile(run_path(fold_folder(parent, k), HISTORY))
           for k in range(1, n_folds + 1)):
        write_summary(parent)


def mean_std(values):
    """mean_std(values)

    ``(mean, standard deviation)`` of the finite `values` (numpy's, ddof
    :data:`STD_DDOF`), ``(None, None)`` when there is none.

    >>> mean_std([1.0, 3.0, None])
    (2.0, 1.0)
    """
    finite = [float(v) for v in values
              if v is not None and np.isfinite(float(v))]
    if not finite:
        return None, None
    return float(np.mean(finite)), float(np.std(finite, ddof=STD_DDOF))


def _fold_record(parent, k):
    """One fold's row of the summary, and its history and predictions."""
    folder = fold_folder(parent, k)
    status = run_status(folder)
    record = {'fold': k, 'folder': os.path.basename(folder),
              'status': status, 'epochs_run': None, 'n_train': None,
              'n_valid': None, 'data_sha256': None}
    record.update({name: None for name in FIGURES})
    history, predictions = [], None
    if status in ('absent', 'broken'):
        return record, history, predictions
    manifest = read_manifest(folder)
    data = manifest.get('data') or {}
    record.update(n_train=data.get('n_train'), n_valid=data.get('n_valid'),
                  data_sha256=data.get('sha256'),
                  epochs_run=manifest.get('epochs_run'))
    if os.path.isfile(run_path(folder, HISTORY)):
        history = read_history_csv(run_path(folder, HISTORY))
    if status in FINISHED_STATUSES:
        metrics = read_metrics(folder)
        record.update({name: metrics.get(name) for name in FIGURES})
        predictions = read_valid_predictions(run_path(folder,
                                                      VALID_PREDICTIONS))
    return record, history, predictions


def summarize(parent):
    """summarize(parent)

    The cross-validation summary of a parent, from its folds' run folders.

    Returns
    -------
    dict
        ``net``, ``folds`` (K), ``finished`` (folds that finished),
        ``per_fold`` (one dict per fold: ``fold``, ``folder``, ``status``,
        ``epochs_run``, ``n_train``, ``n_valid`` and the final
        ``train_loss``, ``valid_loss``, ``valid_rmse_px``,
        ``baseline_rmse_px`` of its ``metrics.json``), ``mean`` and ``std``
        (dicts of those four figures over the finished folds), ``std_ddof``,
        ``out_of_fold_rmse_px`` (RMSE of every finished fold's held-out
        predictions together), ``data_sha256``, and ``histories`` (each
        fold's history rows; not written to the JSON).

    Raises
    ------
    UserError
        Not a parent, or folds that ran on different data.
    """
    manifest = read_cv_manifest(parent)
    n_folds = int(manifest['folds'])
    records, histories, true, pred = [], [], [], []
    for k in range(1, n_folds + 1):
        record, history, predictions = _fold_record(parent, k)
        records.append(record)
        histories.append(history)
        if predictions is not None:
            true.append(predictions[1])
            pred.append(predictions[2])
    digests = sorted({r['data_sha256'] for r in records if r['data_sha256']})
    if len(digests) > 1:
        raise UserError('%s: the folds ran on different data (SHA-256 %s)'
                        % (parent, ', '.join(d[:12] for d in digests)))
    finished = [r for r in records if r['status'] in FINISHED_STATUSES]
    stats = {name: mean_std([r[name] for r in finished]) for name in FIGURES}
    return {'net': manifest['net'], 'folds': n_folds,
            'finished': len(finished), 'per_fold': records,
            'mean': {name: stats[name][0] for name in FIGURES},
            'std': {name: stats[name][1] for name in FIGURES},
            'std_ddof': STD_DDOF,
            'out_of_fold_rmse_px': (overall_rmse(np.concatenate(true),
                                                 np.concatenate(pred))
                                    if true else None),
            'data_sha256': digests[0] if digests else None,
            'histories': histories}


def _cell(value, form):
    return '' if value is None else form % value


def _pm(mean, std, form):
    if mean is None:
        return ''
    return '%s ± %s' % (form % mean, form % std)


def summary_markdown(summary, title):
    """summary_markdown(summary, title)

    The summary as Markdown: a row per fold, then mean ± standard deviation.
    """
    lines = ['# %s' % title, '',
             '%d of %d folds finished. Losses are MSE on targets scaled '
             '(y-48)/48 at the last epoch; RMSE in pixels of 96 from the final '
             'predictions of each fold\'s held-out rows; baseline: the mean '
             'keypoints of that fold\'s training rows. ± is the standard '
             'deviation over the finished folds (numpy, ddof %d).'
             % (summary['finished'], summary['folds'], summary['std_ddof']),
             '',
             '| fold | train rows | valid rows | epochs | status | train loss '
             '| valid loss | valid RMSE (px) | baseline RMSE (px) |',
             '|---|---:|---:|---:|---|---:|---:|---:|---:|']
    for r in summary['per_fold']:
        lines.append('| %d | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            r['fold'], _cell(r['n_train'], '%d'), _cell(r['n_valid'], '%d'),
            _cell(r['epochs_run'], '%d'), r['status'],
            _cell(r['train_loss'], '%.5f'), _cell(r['valid_loss'], '%.5f'),
            _cell(r['valid_rmse_px'], '%.3f'),
            _cell(r['baseline_rmse_px'], '%.3f')))
    mean, std = summary['mean'], summary['std']
    lines.append('| **mean ± std** | | | | | %s | %s | %s | %s |' % (
        _pm(mean['train_loss'], std['train_loss'], '%.5f'),
        _pm(mean['valid_loss'], std['valid_loss'], '%.5f'),
        _pm(mean['valid_rmse_px'], std['valid_rmse_px'], '%.3f'),
        _pm(mean['baseline_rmse_px'], std['baseline_rmse_px'], '%.3f')))
    lines.append('')
    if summary['out_of_fold_rmse_px'] is not None:
        lines += ['Out-of-fold RMSE (every finished fold\'s held-out rows '
                  'together): %.3f px.' % summary['out_of_fold_rmse_px'], '']
    lines += ['![Validation loss of every fold](%s)' % CURVES_PLOT, '']
    return '\n'.join(lines)


def write_summary(parent):
    """write_summary(parent)

    Write ``cv_summary.json``, ``cv_summary.md`` and ``cv_curves.png`` of a
    parent from whatever folds have run (:func:`summarize`).

    Returns
    -------
    dict
        The summary (with ``histories``).
    """
    summary = summarize(parent)
    title = '%s: %d-fold cross-validation (%s)' % (
        summary['net'], summary['folds'],
        os.path.basename(os.path.normpath(parent)))
    write_json(os.path.join(parent, SUMMARY_JSON),
               {k: v for k, v in summary.items() if k != 'histories'})
    with atomic_open(os.path.join(parent, SUMMARY_MD)) as f:
        f.write(summary_markdown(summary, title))
    curves = [('fold %d (%s valid rows)' % (r['fold'], r['n_valid']), history,
               None)
              for r, history in zip(summary['per_fold'],
                                    summary['histories']) if history]
    plot_valid_curves(curves, os.path.join(parent, CURVES_PLOT),
                      '%s: validation loss of each fold' % title)
    return summary


def summary_line(summary):
    """summary_line(summary)

    One line: folds finished, and mean ± std of the validation loss and RMSE.

    >>> summary_line({'net': 'net1', 'folds': 3, 'finished': 3,
    ...               'mean': {'valid_loss': 0.002, 'valid_rmse_px': 2.1},
    ...               'std': {'valid_loss': 0.0001, 'valid_rmse_px': 0.05}})
    'net1: 3 of 3 folds finished; valid loss 0.00200 ± 0.00010, valid RMSE 2.100 ± 0.050 px'
    """
    line = '%s: %d of %d folds finished' % (summary['net'],
                                            summary['finished'],
                                            summary['folds'])
    mean, std = summary['mean'], summary['std']
    if mean.get('valid_loss') is not None:
        line += '; valid loss %s, valid RMSE %s px' % (
            _pm(mean['valid_loss'], std['valid_loss'], '%.5f'),
            _pm(mean['valid_rmse_px'], std['valid_rmse_px'], '%.3f'))
    return line
