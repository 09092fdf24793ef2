"""Review the rows a cleaning would drop: their faces, keypoints and reasons.

Usage::

    python -m data_prep.review DATA [--clean none|study|auto] [--clean-list FILE] [--out DIR]
    python -m data_prep.review DATA --suspects CV_RUN [--top N] [--out DIR]

``DATA`` is a data folder (holding ``training.csv`` or ``training.zip``, as
``--data`` elsewhere) or a training file. The rows that
:func:`data_prep.clean.select` drops with these options (default ``--clean
auto``) are written to ``DIR`` (default ``results/review-<clean>``, with
``-list`` when a list is given):

``flagged.csv``
    One line per row: ``row`` (0-based data row), ``image_id`` (row + 1),
    ``rules`` (``;``-separated names) and ``values`` (``name=value; ...``,
    what the rules judged). Delete the lines of the rows to keep and pass
    the file back as ``--clean-list``: its ``row`` column is read.
``flagged-01.png``, ``flagged-02.png``, ...
    Every flagged face (:data:`FACES_PER_PAGE` a page) with its keypoints
    (red: the subject's left, blue: right, green: centre line) and its row
    and rules above it. None when nothing is flagged.

``--suspects CV_RUN`` reviews by the nets' judgement instead: every row
that the ``--cv K`` run ``CV_RUN`` trained on is ranked by its out-of-fold
error (the one fold net that did not train on it; ``--by keypoint``, the
default, scores a row by its worst keypoint relative to that keypoint's
typical error, ``--by rmse`` by its RMSE), and ``DIR`` (default
``results/review-suspects``) gets ``oof_errors.csv``, ``suspects.csv`` (the
worst ``N``, default 48, for ``--clean-list``) and ``suspects.png`` (those
faces, true and predicted keypoints, the rows ``--clean auto`` flags
marked): :mod:`evaluation.suspects`.

``DIR`` must be new or empty, so an earlier review is never overwritten.
A user error prints ``error: <message>`` on stderr and exits with 2.
"""
import argparse
import csv
import os
import sys

from errors import UserError, command_line
from data_prep import clean
from data_prep.kaggle_csv import find_data_file, read_kaggle_arrays
from run_folder import atomic_open, check_new_folder

__all__ = ['FACES_PER_PAGE', 'default_out', 'review', 'parser', 'main']

#: Faces on one picture: 8 rows of 6 stay readable at 100 dpi.
FACES_PER_PAGE = 48
_COLUMNS = 6


def default_out(method, clean_list=None):
    """default_out(method, clean_list=None)

    ``results/review-<method>``, with ``-list`` when a clean list is given.

    >>> default_out('auto'), default_out('none', 'mine.txt')
    ('results/review-auto', 'results/review-none-list')
    """
    return os.path.join('results', 'review-%s%s' % (
        method, '-list' if clean_list else ''))


def _format_values(values):
    return '; '.join('%s=%s' % item for item in values.items())


def _write_csv(path, dropped):
    with atomic_open(path, newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['row', 'image_id', 'rules', 'values'])
        for record in dropped:
            writer.writerow([record['row'], record['image_id'],
                             ';'.join(record['rules']),
                             _format_values(record['values'])])


def _title(record):
    """'row 9 (image of row 1)' and the rules, one a line."""
    first = record['values'].get('duplicate_of')
    return '\n'.join(['row %d%s' % (record['row'], '' if first is None else
                                    ' (image of row %d)' % first)]
                     + record['rules'])


