"""Shared fixtures."""

import pytest

from scarlet_tf.network.handles import fast_first_run

fast_first_run()  # as the commands and studies opt in: faster first traces
TINY_CHOICES = "e3k3se,skip"


@pytest.fixture(scope="session")
def tiny_supernet_dir(tmp_path_factory):
    """A supernet (width 0.25, choices e3k3se/skip) trained 3 steps on digits; its dir."""
    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import train_supernet

    out = tmp_path_factory.mktemp("tiny_supernet")
    train_supernet(SupernetConfig(out=str(out), width=0.25, choices=TINY_CHOICES, epochs=1,
                                  steps_per_epoch=3, batch_size=16), verbose=False)
    return out


CLASS_ORDERED = {"train": 110, "test": 60}  # real digits per class in each folder


@pytest.fixture(scope="session")
def class_ordered_folder(tmp_path_factory):
    """A folder dataset of real digits, 10 classes, whose files list class by class (as
    CIFAR-10's do): train/<digit>/ 110 PNGs each, test/<digit>/ 60 each, 8x8 pixels."""
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_digits

    digits = load_digits()
    root = tmp_path_factory.mktemp("class_ordered") / "digits10"
    for digit in range(10):
        images = digits.images[digits.target == digit]
        images = np.round(images * (255 / 16)).astype(np.uint8)[..., None]
        start = 0
        for split, count in CLASS_ORDERED.items():
            folder = root / split / f"d{digit}"
            folder.mkdir(parents=True)
            for i, image in enumerate(images[start:start + count]):
                tf.io.write_file(str(folder / f"{i:03d}.png"), tf.io.encode_png(image))
            start += count
    return root
