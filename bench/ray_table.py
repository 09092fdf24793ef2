"""What running a table's rows as Ray tasks costs, on a table of tiny rows.

    python bench/ray_table.py [--rows 100,200,300,400] [--limit 40]
                              [--epochs-scale 0.002] [--jobs 2] [--repeats 1]

Times, each in its own results folder, with the same rows (net1 rows of the
``hidden_units`` table on synthetic faces):

* ``sequential``: one row after another in this process (``run_table``'s
  default path, no Ray);
* ``ray start``: ``experiments.cluster.start_ray()`` (the embedded loopback
  Ray) and ``ray.shutdown()``, with no task;
* ``ray, 1 at a time``: ``run_table(ray='local', jobs=1)``: a Ray task and a
  fresh process per row, one row at a time;
* ``ray, N at once``: ``run_table(ray='local', jobs=N)``.

The per-row overhead is what a row costs more as a Ray task in a fresh
process than in this process: ((ray 1 at a time - ray start) - sequential)
/ rows. Medians over ``--repeats``, with the load average. This is a
benchmark, not a test: nothing asserts a time.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def timed(function):
    started = time.time()
    function()
    return time.time() - started


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--rows', default='100,200,300,400',
                   help='rows of the hidden_units table (default 100,200,300,400)')
    p.add_argument('--limit', type=int, default=40, help='synthetic faces (default 40)')
    p.add_argument('--epochs-scale', type=float, default=0.002,
                   help="x the slides' 1000 epochs (default 0.002: 2 epochs)")
    p.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                   help='rows at once on the Ray (default: the cores)')
    p.add_argument('--repeats', type=int, default=1)
    args = p.parse_args(argv)

    os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
    from experiments import cluster
    from experiments.runner import run_table
    rows = args.rows.split(',')
    figures = {'sequential': [], 'ray start': [], 'ray, 1 at a time': [],
               'ray, %d at once' % args.jobs: []}

    def table(**options):
        folder = tempfile.mkdtemp(prefix='kfkd-bench-ray-')
        try:
            statuses = run_table('hidden_units', folder, epochs_scale=args.epochs_scale,
                                 data='synthetic', limit=args.limit, rows=rows,
                                 log=lambda line: None, **options)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if set(statuses.values()) != {'completed'}:
            raise SystemExit('a row did not complete: %s' % statuses)

    def ray_start():
        import ray
        cluster.start_ray()
        ray.shutdown()

    table()   # fills the compile cache and the synthetic faces' cache first
    loads = []
    for _ in range(args.repeats):
        loads.append(os.getloadavg()[0])
        figures['sequential'].append(timed(table))
        figures['ray start'].append(timed(ray_start))
        figures['ray, 1 at a time'].append(timed(lambda: table(ray='local', jobs=1)))
        figures['ray, %d at once' % args.jobs].append(
            timed(lambda: table(ray='local', jobs=args.jobs)))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    overhead = ((medians['ray, 1 at a time'] - medians['ray start'])
                - medians['sequential']) / len(rows)
    print('%d rows of hidden_units (net1, %d synthetic faces, %g x 1000 epochs), '
          '%d cores, load %.1f' % (len(rows), args.limit, args.epochs_scale,
                                   os.cpu_count() or 1, statistics.median(loads)))
    print('%-22s %8s' % ('', 'wall s'))
    for name, value in medians.items():
        print('%-22s %8.1f' % (name, value))
    print('%-22s %8.1f' % ('per-row overhead', overhead))
    print(json.dumps(dict(medians, per_row_overhead_s=overhead, rows=len(rows),
                          jobs=args.jobs, load=statistics.median(loads))))


if __name__ == '__main__':
    main()
