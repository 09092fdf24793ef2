#!/usr/bin/env python
"""Use a trained run: a Kaggle submission, keypoints on photos, pictures to judge it.

Usage::

    python predict.py submit RUN [RUN8] --data DIR [--lookup CSV] [--out FILE]
    python predict.py image RUN PHOTO... [--out DIR]
    python predict.py show RUN [--data DIR]
    python predict.py evaluate RUN --data DIR|FILE [--out DIR] [--run-data DIR]
    python predict.py explain RUN [IMAGE | --valid N] [--out DIR] [--data DIR]

``submit`` predicts Kaggle's ``test.csv`` (or ``test.zip``) in ``DIR`` and
writes ``RowId,Location`` through ``IdLookupTable.csv`` (default: the one in
``DIR``) to ``RUN/submission.csv``; the file is checked against the lookup
table before it is written and never replaces an earlier one on failure.
With a second run ``RUN8`` (a ``--labels sparse`` run: 8 outputs), each
image whose lookup rows ask for those 8 keypoints only is answered by it,
the others by ``RUN``; ``<submission>_runs.csv`` (``ImageId,run,rows``)
says which run answered which image.

``image`` finds the frontal faces in each photo (JPEG, PNG, colour or
grey, any size), crops each as the run's training faces are framed, scales
it to 96x96 grey, applies the run's preprocessing, predicts, and writes
``<photo>_keypoints.png`` (the photo with the crop squares and keypoints),
``.csv`` and ``.json`` (keypoints in the photo's pixels) to ``DIR``
(default: the current folder). A photo without a face is an error.

``show`` writes the run's pictures and error table into its folder
(``faces_valid.png``, ``worst16.png``, ``keypoint_rmse.png``,
``errors.csv``, ``errors.md``), as every run does when it ends.

``evaluate`` judges the run on any labelled file in Kaggle's
``training.csv`` format (or a folder holding one): RMSE in pixels overall
and per keypoint over the labelled coordinates, beside the mean keypoints
of the run's own training rows, with the run's preprocessing; it prints the
table and writes ``evaluation.json``, ``errors.csv``/``.md``,
``predictions.csv``, ``keypoint_rmse.png`` and ``worst16.png`` to a new
folder (default ``RUN/eval-<file's stem>``; ``evaluation.evaluate_file``).

``explain`` shows what the net looks at for one face: a 96x96 grey
``IMAGE`` (a face framed as the training faces are), or the run's ``N``-th
validation face (default 1): each keypoint's saliency (the gradient of its
two outputs with respect to the pixels), the first convolution layer's
filters and each convolution layer's mean activation map, in a new folder
(default ``RUN/explain-<image's stem>`` or ``RUN/explain-valid<N>``;
``evaluation.explain``).

A user error prints ``error: <message>`` on stderr and exits with 2.
"""
import argparse
import csv
import os
import sys

import numpy as np

from errors import UserError, command_line
from data_prep.dataset import load_dataset
from data_prep.keypoints import KEYPOINT_COLUMNS
from data_prep.preprocess import preprocess
from evaluation import faces_in_photo as fip
from evaluation.explain import (default_explain_folder, explain as explain_face,
                                face_to_explain)
from evaluation.evaluate_file import FILES as EVALUATION_FILES, evaluate_file
from evaluation.pictures import annotated_photo
from evaluation.run_report import errors_markdown, write_run_report
from evaluation.submission import (answered_by_path, choose_runs,
                                   combine_predictions, make_submission,
                                   read_lookup_table, write_answered_by,
                                   write_submission)
from evaluation.trained_net import load_trained_net, predict_px
from run_folder import (REPORT_FILES, VALID_PREDICTIONS, atomic_open,
                        read_valid_predictions, run_path, write_json)


