"""The slides' tables as runnable experiments, our numbers beside the slides'.

``python -m experiments list | show TABLE | run TABLE | report``:

* :mod:`experiments.slides`: the slides' numbers (``slide_numbers.csv``).
* :mod:`experiments.tables`: which net, overrides and data each row uses.
* :mod:`experiments.runner`: trains the rows with ``training.run`` (in this
  process, or ``--jobs N`` processes), skips finished rows, resumes
  interrupted ones.
* :mod:`experiments.summary`: ``table.md``, ``table.csv`` and pictures of a
  table; :mod:`experiments.report`: ``results/REPORT.md``.
"""
