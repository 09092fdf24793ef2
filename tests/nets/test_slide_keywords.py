"""The keywords a net module quotes from its slide are the net's, and the slide's.

A module's docstring quotes its slide's declaration in a literal block (the
lines with ``name=value``). Each quoted keyword must be the net's, each
keyword the slide comments out (``# hidden4_num_units=500``) must be absent
from the net, and each quoted line must stand in the slides' text.
"""
import ast
import importlib
import re

import pytest

import nets
from tests.conftest import shared_path

#: The nets whose slide prints a declaration.
QUOTING = ['net1', 'net2', 'net6', 'net6lp', 'net6np', 'net6nplf', 'net6rhl',
           'net6rp', 'net6rpxl', 'cnet_nplfxl']

#: Where a net knowingly departs from its slide's declaration: name ->
#: {keyword: the net's value}. Net6LP's printed shapes and parameter count
#: need 4x4 pools where its declaration says 6x6 and 8x8 (nets/net6lp.py).
DEPARTURES = {'net6lp': {'pool2_pool_size': (4, 4), 'pool3_pool_size': (4, 4)}}

SLIDES_TEXT = ('seed', '000_965a6ddbac7767ba.txt')

_KEYWORD = re.compile(r'([A-Za-z_][A-Za-z0-9_ ]*?)\s*=\s*(\([^)]*\)|[^,]+)')


def quoted_lines(docstring):
    """The lines with ``=`` of the docstring's literal blocks, stripped."""
    lines, in_block = [], False
    for line in docstring.splitlines():
        if line.rstrip().endswith('::'):
            in_block = True
        elif in_block and line.strip() and not line.startswith(' '):
            in_block = False
        elif in_block and '=' in line:
            lines.append(line.strip())
    return lines


def _keywords(text):
    # the slides' text writes some underscores as spaces
    return {name.strip().replace(' ', '_'): ast.literal_eval(value.strip())
            for name, value in _KEYWORD.findall(text)}


def slide_keywords(lines):
    """(quoted keywords, keywords commented out) of the quoted lines."""
    quoted, commented = {}, {}
    for line in lines:
        code, _, comment = line.partition('#')
        quoted.update(_keywords(code))
        commented.update(_keywords(comment))
    return quoted, commented


def module_lines(name):
    return quoted_lines(importlib.import_module('nets.' + name).__doc__)


def test_the_parser_reads_a_declaration():
    assert slide_keywords(['conv1 num filters=6, # pool1_pool_size=(2, 2),',
                           '# dropout4_p=0.5, # !', 'input_shape=(None, 9216),']) \
        == ({'conv1_num_filters': 6, 'input_shape': (None, 9216)},
            {'pool1_pool_size': (2, 2), 'dropout4_p': 0.5})
    assert slide_keywords(module_lines('net2'))[0]['conv3_num_filters'] == 128
    assert slide_keywords(module_lines('net6rhl'))[1] == {
        'pool1_pool_size': (2, 2), 'pool2_pool_size': (2, 2),
        'pool3_pool_size': (2, 2), 'hidden4_num_units': 500,
        'dropout4_p': 0.5}


def test_exactly_these_modules_quote_a_declaration():
    quoting = [name for name in nets.NETS
               if importlib.util.find_spec('nets.' + name) is not None
               and module_lines(name)]
    assert quoting == QUOTING


@pytest.mark.parametrize('name', QUOTING)
def test_quoted_keywords_are_the_net_s(name):
    quoted, commented = slide_keywords(module_lines(name))
    params = dict(nets.build_net(name).get_params())
    expected = dict(quoted, **DEPARTURES.get(name, {}))
    assert {key: params.get(key) for key in expected} == expected
    for key, value in DEPARTURES.get(name, {}).items():
        assert quoted[key] != value  # a departure that is one
    assert not set(commented) & set(params)


@pytest.mark.parametrize('name', QUOTING)
def test_quoted_lines_stand_in_the_slides(name):
    with open(shared_path(*SLIDES_TEXT)) as f:
        slide_lines = {' '.join(line.split()) for line in f}
    missing = [line for line in module_lines(name)
               if ' '.join(line.split()) not in slide_lines]
    assert missing == []
