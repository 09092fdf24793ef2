"""A ``train_split`` that extends the training rows with DCT-filtered copies.

The slides' DCT experiment trained Net6 on the training set plus filtered
copies of it; the validation rows must stay the original images, or the
validation loss would not be comparable with the baseline's. nolearn calls
``net.train_split(X, y, net)`` once per ``fit`` and trains on what it
returns, so replacing that keyword (``net_overrides={'train_split': ...}``
of ``training.run.run``) augments the training part only, inside the one
training code path.
"""
import compat  # noqa: F401  (before nolearn)
import numpy as np
from nolearn.lasagne import TrainSplit

from data_prep.augment import dct_filter


class DCTAugmentedSplit(TrainSplit):
    """DCTAugmentedSplit(kind, window, eval_size=0.2)

    nolearn's ``TrainSplit(eval_size)`` (validation = the first rows), then
    the training rows followed by one ``dct_filter(kind, window)`` copy of
    each (same keypoints: the filter moves nothing).

    >>> X = np.random.RandomState(0).rand(10, 1, 96, 96).astype(np.float32)
    >>> y = np.zeros((10, 30), dtype=np.float32)
    >>> from types import SimpleNamespace
    >>> net = SimpleNamespace(regression=True)
    >>> X_train, X_valid, y_train, y_valid = DCTAugmentedSplit('lowpass', 5)(X, y, net)
    >>> X_train.shape, X_valid.shape, y_train.shape, bool((X_valid == X[:2]).all())
    ((16, 1, 96, 96), (2, 1, 96, 96), (16, 30), True)
    """

    def __init__(self, kind, window, eval_size=0.2):
        super(DCTAugmentedSplit, self).__init__(eval_size=eval_size)
        self.kind = kind
        self.window = int(window)

    def __call__(self, X, y, net):
        X_train, X_valid, y_train, y_valid = super(
            DCTAugmentedSplit, self).__call__(X, y, net)
        # dct_filter works on 96x96 images; net1 feeds flat rows.
        filtered = dct_filter(X_train.reshape((-1, 96, 96)), self.kind,
                              self.window).reshape(X_train.shape)
        X_train = np.concatenate([X_train, filtered.astype(X_train.dtype)])
        y_train = np.concatenate([y_train, y_train])
        return X_train, X_valid, y_train, y_valid

    def __repr__(self):
        return 'DCTAugmentedSplit(%r, %d, eval_size=%r)' % (
            self.kind, self.window, self.eval_size)
