"""Build and validate a latency table by timing TFLite models of a space's parts.

Every part (stem, head, each (layer, choice) block) becomes its own small TFLite model
built from the same block classes as the real network; whole architectures
(calibration, validation) are converted as ``export-tflite --random-init`` converts them
(:func:`scarlet_tf.export.pipeline.convert`). Timing is
:func:`scarlet_tf.latency.timing.measure` through a runner: the host's
(:class:`~scarlet_tf.latency.timing.HostRunner`) or a phone's
(:class:`~scarlet_tf.latency.android.AdbRunner`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import numpy as np

from scarlet_tf.export.pipeline import convert
from scarlet_tf.export.tflite import to_tflite
from scarlet_tf.latency.table import LatencyTable
from scarlet_tf.latency.timing import HostRunner, measure
from scarlet_tf.network.blocks import Head, MBConv, Projection, Stem
from scarlet_tf.network.models import build_model
from scarlet_tf.space.spaces import SearchSpace, get_space, resolve_arch
from scarlet_tf.space.strata import STRATA, stratified_archs


def part_models(space: SearchSpace):
    """Yield ``(key, batch-1 Keras model)`` for the stem (key ``"stem"``), the head
    (``"head"``) and each ``(layer index, token)`` block of ``space`` (an identity skip
    excluded, a projection skip included), built from :mod:`scarlet_tf.network.blocks` at the
    layer's input shape."""
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
    path.write_bytes(to_tflite(model))
    return path


def latencies_ms(paths, runner) -> list[float]:
    """The latency (ms, :func:`scarlet_tf.latency.timing.measure`) of each TFLite file."""
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
    converted by :func:`scarlet_tf.export.pipeline.convert` as ``export-tflite --random-init``
    does (BatchNorm statistics set on digits images); ``progress(message)`` hears of each."""
    paths = []
    for i, arch in enumerate(archs):
        paths.append(folder / f"arch{i}.tflite")
        paths[-1].write_bytes(convert(build_model(arch, space), random_init=True))
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
