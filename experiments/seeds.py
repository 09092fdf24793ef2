"""A table run once per seed: ``python -m experiments run TABLE --seeds 42,43,44``.

Layout::

    results/seed<S>/<table>/   the table run with seed S (experiments.runner),
                               each seed a results folder of its own, so that
                               every seed resumes as a single-seed table does
    results/seeds/<table>/     table.md, table.csv, curves.png: our figures
                               the mean ± std over the seeds
                               (experiments.summary.write_seeds_table)

A seed sets the initial weights, the batches' flips and the dropout masks
(``training.seeding``); the data, its split and its order stay the same.
"""
from errors import UserError
from experiments.runner import run_table
from experiments.summary import seed_results_dir, write_seeds_table


def parse_seeds(text):
    """parse_seeds(text)

    The seeds of ``--seeds``: distinct integers, in the order given.

    >>> parse_seeds('42,43,44')
    [42, 43, 44]
    >>> parse_seeds('42,x')
    Traceback (most recent call last):
    errors.UserError: --seeds 42,x: give distinct integers separated by commas, e.g. 42,43,44
    """
    try:
        seeds = [int(part) for part in text.split(',')]
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds):
        raise UserError('--seeds %s: give distinct integers separated by '
                        'commas, e.g. 42,43,44' % text)
    return seeds


def run_table_seeds(table_name, results_dir, seeds, log=print, **options):
    """run_table_seeds(table_name, results_dir, seeds, log=print, **options)

    :func:`experiments.runner.run_table` once per seed, into
    :func:`experiments.summary.seed_results_dir` (`options`: its keywords
    but ``seed``), then the table over the seeds into
    ``<results_dir>/seeds/<table>/``. Stops after a seed whose rows were
    interrupted, so that the same command resumes it.

    Returns
    -------
    dict
        Seed -> (row name -> status).
    """
    statuses = {}
    for seed in seeds:
        log('%s: seed %d of %s' % (table_name, seed, ', '.join(map(str, seeds))))
        statuses[seed] = run_table(table_name, seed_results_dir(results_dir, seed),
                                   seed=seed, log=log, **options)
        if 'interrupted' in statuses[seed].values():
            break
    log('%s: %s' % (table_name, write_seeds_table(table_name, results_dir, seeds)))
    return statuses
