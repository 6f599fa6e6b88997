"""Search spaces, architectures and their analytic costs (light: no TensorFlow).

- :mod:`~scarlet_tf.space.choices`: the candidate blocks (:class:`Choice`) and tokens;
- :mod:`~scarlet_tf.space.spaces`: :class:`SearchSpace`, :class:`Architecture`,
  :func:`get_space`, :func:`resolve_arch` and the paper's named models (:data:`NAMED`);
- :mod:`~scarlet_tf.space.costs`: mult-adds, parameters and predicted latency;
- :mod:`~scarlet_tf.space.strata`: stratified architecture samples.
"""

from scarlet_tf.space.choices import ALL_CHOICES, MBCONV_CHOICES, SKIP, Choice
from scarlet_tf.space.costs import ModelCosts, costs
from scarlet_tf.space.spaces import (
    NAMED,
    SPACE_NAMES,
    Architecture,
    Family,
    LayerSpec,
    SearchSpace,
    get_family,
    get_space,
    parse_choice_set,
    resolve_arch,
)
from scarlet_tf.space.strata import STRATA, stratified_archs

__all__ = ["ALL_CHOICES", "MBCONV_CHOICES", "NAMED", "SKIP", "SPACE_NAMES", "STRATA",
           "Architecture", "Choice", "Family", "LayerSpec", "ModelCosts", "SearchSpace",
           "costs", "get_family", "get_space", "parse_choice_set", "resolve_arch",
           "stratified_archs"]
