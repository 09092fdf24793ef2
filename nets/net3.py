"""Net3: Net2 trained on batches of which a random half is mirrored.

Slide "Comparison of Different ConvNets" (after Daniel Nouri's tutorial):
the layers of Net2 (:mod:`nets.net2`) with Nouri's ``FlipBatchIterator``:
each batch of 128 has a random half of its images mirrored and their
left/right keypoints swapped. A fixed learning rate of 0.01 and momentum
of 0.9, as Net2. 8,051,502 learnable parameters. The study ran 750 epochs
(``w207final_net3.csv``).
"""
from nets import net2, recipe

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net2 plus flipped batches; `overrides` replace any of its keywords.
    """
    return net2.build(max_epochs, **dict(dict(
        batch_iterator_train=recipe.train_iterator(flip=True),
    ), **overrides))
