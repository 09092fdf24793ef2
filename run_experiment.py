#!/usr/bin/env python
"""run_experiment.py NET [options]: train one net of the study, write a run folder.

Examples::

    python run_experiment.py --list
    python run_experiment.py net1 --data synthetic --epochs 20
    python run_experiment.py net6 --epochs 3 --data data/
    python run_experiment.py net6 --labels all --clean auto --data data/
    python run_experiment.py net6 --labels sparse --data data/
    python run_experiment.py --resume runs/net6-20160401-090500
    python run_experiment.py net1 --cv 5 --data synthetic --epochs 20
    python run_experiment.py --resume runs/net1-cv5-20160401-090500

Every error a user can cause prints ``error: <message>`` and exits 2.
"""
import argparse
import re
import sys

import compat  # noqa: F401  (before theano/lasagne/nolearn)
from errors import UserError, command_line
from data_prep.clean import METHODS as CLEAN_METHODS
from data_prep.dataset import LABELS
from data_prep.preprocess import PREPROCESS_METHODS
from nets import list_nets
from option_types import positive_int, seed
from run_folder import read_manifest
from training import cv
from training import run as runner

DESCRIPTION = """\
Train NET with the study's defaults (its NeuralNet declaration: Nesterov
momentum, batches of 128, its schedule and flips; validation = the first 20%
of the rows shuffled with seed 42) and write a run folder: manifest.json,
weights.npz, history.csv, loss.png, valid_predictions.csv, metrics.json and
checkpoint/. Before the first epoch it prints the epochs, the expected
seconds per epoch and the finish time; each epoch's line adds an ETA.
Ctrl-C stops training and still writes the folder (status interrupted);
--resume continues it. --cv K trains K folds instead (fold k
validates on block k of K of the same rows, unshuffled, as nolearn splits),
one run folder each under runs/<net>-cv<K>-<time>/, with cv_summary.json,
cv_summary.md (mean and standard deviation over the folds) and
cv_curves.png."""


#: Options a resumed run takes from its manifest.json, not the command line.
RUN_OPTIONS = ('--preprocess', '--labels', '--seed', '--out', '--limit',
               '--batch-size', '--checkpoint-every', '--clean',
               '--clean-list', '--cv')

#: The parameters of ``training.run.run`` that errors name (``epochs=0``),
#: and this command line's option for each.
OPTION_OF = {'epochs': '--epochs', 'labels': '--labels', 'limit': '--limit',
             'batch_size': '--batch-size',
             'checkpoint_every': '--checkpoint-every', 'clean': '--clean',
             'clean_list': '--clean-list', 'n_folds': '--cv'}


def as_options(message):
    """as_options(message)

    A library error's ``parameter=value`` as this command line's
    ``--option value``.

    >>> as_options("labels='all': training uses complete rows; use labels='complete'")
    '--labels all: training uses complete rows; use --labels complete'
    >>> as_options('epochs=0: must be at least 1 (hidden_num_units=10)')
    '--epochs 0: must be at least 1 (hidden_num_units=10)'
    """
    return re.sub(r"\b(%s)=('?)([^\s':;,)]*)\2" % '|'.join(OPTION_OF),
                  lambda m: '%s %s' % (OPTION_OF[m.group(1)], m.group(3)),
                  message)


