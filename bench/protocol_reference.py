"""Our training against an independent numpy implementation of the study's protocol.

    python bench/protocol_reference.py [--nets net1,net6] [--epochs 3]
        [--data ../shared/data/ytf_kfkd/training.csv] [--limit N]
        [--noise off|on] [--seed 42] [--tolerance 1e-4]

Trains each net with the project's own path (``training.run.build``, then
nolearn's ``fit``: Theano, Lasagne 0.1, nolearn 0.6.1) and, from the same
initial weights, with :class:`Reference`: numpy in float64, written from the
study's protocol and sharing no training code with the project:

* Lasagne 0.1's layers: dense ``x W + b`` on the flattened input; "valid"
  convolution with the filters flipped (Theano's ``conv2d`` convolves, it does
  not correlate); max pooling over non-overlapping windows that drop a ragged
  border, whose gradient goes to *every* tied maximum of a window (Theano's
  ``MaxPoolGrad``); rectify as ``0.5 * (x + |x|)``, whose slope at exactly 0 is
  0.5; inverted dropout, ``x / (1 - p) * mask``.
* nolearn 0.6.1's regression training: the mean squared error of a batch,
  batches of 128 in the order of the rows (never reshuffled), the first 20%
  of the rows held out for validation (scikit-learn 0.17's unshuffled
  ``KFold(n, 5)``: its first fold), an epoch's loss the mean of its batches'
  losses weighted by their rows, the training loss taken before each
  batch's update.
* Lasagne 0.1's Nesterov momentum: ``v = mu v - lr g``, ``p = p + mu v - lr
  g``; Net1-Net3 at lr 0.01, mu 0.9; Net4 on with Daniel Nouri's
  ``AdjustVariable``: after epoch ``e`` the rates are
  ``linspace(start, stop, max_epochs)[e - 1]`` (lr 0.03 -> 0.0001, mu 0.9 ->
  0.999), so epochs 1 and 2 both train at the start values.

``--noise off`` (default) switches dropout and flips off in ours (dropout
``p=0``, nolearn's plain ``BatchIterator``), and the reference makes its own
batches, which must equal ours. ``--noise on`` trains ours as declared and
hands the reference the batches our ``FlipBatchIterator`` produced and the
masks our dropout layers drew (read from their random streams before each
batch, without advancing them).

Prints, per net and epoch, both losses and their relative difference, then
the largest; exits 1 when a difference is above ``--tolerance``.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import compat  # noqa: F401,E402  (before theano, lasagne, nolearn)

BATCH, EVAL_SIZE = 128, 0.2
#: The study's recipes (slides; Nouri's tutorial): fixed or scheduled rates.
FIXED = {'learning_rate': (0.01, 0.01), 'momentum': (0.9, 0.9)}
SCHEDULED = {'learning_rate': (0.03, 0.0001), 'momentum': (0.9, 0.999)}

# Each net as the slides declare it: (kind, name, settings) in order; the
# parameters are looked up by layer name in the weights given.
ARCHITECTURES = {
    'net1': ([('dense', 'hidden', 'rectify'), ('dense', 'output', None)],
             FIXED),
    'net6': ([('conv', 'conv1', None), ('pool', 'pool1', 2), ('dropout', 'dropout1', 0.1),
              ('conv', 'conv2', None), ('pool', 'pool2', 2), ('dropout', 'dropout2', 0.2),
              ('conv', 'conv3', None), ('pool', 'pool3', 2), ('dropout', 'dropout3', 0.3),
              ('dense', 'hidden4', 'rectify'), ('dropout', 'dropout4', 0.5),
              ('dense', 'hidden5', 'rectify'), ('dense', 'output', None)],
             SCHEDULED),
}


def rectify(x):
    """rectify(x)

    Lasagne 0.1's rectify and its slope: ``0.5 * (x + |x|)``, slope
    ``0.5 * (1 + sign(x))`` (0.5 at exactly 0).
    """
    return 0.5 * (x + np.abs(x)), 0.5 * (1.0 + np.sign(x))


def conv_forward(x, W, b):
    """conv_forward(x, W, b)

    Valid convolution of ``x`` (n, C, H, W) with the flipped filters ``W``
    (F, C, kh, kw), plus the bias; returns the output and the windows.
    """
    kh, kw = W.shape[2:]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    flipped = W[:, :, ::-1, ::-1]
    out = np.tensordot(windows, flipped, axes=([1, 4, 5], [1, 2, 3]))
    return out.transpose(0, 3, 1, 2) + b[None, :, None, None], windows


def conv_backward(dout, windows, W, x_shape, need_dx):
    """conv_backward(dout, windows, W, x_shape, need_dx)

    Gradients of :func:`conv_forward`: ``(dx or None, dW, db)``.
    """
    flipped = W[:, :, ::-1, ::-1]
    dflipped = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))
    dW = dflipped[:, :, ::-1, ::-1]
    db = dout.sum(axis=(0, 2, 3))
    dx = None
    if need_dx:
        dx = np.zeros(x_shape)
        ho, wo = dout.shape[2:]
        for a in range(W.shape[2]):
            for c in range(W.shape[3]):
                dx[:, :, a:a + ho, c:c + wo] += np.tensordot(
                    dout, flipped[:, :, a, c], axes=([1], [0])).transpose(0, 3, 1, 2)
    return dx, dW, db


def pool_forward(x, size):
    """pool_forward(x, size)

    Max over non-overlapping ``size`` x ``size`` windows, the ragged border
    dropped; returns the output and the windows.
    """
    n, c, h, w = x.shape
    hs, ws = h // size, w // size
    windows = x[:, :, :hs * size, :ws * size].reshape(n, c, hs, size, ws, size)
    return windows.max(axis=(3, 5)), windows


def pool_backward(dout, windows, out, x_shape, size):
    """pool_backward(dout, windows, out, x_shape, size)

    Theano's max-pool gradient: every element equal to its window's maximum
    gets the window's whole gradient.
    """
    tied = windows == out[:, :, :, None, :, None]
    dwin = tied * dout[:, :, :, None, :, None]
    dx = np.zeros(x_shape)
    n, c, hs, _, ws, _ = windows.shape
    dx[:, :, :hs * size, :ws * size] = dwin.reshape(n, c, hs * size, ws * size)
    return dx


class Reference(object):
    """Reference(net, params)

    The study's training of `net` (a key of :data:`ARCHITECTURES`) in
    float64 numpy, from `params`: layer name -> ``[W, b]`` (Lasagne's
    shapes: dense ``W`` (in, out), conv ``W`` (F, C, kh, kw)).
    """

    def __init__(self, net, params):
        self.layers, self.recipe = ARCHITECTURES[net]
        self.params = {name: [np.array(v, np.float64) for v in values]
                       for name, values in params.items()}
        self.velocity = {name: [np.zeros_like(v) for v in values]
                         for name, values in self.params.items()}

    def loss_and_grads(self, X, y, masks=None, train=True):
        """loss_and_grads(X, y, masks=None, train=True)

        The batch's mean squared error and (when `train`) the gradients of
        every parameter; `masks`: dropout layer name -> 0/1 mask (a layer
        without one, or ``train`` False, keeps every unit).
        """
        masks = masks or {}
        x = np.asarray(X, np.float64)
        tape = []  # per layer: kind, name, its input's shape, what backward needs
        for kind, name, setting in self.layers:
            shape = x.shape
            if kind == 'dense':
                W, b = self.params[name]
                flat = x.reshape(len(x), -1)
                z = flat @ W + b
                x, slope = rectify(z) if setting == 'rectify' else (z, None)
                saved = (flat, slope)
            elif kind == 'conv':
                W, b = self.params[name]
                z, windows = conv_forward(x, W, b)
                x, slope = rectify(z)  # Lasagne's default nonlinearity
                saved = (windows, slope)
            elif kind == 'pool':
                x, windows = pool_forward(x, setting)
                saved = (windows, x, setting)
            else:  # dropout
                mask = masks.get(name) if train else None
                if mask is not None:
                    x = x / (1.0 - setting) * mask
                saved = (mask, setting)
            tape.append((kind, name, shape, saved))
        error = x - np.asarray(y, np.float64)
        loss = float(np.mean(error ** 2))
        if not train:
            return loss, None
        grads = {}
        d = 2.0 * error / error.size
        for i, (kind, name, shape, saved) in reversed(list(enumerate(tape))):
            need_dx = i > 0
            if kind == 'dense':
                flat, slope = saved
                if slope is not None:
                    d = d * slope
                grads[name] = [flat.T @ d, d.sum(axis=0)]
                d = (d @ self.params[name][0].T).reshape(shape) if need_dx else None
            elif kind == 'conv':
                windows, slope = saved
                d, dW, db = conv_backward(d * slope, windows, self.params[name][0],
                                          shape, need_dx)
                grads[name] = [dW, db]
            elif kind == 'pool':
                windows, out, size = saved
                d = pool_backward(d, windows, out, shape, size)
            else:
                mask, p = saved
                if mask is not None:
                    d = d / (1.0 - p) * mask
        return loss, grads

    def step(self, grads, learning_rate, momentum):
        """step(grads, learning_rate, momentum)

        Lasagne 0.1's Nesterov momentum update of every parameter.
        """
        for name, values in self.params.items():
            for k, g in enumerate(grads[name]):
                v = momentum * self.velocity[name][k] - learning_rate * g
                self.velocity[name][k] = v
                values[k] += momentum * v - learning_rate * g

    def rates(self, epoch, max_epochs):
        """rates(epoch, max_epochs)

        The learning rate and momentum epoch `epoch` (1-based) trains with.
        """
        values = []
        for key in ('learning_rate', 'momentum'):
            start, stop = self.recipe[key]
            if epoch == 1:
                values.append(start)
            else:  # set after epoch e - 1 by AdjustVariable
                values.append(float(np.float32(
                    np.linspace(start, stop, max_epochs)[epoch - 2])))
        return values

    def train(self, X, y, epochs, batches=None, masks=None):
        """train(X, y, epochs, batches=None, masks=None)

        Train for `epochs` (also the schedules' ``max_epochs``); returns
        ``[(train_loss, valid_loss), ...]``. `batches`: per epoch the
        training batches to use (ours, flipped); None: the reference's own.
        `masks`: per epoch, per batch, the dropout masks.
        """
        n = len(X)
        n_valid = n // 5 + (1 if n % 5 else 0)  # KFold(n, 5)'s first fold
        assert round(1 / EVAL_SIZE) == 5
        X_valid, y_valid = X[:n_valid], y[:n_valid]
        X_train, y_train = X[n_valid:], y[n_valid:]
        history = []
        for epoch in range(1, epochs + 1):
            lr, mu = self.rates(epoch, epochs)
            own = [(X_train[i:i + BATCH], y_train[i:i + BATCH])
                   for i in range(0, len(X_train), BATCH)]
            epoch_batches = own if batches is None else batches[epoch - 1]
            losses, sizes = [], []
            for b, (Xb, yb) in enumerate(epoch_batches):
                batch_masks = masks[epoch - 1][b] if masks is not None else None
                loss, grads = self.loss_and_grads(Xb, yb, batch_masks)
                self.step(grads, lr, mu)
                losses.append(loss)
                sizes.append(len(Xb))
            valid, valid_sizes = [], []
            for i in range(0, n_valid, BATCH):
                valid.append(self.loss_and_grads(X_valid[i:i + BATCH],
                                                 y_valid[i:i + BATCH], train=False)[0])
                valid_sizes.append(len(X_valid[i:i + BATCH]))
            history.append((float(np.average(losses, weights=sizes)),
                            float(np.average(valid, weights=valid_sizes))))
        return history


def own_batches(X, y):
    """own_batches(X, y)

    The reference's training batches of one epoch (for checking ours).
    """
    n = len(X)
    n_valid = n // 5 + (1 if n % 5 else 0)
    return [(X[i:i + BATCH], y[i:i + BATCH]) for i in range(n_valid, n, BATCH)]


def train_ours(net_name, X_raw, epochs, seed, noise):
    """train_ours(net_name, X_raw, epochs, seed, noise)

    Our net trained for `epochs` by the project's path. Returns the initial
    parameters, the inputs as the net takes them, the per-epoch losses, and
    per epoch the training batches and dropout masks it used.
    """
    import theano
    from lasagne.layers import DropoutLayer, InputLayer
    from nets import recipe
    from training.run import build, shape_for

    overrides = {}
    if noise == 'off':
        overrides['batch_iterator_train'] = recipe.train_iterator(flip=False)
        if net_name == 'net6':
            overrides.update({'dropout%d_p' % k: 0.0 for k in range(1, 5)})
    net = build(net_name, seed, epochs=epochs, net_overrides=overrides)
    params = {name: [np.array(v) for v in values]
              for name, values in net.get_all_params_values().items() if values}
    X = shape_for(net, X_raw)

    # Each dropout layer's mask, as the training function will draw it: the
    # layer's binomial draw is recorded while nolearn builds the graph, and
    # evaluated before each batch without advancing its random stream.
    drawn = []
    for layer in net.layers_.values():
        if isinstance(layer, DropoutLayer) and layer.p > 0:
            layer._srng = _Recording(layer._srng, layer.name, drawn)
    net.initialize()
    inputs = [layer.input_var for layer in net.layers_.values()
              if isinstance(layer, InputLayer)]
    draw_masks = (theano.function(inputs, [v for _, v in drawn],
                                  no_default_updates=True) if drawn else None)
    names = [name for name, _ in drawn]
    batches, masks = [], []
    train_iter = net.train_iter_

    def recording_train_iter(Xb, yb):
        if len(net.train_history_) == len(batches):
            batches.append([])
            masks.append([])
        batches[-1].append((np.array(Xb), np.array(yb)))
        masks[-1].append(dict(zip(names, draw_masks(Xb))) if draw_masks else {})
        return train_iter(Xb, yb)

    net.train_iter_ = recording_train_iter
    net.fit(X, np.asarray(_Y[0]), epochs=epochs)
    history = [(row['train_loss'], row['valid_loss']) for row in net.train_history_]
    return params, X, history, batches, masks


_Y = [None]  # the targets, set by main (fit needs them beside X)


class _Recording(object):
    """A random stream that remembers the symbolic dropout masks it draws."""

    def __init__(self, srng, name, drawn):
        self._srng, self._name, self._drawn = srng, name, drawn

    def binomial(self, *args, **kwargs):
        mask = self._srng.binomial(*args, **kwargs)
        self._drawn.append((self._name, mask))  # nolearn draws once: the training loss
        return mask

    def __getattr__(self, attribute):
        return getattr(self._srng, attribute)


def compare(net_name, X_raw, y, epochs, seed, noise):
    """compare(net_name, X_raw, y, epochs, seed, noise)

    Train ours and the reference; returns rows ``(epoch, ours_train,
    ref_train, rel_train, ours_valid, ref_valid, rel_valid)``, a list of
    problems (batches that differ), and the seconds each took.
    """
    _Y[0] = y
    start = time.time()
    params, X, ours, batches, masks = train_ours(net_name, X_raw, epochs, seed, noise)
    ours_s = time.time() - start
    problems = []
    expected = own_batches(X, y)
    for e, epoch_batches in enumerate(batches):
        if len(epoch_batches) != len(expected):
            problems.append('epoch %d: %d batches, the protocol has %d'
                            % (e + 1, len(epoch_batches), len(expected)))
        for (Xb, yb), (Xe, ye) in zip(epoch_batches, expected):
            if noise == 'off' and not (np.array_equal(Xb, Xe) and np.array_equal(yb, ye)):
                problems.append('epoch %d: a batch is not the next %d rows in order'
                                % (e + 1, BATCH))
                break
    start = time.time()
    reference = Reference(net_name, params)
    theirs = reference.train(X, y, epochs,
                             batches=batches if noise == 'on' else None,
                             masks=masks if noise == 'on' else None)
    ref_s = time.time() - start
    rows = []
    for e, ((ot, ov), (rt, rv)) in enumerate(zip(ours, theirs)):
        rows.append((e + 1, ot, rt, abs(ot - rt) / abs(rt), ov, rv, abs(ov - rv) / abs(rv)))
    if len(ours) != len(theirs):
        problems.append('ours ran %d epochs, the reference %d' % (len(ours), len(theirs)))
    return rows, problems, ours_s, ref_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nets', default='net1,net6')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--data', default='synthetic',
                        help="Kaggle-format training.csv, a folder, or 'synthetic'")
    parser.add_argument('--limit', type=int, help='the first N shuffled rows only')
    parser.add_argument('--noise', choices=('off', 'on'), default='off',
                        help='dropout and flips: off, or on with ours exported')
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--tolerance', type=float, default=1e-4)
    args = parser.parse_args(argv)

    from data_prep.dataset import load_training_data
    dataset, X_raw, y = load_training_data(args.data, limit=args.limit)
    print('data: %s (sha256 %s), %d rows; noise %s; %d epochs'
          % (dataset.path, dataset.sha256[:12], len(X_raw), args.noise, args.epochs))
    worst, failed = 0.0, False
    for net_name in args.nets.split(','):
        rows, problems, ours_s, ref_s = compare(net_name, X_raw, y, args.epochs,
                                                args.seed, args.noise)
        print('\n%s (ours %.0f s, reference %.0f s)' % (net_name, ours_s, ref_s))
        print('epoch  ours train    ref train     rel      ours valid    ref valid     rel')
        for row in rows:
            print('%5d  %.8f  %.8f  %.1e  %.8f  %.8f  %.1e' % row)
        net_worst = max(max(r[3], r[6]) for r in rows) if rows else float('inf')
        print('%s: max relative difference %.2e' % (net_name, net_worst))
        for problem in problems:
            print('%s: %s' % (net_name, problem))
        worst = max(worst, net_worst)
        failed = failed or bool(problems) or not net_worst <= args.tolerance
    print('\nmax relative difference %.2e (tolerance %g): %s'
          % (worst, args.tolerance, 'FAIL' if failed else 'ok'))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
