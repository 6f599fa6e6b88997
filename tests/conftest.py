"""Shared fixtures."""

import pytest

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
