"""python -m experiments {list, show TABLE, run TABLE, report, publish TABLE}: the slides' tables.

Examples::

    python -m experiments list
    python -m experiments show dropout
    python -m experiments run preprocessing --data data/ --epochs-scale 0.3
    python -m experiments run conv_nets --epochs-scale 0.02 --jobs 2
    python -m experiments run convnet_comparison --epochs-scale 0.02 --cv 5
    python -m experiments run hidden_units --epochs-scale 0.1 --seeds 42,43,44
    python -m experiments run conv_nets --ray auto --storage s3://BUCKET/kfkd/ray
    python -m experiments report
    python -m experiments publish hidden_units --to docs/results

Every error a user can cause prints ``error: <message>`` and exits 2.
"""
import argparse
import os
import sys

from errors import command_line
from option_types import finite_positive, positive_int, price, seed

DESCRIPTION = """\
Re-run the study's tables (slides: "Detecting Facial Keypoints using Conv
Nets"). Each row trains with training.run into results/<table>/<row>/;
table.md and table.csv put the slides' numbers beside ours; curves.png draws
every row's validation loss. Finished rows are never run again; an
interrupted table resumes where it stopped. --cv K trains every row as K
folds (results/<table>/<row>/fold1..foldK) and reports mean ± standard
deviation over the folds."""