def _write_pages(out, images, keypoints, dropped, source):
    from evaluation.pictures import face_grid
    paths = []
    n_pages = -(-len(dropped) // FACES_PER_PAGE)
    for page in range(n_pages):
        records = dropped[page * FACES_PER_PAGE:(page + 1) * FACES_PER_PAGE]
        rows = [r['row'] for r in records]
        path = os.path.join(out, 'flagged-%02d.png' % (page + 1))
        face_grid(images[rows] / 255.0, keypoints[rows], None, path,
                  titles=[_title(r) for r in records],
                  ncols=_COLUMNS,
                  suptitle='%s\nflagged rows %d-%d of %d (red: subject\'s '
                  'left, blue: right, green: centre)' % (
                      source, page * FACES_PER_PAGE + 1,
                      page * FACES_PER_PAGE + len(records), len(dropped)))
        paths.append(path)
    return paths


def review(data, method='auto', clean_list=None, out=None, log=print):
    """review(data, method='auto', clean_list=None, out=None, log=print)

    Write the review of the rows ``method`` and ``clean_list`` drop.

    Parameters
    ----------
    data : str
        A data folder or a ``training.csv``/``training.zip``.
    method, clean_list
        As :func:`data_prep.clean.select`.
    out : str or None
        The folder to write (new or empty); default :func:`default_out`.
    log : callable
        Receives the summary lines.

    Returns
    -------
    dict
        ``dropped`` (the records), ``counts`` (rule -> rows), ``csv`` and
        ``pictures`` (the paths written).

    Raises
    ------
    UserError
        ``out`` holds files; what :func:`data_prep.clean.select` and
        reading the data raise.
    """
    clean.check_method(method)  # before reading a large file
    out = out or default_out(method, clean_list)
    check_new_folder(out, 'review', 'choose another --out, or remove it',
                     name='--out %s' % out)
    path = data if os.path.isfile(data) else find_data_file(data, 'training')
    arrays = read_kaggle_arrays(path, 'training')
    images, keypoints = arrays['images'], arrays['keypoints']
    keep, dropped = clean.select(keypoints, images, method, clean_list,
                                 source=path)
    counts = clean.count_rules(dropped)
    os.makedirs(out, exist_ok=True)
    csv_path = os.path.join(out, 'flagged.csv')
    _write_csv(csv_path, dropped)
    pictures = _write_pages(out, images, keypoints, dropped, path)
    log('%s: %d rows, %d flagged by --clean %s%s' % (
        path, len(keypoints), len(dropped), method,
        ' --clean-list %s' % clean_list if clean_list else ''))
    rules = list(clean.AUTO_RULES) if method == 'auto' else []
    rules += [rule for rule in counts if rule not in rules]
    for rule in rules:
        log('  %-30s %5d' % (rule, counts.get(rule, 0)))
    log(csv_path)
    for picture in pictures:
        log(picture)
    if not pictures:
        log('no rows flagged: no pictures')
    return {'dropped': dropped, 'counts': counts, 'csv': csv_path,
            'pictures': pictures}


def parser():
    """parser()

    The command line's ``argparse.ArgumentParser``.
    """
    p = argparse.ArgumentParser(
        prog='python -m data_prep.review', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('data', metavar='DATA',
                   help='a data folder (training.csv or training.zip) or a '
                   'training file')
    p.add_argument('--clean', choices=clean.METHODS, default='auto',
                   help='the cleaning to review (default: auto)')
    p.add_argument('--clean-list', metavar='FILE',
                   help='a file of rows to drop besides (one row number a '
                   'line, or a CSV with a row column)')
    p.add_argument('--out', metavar='DIR',
                   help='a new or empty folder for flagged.csv and the '
                   'pictures (default: results/review-<clean>, or '
                   'results/review-suspects)')
    p.add_argument('--suspects', metavar='CV_RUN',
                   help='rank the rows by the out-of-fold error of this '
                   '--cv run (trained on DATA) instead, worst first')
    p.add_argument('--top', type=int, default=48, metavar='N',
                   help='with --suspects: rows in suspects.csv and its '
                   'picture (default 48)')
    p.add_argument('--by', choices=('keypoint', 'rmse'), default='keypoint',
                   help="with --suspects: rank by the worst keypoint's "
                   "distance in units of that keypoint's typical error "
                   "(default), or by the row's RMSE")
    return p


def main(argv=None):
    """main(argv=None)

    Run the command line; returns the exit status (0, or 2 for a user error).
    """
    args = parser().parse_args(argv)

    def body():
        if args.suspects:
            # Imported here: it loads run folders (Theano via training.cv);
            # a review by the rules alone stays light, and data_prep does
            # not import the layers above it at import time.
            from evaluation.suspects import write_suspects
            if args.clean_list:
                raise UserError('--suspects ranks every row the run judged; '
                                'leave out --clean-list (pass suspects.csv '
                                'to training instead)')
            write_suspects(args.data, args.suspects,
                           args.out or os.path.join('results',
                                                    'review-suspects'),
                           args.top, args.by)
        else:
            review(args.data, args.clean, args.clean_list, args.out)
    return command_line(body)


if __name__ == '__main__':
    sys.exit(main())
