"""scarlet-tf: SCARLET-NAS (stabilized weight-sharing NAS) in Keras 3 and TensorFlow.

The light parts (search spaces, architectures, costs) import without TensorFlow; the
Keras-backed names below load on first use, so ``scarlet-tf info`` stays fast.
"""

from importlib import import_module

from scarlet_tf.cost_model import costs
from scarlet_tf.errors import ScarletError
from scarlet_tf.space import NAMED, Architecture, Choice, SearchSpace, get_space, resolve_arch

__version__ = "0.1.0"

_LAZY = {
    "build_model": "scarlet_tf.models",
    "Supernet": "scarlet_tf.supernet",
    "SupernetRun": "scarlet_tf.rundir",
    "SupernetConfig": "scarlet_tf.configs",
    "train_supernet": "scarlet_tf.training",
    "Evaluator": "scarlet_tf.evaluation",
    "extract_subnet": "scarlet_tf.folding",
    "SubnetConfig": "scarlet_tf.configs",
    "train_subnet": "scarlet_tf.subnet_training",
    "rank_statistics": "scarlet_tf.ranking",
}

__all__ = ["Architecture", "Choice", "NAMED", "ScarletError", "SearchSpace", "costs",
           "get_space", "resolve_arch", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'scarlet_tf' has no attribute {name!r}")
