"""Pictures of a training run (matplotlib's Agg backend: no display needed)."""
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from run_folder import atomic_path  # noqa: E402


def _column(history, name):
    """Column ``name`` of a history given as rows (dicts) or a DataFrame."""
    if hasattr(history, 'columns'):
        return list(history[name])
    return [row[name] for row in history]


def plot_loss(history, path, title, reference=None, reference_label='study'):
    """plot_loss(history, path, title, reference=None, reference_label='study')

    Train and validation loss per epoch on a log y axis, as the slides'
    curves, written to ``path`` (PNG).

    Parameters
    ----------
    history : sequence of dict or pandas.DataFrame
        Rows with ``epoch``, ``train_loss`` and ``valid_loss`` (nolearn's
        ``train_history_`` or a ``history.csv`` read back).
    path : str
        The PNG file to write (atomically).
    title : str
        The figure's title.
    reference : sequence of dict or pandas.DataFrame or None
        Another history drawn dashed beside it (e.g. the study's log).
    reference_label : str
        Legend name of ``reference``.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        epochs = _column(history, 'epoch')
        ax.plot(epochs, _column(history, 'train_loss'), color='tab:blue',
                label='train loss')
        ax.plot(epochs, _column(history, 'valid_loss'), color='tab:green',
                label='valid loss')
        if reference is not None:
            ref_epochs = _column(reference, 'epoch')
            ax.plot(ref_epochs, _column(reference, 'train_loss'),
                    color='tab:blue', linestyle='--', alpha=0.6,
                    label='train loss (%s)' % reference_label)
            ax.plot(ref_epochs, _column(reference, 'valid_loss'),
                    color='tab:green', linestyle='--', alpha=0.6,
                    label='valid loss (%s)' % reference_label)
        ax.set_yscale('log')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel('epoch')
        ax.set_ylabel('loss (MSE, targets scaled (y-48)/48)')
        ax.set_title(title)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend()
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
