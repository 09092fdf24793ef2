"""Kaggle facial-keypoints data: reading, validating, caching, scaling,
preprocessing, augmenting, and synthetic faces in the same CSV format.

Pure numpy/pandas/scikit-image/scikit-learn: nothing here imports Theano,
Lasagne or nolearn, so data can be checked without the training stack.
"""
