"""Stand-alone training: the chosen architecture as a plain Keras model trained with ``fit``
(from scratch, or fine-tuned from its supernet weights), after the search.

- :mod:`~scarlet_tf.standalone.training`: :func:`train_subnet` (resumable; its settings
  are :class:`scarlet_tf.training.configs.SubnetConfig`).
"""

from scarlet_tf.lazy import lazy_exports

_LAZY = {"train_subnet": "scarlet_tf.standalone.training"}
__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
