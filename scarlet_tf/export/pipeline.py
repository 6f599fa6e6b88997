"""Export a Keras model to a checked TFLite file; load a trained plain model to export.

Every export is checked: only builtin TFLite ops (no Flex / select-TF ops), h-swish
lowered to HARD_SWISH and pooling to MEAN one for one, and parity against Keras on real
images (:mod:`scarlet_tf.export.parity`). A failed check raises :class:`ScarletError`.
A freshly initialized network (``random_init``) first has its BatchNorm statistics
recalibrated on the representative images, so activation ranges, and int8 scales, are
those of real inputs. The ``.tflite`` file gets a JSON sidecar with its architecture,
settings and parity.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from scarlet_tf.errors import ScarletError
from scarlet_tf.evaluation.evaluator import recalibrate_batch_norms
from scarlet_tf.export.parity import parity, real_images
from scarlet_tf.export.tflite import lowering_problems, op_counts, to_tflite
from scarlet_tf.space.costs import costs
from scarlet_tf.space.spaces import Architecture, SearchSpace


def export(model: keras.Model, out: str | os.PathLike, *, quantize: str = "none",
           data: str = "digits", parity_images: int = 200, calibration_images: int = 100,
           int8_io: bool = False, metadata: dict | None = None,
           random_init: bool = False) -> dict:
    """Convert, check and write ``out`` plus its sidecar ``out.json``; return the report.

    The report holds ``metadata`` (e.g. arch, space, madds), the quantization, file size
    in bytes, op counts and the parity figures on ``parity_images`` images of ``data``'s
    test split (``calibration_images`` of its train split calibrate int8, and the
    BatchNorm statistics of a ``random_init`` model, set in place). Timing is the latency
    stage's (:func:`scarlet_tf.latency.timing.time_export` adds it to the sidecar).
    Raises ScarletError, writing nothing, when any check fails.
    """
    size = model.input_shape[1]
    flatbuffer = convert(model, quantize=quantize, data=data,
                         calibration_images=calibration_images, int8_io=int8_io,
                         random_init=random_init)
    ops = op_counts(flatbuffer)
    problems = lowering_problems(model, ops)
    images, labels, classes = real_images(data, "test", parity_images, size)
    labels = labels if classes == model.output_shape[-1] else None
    check = parity(model, flatbuffer, images, labels, quantize, random_init)
    problems += check.problems()
    if problems:
        raise ScarletError(f"TFLite export check failed ({quantize}): {'; '.join(problems)}")
    Path(out).write_bytes(flatbuffer)
    report = {**(metadata or {}), "quantize": quantize, "int8_io": int8_io,
              "input_shape": [1, size, size, 3], "size_bytes": len(flatbuffer), "ops": ops,
              "parity": check.to_dict()}
    sidecar(out).write_text(json.dumps(report, indent=2) + "\n")
    return report


def convert(model: keras.Model, *, quantize: str = "none", data: str = "digits",
            calibration_images: int = 100, int8_io: bool = False,
            random_init: bool = False) -> bytes:
    """The TFLite flatbuffer :func:`export` writes for ``model``: ``calibration_images``
    of ``data``'s train split calibrate int8 and, for a ``random_init`` model, set its
    BatchNorm statistics first (in place). Latency tables convert the architectures they
    time end to end with this too (as ``export-tflite --random-init``), so a table and
    ``benchmark`` time the same model."""
    representative = None
    if quantize == "int8" or random_init:
        representative = real_images(data, "train", calibration_images,
                                     model.input_shape[1])[0]
    if random_init:
        recalibrate_random_init(model, representative)
    return to_tflite(model, quantize=quantize, representative=representative, int8_io=int8_io)


def recalibrate_random_init(model: keras.Model, images: np.ndarray) -> None:
    """Set a freshly initialized ``model``'s BatchNorm statistics to those of ``images``
    ``[N, H, W, 3]`` (batches of 50), so its activations, logits and int8 scales are
    those of real inputs (initial statistics make logits vanish, ~1e-15, at 224px)."""
    recalibrate_batch_norms(model, [tf.constant(images[i:i + 50])
                                    for i in range(0, len(images), 50)])


def sidecar(path: str | os.PathLike) -> Path:
    """The JSON written next to an exported model: ``model.tflite`` -> ``model.tflite.json``."""
    return Path(f"{os.fspath(path)}.json")


def read_sidecar(path: str | os.PathLike) -> dict:
    """The export report of ``path``, or ``{}`` when there is none."""
    try:
        return json.loads(sidecar(path).read_text())
    except (OSError, ValueError):
        return {}


def load_keras(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` model in Keras safe mode (no arbitrary code from the file)."""
    if not Path(path).is_file():
        raise ScarletError(f"weights file not found: {path}")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises ValueError, TypeError, zipfile errors, ...
        first_line = str(err).splitlines()[0]
        raise ScarletError(f"cannot load {path} as a .keras model: {first_line}") from None


def load_plain(weights: str | os.PathLike, arch: Architecture, space: SearchSpace) -> keras.Model:
    """The trained plain Keras model of ``arch`` in ``space`` from the ``.keras`` file
    ``weights``; refused in one line when its parameters or input size are another
    architecture's or space's."""
    model = load_keras(weights)
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    expected = costs(arch, space).params
    if params != expected or model.input_shape[1] != space.input_size:
        raise ScarletError(f"{weights} has {params} parameters and {model.input_shape[1]}px inputs;"
                           f" {arch} in {space.name} (width {space.width}) has {expected} and "
                           f"{space.input_size}px: pass the matching --space/--width/--input-size")
    return model
