"""Optimizers that update only the choices a step trained (no drift of unselected weights).

Keras optimizers move every variable on every step (momentum, weight decay), which in a
supernet would drift the weights of choices that were not sampled. These update the
shared stem/head always, and in each searchable layer only the picked choice, through
the variable handles :mod:`scarlet_tf.network.switching` picked for the step. Slots are created
under the caller's distribution strategy; updates run in replica context on all-reduced
gradients, so every replica applies the same update to its own copy.
"""

from __future__ import annotations

import tensorflow as tf

from scarlet_tf.names import OPTIMIZERS, registered
from scarlet_tf.network.handles import constant, read_handle
from scarlet_tf.network.switching import DECAYED_ROLES, unnamed_variables


class MaskedOptimizer:
    """Base: per-variable slots, L2 weight decay on kernels, updates through handles.

    ``weight_decay`` adds ``weight_decay * w`` to the gradient of every kernel;
    BatchNorm parameters and biases are not decayed.
    """

    slot_names: tuple[str, ...] = ()

    def __init__(self, supernet, weight_decay: float = 0.0):
        self.weight_decay = weight_decay
        self.shared = supernet.shared_weights()
        with unnamed_variables():  # one per trainable variable: thousands
            self.slots = {id(variable): [
                tf.Variable(tf.zeros(variable.shape, variable.dtype), trainable=False)
                for _ in self.slot_names] for variable in supernet.trainable_weights}

    def slot_variables(self) -> list[tf.Variable]:
        return [v for slots in self.slots.values() for v in slots]

    def apply(self, handle, slot_handles, grad, lr) -> None:
        """One fused update of the variable behind ``handle`` and its slots."""
        raise NotImplementedError

    def update(self, handle, slot_handles, grad, lr, decay: bool) -> None:
        """Apply one update to the variable behind ``handle`` (``decay``: a kernel)."""
        if decay and self.weight_decay:
            grad = grad + constant(self.weight_decay) * read_handle(handle, grad.dtype)
        self.apply(handle, slot_handles, grad, lr)

    def apply_shared(self, grads, lr) -> None:
        """Update the stem and head variables (``grads`` in :attr:`shared` order)."""
        for variable, grad in zip(self.shared, grads):
            self.update(variable.handle, [s.handle for s in self.slots[id(variable)]], grad,
                        lr, len(variable.shape) > 1)

    def apply_layer(self, picked, grads: dict, lr) -> None:
        """Update the picked choice of one layer; ``picked`` must carry this optimizer's
        slots; ``grads`` maps trainable roles to all-reduced gradients
        (roles the choice lacks update null variables, which stay 0)."""
        for role, grad in grads.items():
            self.update(picked.handles[role], picked.slots[role], grad, lr,
                        role in DECAYED_ROLES)


class MaskedSGD(MaskedOptimizer):
    """SGD with Nesterov momentum (Keras' formula): m = mu*m - lr*g; w += mu*m - lr*g."""

    slot_names = ("momentum",)

    def __init__(self, supernet, weight_decay=0.0, momentum: float = 0.9):
        super().__init__(supernet, weight_decay)
        self.momentum = momentum

    def apply(self, handle, slot_handles, grad, lr):
        tf.raw_ops.ResourceApplyKerasMomentum(var=handle, accum=slot_handles[0], lr=lr,
                                              grad=grad, momentum=constant(self.momentum),
                                              use_nesterov=True)


class MaskedRMSProp(MaskedOptimizer):
    """RMSProp with momentum (MnasNet recipe: rho 0.9, momentum 0.9, epsilon 1e-3)."""

    slot_names = ("mean_square", "momentum")

    def __init__(self, supernet, weight_decay=0.0, rho=0.9, momentum=0.9, epsilon=1e-3):
        super().__init__(supernet, weight_decay)
        self.rho, self.momentum, self.epsilon = rho, momentum, epsilon

    def apply(self, handle, slot_handles, grad, lr):
        # ms = rho*ms + (1-rho)*g^2; mom = momentum*mom + lr*g/sqrt(ms+eps); w -= mom
        tf.raw_ops.ResourceApplyRMSProp(var=handle, ms=slot_handles[0], mom=slot_handles[1],
                                        lr=lr, rho=constant(self.rho),
                                        momentum=constant(self.momentum),
                                        epsilon=constant(self.epsilon), grad=grad)


def make_optimizer(name: str, supernet, weight_decay: float = 0.0) -> MaskedOptimizer:
    """``sgd`` (Nesterov momentum 0.9) or ``rmsprop``; call under the strategy's scope."""
    return registered("optimizer", OPTIMIZERS, name)(supernet, weight_decay)
