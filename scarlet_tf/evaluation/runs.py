"""A ``train-supernet`` run directory, read in one place.

:class:`SupernetRun` reads ``config.json`` once and hands out what the run holds: the
search space, the dataset spec it was trained on, the supernet with its newest loadable
checkpoint, an :class:`~scarlet_tf.evaluation.evaluator.Evaluator` and a recalibrated, folded
plain subnet. Every command and :mod:`scarlet_tf.export` ask it; none reads the files.
The layout and the writing side (atomic state, checkpoint rotation, damaged-file
fallbacks) are :mod:`scarlet_tf.training.checkpoints`, which the trainer uses.

    run = SupernetRun("runs/demo")
    run.space, run.dataset           # no TensorFlow work yet
    run.supernet                     # weights loaded on first use, then kept
    run.evaluator(max_images=500).score(arch)
    run.subnet(arch)                 # keras.Model: BN recalibrated, stabilizers folded
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import keras
import tensorflow as tf

from scarlet_tf.errors import ScarletError
from scarlet_tf.evaluation.evaluator import Evaluator
from scarlet_tf.evaluation.folding import extract_subnet
from scarlet_tf.files import read_json
from scarlet_tf.names import DEFAULT_RECAL_BATCHES
from scarlet_tf.network.supernet import Supernet
from scarlet_tf.space.spaces import Architecture, get_space
from scarlet_tf.training.checkpoints import read_state, restore_newest, weight_map


class SupernetRun:
    """The run directory ``directory`` of ``train-supernet`` (its ``--out``).

    Attributes read from ``config.json`` when constructed:
      directory: the folder (``pathlib.Path``).
      config: the run's settings (what ``train-supernet`` was given).
      settings: what rebuilds the supernet (:func:`scarlet_tf.network.supernet.supernet_settings`).
      space: the :class:`SearchSpace` it was trained on.
      dataset: the dataset spec it was trained on (see :func:`scarlet_tf.data.load`).

    Raises :class:`ScarletError` when ``directory`` holds no readable supernet run.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        path = self.directory / "config.json"
        try:
            stored = read_json(path)
        except (OSError, ValueError) as err:
            raise ScarletError(f"cannot read {path}: {err}") from None
        if not (isinstance(stored, dict) and "supernet" in stored
                and "dataset" in stored.get("config", {})):
            found = "no config.json" if stored is None else "not a supernet run's config.json"
            raise ScarletError(f"{directory} is not a supernet run directory ({found}); "
                               "give the --out of a train-supernet run")
        self.config = stored["config"]
        self.settings = stored["supernet"]
        self.space = get_space(**self.settings["space"])
        self.dataset = self.config["dataset"]

    def __repr__(self) -> str:
        return f"SupernetRun({str(self.directory)!r})"

    @cached_property
    def supernet(self) -> Supernet:
        """The supernet with the newest checkpoint that loads (the one ``state.json``
        names first; a damaged one is skipped with one warning). Loaded once."""
        state = read_state(self.directory / "state.json")
        if state is None:
            raise ScarletError(f"{self.directory} has no finished checkpoint yet")
        supernet = Supernet.from_settings(self.settings)
        restore_newest(tf.train.Checkpoint(weights=weight_map(supernet)),
                       self.directory / "checkpoints", state.get("checkpoint"), partial=True)
        return supernet

    def evaluator(self, dataset: str | None = None, **options) -> Evaluator:
        """An :class:`Evaluator` of :attr:`supernet` on ``dataset`` (default: the run's);
        ``options`` are the Evaluator's (``split``, ``recal_batches``, ``batch_size``,
        ``max_images``)."""
        return Evaluator(self.supernet, dataset or self.dataset, **options)

    def subnet(self, arch: Architecture, *, fold_stabilizers: bool = True,
               dataset: str | None = None, recal_batches: int = DEFAULT_RECAL_BATCHES,
               name: str | None = None) -> keras.Model:
        """The plain Keras model of ``arch`` with the supernet's weights: BatchNorm
        statistics recalibrated for its path on ``recal_batches`` training batches of
        ``dataset`` (default: the run's), stabilizers folded (see
        :func:`scarlet_tf.evaluation.folding.extract_subnet`). The supernet is left unchanged."""
        self.space.encode(arch)  # a clear error before any dataset is loaded
        evaluator = self.evaluator(dataset, recal_batches=recal_batches, max_images=1)
        return extract_subnet(self.supernet, arch, fold_stabilizers, evaluator=evaluator,
                              name=name)

