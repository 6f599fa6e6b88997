"""Latency lookup tables: measure a space's parts once, predict any architecture.

A :class:`LatencyTable` holds the measured latency (ms) of the stem, the head and every
(layer index, choice token) block of a search space, each timed as its own small TFLite
model built from the same block classes as the real network; skip costs 0. Tables use
the fastest of each model's timed runs: on a CPU shared with other processes the median
drifts with their load, the minimum stays put. It predicts
a whole architecture as the sum of its parts, mapped through a linear correction fitted
on a few architectures timed end to end (when that fits them better than the raw sum).

Reading a table and predicting from it is light (no TensorFlow); building or validating
one imports the TensorFlow-backed model and export modules when it starts. Timing itself
is :mod:`scarlet_tf.timing`'s (host) or :mod:`scarlet_tf.android`'s (adb).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.space import SKIP, SKIPPABLE, Architecture, Choice, SearchSpace, get_space
from scarlet_tf.timing import HostRunner


@dataclass
class LatencyTable:
    """Measured latencies (ms) of a space's parts; ``blocks[(layer index, token)]``.

    ``correction`` is ``(slope, intercept)``: predicted = slope * sum + intercept, or None
    for the plain sum; ``calibration`` lists the end-to-end measurements it was fitted on.
    """

    space: dict
    settings: dict
    stem_ms: float
    head_ms: float
    blocks: dict = field(default_factory=dict)
    correction: tuple[float, float] | None = None
    calibration: list = field(default_factory=list)

    def sum_ms(self, arch) -> float:
        """Stem + head + the blocks of ``arch`` (skip = 0), uncorrected."""
        arch = arch if isinstance(arch, Architecture) else Architecture.parse(str(arch))
        total = self.stem_ms + self.head_ms
        for index, choice in enumerate(arch.choices):
            if choice.is_skip:
                continue
            if (index, choice.token) not in self.blocks:
                raise ScarletError(f"latency table has no entry for layer {index + 1} "
                                   f"{choice.token}")
            total += self.blocks[(index, choice.token)]
        return total

    def predict(self, arch, space: SearchSpace | None = None) -> float:
        """Predicted latency of ``arch`` in ms; checks ``space`` is the table's when given."""
        if space is not None and space.describe() != self.space:
            raise ScarletError(f"latency table is for {self.space}, not {space.describe()}")
        total = self.sum_ms(arch)
        if self.correction is None:
            return total
        slope, intercept = self.correction
        return slope * total + intercept

    def to_dict(self) -> dict:
        layers = [{} for _ in range(max((i for i, _ in self.blocks), default=-1) + 1)]
        for (index, token), ms in sorted(self.blocks.items()):
            layers[index][token] = ms
        correction = None if self.correction is None else dict(zip(("slope", "intercept"), self.correction))
        return {"space": self.space, "settings": self.settings, "stem_ms": self.stem_ms,
                "head_ms": self.head_ms, "blocks": layers, "correction": correction,
                "calibration": self.calibration}

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> LatencyTable:
        """Read a table written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text())
            blocks = {(i, token): float(ms) for i, layer in enumerate(data["blocks"])
                      for token, ms in layer.items()}
            fit = data.get("correction")
            return cls(data["space"], data["settings"], float(data["stem_ms"]),
                       float(data["head_ms"]), blocks,
                       None if fit is None else (fit["slope"], fit["intercept"]),
                       data.get("calibration", []))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ScarletError(f"cannot read latency table {path}: {err}") from None


def part_models(space: SearchSpace, tokens=None):
    """Yield ``(key, batch-1 Keras model)`` for the stem (key ``"stem"``), the head
    (``"head"``) and each ``(layer index, token)`` block of ``space`` (skip excluded; only
    ``tokens`` when given), built from :mod:`scarlet_tf.blocks` at the layer's input shape."""
    import keras  # TensorFlow-backed: loaded only to build tables (module docstring)

    from scarlet_tf.blocks import Head, MBConv, Stem

    def wrap(side, channels, block):
        inputs = keras.Input((side, side, channels), batch_size=1)
        return keras.Model(inputs, block.unroll(inputs))

    yield "stem", wrap(space.input_size, 3, Stem(space))
    yield "head", wrap(space.head_resolution, space.layers[-1].out_channels, Head(space))
    for layer in space.layers:
        for choice in layer.choices:
            if not choice.is_skip and (tokens is None or choice.token in tokens):
                key = (layer.index, choice.token)
                yield key, wrap(layer.resolution, layer.in_channels, MBConv(layer, choice, "block"))


