"""fastops is Theano ops only: it imports nothing of the project (compat imports it, not back)."""
import os
import subprocess
import sys

import compat  # noqa: F401  (before theano)
import pytest
import fastops.conv
import fastops.rng
from compat.flags import theano_flag_defaults
from paths import REPO
from theano.compile import optdb


def test_fastops_imports_no_project_module():
    code = ('import sys, fastops, fastops.conv, fastops.pool, fastops.rng; '
            'print(sorted(m for m in sys.modules '
            "if m.split('.')[0] in ('compat', 'paths', 'errors', 'nets', 'training')))")
    env = {k: v for k, v in os.environ.items() if k != 'THEANO_FLAGS'}
    # The project's flags, handed in: fastops itself never sets them.
    env['THEANO_FLAGS'] = ','.join('%s=%s' % pair for pair in theano_flag_defaults())
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == '[]'


@pytest.mark.parametrize('module, name', [(fastops.rng, 'fastops_parallel_mrg'),
                                          (fastops.conv, 'fastops_fft_conv')])
def test_registered_follows_the_fast_run_tag(module, name):
    module.register()
    assert module.registered() is True
    optdb.remove_tags(name, 'fast_run')
    try:
        assert module.registered() is False
    finally:
        optdb.add_tags(name, 'fast_run')
    assert module.registered() is True
