"""Latency lookup tables: measure a space's parts once, predict any architecture.

A :class:`LatencyTable` holds the measured latency (ms) of the stem, the head and every
(layer index, choice token) block of a search space, each timed as its own small TFLite
model built from the same block classes as the real network; an identity skip costs 0 (a
projection skip is a part of its own). Every model is timed with
:func:`scarlet_tf.timing.measure`, the fastest run over fresh interpreters: the latency
``scarlet-tf benchmark`` reports, and the table records the protocol's settings so
``benchmark --table`` times with them. It predicts a whole architecture from the sum of
its parts plus a correction for what the sum misses (a model's fixed overhead, each
part's own invoke overhead, kernel sizes that run at another speed in a network than
alone), fitted on a stratified set of architectures timed end to end:
uniform draws alone all look alike, while a latency-limited search goes to the corners
(all kernel 3, all kernel 7, many skips).

Reading a table and predicting from it is light (no TensorFlow); building or validating
one imports the TensorFlow-backed model and export modules when it starts. Whole
architectures (calibration, validation) are converted as ``export-tflite --random-init``
converts them (:func:`scarlet_tf.export.convert`). Timing itself is
:mod:`scarlet_tf.timing`'s (host) or :mod:`scarlet_tf.android`'s (adb).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.space import (
    ALL_CHOICES,
    MBCONV_CHOICES,
    SKIP,
    Architecture,
    Choice,
    SearchSpace,
    get_space,
    resolve_arch,
)
from scarlet_tf.timing import PROTOCOL_FIELDS, STATISTIC, HostRunner, cpu_id, cpu_model, measure


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
        """The :class:`~scarlet_tf.timing.Protocol` keywords that time a model as this
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


def part_models(space: SearchSpace):
    """Yield ``(key, batch-1 Keras model)`` for the stem (key ``"stem"``), the head
    (``"head"``) and each ``(layer index, token)`` block of ``space`` (an identity skip
    excluded, a projection skip included), built from :mod:`scarlet_tf.blocks` at the
    layer's input shape."""
    import keras  # TensorFlow-backed: loaded only to build tables (module docstring)

    from scarlet_tf.blocks import Head, MBConv, Projection, Stem

    def wrap(side, channels, block):
        inputs = keras.Input((side, side, channels), batch_size=1)
        return keras.Model(inputs, block.unroll(inputs))

    yield "stem", wrap(space.input_size, 3, Stem(space))
    yield "head", wrap(space.head_resolution, space.layers[-1].out_channels, Head(space))
    for layer in space.layers:
        for choice in layer.choices:
            if choice.is_skip and not layer.skip_projects:
                continue
            block = Projection(layer, "block") if choice.is_skip else MBConv(layer, choice, "block")
            yield (layer.index, choice.token), wrap(layer.resolution, layer.in_channels, block)


def _write_tflite(model, path: Path) -> Path:
    from scarlet_tf.export import to_tflite  # TensorFlow-backed (module docstring)

    path.write_bytes(to_tflite(model))
    return path


def latencies_ms(paths, runner) -> list[float]:
    """The latency (ms, :func:`scarlet_tf.timing.measure`) of each TFLite file."""
    return [timed.latency_ms for timed in measure(paths, runner)]


def measure_archs(archs, space: SearchSpace, runner=None, progress=None) -> list[float]:
    """End-to-end latency (ms) of each architecture's float32 TFLite model, converted
    and timed as ``export-tflite --random-init`` then ``benchmark`` do;
    ``progress(message)`` hears about each conversion."""
    report = progress or (lambda message: None)
    with tempfile.TemporaryDirectory() as folder:
        paths = convert_archs(archs, space, Path(folder), report)
        report(f"timing {len(paths)} architectures")
        return latencies_ms(paths, runner or HostRunner())


def convert_archs(archs, space: SearchSpace, folder: Path, progress=None) -> list[Path]:
    """Each architecture's float32 TFLite file in ``folder``, freshly initialized and
    converted by :func:`scarlet_tf.export.convert` as ``export-tflite --random-init``
    does (BatchNorm statistics set on digits images); ``progress(message)`` hears of each."""
    # TensorFlow-backed (module docstring)
    from scarlet_tf.export import convert, model_for

    paths = []
    for i, arch in enumerate(archs):
        paths.append(folder / f"arch{i}.tflite")
        paths[-1].write_bytes(convert(model_for(arch, space)[0], random_init=True))
        if progress:
            progress(f"converted architecture {i + 1}/{len(archs)}")
    return paths


def build_table(space: str | SearchSpace = "scarlet", *, runner=None, calibrate: int = 40,
                seed: int = 0, progress=None, **space_kwargs) -> LatencyTable:
    """Time every part of ``space`` on ``runner`` (default: host, 1 thread) and fit the
    correction on ``calibrate`` stratified architectures (:func:`stratified_archs`,
    seeded by ``seed``) timed end to end. ``progress(message)`` hears about each part."""
    space = get_space(space, **space_kwargs)
    runner = runner or HostRunner()
    report = progress or (lambda message: None)
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for key, model in part_models(space):
            paths[key] = _write_tflite(model, Path(folder) / f"part{len(paths)}.tflite")
            report(f"converted {key}")
        report(f"timing {len(paths)} parts")
        parts = dict(zip(paths, latencies_ms(list(paths.values()), runner)))
    table = LatencyTable(space.describe(), runner.describe(), parts.pop("stem"),
                         parts.pop("head"), parts)
    archs = stratified_archs(space, calibrate, seed)
    table.calibration = [{"arch": str(arch), "sum_ms": table.sum_ms(arch), "measured_ms": ms}
                         for arch, ms in zip(archs, measure_archs(archs, space, runner, report))]
    table.correction = fit_correction(table, table.calibration)
    report(f"correction from {calibrate} architectures: {table.correction}")
    return table


