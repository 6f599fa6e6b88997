"""Supernet training: the single-path loop and what a run of it is made of.

- :mod:`~scarlet_tf.training.configs`: :class:`SupernetConfig` (and :class:`SubnetConfig`,
  whose training settings it shares);
- :mod:`~scarlet_tf.training.supernet`: :func:`train_supernet` (tf.distribute, resumable);
- :mod:`~scarlet_tf.training.schedule`: steps and learning rate per step;
- :mod:`~scarlet_tf.training.checkpoints`, :mod:`~scarlet_tf.training.distribute`,
  :mod:`~scarlet_tf.training.optimizers`, :mod:`~scarlet_tf.training.samplers`,
  :mod:`~scarlet_tf.training.budget`: its parts.

Reading a finished run is evaluation's (:class:`scarlet_tf.evaluation.runs.SupernetRun`);
training one architecture alone comes after the search (:mod:`scarlet_tf.standalone`).
"""

from scarlet_tf.lazy import lazy_exports

_LAZY = {"SupernetConfig": "scarlet_tf.training.configs",
         "SubnetConfig": "scarlet_tf.training.configs",
         "train_supernet": "scarlet_tf.training.supernet"}
__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
