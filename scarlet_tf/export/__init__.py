"""TFLite export: conversion, quantization, operator checks and parity against Keras.

- :mod:`~scarlet_tf.export.tflite`: :func:`to_tflite`, operator counts and checks;
- :mod:`~scarlet_tf.export.parity`: :class:`Parity` of TFLite against Keras on real images;
- :mod:`~scarlet_tf.export.pipeline`: :func:`export` (checked file and sidecar),
  :func:`convert`, and a trained plain model checked against its architecture
  (:func:`load_plain`).
"""

from scarlet_tf.lazy import lazy_exports

_LAZY = {"to_tflite": "scarlet_tf.export.tflite", "keras_madds": "scarlet_tf.export.tflite",
         "Parity": "scarlet_tf.export.parity",
         "export": "scarlet_tf.export.pipeline", "convert": "scarlet_tf.export.pipeline",
         "load_plain": "scarlet_tf.export.pipeline"}
__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