STRATA = ("uniform", "all-k3", "all-k7", "skip-heavy", "mixed")


def stratified_archs(space: SearchSpace, count: int, seed: int) -> list[Architecture]:
    """``count`` architectures of ``space`` drawn from :data:`STRATA` in turn: uniform per
    layer; every block kernel 3 (or 7); 4 or more skips; and per-architecture random
    preferences among the choices (Dirichlet, any skip rate). A stratum the space cannot
    make (no k7 choice) falls back to uniform."""
    rng = np.random.default_rng(seed)
    return [Architecture(tuple(_draw(rng, STRATA[i % len(STRATA)], space)))
            for i in range(count)]


def _draw(rng, stratum: str, space: SearchSpace) -> list[Choice]:
    """One architecture's choices (one per layer) of ``stratum``."""
    skips = np.zeros(len(space.layers), bool)
    skippable = [layer.index for layer in space.layers if SKIP in layer.choices]
    if stratum == "skip-heavy" and len(skippable) >= 4:
        skips[rng.choice(skippable, rng.integers(4, len(skippable) + 1), replace=False)] = True
    weights = rng.dirichlet(np.full(len(MBCONV_CHOICES), 0.3)) if stratum == "mixed" else None
    skip_rate = rng.uniform(0, 0.5) if stratum == "mixed" else 1 / len(ALL_CHOICES)
    kernel = {"all-k3": 3, "all-k7": 7}.get(stratum)
    chosen = []
    for layer in space.layers:
        blocks = [c for c in layer.choices if not c.is_skip]
        pool = [c for c in blocks if c.kernel == kernel] or blocks
        if skips[layer.index] or (stratum != "skip-heavy" and layer.index in skippable
                                  and rng.random() < skip_rate):
            chosen.append(SKIP)
        elif weights is not None:
            p = np.array([weights[MBCONV_CHOICES.index(c)] for c in pool])
            chosen.append(pool[rng.choice(len(pool), p=p / p.sum())])
        else:
            chosen.append(pool[rng.integers(len(pool))])
    return chosen


def fit_correction(table: LatencyTable, calibration: list) -> dict | None:
    """Least squares of the relative error of ``table``'s prediction over ``calibration``
    records (``{"arch", "measured_ms"}``) for the correction's terms (class docstring):
    None with fewer records than twice the terms, or when it does not lower their mean
    absolute relative error below the plain sum's."""
    rows = [table.terms(c["arch"]) for c in calibration]
    groups = sorted({k for row in rows for k in row if k != "blocks"})
    if len(calibration) < 2 * (len(groups) + 2):
        return None
    fixed = table.stem_ms + table.head_ms
    measured = np.array([c["measured_ms"] for c in calibration])
    x = np.array([[1.0, row["blocks"]] + [row.get(k, 0.0) for k in groups] for row in rows])
    coef = np.linalg.lstsq(x / measured[:, None], (measured - fixed) / measured, rcond=None)[0]
    error = lambda predicted: np.mean(np.abs(predicted / measured - 1))  # noqa: E731
    if error(fixed + x @ coef) >= error(fixed + x[:, 2:].sum(1)):
        return None
    return {"intercept": float(coef[0]), "per_block": float(coef[1]),
            "scale": {k: float(v) for k, v in zip(groups, coef[2:])}}


def validate(table: LatencyTable, count: int, *, runner=None, seed: int = 1000,
             recheck: int = 10, progress=None) -> tuple[list[dict], float | None]:
    """Predicted against measured latency (ms) of ``count`` stratified architectures
    (:func:`stratified_archs`, seeded apart from calibration).

    Returns ``(records, host_speed)``: records ``{"arch", "stratum", "predicted_ms",
    "measured_ms", "error"}`` with ``error`` = predicted / measured - 1; ``host_speed`` is
    how much faster the host runs now than when the table was built: the median of
    build-time / now ms of the table's first ``recheck`` calibration architectures, timed
    again in the same passes (None without them). A shared host's speed shifts by several
    percent within minutes, so records then also carry ``adjusted_error``, the error with
    that factor removed. ``runner`` defaults to the host with the table's settings
    (:meth:`LatencyTable.protocol`). ``progress(message)`` hears about each conversion."""
    runner = runner or HostRunner(**table.protocol({}))
    space = get_space(**table.space)
    archs = stratified_archs(space, count, seed)
    again = table.calibration[:recheck]
    measured = measure_archs([resolve_arch(c["arch"], space) for c in again] + archs, space,
                             runner, progress)
    speed = (float(np.median([c["measured_ms"] / ms for c, ms in zip(again, measured)]))
             if again else None)
    records = []
    for i, (arch, ms) in enumerate(zip(archs, measured[len(again):])):
        predicted = table.predict(arch)
        records.append({"arch": str(arch), "stratum": STRATA[i % len(STRATA)],
                        "predicted_ms": predicted, "measured_ms": ms, "error": predicted / ms - 1})
        if speed is not None:
            records[-1]["adjusted_error"] = predicted / speed / ms - 1
    return records, speed


def accuracy(records: list[dict], key: str = "error") -> dict:
    """Fractions of ``records`` whose ``key`` (a relative error) is within ±10% and ±5%,
    mean and max of its absolute value."""
    errors = np.abs([r[key] for r in records])
    return {"count": len(errors), "within_10": float(np.mean(errors <= 0.10)),
            "within_5": float(np.mean(errors <= 0.05)), "mean_abs": float(errors.mean()),
            "max_abs": float(errors.max())}
