"""Training: the supernet's single-path loop and a subnet's Keras ``fit``, with what they share.

- :mod:`~scarlet_tf.training.configs`: :class:`SupernetConfig`, :class:`SubnetConfig`;
- :mod:`~scarlet_tf.training.supernet`: :func:`train_supernet` (tf.distribute, resumable);
- :mod:`~scarlet_tf.training.subnet`: :func:`train_subnet`;
- :mod:`~scarlet_tf.training.rundir`: :class:`SupernetRun`, the reader of a run directory;
- :mod:`~scarlet_tf.training.checkpoints`, :mod:`~scarlet_tf.training.distribute`,
  :mod:`~scarlet_tf.training.optimizers`, :mod:`~scarlet_tf.training.samplers`,
  :mod:`~scarlet_tf.training.budget`: their parts.
"""

from scarlet_tf.lazy import lazy_exports

_LAZY = {"SupernetConfig": "scarlet_tf.training.configs",
         "SubnetConfig": "scarlet_tf.training.configs",
         "train_supernet": "scarlet_tf.training.supernet",
         "train_subnet": "scarlet_tf.training.subnet",
         "SupernetRun": "scarlet_tf.training.rundir"}
__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
