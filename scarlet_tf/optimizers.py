"""Optimizers that update only the choices a step trained (no drift of unselected weights).

Keras optimizers move every variable on every step (momentum, weight decay), which in a
supernet would drift the weights of choices that were not sampled. These update the
shared stem/head always, and in each searchable layer only the sampled choice, chosen
with a switch on the path tensor inside the traced step. Slots are created under the
caller's distribution strategy; updates run in replica context on all-reduced gradients,
so every replica applies the same update to its own copy.
"""

from __future__ import annotations

import tensorflow as tf

from scarlet_tf.errors import ScarletError

OPTIMIZERS = ("sgd", "rmsprop")


class MaskedOptimizer:
    """Base: per-variable slots, L2 weight decay on kernels, masked application.

    ``weight_decay`` adds ``weight_decay * w`` to the gradient of every kernel (rank > 1);
    BatchNorm parameters and biases are not decayed.
    """

    slot_names: tuple[str, ...] = ()

    def __init__(self, supernet, weight_decay: float = 0.0):
        self.supernet = supernet
        self.weight_decay = weight_decay
        self.shared, self.per_layer = supernet.variable_groups()
        self.slots = {}
        for variable in supernet.trainable_weights:
            self.slots[id(variable)] = [
                tf.Variable(tf.zeros(variable.shape, variable.dtype), trainable=False,
                            name=f"{variable.path.replace('/', '_')}_{slot}")
                for slot in self.slot_names]

    def slot_variables(self) -> list[tf.Variable]:
        return [v for slots in self.slots.values() for v in slots]

    def update(self, variable, grad, slots, lr):
        raise NotImplementedError

    def _apply_group(self, variables, grads, lr):
        for variable, grad in zip(variables, grads):
            if self.weight_decay and len(variable.shape) > 1:
                grad = grad + self.weight_decay * variable.value
            self.update(variable, grad, self.slots[id(variable)], lr)
        return tf.constant(0)

    def apply(self, grads_by_id: dict, lr, path=None):
        """Update shared variables, and per layer the choice ``path[l]`` (all if None).

        ``grads_by_id`` maps ``id(variable)`` to its (all-reduced) gradient; ``lr`` is a
        scalar tensor; ``path`` an int32 tensor [num_layers].
        """
        pick = lambda vs: [grads_by_id[id(v)] for v in vs]  # noqa: E731
        self._apply_group(self.shared, pick(self.shared), lr)
        for index, choices in enumerate(self.per_layer):
            if path is None:
                for vs in choices:
                    self._apply_group(vs, pick(vs), lr)
            else:
                tf.switch_case(path[index], [
                    lambda vs=vs: self._apply_group(vs, pick(vs), lr) for vs in choices])


class MaskedSGD(MaskedOptimizer):
    """SGD with Nesterov momentum (Keras' formula): m = mu*m - lr*g; w += mu*m - lr*g."""

    slot_names = ("momentum",)

    def __init__(self, supernet, weight_decay=0.0, momentum: float = 0.9):
        super().__init__(supernet, weight_decay)
        self.momentum = momentum

    def update(self, variable, grad, slots, lr):
        (velocity,) = slots
        velocity.assign(self.momentum * velocity - lr * grad)
        variable.assign_add(self.momentum * velocity - lr * grad)


class MaskedRMSProp(MaskedOptimizer):
    """RMSProp with momentum (MnasNet recipe: rho 0.9, momentum 0.9, epsilon 1e-3)."""

    slot_names = ("mean_square", "momentum")

    def __init__(self, supernet, weight_decay=0.0, rho=0.9, momentum=0.9, epsilon=1e-3):
        super().__init__(supernet, weight_decay)
        self.rho, self.momentum, self.epsilon = rho, momentum, epsilon

    def update(self, variable, grad, slots, lr):
        mean_square, velocity = slots
        mean_square.assign(self.rho * mean_square + (1 - self.rho) * tf.square(grad))
        velocity.assign(self.momentum * velocity
                        + lr * grad / tf.sqrt(mean_square + self.epsilon))
        variable.assign_sub(velocity)


def make_optimizer(name: str, supernet, weight_decay: float = 0.0) -> MaskedOptimizer:
    """``sgd`` (Nesterov momentum 0.9) or ``rmsprop``; call under the strategy's scope."""
    classes = {"sgd": MaskedSGD, "rmsprop": MaskedRMSProp}
    if name not in classes:
        raise ScarletError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")
    return classes[name](supernet, weight_decay)
