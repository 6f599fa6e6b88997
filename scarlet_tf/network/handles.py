"""Variables read and written by resource handle inside traced steps, replica by replica,
and the graph settings and shared constants those steps rely on.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def fast_first_run() -> None:
    """Turn off Grappler's graph rewrites (process-wide): on the switched step they
    lengthen its first run several-fold and make later steps no faster. An opt-in,
    called once before training or scoring a supernet (the commands that do so call it;
    other TensorFlow work in the same process loses the rewrites too)."""
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def constant(value):
    """``value`` as a float32 constant: a Python number (or tuple) becomes one constant
    per (graph, replica), shared by every use (a traced step needs the same few
    constants hundreds of times, each otherwise its own op); a tensor passes
    through. The cache lives on the graph (it holds the graph's tensors, so a cache
    outside would keep every traced graph alive)."""
    if not isinstance(value, (int, float, tuple)) or tf.executing_eagerly():
        return value
    graph = tf.compat.v1.get_default_graph()
    if not hasattr(graph, "scarlet_constants"):
        graph.scarlet_constants = {}
    key = (tf.distribute.get_replica_context(), value)  # None across replicas
    if key not in graph.scarlet_constants:
        graph.scarlet_constants[key] = tf.constant(value, tf.float32)
    return graph.scarlet_constants[key]


def replica_index() -> int:
    """This replica's index among the strategy's replicas (0 without a strategy)."""
    context = tf.distribute.get_replica_context()
    return int(tf.get_static_value(context.replica_id_in_sync_group)) if context else 0


def local_handle(variable, replica: int):
    """The handle of ``variable``'s copy for ``replica`` (eager; Keras or tf variable).
    A worker holds its local copies in replica order, the same count on every worker."""
    tf_variable = variable.value if isinstance(variable, keras.Variable) else variable
    copies = getattr(tf_variable, "values", None) or (tf_variable,)
    return copies[replica % len(copies)].handle


def read_handle(handle, dtype):
    """The current value behind a resource handle."""
    return tf.raw_ops.ReadVariableOp(resource=handle, dtype=dtype)