def _write_tflite(model, path: Path) -> Path:
    from scarlet_tf.export import to_tflite  # TensorFlow-backed (module docstring)

    path.write_bytes(to_tflite(model))
    return path


def measure_archs(archs, space: SearchSpace, runner=None, rounds: int = 3) -> list[float]:
    """End-to-end latency (ms) of each architecture's float32 TFLite model: its fastest run
    over ``rounds`` round-robin passes, so a burst of load on a shared CPU spoils at most
    one pass of a model."""
    from scarlet_tf.models import build_model  # TensorFlow-backed (module docstring)

    runner = runner or HostRunner()
    with tempfile.TemporaryDirectory() as folder:
        paths = [_write_tflite(build_model(arch, space), Path(folder) / f"arch{i}.tflite")
                 for i, arch in enumerate(archs)]
        best = [math.inf] * len(paths)
        for _ in range(rounds):
            best = [min(ms, runner.time(path).min_ms) for ms, path in zip(best, paths)]
    return best


def build_table(space: str | SearchSpace = "scarlet", *, runner=None, calibrate: int = 6,
                seed: int = 0, tokens=None, progress=None, **space_kwargs) -> LatencyTable:
    """Time every part of ``space`` on ``runner`` (default: host, 1 thread) and fit the
    correction on ``calibrate`` random architectures (seeded by ``seed``; only ``tokens``
    and skip when ``tokens`` is given). ``progress(message)`` hears about each part."""
    space = get_space(space, **space_kwargs)
    runner = runner or HostRunner()
    report = progress or (lambda message: None)
    parts = {}
    with tempfile.TemporaryDirectory() as folder:
        for key, model in part_models(space, tokens):
            parts[key] = runner.time(_write_tflite(model, Path(folder) / "part.tflite")).min_ms
            report(f"{key}: {parts[key]:.3f} ms")
    table = LatencyTable(space.describe(), runner.describe(), parts.pop("stem"),
                         parts.pop("head"), parts)
    rng = np.random.default_rng(seed)
    archs = [random_arch(rng, tokens) for _ in range(calibrate)]
    for arch, measured in zip(archs, measure_archs(archs, space, runner)):
        table.calibration.append({"arch": str(arch), "sum_ms": table.sum_ms(arch),
                                  "measured_ms": measured})
    table.correction = fit_correction(table.calibration)
    report(f"correction from {calibrate} architectures: {table.correction}")
    return table


def random_arch(rng, tokens=None) -> Architecture:
    """A random architecture; with ``tokens``, drawn from those tokens (and skip)."""
    if tokens is None:
        return Architecture.random(rng)
    pool = [Choice.parse(t) for t in tokens if t != "skip"]
    return Architecture(tuple(SKIP if can_skip and rng.random() < 1 / 13 else pool[rng.integers(len(pool))]
                              for can_skip in SKIPPABLE))


def fit_correction(calibration: list) -> tuple[float, float] | None:
    """Least-squares ``measured = slope * sum + intercept`` over ``calibration`` records,
    kept only when it lowers their mean absolute relative error (needs >= 3 records)."""
    if len(calibration) < 3:
        return None
    raw = np.array([c["sum_ms"] for c in calibration])
    measured = np.array([c["measured_ms"] for c in calibration])
    slope, intercept = np.polyfit(raw, measured, 1)
    error = lambda predicted: np.mean(np.abs(predicted / measured - 1))  # noqa: E731
    if error(slope * raw + intercept) >= error(raw):
        return None
    return float(slope), float(intercept)


def validate(table: LatencyTable, count: int, *, runner=None, seed: int = 1000,
             tokens=None) -> list[dict]:
    """Predicted against measured latency (ms) of ``count`` random architectures
    (seeded apart from calibration); returns ``{"arch", "predicted_ms", "measured_ms",
    "error"}`` records, ``error`` = predicted / measured - 1."""
    space = get_space(**table.space)
    rng = np.random.default_rng(seed)
    archs = [random_arch(rng, tokens) for _ in range(count)]
    predicted = [table.predict(arch) for arch in archs]
    return [{"arch": str(arch), "predicted_ms": ms, "measured_ms": measured,
             "error": ms / measured - 1}
            for arch, ms, measured in zip(archs, predicted, measure_archs(archs, space, runner))]
