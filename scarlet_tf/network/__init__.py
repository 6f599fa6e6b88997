"""The networks: Keras blocks, plain models of one architecture, and the supernet.

- :mod:`~scarlet_tf.network.blocks`: stem, MBConv, squeeze-excite, head, stabilizer;
- :mod:`~scarlet_tf.network.models`: :func:`build_model`, one architecture's plain model;
- :mod:`~scarlet_tf.network.supernet`: :class:`Supernet`, every choice of every layer;
- :mod:`~scarlet_tf.network.switching`: the supernet's path switching by variable handle,
  with :mod:`~scarlet_tf.network.handles` (reads per replica, graph constants) and
  :mod:`~scarlet_tf.network.switched_ops` (the generic block's ops).
"""

from scarlet_tf.lazy import lazy_exports

_LAZY = {"build_model": "scarlet_tf.network.models", "Supernet": "scarlet_tf.network.supernet"}
__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
