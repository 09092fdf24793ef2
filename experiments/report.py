"""``results/REPORT.md``: every table that has run, with its pictures, in the slides' order."""
import datetime
import os

from experiments.summary import table_dir, write_table
from experiments.tables import TABLES
from experiments.runner import row_status
from run_folder import FINISHED_STATUSES, atomic_open


def write_report(results_dir):
    """write_report(results_dir)

    Gather the ``table.md`` of every table with at least one finished row
    into ``<results_dir>/REPORT.md`` (headings one level down, picture paths
    made relative to ``results_dir``).

    Returns
    -------
    (str, list of str)
        The report's path and the tables it holds.
    """
    lines = ['# Detecting Facial Keypoints using Conv Nets: the study\'s '
             'tables, re-run', '',
             'Each section: the slides\' numbers beside this run\'s; the line '
             'above each table says which epoch scale and which data produced '
             'it. Losses are MSE on targets scaled (y-48)/48; RMSE px = '
             'sqrt(MSE) x 48.', '']
    included = []
    for name, table in TABLES.items():
        folder = table_dir(results_dir, name)
        if not any(row_status(os.path.join(folder, row)) in FINISHED_STATUSES
                   for row in table.rows):
            continue
        # Rewrite it: a table interrupted before its summary still reports.
        path = write_table(name, results_dir)
        with open(path) as f:
            body = f.read().rstrip('\n').split('\n')
        for line in body:
            if line.startswith('#'):
                line = '#' + line
            elif line.startswith('![') and '](' in line:
                caption, target = line[2:-1].split('](', 1)
                line = '![%s](%s/%s)' % (caption, name, target)
            lines.append(line)
        lines.append('')
        included.append(name)
    if not included:
        lines += ['No table has a finished row yet: run '
                  '`python -m experiments run TABLE` first.', '']
    lines.append('Gathered %s.' % datetime.datetime.now().strftime(
        '%Y-%m-%d %H:%M'))
    os.makedirs(results_dir, exist_ok=True)
    path = os.path.join(results_dir, 'REPORT.md')
    with atomic_open(path) as f:
        f.write('\n'.join(lines) + '\n')
    return path, included
