"""The library's named settings, registered once in one light module (no TensorFlow):
the library checks values against them, the command line offers them as choices without
loading TensorFlow, and a name that selects a class names it here (imported on use)."""

from __future__ import annotations

import importlib

from scarlet_tf.errors import ScarletError

# name -> "module:class", built as cls(...) by the module's make_* function
OPTIMIZERS = {"sgd": "scarlet_tf.training.optimizers:MaskedSGD",
              "rmsprop": "scarlet_tf.training.optimizers:MaskedRMSProp"}
SAMPLERS = {"uniform": "scarlet_tf.training.samplers:UniformSampler",
            "fair": "scarlet_tf.training.samplers:FairSampler"}
STABILIZERS = ("learnable", "none")  # scarlet_tf.network.supernet
STABILIZER_INITS = ("identity", "he_normal", "glorot_uniform")  # scarlet_tf.network.blocks
DECAYS = ("cosine", "exponential")  # scarlet_tf.training.schedule.WarmupDecay
QUANTIZATIONS = ("none", "float16", "dynamic", "int8")  # scarlet_tf.export
DEFAULT_RECAL_BATCHES = 20  # x 64 images: about 1.3k, the whole digits train split


def checked(kind: str, value: str, allowed) -> str:
    """``value`` when it is one of ``allowed``; else ScarletError "unknown KIND 'VALUE';
    allowed: ..."."""
    if value not in allowed:
        raise ScarletError(f"unknown {kind} {value!r}; allowed: {', '.join(allowed)}")
    return value


def registered(kind: str, table: dict[str, str], name: str):
    """The class that ``table`` (e.g. :data:`OPTIMIZERS`) registers as ``name``."""
    module, _, attribute = table[checked(kind, name, table)].partition(":")
    return getattr(importlib.import_module(module), attribute)
