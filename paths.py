"""Where the project lives on disk: the one definition of the repository root.

Modules that need a path inside the checkout (the Theano compile cache,
``requirements.txt``, ``runs/``, ``results/``) build it from :data:`REPO`
instead of counting ``os.path.dirname`` calls of their own.

>>> import os
>>> os.path.isfile(os.path.join(REPO, 'paths.py'))
True
"""
import os

__all__ = ['REPO']

#: The repository root (the folder holding this file).
REPO = os.path.dirname(os.path.abspath(__file__))
