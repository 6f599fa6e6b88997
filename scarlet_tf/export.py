"""TFLite export: conversion, quantization, op checks and parity against Keras.

Conversion traces the model once at batch 1 (XNNPACK needs static shapes), freezes its
variables into constants and converts that concrete function. This gives the same ops
and bit-identical outputs as ``from_keras_model`` / ``from_saved_model`` in about a third
of the time; converting an unfrozen concrete function instead leaves variable reads and
unfolded BatchNorm in the model, several times slower (:func:`lowering_problems` flags it).

Every export is checked: only builtin TFLite ops (no Flex / select-TF ops), h-swish
lowered to HARD_SWISH and pooling to MEAN one for one, and parity against Keras on real
images (see :data:`TOLERANCES`). A failed check raises :class:`ScarletError`.

A freshly initialized network (``random_init``) has no meaningful top-1: its BatchNorm
statistics are first recalibrated on the representative images (so activation ranges,
and int8 scales, are those of real inputs), and its parity is judged by the cosine
similarity of Keras and TFLite logits instead of top-1 agreement.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)

from scarlet_tf import data
from scarlet_tf.cost_model import costs
from scarlet_tf.errors import ScarletError
from scarlet_tf.evaluation import recalibrate_batch_norms
from scarlet_tf.models import build_model
from scarlet_tf.names import QUANTIZATIONS
from scarlet_tf.quiet import native_stderr
from scarlet_tf.rundir import SupernetRun
from scarlet_tf.space import Architecture, SearchSpace
from scarlet_tf.timing import benchmark

# quantize -> (max |logit difference| / max |Keras logit|, min top-1 agreement,
# max top-1 accuracy drop in points of [0, 1], min mean logit cosine of random-init
# models; None where not checked)
TOLERANCES = {
    "none": (1e-4, 0.99, None, 0.999),
    "float16": (1e-2, 0.95, None, 0.99),
    "dynamic": (None, 0.90, 0.03, 0.9),
    "int8": (None, 0.90, 0.03, 0.9),
}

_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def to_tflite(model: keras.Model, *, quantize: str = "none", representative=None,
              int8_io: bool = False) -> bytes:
    """Convert ``model`` (images ``[B, H, W, 3]`` -> logits) to a batch-1 TFLite flatbuffer
    (input ``[1, H, W, 3]``).

    ``quantize``: ``none`` (float32), ``float16`` (float16 weights), ``dynamic`` (int8
    weights, float activations) or ``int8`` (full integer; needs ``representative``, an
    array of float32 images ``[N, H, W, 3]`` for calibration). ``int8_io`` makes an int8
    model's input and output int8 too (otherwise they stay float32).
    """
    if quantize not in QUANTIZATIONS:
        raise ScarletError(f"unknown quantization {quantize!r}; "
                           f"allowed: {', '.join(QUANTIZATIONS)}")
    if int8_io and quantize != "int8":
        raise ScarletError("int8 input/output needs --quantize int8")
    shape = (1, *model.input_shape[1:])
    function = tf.function(lambda images: model(images, training=False))
    frozen = convert_variables_to_constants_v2(
        function.get_concrete_function(tf.TensorSpec(shape, tf.float32, name="image")))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    _configure(converter, quantize, representative, int8_io)
    try:
        return converter.convert()
    except Exception as err:  # the converter raises several unrelated types
        raise ScarletError(f"TFLite conversion failed: {str(err).splitlines()[0]}") from None


def _configure(converter, quantize, representative, int8_io):
    if quantize == "none":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize != "int8":
        return
    if representative is None or len(representative) == 0:
        raise ScarletError("int8 quantization needs representative images")
    converter.representative_dataset = lambda: ([image[None]] for image in representative)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8


def op_counts(flatbuffer: bytes) -> dict[str, int]:
    """Operators of every subgraph by name (``CONV_2D``, ``HARD_SWISH``, custom codes such as
    ``FlexConv2D`` for select-TF ops), read from the flatbuffer itself."""
    model = schema.Model.GetRootAs(flatbuffer, 0)
    names = [_op_name(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
    counts = Counter()
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        counts.update(names[graph.Operators(i).OpcodeIndex()]
                      for i in range(graph.OperatorsLength()))
    return dict(counts.most_common())


def _op_name(code) -> str:
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == schema.BuiltinOperator.CUSTOM:
        return code.CustomCode().decode()
    return _BUILTIN_NAMES[builtin]


def lowering_problems(model: keras.Model, ops: dict[str, int]) -> list[str]:
    """What the converted ``ops`` get wrong for ``model``: non-builtin ops, h-swish not
    lowered to HARD_SWISH one for one, global pooling (squeeze-excite) not lowered to MEAN."""
    problems = [f"non-builtin op {name} (select-TF/Flex or custom)" for name in ops
                if name not in _BUILTIN_NAMES.values() or name == "CUSTOM"]
    problems += [f"{ops[name]} {name} ops (variables not frozen: slow model)"
                 for name in ("VAR_HANDLE", "READ_VARIABLE") if name in ops]
    kinds = Counter(_kind(layer) for layer in _leaf_layers(model))
    for kind, op in (("hard_swish", "HARD_SWISH"), ("pool", "MEAN")):
        if ops.get(op, 0) != kinds[kind]:
            problems.append(f"{kinds[kind]} Keras {kind} layers became {ops.get(op, 0)} {op} ops")
    return problems


def _leaf_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _kind(layer) -> str | None:
    if isinstance(layer, keras.layers.GlobalAveragePooling2D):
        return "pool"
    hard_swish = getattr(layer, "activation", None) is keras.activations.hard_swish
    return "hard_swish" if hard_swish else None


def keras_madds(model: keras.Model) -> int:
    """Mult-adds of a built model's convolutions and dense layers (the paper's convention):
    output pixels times kernel size; for any Keras model, e.g. ``keras.applications``."""
    total = 0
    for layer in _leaf_layers(model):
        kernel = getattr(layer, "kernel", None)
        if isinstance(layer, keras.layers.Dense):
            total += int(np.prod(kernel.shape))
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            total += int(np.prod(layer.output.shape[1:3])) * int(np.prod(kernel.shape))
    return total


@dataclass(frozen=True)
class Parity:
    """TFLite against Keras on ``images`` real images; accuracies are top-1 in [0, 1]
    (None where the dataset's labels are not the model's classes); ``cosine`` is the mean
    over images of the cosine similarity of the two logit vectors, each centered.
    ``random_init``: top-1 figures are reported, not checked; ``cosine`` is."""

    quantize: str
    images: int
    max_abs_diff: float
    max_abs_logit: float
    agreement: float
    keras_accuracy: float | None
    tflite_accuracy: float | None
    cosine: float
    random_init: bool = False

    @property
    def accuracy_drop(self) -> float | None:
        if self.keras_accuracy is None:
            return None
        return self.keras_accuracy - self.tflite_accuracy

    def problems(self) -> list[str]:
        """Broken tolerances of :data:`TOLERANCES`, as sentences (empty when it passes)."""
        rel, agreement, drop, cosine = TOLERANCES[self.quantize]
        found = []
        if rel is not None and self.max_abs_diff > rel * max(self.max_abs_logit, 1.0):
            found.append(f"max |logit difference| {self.max_abs_diff:.3g} > {rel:g} x "
                         f"max |logit| {self.max_abs_logit:.3g}")
        if self.random_init:
            if not self.cosine >= cosine:  # NaN (constant logits) fails too
                found.append(f"mean logit cosine {self.cosine:.3f} < {cosine}")
            return found
        if self.agreement < agreement:
            found.append(f"top-1 agreement {self.agreement:.3f} < {agreement}")
        if drop is not None and self.accuracy_drop is not None and self.accuracy_drop > drop:
            found.append(f"accuracy drop {self.accuracy_drop:.3f} > {drop}")
        return found

    def to_dict(self) -> dict:
        return {**asdict(self), "accuracy_drop": self.accuracy_drop}


def tflite_logits(flatbuffer: bytes, images: np.ndarray) -> np.ndarray:
    """Run the TFLite model (XNNPACK) on float images ``[N, H, W, 3]`` one at a time;
    int8 inputs and outputs are quantized and dequantized. Returns float32 ``[N, classes]``."""
    from ai_edge_litert.interpreter import Interpreter  # heavy: first use only

    with native_stderr():  # LiteRT announces its XNNPACK delegate on fd 2
        interpreter = Interpreter(model_content=flatbuffer)
        interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    rows = []
    for image in images:
        interpreter.set_tensor(source["index"], _quantize(image[None], source))
        interpreter.invoke()
        rows.append(_dequantize(interpreter.get_tensor(target["index"]), target))
    return np.concatenate(rows).astype(np.float32)


def _quantize(x, detail):
    if detail["dtype"] == np.float32:
        return x.astype(np.float32)
    scale, zero = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])


def _dequantize(y, detail):
    if detail["dtype"] == np.float32:
        return y
    scale, zero = detail["quantization"]
    return (y.astype(np.float32) - zero) * scale


def parity(model: keras.Model, flatbuffer: bytes, images: np.ndarray, labels: np.ndarray | None,
           quantize: str = "none", random_init: bool = False) -> Parity:
    """Compare Keras and TFLite logits on ``images`` ``[N, H, W, 3]`` (labels int ``[N]``, or
    None when they are not the model's classes)."""
    expected = np.asarray(model.predict(images, batch_size=64, verbose=0), np.float32)
    got = tflite_logits(flatbuffer, images)
    top_keras, top_tflite = expected.argmax(-1), got.argmax(-1)
    accuracies = [None, None] if labels is None else [float(np.mean(top == labels))
                                                      for top in (top_keras, top_tflite)]
    return Parity(quantize, len(images), float(np.abs(expected - got).max()),
                  float(np.abs(expected).max()), float(np.mean(top_keras == top_tflite)),
                  *accuracies, mean_cosine(expected, got), random_init)


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of the cosine similarity of rows of ``a`` and ``b`` ``[N, C]``, each
    centered (a constant shift of all logits changes no prediction); NaN for a constant row."""
    a, b = a - a.mean(-1, keepdims=True), b - b.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
        return float(np.mean((a * b).sum(-1) / norms))


def real_images(dataset: str, split: str, count: int, image_size: int):
    """Up to ``count`` images ``[N, S, S, 3]`` float32 in [-1, 1] and labels int32 ``[N]``, in a
    fixed order, plus the dataset's number of classes (``scarlet_tf.data``)."""
    ds, info = data.load(dataset, split, batch_size=min(count, 256), image_size=image_size,
                         augment=False, shuffle=False, cache=False)
    images, labels = [], []
    for x, y in ds:
        images.append(x.numpy())
        labels.append(y.numpy())
        if sum(map(len, images)) >= count:
            break
    return np.concatenate(images)[:count], np.concatenate(labels)[:count], info.num_classes


def export(model: keras.Model, out: str | os.PathLike, *, quantize: str = "none",
           data: str = "digits", parity_images: int = 200, calibration_images: int = 100,
           int8_io: bool = False, threads: int = 1, runs: int = 50, metadata: dict | None = None,
           random_init: bool = False) -> dict:
    """Convert, check and write ``out`` plus its sidecar ``out.json``; return the report.

    The report holds ``metadata`` (e.g. arch, space, madds), the quantization, file size
    in bytes, op counts, the parity figures on ``parity_images`` images of ``data``'s test
    split (``calibration_images`` of its train split calibrate int8, and the BatchNorm
    statistics of a ``random_init`` model, set in place) and the host latency
    (:meth:`scarlet_tf.timing.Latency.to_dict`: ``latency_ms`` is the fastest run over
    fresh interpreters, as ``scarlet-tf benchmark`` reports it).
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
              "parity": check.to_dict(),
              "latency": benchmark(out, threads=threads, runs=runs).to_dict()}
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


def model_for(arch: Architecture, space: SearchSpace, *, weights: str | os.PathLike | None = None,
              supernet: SupernetRun | None = None) -> tuple[keras.Model, SearchSpace]:
    """The plain Keras model of ``arch`` and its SearchSpace: loaded from a ``.keras``
    file ``weights`` (in ``space``), extracted from a supernet run (in the run's own
    space, BatchNorm recalibrated on its dataset, stabilizers folded:
    :meth:`SupernetRun.subnet`), or freshly initialized in ``space`` when neither is given."""
    if supernet is not None:
        return supernet.subnet(arch), supernet.space
    if weights is None:
        return build_model(arch, space), space
    model = load_keras(weights)
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    expected = costs(arch, space).params
    if params != expected or model.input_shape[1] != space.input_size:
        raise ScarletError(f"{weights} has {params} parameters and {model.input_shape[1]}px inputs;"
                           f" {arch} in {space.name} (width {space.width}) has {expected} and "
                           f"{space.input_size}px: pass the matching --space/--width/--input-size")
    return model, space
