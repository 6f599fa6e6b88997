"""Fold a supernet path into a plain Keras model, stabilizers and all.

Trains a small stabilized supernet (``scarlet-cifar`` at width 0.25, three choices per
layer: ``e3k3se``, ``e6k5`` and ``skip``) on the bundled digits for a few steps, then
extracts one path as a plain functional Keras model with the learnable stabilizers folded
into the following 1x1 convolutions (:func:`scarlet_tf.extract_subnet`). The plain model
has a true identity at every skipped layer and no stabilizer layer, yet computes the
supernet path's logits: the script prints the largest difference relative to the
largest logit (float32 round-off, about 1e-6).

    python examples/fold_supernet_path.py [--small] [--out DIR]

``--small`` trains 4 steps instead of 40; ``--out`` keeps the supernet's run directory
(default: a temporary one).
"""

import argparse
import tempfile

import numpy as np

import scarlet_tf

ARCH = ("e3k3se,skip,e6k5,skip,skip,skip,e3k3se,skip,e6k5,skip,"
        "e3k3se,skip,skip,e6k5,e6k5,skip,skip,skip,e3k3se")  # consecutive skips included


def main() -> None:
    """Train, extract with and without folding, and compare logits with the supernet's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="train 4 steps instead of 40")
    parser.add_argument("--out", default=None, help="the supernet's run directory")
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    out = args.out or tempfile.mkdtemp(prefix="fold_supernet_path_")

    config = scarlet_tf.SupernetConfig(out=out, width=0.25, choices="e3k3se,e6k5,skip",
                                       epochs=1, steps_per_epoch=4 if args.small else 40,
                                       batch_size=32, lr=0.05)
    supernet, _ = scarlet_tf.train_supernet(config, verbose=False)

    import tensorflow as tf

    arch = scarlet_tf.Architecture.parse(ARCH)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    path = tf.constant(supernet.space.encode(arch), tf.int32)
    reference = supernet(images, path, training=False).numpy()  # logits [8, 10]
    for fold in (True, False):
        plain = scarlet_tf.extract_subnet(supernet, arch, fold_stabilizers=fold)
        gap = np.abs(plain(images, training=False).numpy() - reference).max()
        stabilizers = sum("stabilizer" in layer.name for layer in plain.layers)
        print(f"fold_stabilizers={fold}: {len(plain.layers)} layers, {stabilizers} "
              f"stabilizer layers, relative logits gap {gap / np.abs(reference).max():.1e}")


if __name__ == "__main__":
    main()
