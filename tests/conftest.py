"""Shared fixtures: the ``../shared`` data folder, which a user's clone lacks."""
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), 'shared')


def shared_path(*parts):
    """shared_path(*parts)

    Path below ``../shared``, or skip the calling test when it is absent.
    """
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip('needs %s (only on the developers\' machines; a user\'s '
                    'clone has no ../shared)' % os.path.relpath(path, REPO))
    return path
