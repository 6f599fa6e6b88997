"""Latency lookup tables: measure a space's parts once, predict any architecture.

A :class:`LatencyTable` holds the measured latency (ms) of the stem, the head and every
(layer index, choice token) block of a search space, each timed as its own small TFLite
model built from the same block classes as the real network; an identity skip costs 0 (a
projection skip is a part of its own). Every model is timed with
:func:`scarlet_tf.latency.timing.measure`, the fastest run over fresh interpreters:
the latency ``scarlet-tf benchmark`` reports, and the table records the protocol's settings so
``benchmark --table`` times with them. It predicts a whole architecture from the sum of
its parts plus a correction for what the sum misses (a model's fixed overhead, each
part's own invoke overhead, kernel sizes that run at another speed in a network than
alone), fitted on a stratified set of architectures timed end to end:
uniform draws alone all look alike, while a latency-limited search goes to the corners
(all kernel 3, all kernel 7, many skips).

Reading a table and predicting from it is light (no TensorFlow), so costs and the
search use it freely; :mod:`scarlet_tf.latency.builder` builds and validates tables.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from scarlet_tf.errors import ScarletError
from scarlet_tf.latency.timing import (
    PROTOCOL_FIELDS,
    STATISTIC,
    cpu_id,
    cpu_model,
)
from scarlet_tf.space.choices import Choice
from scarlet_tf.space.spaces import SearchSpace, resolve_arch


@dataclass
class LatencyTable:
    """Measured latencies (ms) of a space's parts; ``blocks[(layer index, token)]``.

    ``correction`` maps what the sum of parts misses, fitted on end-to-end measurements
    (``calibration``); None for the plain sum. Its terms, in ms: ``intercept`` (per
    model: invoke overhead, stem/head in context), ``per_block`` (per block kept: each
    part's own invoke overhead, counted once too often) and ``scale`` (group -> factor on
    the parts' ms, groups by kernel size: XNNPACK's depthwise kernels run faster or slower
    inside a network than alone). Every term is per layer, so a prediction stays a sum
    over layers (the search's cost bounds rely on it).
    """

    space: dict
    settings: dict
    stem_ms: float
    head_ms: float
    blocks: dict = field(default_factory=dict)
    correction: dict | None = None
    calibration: list = field(default_factory=list)

    def terms(self, arch) -> dict[str, float]:
        """``{"blocks": count kept, group: sum of those blocks' ms}`` of ``arch``."""
        arch = resolve_arch(arch, self.space["name"])
        found = {"blocks": 0.0}
        for index, choice in enumerate(arch.choices):
            if choice.is_skip and (index, choice.token) not in self.blocks:
                continue  # an identity (a projection skip has its own part)
            if (index, choice.token) not in self.blocks:
                raise ScarletError(f"latency table has no entry for layer {index + 1} "
                                   f"{choice.token}")
            found["blocks"] += 1
            key = group(choice)
            found[key] = found.get(key, 0.0) + self.blocks[(index, choice.token)]
        return found

    def sum_ms(self, arch) -> float:
        """Stem + head + the blocks of ``arch`` (skip = 0), uncorrected."""
        found = self.terms(arch)
        return self.stem_ms + self.head_ms + sum(v for k, v in found.items() if k != "blocks")

    def predict(self, arch, space: SearchSpace | None = None) -> float:
        """Predicted latency of ``arch`` in ms; checks ``space`` is the table's when given."""
        if space is not None:
            self.check_space(space)
        if self.correction is None:
            return self.sum_ms(arch)
        fit, found = self.correction, self.terms(arch)
        fixed = self.stem_ms + self.head_ms + fit["intercept"]
        return (fixed + fit["per_block"] * found.pop("blocks")
                + sum(fit["scale"].get(k, 1.0) * ms for k, ms in found.items()))

    def check_space(self, space: SearchSpace) -> None:
        """ScarletError unless the table was built for ``space`` (name, width, classes,
        input size and choices all equal)."""
        if space.describe() != self.space:
            raise ScarletError(f"latency table is for {_describe(self.space)}, not "
                               f"{_describe(space.describe())}; build one with `scarlet-tf "
                               f"latency-table` and that space's --space/--width/--input-size")

    def to_dict(self) -> dict:
        layers = [{} for _ in range(max((i for i, _ in self.blocks), default=-1) + 1)]
        for (index, token), ms in sorted(self.blocks.items()):
            layers[index][token] = ms
        return {"space": self.space, "settings": self.settings, "stem_ms": self.stem_ms,
                "head_ms": self.head_ms, "blocks": layers, "correction": self.correction,
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
            if fit is not None and not {"intercept", "per_block", "scale"} <= set(fit):
                raise ValueError("correction lacks intercept/per_block/scale (an older table:"
                                 " build it again)")
            table = cls(data["space"], data["settings"], float(data["stem_ms"]),
                        float(data["head_ms"]), blocks, fit, data.get("calibration", []))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ScarletError(f"cannot read latency table {path}: {err}") from None
        table.warn_other_host(path)
        table.warn_unknown_statistic(path)
        return table

    def warn_unknown_statistic(self, path) -> None:
        """One warning when the table does not record its timing protocol (built by an
        older scarlet-tf): which statistic its ms are is then unknown."""
        missing = [k for k in PROTOCOL_FIELDS if k not in self.settings]
        if self.settings.get("statistic") != STATISTIC or missing:
            warnings.warn(f"latency table {path} does not record how it was timed (an older "
                          f"table: no {', '.join(missing) or 'statistic'}); its statistic is "
                          f"unknown and may not be the latency `scarlet-tf benchmark` reports:"
                          f" build it again with `scarlet-tf latency-table`", stacklevel=1)

    def protocol(self, explicit: dict, target: str = "host") -> dict:
        """The :class:`~scarlet_tf.latency.timing.Protocol` keywords that time a model as this
        table was timed: ``explicit`` (what the user set) filled in with the table's
        recorded settings. ScarletError when an explicit value or the ``target`` (``host``
        or ``android``) differs from the table's: its prediction would be of another
        quantity."""
        if self.settings.get("target", target) != target:
            raise ScarletError(f"the latency table was timed on {self.settings['target']}, "
                               f"not {target}: time on the table's target")
        recorded = {k: self.settings[k] for k in PROTOCOL_FIELDS if k in self.settings}
        for key, value in explicit.items():
            if key in recorded and recorded[key] != value:
                raise ScarletError(f"the latency table was timed with --{key} {recorded[key]},"
                                   f" not {value}: drop --{key} (the table's settings are the "
                                   f"defaults) or build a table with --{key} {value}")
        return {**explicit, **recorded}

    def warn_other_host(self, path) -> None:
        """Warn when a host table was timed on another CPU than this machine's (model name
        and, where recorded, generation and vector extension): its ms do not carry over."""
        if self.settings.get("target") != "host":
            return
        here = {"cpu_model": cpu_model(), "cpu_id": cpu_id()}
        keys = [k for k in here if k in self.settings]
        if any(self.settings[k] != here[k] for k in keys):
            theirs, ours = (", ".join(str(d[k]) for k in keys) for d in (self.settings, here))
            warnings.warn(f"latency table {path} was timed on {theirs}; this host is {ours}: "
                          f"its milliseconds may not hold here (build one here with "
                          f"`scarlet-tf latency-table`)", stacklevel=1)


def group(choice: Choice) -> str:
    """The correction group of a block: its kernel size, ``k3`` / ``k5`` / ``k7``, or
    ``k1`` for a projection skip."""
    return f"k{choice.kernel or 1}"


def _describe(space: dict) -> str:
    """``scarlet-cifar width 0.5 input 32 classes 10`` (choices appended when restricted)."""
    text = (f"{space.get('name')} width {space.get('width')} input {space.get('input_size')} "
            f"classes {space.get('num_classes')}")
    return text + (f" choices {space['choices']}" if "choices" in space else "")
