"""A training run's directory: config, checkpoints, resumable state, histories.

Layout of ``--out DIR``::

    config.json          every setting, the supernet settings and package versions
    checkpoints/         tf.train checkpoints (weights, optimizer slots), last 3 kept,
                         each with its state (ckpt-N.json)
    state.json           the checkpoint to resume from, step, sampler RNG, choice counts
    history.json         one record per finished epoch
    choice_counts.json   how often each choice of each layer was trained
    logs/                TensorBoard event files

``state.json`` is replaced atomically after each checkpoint is complete, so a process
killed at any moment leaves a state that points to a loadable checkpoint. A checkpoint
damaged later (a truncated copy, a full disk) is skipped with one warning for the newest
one that loads; a damaged ``checkpoints/checkpoint`` index is rebuilt from the files.

This module writes the directory (for the trainer) and holds the checkpoint format;
:class:`scarlet_tf.evaluation.runs.SupernetRun` is the one reader of a finished or running run.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import warnings
from pathlib import Path

import keras
import numpy
import tensorflow as tf

import scarlet_tf
from scarlet_tf.errors import ScarletError
from scarlet_tf.files import read_json, refuse_other_settings, write_json, write_text

# Errors tf.train raises for a missing, truncated or corrupt checkpoint file.
_DAMAGED = (tf.errors.OpError, IndexError, ValueError)


_NUMBER = re.compile(r"^ckpt-(\d+)$")


_INDEX_LINE = re.compile(r'^(model_checkpoint_path|all_model_checkpoint_paths): "[^"]*"$'
                         r"|^(all_model_checkpoint_timestamps|last_preserved_timestamp): \S+$")


def package_versions() -> dict:
    """Versions of the packages a run depends on, as recorded in its config."""
    return {"scarlet_tf": scarlet_tf.__version__, "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def prepare_run_dir(out: Path, config: dict, overwrite: bool, extra: dict,
                    legacy: dict | None = None) -> bool:
    """Create or check ``out``; returns True when an earlier run should be resumed.

    An existing run with a different config is refused unless ``overwrite``. ``legacy``:
    settings added after runs were first written, with the value those runs had (a run
    without the key compares as having it).
    """
    existing = read_json(out / "config.json")
    if existing is not None and not overwrite:
        refuse_other_settings(f"the run in {out}", {**(legacy or {}), **existing["config"]},
                              config, "use the same settings to resume, another --out, or "
                              "--overwrite")
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
        if chief:
            repair_index(directory)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=3)

    def save(self, step: int, state: dict) -> None:
        path = Path(self.manager.save(checkpoint_number=step))
        if not self.chief:
            shutil.rmtree(self.manager.directory, ignore_errors=True)
            return
        state = {**state, "checkpoint": path.name}
        write_json(path.with_name(f"{path.name}.json"), state)
        for old in path.parent.glob("ckpt-*.json"):
            if not old.with_suffix(".index").is_file():
                old.unlink()
        write_json(self.out / "state.json", state)

    def restore(self) -> dict | None:
        """Restore the newest loadable checkpoint, preferring the one ``state.json`` names;
        returns its state (or None before the first checkpoint)."""
        state = read_state(self.out / "state.json")
        if state is None:
            return None
        folder = self.out / "checkpoints"
        name = restore_newest(self.checkpoint, folder, state.get("checkpoint"), partial=False)
        if name == state.get("checkpoint"):
            return state
        older = read_state(folder / f"{name}.json")
        if not older:
            raise ScarletError(f"{folder / name} has no readable training state to resume "
                               "from; start over with --overwrite")
        return older


def read_state(path: Path) -> dict | None:
    """A run-state JSON file: None when missing, ``{}`` with one warning when damaged."""
    try:
        state = read_json(path)
    except (OSError, ValueError):
        state = "damaged"
    if state is None or isinstance(state, dict):
        return state
    warnings.warn(f"damaged run state {path}; using the newest checkpoint that loads",
                  stacklevel=3)
    return {}


def checkpoint_names(folder: Path, preferred: str | None = None) -> list[str]:
    """The checkpoints in ``folder`` (``ckpt-N``), ``preferred`` first, then newest first."""
    found = [p.stem for p in folder.glob("ckpt-*.index") if _NUMBER.match(p.stem)]
    found.sort(key=lambda name: int(_NUMBER.match(name).group(1)), reverse=True)
    return sorted(found, key=lambda name: name != preferred)


def restore_newest(checkpoint: tf.train.Checkpoint, folder: Path, preferred: str | None,
                   partial: bool) -> str:
    """Restore ``checkpoint`` from the newest checkpoint in ``folder`` that loads, trying
    ``preferred`` first; warns once naming a damaged one. Returns the name restored."""
    damaged = []
    for name in checkpoint_names(folder, preferred):
        try:
            status = checkpoint.restore(str(folder / name))
        except _DAMAGED as err:
            damaged.append(f"{name} ({type(err).__name__}: {_first_line(err)})")
            continue
        (status.expect_partial() if partial else status).assert_existing_objects_matched()
        if damaged:
            warnings.warn(f"damaged checkpoint {folder / damaged[0]}; loaded {name} instead",
                          stacklevel=2)
        return name
    raise ScarletError(f"no loadable checkpoint in {folder}: "
                       f"{', '.join(damaged) if damaged else 'none saved'}")


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "unreadable"


def repair_index(folder: Path) -> None:
    """Rewrite a damaged ``checkpoint`` index file (tf.train's list of kept checkpoints)
    from the checkpoint files present, with one warning; a sound one is left alone."""
    index = folder / "checkpoint"
    if not index.is_file() or _index_is_sound(index):
        return
    names = checkpoint_names(folder)
    lines = ([f'model_checkpoint_path: "{names[0]}"'] if names else []) + [
        f'all_model_checkpoint_paths: "{name}"' for name in reversed(names)]
    write_text(index, "".join(line + "\n" for line in lines))
    warnings.warn(f"damaged checkpoint index {index}; rebuilt it from "
                  f"{len(names)} checkpoint(s) found", stacklevel=2)


def _index_is_sound(index: Path) -> bool:
    try:
        lines = index.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return bool(lines) and all(_INDEX_LINE.match(line.strip()) for line in lines if line.strip())