def parser():
    """parser()

    The command line's ``argparse.ArgumentParser``.
    """
    p = argparse.ArgumentParser(
        prog='python -m experiments', description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True

    listing = sub.add_parser('list', help='the tables, and how far each has run')
    listing.add_argument('--out', default='results', metavar='DIR',
                         help='results folder (default results)')

    show = sub.add_parser('show', help="a table's rows and the slides' numbers")
    show.add_argument('table')
    show.add_argument('--out', default='results', metavar='DIR',
                      help='results folder, for the rows running now (default '
                           'results)')

    def run_options(q):
        q.add_argument('--epochs-scale', type=finite_positive, default=1.0, metavar='F',
                       help="train F x the slides' epochs (default 1: the "
                            "slides' own), e.g. 0.02 to fit a CPU")
        q.add_argument('--data', metavar='DIR|FILE|synthetic',
                       help="folder with Kaggle's training.csv/.zip, that "
                            "file, or 'synthetic' (default $KFKD_DATA, else "
                            "data/)")
        q.add_argument('--limit', type=positive_int, metavar='N',
                       help='use only the first N shuffled rows of the data')
        q.add_argument('--seed', type=seed, default=42,
                       help='seed of weights, dropout and batch order '
                            '(default 42)')
        q.add_argument('--out', default='results', metavar='DIR',
                       help='results folder (default results)')
        q.add_argument('--cv', type=positive_int, metavar='K',
                       help='train every row as K folds (fold k validates on '
                            'block k of K of the rows, as nolearn splits) and '
                            'report mean ± std over the folds')

    run = sub.add_parser('run', help='train every unfinished row of a table')
    run.add_argument('table')
    run_options(run)
    run.add_argument('--jobs', type=int, default=1, metavar='N',
                     help='rows trained at once, each in its own process, as '
                          'tasks of a Ray on this machine (default 1: one after '
                          'another in this process)')
    run.add_argument('--rows', metavar='ROW[,ROW...]',
                     help='only these rows (default all; see show TABLE)')
    run.add_argument('--seeds', metavar='S[,S...]',
                     help='run the table once per seed, into DIR/seed<S>/, '
                          'and write the mean ± std over the seeds into '
                          'DIR/seeds/TABLE/ (instead of --seed)')
    cluster = run.add_argument_group(
        'Ray', 'every unfinished row as one Ray task, in a process of its own; '
        '--jobs N is the same on the Ray of this machine')
    cluster.add_argument('--ray', nargs='?', const='local', metavar='ADDRESS',
                         help="without ADDRESS: an embedded Ray on this machine "
                              "(loopback only); 'auto': the cluster this machine "
                              "is a node of; HOST:PORT: that cluster's head")
    cluster.add_argument('--storage', metavar='DIR|s3://BUCKET/PREFIX',
                         help='where the rows\' run folders live while they run: '
                              'a folder every node sees (EFS) or an S3 prefix '
                              '(default: the results folder); gathered into '
                              '--out at the end')
    cluster.add_argument('--cpus-per-row', type=int, metavar='N',
                         help="a row's CPUs, its OMP_NUM_THREADS (default: the "
                              "machine's cores / --jobs; 1 on a cluster)")
    cluster.add_argument('--gpus-per-row', type=float, metavar='N',
                         help='a row\'s GPUs (default 1 where the cluster has '
                              'GPUs, else 0)')
    cost = run.add_argument_group('cost', 'with --dry-run: train nothing, print '
                                          'the rows and what they would cost')
    cost.add_argument('--dry-run', action='store_true',
                      help='print the unfinished rows and a cost estimate on '
                           '--workers GPU workers; train nothing')
    cost.add_argument('--workers', type=positive_int, default=1, metavar='N',
                      help='GPU workers, for the estimate (default 1)')
    cost.add_argument('--instance-type', default='g4dn.xlarge',
                      help='the workers\' type, for the estimate (default '
                           'g4dn.xlarge)')
    cost.add_argument('--price-per-hour', type=price, metavar='USD',
                      help='a worker\'s price, for the estimate (default: '
                           'ec2/launcher.py\'s on-demand snapshot)')

    row = sub.add_parser('run-row', help=argparse.SUPPRESS)
    row.add_argument('table')
    row.add_argument('row')
    run_options(row)

    publish = sub.add_parser('publish', help="copy a finished table's small files "
                                             "into docs/results/TABLE/")
    publish.add_argument('table')
    publish.add_argument('--out', default='results', metavar='DIR',
                         help='results folder the table ran in (default results; '
                              'its seeds/TABLE/ when run with --seeds)')
    publish.add_argument('--to', default=os.path.join('docs', 'results'), metavar='DIR',
                         help='where the published tables live (default docs/results)')

    report = sub.add_parser('report', help='gather every finished table into '
                                           'results/REPORT.md')
    report.add_argument('--out', default='results', metavar='DIR',
                        help='results folder (default results)')
    return p


def list_tables(results_dir):
    """list_tables(results_dir)

    Lines: each table's name, rows finished / rows, title.
    """
    from experiments.cluster import running_lines
    from experiments.runner import FINISHED_STATUSES, row_status, table_dir
    from experiments.tables import TABLES
    lines = []
    for name, table in TABLES.items():
        folder = table_dir(results_dir, name)
        done = sum(1 for row in table.rows
                   if row_status(os.path.join(folder, row))
                   in FINISHED_STATUSES)
        lines.append('%-18s %2d/%-2d rows run  %s'
                     % (name, done, len(table.rows), table.title))
        lines += running_lines(results_dir, name)
    return lines


def show_table(name):
    """show_table(name)

    Lines: the table's title, what it varies, and per row the net, its
    overrides and data, the slides' epochs and numbers.
    """
    from experiments.slides import read_slide_numbers
    from experiments.tables import get_table
    table = get_table(name)
    slides = read_slide_numbers().get(name, {})
    lines = ['%s: %s' % (name, table.title), table.about, '',
             '%-17s %-13s %-8s %-12s %-9s %-9s %s'
             % ('row', 'net', 'epochs', 'preprocess', 'train', 'val',
                'overrides / augmentation')]
    for row_name, row in table.rows.items():
        slide = slides.get(row_name)
        changes = ', '.join('%s=%s' % item for item in
                            sorted(row.overrides.items()))
        if row.augment:
            changes = ', '.join(filter(None, [changes, 'DCT %s window %d'
                                              % row.augment]))

        def cell(value):
            if value is not None:
                return '%g' % value
            return slide.verdict if slide is not None and slide.verdict else '-'
        lines.append('%-17s %-13s %-8s %-12s %-9s %-9s %s' % (
            row_name, row.net,
            slide.epochs if slide is not None and slide.epochs else 'net\'s',
            row.preprocess, cell(slide.train_loss if slide else None),
            cell(slide.val_loss if slide else None), changes or '-'))
    notes = [(r, s.note) for r, s in slides.items() if s.note]
    if notes:
        lines += ['', 'Notes:'] + ['  %s: %s' % note for note in notes]
    return lines


def main(argv=None):
    """main(argv=None)

    Run the command line; returns the exit status (0; 1 when a row did not
    finish; 2 for a user error; 130 for Ctrl-C outside training).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)

    def body():
        if args.command == 'list':
            print('\n'.join(list_tables(args.out)))
        elif args.command == 'show':
            from experiments.cluster import running_lines
            print('\n'.join(show_table(args.table)
                            + running_lines(args.out, args.table)))
        elif args.command == 'run':
            from experiments.runner import run_table
            rows = args.rows.split(',') if args.rows else None
            estimate = (dict(workers=args.workers, instance_type=args.instance_type,
                             price_per_hour=args.price_per_hour)
                        if args.dry_run else None)
            options = dict(epochs_scale=args.epochs_scale, jobs=args.jobs,
                           data=args.data, limit=args.limit, rows=rows, cv=args.cv,
                           ray=args.ray, storage=args.storage,
                           cpus_per_row=args.cpus_per_row,
                           gpus_per_row=args.gpus_per_row, estimate=estimate)
            if args.seeds:
                from experiments.seeds import parse_seeds, run_table_seeds
                by_seed = run_table_seeds(args.table, args.out,
                                          parse_seeds(args.seeds), **options)
                return 0 if args.dry_run or all(
                    s in ('completed', 'stopped-nonfinite', 'stopped-early')
                    for statuses in by_seed.values()
                    for s in statuses.values()) else 1
            statuses = run_table(args.table, args.out, seed=args.seed, **options)
            if args.dry_run:
                return 0
            print('%s: %s -> %s' % (
                args.table, ', '.join('%s %s' % item
                                      for item in sorted(statuses.items())),
                os.path.join(args.out, args.table, 'table.md')))
            if any(s not in ('completed', 'stopped-nonfinite', 'stopped-early')
                   for s in statuses.values()):
                return 1
        elif args.command == 'run-row':
            from experiments.runner import run_row
            status = run_row(args.table, args.row, args.out,
                             args.epochs_scale, args.data, args.limit,
                             args.seed, cv=args.cv)
            return 0 if status != 'interrupted' else 1
        elif args.command == 'publish':
            from experiments.publish import publish_table
            folder, files = publish_table(args.table, args.out, args.to)
            print('%s: %s' % (folder, ', '.join(files)))
        elif args.command == 'report':
            from experiments.report import write_report
            path, tables = write_report(args.out)
            print('%s: %s' % (path, ', '.join(tables) or 'no finished table'))
    return command_line(body, interrupted='interrupted; run the same command '
                                          'again to resume')


if __name__ == '__main__':
    sys.exit(main())
