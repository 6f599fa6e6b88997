"""TFLite conversion and quantization, with checks of the converted operators.

Conversion traces the model once at batch 1 (XNNPACK needs static shapes), freezes its
variables into constants and converts that concrete function. This gives the same ops
and bit-identical outputs as ``from_keras_model`` / ``from_saved_model`` in a fraction of
the time; converting an unfrozen concrete function instead leaves variable reads and
unfolded BatchNorm in the model, several times slower (:func:`lowering_problems` flags
it). :func:`keras_madds` counts a built Keras model's mult-adds, the model-side check of
:func:`scarlet_tf.space.costs.costs`.
"""

from __future__ import annotations

from collections import Counter

import keras
import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)

from scarlet_tf.errors import ScarletError
from scarlet_tf.names import QUANTIZATIONS, checked

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
    checked("quantization", quantize, QUANTIZATIONS)
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
