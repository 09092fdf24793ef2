"""Net5: Net4 (scheduled learning rate and momentum) plus flipped batches.

Slide "Comparison of Different ConvNets" (after Daniel Nouri's tutorial):
Net4 (:mod:`nets.net4`: Net2's layers, learning rate 0.03 -> 0.0001 and
momentum 0.9 -> 0.999 linear over ``max_epochs``) with a random half of
each batch mirrored, as Net3. 8,051,502 learnable parameters. The study
ran 750 epochs (``w207final_net5.csv``).
"""
from nets import net4, recipe

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net4 plus flipped batches; `overrides` replace any of its keywords.
    """
    return net4.build(max_epochs, **dict(dict(
        batch_iterator_train=recipe.train_iterator(flip=True),
    ), **overrides))