def parser():
    """parser()

    The command line's ``argparse.ArgumentParser``.
    """
    p = argparse.ArgumentParser(
        prog='run_experiment.py', description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('net', nargs='?',
                   help='the net to train (see --list), e.g. net1 or net6')
    p.add_argument('--list', action='store_true',
                   help='list every net with its parameter count and exit')
    p.add_argument('--epochs', type=positive_int, metavar='N',
                   help="epochs to train (default: the study's for that net; "
                        "schedules span N epochs)")
    p.add_argument('--data', metavar='DIR|synthetic',
                   help="folder holding Kaggle's training.csv or training.zip, "
                        "a path to that file, or 'synthetic' for generated "
                        "faces (default: $KFKD_DATA, else data/)")
    p.add_argument('--preprocess', choices=PREPROCESS_METHODS, default='none',
                   help='contrast preprocessing of the images (default none)')
    p.add_argument('--labels', choices=LABELS, default='complete',
                   help="rows and targets: 'complete' = the rows with all 30 "
                        "keypoints (the study's choice, the default); 'all' "
                        "= every row, a missing keypoint counting nowhere in "
                        "the loss; 'sparse' = the rows with the 8 keypoints "
                        "nearly every row has (eye centres, nose tip, bottom "
                        "lip centre), a net with 8 outputs")
    p.add_argument('--clean', choices=CLEAN_METHODS, default='none',
                   help="rows to drop first: 'none' (default: the study's "
                        "runs as they were; its notebook meant to drop 15 "
                        "rows but never did), 'study' (those 15 rows of "
                        "Kaggle's training.csv), 'auto' (duplicate images, "
                        "impossible keypoints, blank images); the manifest "
                        "records every row dropped and why")
    p.add_argument('--clean-list', metavar='FILE',
                   help='also drop the rows listed in FILE (0-based data '
                        'rows, one a line, or a CSV with a row column such '
                        'as python -m data_prep.review writes)')
    p.add_argument('--seed', type=seed, default=42,
                   help='seed of the initial weights, dropout and batch order '
                        '(default 42; the train/validation split is always '
                        "the study's)")
    p.add_argument('--out', metavar='DIR',
                   help='the run folder, exactly (default runs/<net>-<time>); '
                        'an existing non-empty folder is refused')
    p.add_argument('--resume', metavar='RUN_FOLDER',
                   help="continue a run from its checkpoint (same net, data, "
                        "seed, options); --epochs may raise the total")
    p.add_argument('--checkpoint-every', type=positive_int, default=10, metavar='N',
                   help='write <run>/checkpoint/ every N epochs (default 10): '
                        'a crash loses at most N epochs')
    p.add_argument('--limit', type=positive_int, metavar='N',
                   help='use only the first N (shuffled) rows, for quick trials')
    p.add_argument('--batch-size', type=positive_int, metavar='N',
                   help="rows per batch (default: the net's, 128)")
    p.add_argument('--compare-log', metavar='CSV',
                   help="a history CSV (e.g. ../shared/data/w207_logs/"
                        "w207final_net1.csv) drawn dashed in loss.png")
    p.add_argument('--cv', type=positive_int, metavar='K',
                   help='K-fold cross-validation: train K runs, fold k '
                        'validating on block k of K of the rows (fold 1 of 5 '
                        '= the default split), under runs/<net>-cv<K>-<time>/ '
                        '(or --out), with the mean and standard deviation '
                        'over the folds; --resume of that folder goes on')
    return p


def check_options(argv):
    """check_options(argv)

    Refuse, in one line (:class:`errors.UserError`), the options of a new
    run that this command line would refuse before training: what argparse
    refuses and what can be told without the data (``--cv K`` with
    ``--limit`` N < K rows). ``ec2/launch`` calls it before launching.
    Returns the parsed options.
    """
    p = parser()

    def refuse(message):
        raise UserError('run_experiment.py: %s' % message)
    p.error = refuse
    args = p.parse_args(list(argv))
    _check_new_run(args)
    return args


def _check_new_run(args):
    """The refusals of a new run's options that need no data."""
    if args.cv is not None and args.limit is not None and args.cv > args.limit:
        raise UserError('--cv %d with --limit %d: every fold needs a row to '
                        'validate on' % (args.cv, args.limit))


def _train(args, argv):
    """Do what `args` ask; returns the exit status."""
    command = ['run_experiment.py'] + argv
    if args.list:
        rows = list_nets()
        width = max(len(name) for name, _ in rows)
        for name, count in rows:
            print('%-*s %13s parameters' % (width, name, format(count, ',')))
        return 0
    if args.resume:
        if args.net:
            raise UserError('--resume takes the net from the run folder; '
                            'leave out NET (%s)' % args.net)
        fixed = [option for option in RUN_OPTIONS
                 if any(arg == option or arg.startswith(option + '=')
                        for arg in argv)]
        if fixed:
            raise UserError('--resume keeps the run\'s own %s (see its '
                            'manifest.json); leave %s out'
                            % (', '.join(fixed), ', '.join(fixed)))
        resume = (cv.resume_cv if cv.is_cv_folder(args.resume)
                  else runner.resume)
        folder = resume(args.resume, epochs=args.epochs,
                        compare_log=args.compare_log, command=command,
                        data=args.data)
    else:
        if not args.net:
            raise UserError('name a net to train (see --list), or pass '
                            '--resume RUN_FOLDER')
        _check_new_run(args)
        keywords = dict(
            epochs=args.epochs, data=args.data,
            preprocess=args.preprocess, labels=args.labels, seed=args.seed,
            out=args.out, checkpoint_every=args.checkpoint_every,
            limit=args.limit, batch_size=args.batch_size,
            compare_log=args.compare_log, command=command,
            clean=args.clean, clean_list=args.clean_list)
        if args.cv is not None:
            folder = cv.run_cv(args.net, args.cv, **keywords)
        else:
            folder = runner.run(args.net, **keywords)
    if cv.is_cv_folder(folder):
        print('%s -> %s' % (cv.summary_line(cv.summarize(folder)), folder))
        status = cv.cv_status(folder)
    else:
        manifest = read_manifest(folder)
        status = manifest['status']
        print('%s: %s after %d epochs -> %s' % (
            manifest['net'], status, manifest['epochs_run'], folder))
    if status == 'interrupted':
        # Not 0: `run && submit` must not go on with a half-trained net.
        print('interrupted; python run_experiment.py --resume %s goes on'
              % folder, file=sys.stderr)
        return 130
    return 0


def main(argv=None):
    """main(argv=None)

    Run the command line; returns the exit status (0; 2 for a user error;
    130 when Ctrl-C interrupted training, after the run folder is written,
    or anything else).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    return command_line(lambda: _train(args, argv), rewrite=as_options)


if __name__ == '__main__':
    sys.exit(main())
