"""Parity of a TFLite model against its Keras model on real images.

See :data:`TOLERANCES` for what each quantization must keep. A freshly initialized
network (``random_init``) has no meaningful top-1: its parity is judged by the cosine
similarity of Keras and TFLite logits instead of top-1 agreement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np

from scarlet_tf import data
from scarlet_tf.quiet import native_stderr

# quantize -> (max |logit difference| / max |Keras logit|, min top-1 agreement,
# max top-1 accuracy drop in points of [0, 1], min mean logit cosine of random-init
# models; None where not checked)
TOLERANCES = {
    "none": (1e-4, 0.99, None, 0.999),
    "float16": (1e-2, 0.95, None, 0.99),
    "dynamic": (None, 0.90, 0.03, 0.9),
    "int8": (None, 0.90, 0.03, 0.9),
}


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