def parser():
    """parser()

    The command line's ``argparse.ArgumentParser``.
    """
    p = argparse.ArgumentParser(
        prog='predict.py', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = p.add_subparsers(dest='command', metavar='COMMAND')
    commands.required = True
    submit = commands.add_parser(
        'submit', help='predict Kaggle\'s test.csv and write submission.csv')
    submit.add_argument('run', metavar='RUN', help='a run folder')
    submit.add_argument('run8', metavar='RUN8', nargs='?',
                        help='a --labels sparse run folder (8 outputs) for '
                        'the images that ask for its 8 keypoints only')
    submit.add_argument('--data', metavar='DIR', required=True,
                        help='folder holding test.csv (or test.zip) and, '
                        'unless --lookup, IdLookupTable.csv')
    submit.add_argument('--lookup', metavar='CSV',
                        help='Kaggle\'s IdLookupTable.csv (default: in DIR)')
    submit.add_argument('--out', metavar='FILE',
                        help='the submission to write (default: '
                        'RUN/submission.csv)')
    image = commands.add_parser(
        'image', help='keypoints of the faces in photos')
    image.add_argument('run', metavar='RUN', help='a run folder')
    image.add_argument('photos', metavar='PHOTO', nargs='+',
                       help='JPEG/PNG photos')
    image.add_argument('--out', metavar='DIR', default='.',
                       help='folder for the annotated PNG, CSV and JSON '
                       '(default: the current folder)')
    show = commands.add_parser(
        'show', help='write the run\'s pictures and error table')
    show.add_argument('run', metavar='RUN', help='a run folder')
    show.add_argument('--data', metavar='DIR',
                      help='where the run\'s training data is now, if moved')
    judge = commands.add_parser(
        'evaluate', help='RMSE of the run on any labelled training.csv-format '
        'file, beside its mean-keypoint baseline')
    judge.add_argument('run', metavar='RUN', help='a run folder')
    judge.add_argument('--data', metavar='DIR|FILE', required=True,
                       help='a labelled file in Kaggle\'s training.csv format '
                       '(or .zip), or a folder holding training.csv')
    judge.add_argument('--out', metavar='DIR',
                       help='the folder to write (default: '
                       'RUN/eval-<file\'s stem>, never an existing one)')
    judge.add_argument('--run-data', metavar='DIR',
                       help='where the run\'s own training data is now, if '
                       'moved (for the baseline)')
    explain = commands.add_parser(
        'explain', help='saliency per keypoint, conv1 filters and activation '
        'maps of one face')
    explain.add_argument('run', metavar='RUN', help='a run folder')
    explain.add_argument('image', metavar='IMAGE', nargs='?',
                         help='a 96x96 grey face image (PNG, JPEG, ...)')
    explain.add_argument('--valid', type=int, metavar='N',
                         help='the run\'s N-th validation face instead '
                         '(default: 1, when no IMAGE)')
    explain.add_argument('--out', metavar='DIR',
                         help='the folder to write (default RUN/explain-...; '
                         'never an existing one)')
    explain.add_argument('--data', metavar='DIR',
                         help='where the run\'s training data is now, if '
                         'moved (for --valid)')
    return p


def _check_run(folder):
    if not os.path.isdir(folder):
        raise UserError('%s: no such run folder' % folder)


# ------------------------------------------------------------------- submit

def submit(run, data, lookup=None, out=None, run8=None):
    """submit(run, data, lookup=None, out=None, run8=None)

    Predict Kaggle's test images and write a checked submission; with
    `run8` (a run of fewer columns), also ``<out>_runs.csv``, which run
    answered each image (``evaluation.submission.choose_runs``).

    Returns
    -------
    str
        The path written.
    """
    runs = [run] + ([run8] if run8 else [])
    for folder in runs:
        _check_run(folder)
    out = out or os.path.join(run, 'submission.csv')
    if os.path.isdir(out):
        raise UserError('--out %s is a folder; name the submission file to '
                        'write (e.g. %s)' % (out, os.path.join(out,
                                                               'submission.csv')))
    lookup_path = lookup or os.path.join(data, 'IdLookupTable.csv')
    table = read_lookup_table(lookup_path)  # before the slow part
    loaded = [load_trained_net(folder) for folder in runs]
    columns = [net.keypoint_columns_ for net, _ in loaded]
    if run8 and len(columns[1]) >= len(columns[0]):
        raise UserError('%s predicts %d keypoint columns, %s %d: RUN8 must be '
                        'a run of fewer (--labels sparse), RUN one of all 30'
                        % (run8, len(columns[1]), run, len(columns[0])))
    choice = choose_runs(table, columns)
    tests, predictions = {}, []
    for net, manifest in loaded:
        method = manifest.get('preprocess', 'none')
        if method not in tests:
            tests[method] = load_dataset(data, kind='test', preprocess=method)
        predictions.append(predict_px(net, tests[method].X))
    test = tests[loaded[0][1].get('preprocess', 'none')]
    y_pred = combine_predictions(test.image_ids, predictions, choice)
    submission = make_submission(table, test.image_ids, y_pred)
    write_submission(submission, table, out)
    clipped = int(np.sum((y_pred < 0) | (y_pred > 96)))
    print('%s: %d rows for %d test images (%s) -> %s%s'
          % (' + '.join(m['net'] for _, m in loaded), len(submission),
             len(test.X), test.path, out,
             '; %d predicted coordinates clipped to [0, 96]' % clipped
             if clipped else ''))
    if run8:
        sidecar = answered_by_path(out)
        write_answered_by(sidecar, table, choice, runs)
        rows = table.groupby('ImageId').size()
        for index, folder in enumerate(runs):
            images = choice.index[(choice == index).to_numpy()]
            print('%s answered %d images (%d rows) -> %s'
                  % (folder, len(images), int(rows[images].sum()), sidecar))
    return out


# -------------------------------------------------------------------- image

def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def write_photo_keypoints(photo_path, photo, squares, boxes, keypoints, out,
                          run, scale=1.0):
    """write_photo_keypoints(photo_path, photo, squares, boxes, keypoints, out, run, scale=1.0)

    Write ``<out>/<photo>_keypoints.png``, ``.csv`` and ``.json``.

    The CSV has one row per face: ``face`` (1, 2, ... left to right),
    ``crop_left, crop_top, crop_side`` (the square cropped, photo pixels)
    and the 30 keypoint columns in photo pixels (pixel ``i`` centred at
    ``i``). The JSON holds the same, with the detector's box. `photo` may
    be the photo decoded reduced by `scale`
    (``evaluation.faces_in_photo.read_photo_reduced``; `squares`, `boxes`
    and `keypoints` in its pixels): the PNG is drawn at that size, the CSV
    and JSON are in the photo's own pixels.

    Returns
    -------
    list of str
        The paths written.
    """
    base = os.path.join(out, _stem(photo_path) + '_keypoints')
    paths = [base + '.png', base + '.csv', base + '.json']
    annotated_photo(photo, squares, keypoints, paths[0])
    h, w = [int(round(n * scale)) for n in photo.shape[:2]]

    def full(values, sides=()):
        """Positions (and the sides at indices `sides`) in the photo's pixels."""
        return [v * scale if i in sides else (v + 0.5) * scale - 0.5
                for i, v in enumerate(values)]
    squares = [full(square, sides=(2,)) for square in squares]
    boxes = [full(box, sides=(2, 3)) for box in boxes]
    keypoints = [full(points) for points in keypoints]
    with atomic_open(paths[1], newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['face', 'crop_left', 'crop_top', 'crop_side']
                        + list(KEYPOINT_COLUMNS))
        for i, (square, points) in enumerate(zip(squares, keypoints), 1):
            writer.writerow([i] + ['%.2f' % v for v in square]
                            + ['%.2f' % v for v in points])
    faces = []
    for square, box, points in zip(squares, boxes, keypoints):
        faces.append({
            'detector_box': dict(zip(('left', 'top', 'width', 'height'),
                                     [round(float(v), 2) for v in box])),
            'crop': dict(zip(('left', 'top', 'side'),
                             [round(float(v), 2) for v in square])),
            'keypoints': {
                KEYPOINT_COLUMNS[j][:-2]: [round(float(points[j]), 2),
                                           round(float(points[j + 1]), 2)]
                for j in range(0, len(KEYPOINT_COLUMNS), 2)}})
    write_json(paths[2], {'photo': os.path.abspath(photo_path), 'width': w,
                          'height': h, 'run': os.path.abspath(run),
                          'coordinates': 'photo pixels, x right, y down, '
                          'pixel i centred at i', 'faces': faces})
    return paths


def image(run, photos, out='.'):
    """image(run, photos, out='.')

    Keypoints of the faces in each photo, written by
    :func:`write_photo_keypoints`.

    Returns
    -------
    dict
        photo -> number of faces found.

    Raises
    ------
    UserError
        After every photo was tried, when one had no face or could not be
        read (the message names them).
    """
    _check_run(run)
    if not os.path.isdir(out):
        raise UserError('--out %s: no such folder' % out)
    net, manifest = load_trained_net(run)
    # Crop faces as the run's own training faces are framed.
    _, y_true, _ = read_valid_predictions(run_path(run, VALID_PREDICTIONS))
    framing = fip.framing_of(y_true)
    method = manifest.get('preprocess', 'none')
    found, problems = {}, []
    for photo_path in photos:
        try:
            photo, scale = fip.read_photo_reduced(photo_path)
        except UserError as e:
            problems.append(str(e))
            continue
        grey = fip.to_grey(photo)
        boxes = fip.detect_faces(grey)
        found[photo_path] = len(boxes)
        if not boxes:
            h, w = [int(round(n * scale)) for n in photo.shape[:2]]
            problems.append('%s: no face found (%dx%d; the detector finds '
                            'frontal faces at least %d px wide)'
                            % (photo_path, w, h, fip.MIN_FACE * max(
                                1.0, max(h, w) / fip.MAX_SEARCH_SIDE)))
            continue
        squares = [fip.crop_square(box, framing) for box in boxes]
        crops = preprocess(fip.crop_faces(grey, squares), method)
        keypoints = fip.to_photo_pixels(predict_px(net, crops), squares)
        paths = write_photo_keypoints(photo_path, photo, squares, boxes,
                                      keypoints, out, run, scale)
        print('%s: %d face%s -> %s' % (photo_path, len(boxes),
                                       '' if len(boxes) == 1 else 's',
                                       ', '.join(paths)))
    if problems:
        raise UserError('; '.join(problems))
    return found


# --------------------------------------------------------------------- show

def show(run, data=None):
    """show(run, data=None)

    :func:`evaluation.run_report.write_run_report`, with a summary printed.
    """
    _check_run(run)
    written = write_run_report(run, data)
    overall = written['table'].loc['overall']
    print('validation RMSE %.2f px (mean-keypoint baseline %.2f px)'
          % (overall['rmse_px'], overall['baseline_rmse_px']))
    for name in REPORT_FILES:
        print(written[name])
    return written


# ----------------------------------------------------------------- evaluate

def evaluate(run, data, out=None, run_data=None):
    """evaluate(run, data, out=None, run_data=None)

    :func:`evaluation.evaluate_file.evaluate_file`, with its table and the
    files written printed.
    """
    _check_run(run)
    result = evaluate_file(run, data, out, run_data)
    summary, folder = result['summary'], result['folder']
    print(errors_markdown(result['table'], '%s on %s' % (
        summary['net'], summary['data']['path'])))
    print('%d faces, %d labelled coordinates: RMSE %.2f px (mean-keypoint '
          'baseline %.2f px, %s)%s'
          % (summary['data']['rows'], summary['data']['labelled_coordinates'],
             summary['rmse_px'], summary['baseline_rmse_px'],
             summary['baseline'],
             '; note: this is the data the run trained on'
             if summary['data']['is_the_run_s_own_data'] else ''))
    for name in EVALUATION_FILES:
        print(os.path.join(folder, name))
    return result


# ------------------------------------------------------------------ explain

def explain(run, image=None, valid=None, out=None, data=None):
    """explain(run, image=None, valid=None, out=None, data=None)

    :func:`evaluation.explain.explain` of an image file or of the run's
    `valid`-th validation face.
    """
    _check_run(run)
    net, manifest = load_trained_net(run)
    face, y_true, what, stem = face_to_explain(run, manifest, image, valid,
                                               data)
    return explain_face(net, manifest, face, what,
                        out or default_explain_folder(run, stem), y_true)


def main(argv=None):
    """main(argv=None)

    Run the command line; returns the exit status (0; 2 for a user error,
    a full disk or a path that cannot be written; 130 for Ctrl-C).
    """
    args = parser().parse_args(argv)

    def body():
        if args.command == 'submit':
            submit(args.run, args.data, args.lookup, args.out, args.run8)
        elif args.command == 'image':
            image(args.run, args.photos, args.out)
        elif args.command == 'evaluate':
            evaluate(args.run, args.data, args.out, args.run_data)
        elif args.command == 'explain':
            explain(args.run, args.image, args.valid, args.out, args.data)
        else:
            show(args.run, args.data)
    return command_line(body)


if __name__ == '__main__':
    sys.exit(main())
