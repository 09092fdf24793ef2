"""pytest's configuration for the whole tree (pytest.ini: the tests and every module's doctests).

``compat`` is imported first, before pytest collects anything: it sets Theano's flags before
any collected module imports Theano, whatever the order (``fastops`` imports Theano and, by
design, not ``compat``).
"""
import compat  # noqa: F401  (Theano's flags before theano, whichever module pytest imports first)
