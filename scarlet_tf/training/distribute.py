"""Choosing the tf.distribute strategy: multi-worker, local GPUs, or CPU replicas."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from scarlet_tf.errors import ScarletError


def cluster_spec() -> dict | None:
    """The ``TF_CONFIG`` cluster when it names more than one worker, else None."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    workers = config.get("cluster", {}).get("worker", [])
    return config if len(workers) > 1 else None


def make_strategy(replicas: int = 1) -> tf.distribute.Strategy:
    """The strategy for this process; call before any other TensorFlow work.

    - ``TF_CONFIG`` describing several workers: MultiWorkerMirroredStrategy (ring
      all-reduce; every worker runs the same command with its own ``task.index``).
    - Local GPUs: MirroredStrategy over all of them (``replicas`` is ignored).
    - CPU only and ``replicas > 1``: the CPU is split into ``replicas`` logical devices
      and MirroredStrategy runs over them (exercises the distributed code path); each op
      then uses its replica's share of the cores (intra-op threads = usable cores /
      ``replicas``), since with all cores per op the replicas contend.
    - Otherwise the default (single-device) strategy.
    """
    if replicas < 1:
        raise ScarletError(f"--replicas must be >= 1, got {replicas}")
    if cluster_spec():
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if tf.config.list_physical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    if replicas == 1:
        return tf.distribute.get_strategy()
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, usable_cores() // replicas))
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != replicas:
            raise ScarletError("--replicas must be set before TensorFlow starts; run "
                               "train-supernet in a fresh process") from None
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(replicas)])


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS reports one, as on
    Linux; else every core)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes outputs (always true on one machine)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not cluster_spec():
        return True
    return resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0)
