"""A training run's directory: config, checkpoints, resumable state, histories.

Layout of ``--out DIR``::

    config.json          every setting, the supernet settings and package versions
    checkpoints/         tf.train checkpoints (weights, optimizer slots), last 3 kept
    state.json           the checkpoint to resume from, step, sampler RNG, choice counts
    history.json         one record per finished epoch
    choice_counts.json   how often each choice of each layer was trained
    logs/                TensorBoard event files

``state.json`` is replaced atomically after each checkpoint is complete, so a process
killed at any moment leaves a state that points to a loadable checkpoint.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path

import tensorflow as tf

from scarlet_tf.errors import ScarletError


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temp file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def read_json(path: Path, default=None):
    return json.loads(path.read_text()) if path.is_file() else default


def package_versions() -> dict:
    import keras
    import numpy

    import scarlet_tf

    return {"scarlet_tf": scarlet_tf.__version__, "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def prepare_run_dir(out: Path, config: dict, overwrite: bool, extra: dict) -> bool:
    """Create or check ``out``; returns True when an earlier run should be resumed.

    An existing run with a different config is refused unless ``overwrite``.
    """
    existing = read_json(out / "config.json")
    if existing is not None and not overwrite:
        if existing["config"] != config:
            changed = sorted(k for k in set(config) | set(existing["config"])
                             if config.get(k) != existing["config"].get(k))
            raise ScarletError(
                f"{out} holds a run with a different configuration ({', '.join(changed)} "
                "differ); use the same settings to resume, another --out, or --overwrite")
        return (out / "state.json").is_file()
    if overwrite and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", {"config": config, **extra,
                                     "versions": package_versions()})
    return False


def weight_map(model) -> dict:
    """``{variable path: variable}`` of every weight of ``model``, for tf.train checkpoints.

    Keras 3 keeps nested layers in lists that tf.train does not traverse, so checkpoints
    name each weight by its (unique) Keras path instead of the object graph.
    """
    return {v.path.replace("/", "."): v for v in model.weights}


class RunCheckpoint:
    """Checkpoints of a supernet run: ``save(step, state)`` and ``restore() -> state``."""

    def __init__(self, out: Path, chief: bool = True, **trackables):
        self.out = out
        self.chief = chief
        self.checkpoint = tf.train.Checkpoint(**trackables)
        directory = out / "checkpoints" if chief else out / f".worker-tmp-{os.getpid()}"
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=3)

    def save(self, step: int, state: dict) -> None:
        path = self.manager.save(checkpoint_number=step)
        if self.chief:
            write_json(self.out / "state.json", {**state, "checkpoint": Path(path).name})
        else:
            shutil.rmtree(self.manager.directory, ignore_errors=True)

    def restore(self) -> dict | None:
        """Restore the checkpoint named by ``state.json``; returns that state (or None)."""
        state = read_json(self.out / "state.json")
        if state is None:
            return None
        self.checkpoint.restore(str(self.out / "checkpoints" / state["checkpoint"])
                                ).assert_existing_objects_matched()
        return state


def dataset_of(directory) -> str:
    """The dataset spec a run in ``directory`` was trained on."""
    config = read_json(Path(directory) / "config.json")
    if config is None:
        raise ScarletError(f"{directory} is not a run directory (no config.json)")
    return config["config"]["dataset"]


def restore_supernet(directory: Path):
    """Rebuild a run's supernet from its config and load its latest weights."""
    from scarlet_tf.supernet import Supernet, read_settings

    supernet = Supernet.from_settings(read_settings(directory))
    state = read_json(directory / "state.json")
    if state is None:
        raise ScarletError(f"{directory} has no finished checkpoint yet")
    path = directory / "checkpoints" / state["checkpoint"]
    tf.train.Checkpoint(weights=weight_map(supernet)).restore(str(path)).expect_partial() \
        .assert_existing_objects_matched()
    return supernet
