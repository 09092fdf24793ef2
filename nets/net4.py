"""Net4: Net2 with the learning rate and momentum moved linearly.

Slide "Comparison of Different ConvNets" (after Daniel Nouri's tutorial):
the layers of Net2 (:mod:`nets.net2`) trained with Nouri's
``AdjustVariable`` schedule (:func:`nets.recipe.scheduled`): learning rate
0.03 -> 0.0001 and Nesterov momentum 0.9 -> 0.999, linear over
``max_epochs``. No flips. 8,051,502 learnable parameters. The study ran
750 epochs (``w207final_net4.csv``).
"""
from nets import net2, recipe

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net2 plus the schedule; `overrides` replace any of its keywords.
    """
    return net2.build(max_epochs, **dict(
        recipe.scheduled(flip=False), **overrides))
