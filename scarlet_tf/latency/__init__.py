"""Latency: time TFLite models on the host or a phone, and tables that predict it.

- :mod:`~scarlet_tf.latency.timing`: :func:`benchmark` (the reported latency) and the host;
- :mod:`~scarlet_tf.latency.android`: :class:`AdbRunner`, timing on a phone through adb;
- :mod:`~scarlet_tf.latency.table`: :class:`LatencyTable`, a prediction from its parts
  (light: no TensorFlow);
- :mod:`~scarlet_tf.latency.builder`: :func:`build_table` and :func:`validate`.
"""

from scarlet_tf.lazy import lazy_exports

_LAZY = {"benchmark": "scarlet_tf.latency.timing", "LatencyTable": "scarlet_tf.latency.table",
         "build_table": "scarlet_tf.latency.builder", "validate": "scarlet_tf.latency.builder",
         "AdbRunner": "scarlet_tf.latency.android"}
__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
