"""Path switching by variable handle: one small traced graph serves every path.

The supernet's choices keep their own Keras sublayers and variables (the weight store;
names match the plain model's). A traced step holds no branch per choice: in each
searchable layer the path's index *gathers the resource handles* of the chosen choice's
variables (one table of handles per layer, no computation), the step reads them and
runs one generic block over the read tensors. Only the chosen choice computes, and the
graph, its trace time and its memory grow with the number of layers, not layers x
choices.

Every choice fills every role of its layer: roles a choice lacks point to *null*
variables of the shapes the generic block needs, zeros that stay zero (the skip choice
runs a one-channel null MBConv whose output, and so every gradient into it, is masked
to zero; a choice without squeeze-excite gets a null gate, replaced by ones). So the
block needs no ``cond`` but one small one for a learnable stabilizer (the gradient of a
``cond`` rebuilds each branch as functions), and updates need no switch at all.

Gradients are taken with respect to the read tensors and applied through the same
handles (see :mod:`scarlet_tf.training.optimizers`). Inside ``strategy.run`` a distributed
variable's ``handle`` is the replica's own copy, so every replica reads and updates its
own weights, as MirroredStrategy does for ordinary variables.

This replaces a ``keras.ops.switch`` over every choice branch per layer, whose gradient
re-emits every branch with its intermediates and which MirroredStrategy copies per
replica: a graph, trace time and memory in proportion to the whole space. The
measurements before and after are in the design notes (``docs/design.md``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import tensorflow as tf

from scarlet_tf.network.blocks import MBConv, Projection
from scarlet_tf.network.handles import local_handle, read_handle, replica_index
from scarlet_tf.network.switched_ops import (
    conv1x1,
    hard_swish,
    squeeze_excite_gate,
    switched_batch_norm,
)

DECAYED_ROLES = ("expand", "dw", "project", "se_reduce", "se_expand", "stabilizer",
                 "shortcut")  # kernels


def _bn_roles(prefix: str, bn) -> dict:
    return {f"{prefix}_gamma": bn.gamma, f"{prefix}_beta": bn.beta,
            f"{prefix}_mean": bn.moving_mean, f"{prefix}_var": bn.moving_variance}


def option_roles(option) -> dict:
    """{role: variable} of one choice's layer (MBConv, projection, stabilizer or
    identity: none)."""
    if isinstance(option, Projection):
        return {"shortcut": option.project.kernel, **_bn_roles("shortcut", option.project_bn)}
    if not isinstance(option, MBConv):
        kernel = getattr(option, "kernel", None)
        return {} if kernel is None else {"stabilizer": kernel}
    roles = {"expand": option.expand.kernel, "dw": option.depthwise.kernel,
             "project": option.project.kernel, **_bn_roles("expand", option.expand_bn),
             **_bn_roles("dw", option.depthwise_bn), **_bn_roles("project", option.project_bn)}
    if option.se is not None:
        roles.update(se_reduce=option.se.reduce.kernel, se_reduce_bias=option.se.reduce.bias,
                     se_expand=option.se.expand.kernel, se_expand_bias=option.se.expand.bias)
    return roles


def is_statistic(role: str) -> bool:
    """True for BatchNorm moving statistics (not trained, no optimizer slots)."""
    return role.endswith(("_mean", "_var"))


@contextlib.contextmanager
def unnamed_variables():
    """Create every ``tf.Variable`` in this context as ``v`` at the root name scope.

    Eager TensorFlow caches one VarHandleOp kernel per attribute set, and a variable's
    full name is one of its attributes: with unique names every variable builds a new
    kernel, one per variable of the supernet's thousands on each replica. Keras names and
    paths are unchanged, checkpoints follow the object graph, and nothing reads the
    TensorFlow names."""
    def creator(next_creator, **kwargs):
        with tf.name_scope(""):
            return next_creator(**{**kwargs, "name": "v"})

    with tf.variable_creator_scope(creator):
        yield


def null_shapes(spec, hidden: int) -> dict:
    """{role: shape} of the null variables standing in for a choice's missing roles in
    layer ``spec``, with ``hidden`` expanded channels (1 for the skip choice)."""
    c_in, c_out = spec.in_channels, spec.out_channels

    def bn(prefix, n):
        return {f"{prefix}_{s}": (n,) for s in ("gamma", "beta", "mean", "var")}

    return {"expand": (1, 1, c_in, hidden), **bn("expand", hidden), "dw": (1, 1, hidden, 1),
            **bn("dw", hidden), "project": (1, 1, hidden, c_out), **bn("project", c_out),
            "se_reduce": (1, 1, hidden, 1), "se_reduce_bias": (1,),
            "se_expand": (1, 1, 1, hidden), "se_expand_bias": (hidden,),
            "stabilizer": (1, 1, c_in, c_out), "shortcut": (1, 1, c_in, c_out),
            **bn("shortcut", c_out)}


@dataclass
class Picked:
    """One layer's chosen choice: whether it is the skip / has squeeze-excite, and the
    handles of its variables by role and of each trainable role's optimizer slots; roles
    it lacks point to null variables."""

    is_skip: tf.Tensor
    has_se: tf.Tensor
    handles: dict
    slots: dict


class LayerSwitch:
    """The handle tables and generic computation of one :class:`ChoiceBlock`. Create
    under the strategy's scope (it makes the layer's null variables)."""

    def __init__(self, block):
        self.block, self.spec = block, block.spec
        self.skip = [not isinstance(o, MBConv) for o in block.options]
        self.se = [isinstance(o, MBConv) and o.se is not None for o in block.options]
        with_se = {se for se, skip in zip(self.se, self.skip) if not skip}
        self.se_mode = "switch" if len(with_se) == 2 else "always" if True in with_se else "never"
        roles = [option_roles(option) for option in block.options]
        self.used = sorted({role for option in roles for role in option})
        self.trainable = [role for role in self.used if not is_statistic(role)]
        self.nulls = {}  # shape -> a zero variable shared by every role of that shape
        self.roles = [self._fill(option, choice)
                      for option, choice in zip(roles, self.spec.choices)]
        self._tables = {}

    def _fill(self, roles: dict, choice) -> dict:
        """``roles`` with every missing used role pointing to a null variable."""
        shapes = null_shapes(self.spec, 1 if choice.is_skip else
                             self.spec.in_channels * choice.expansion)
        for role in self.used:
            if role not in roles:
                shape = shapes[role]
                if shape not in self.nulls:
                    self.nulls[shape] = tf.Variable(tf.zeros(shape), trainable=False,
                                                    name="null")
                roles[role] = self.nulls[shape]
        return roles

    def momentum(self):
        """The BatchNorm momentum of this layer's choices (read when a step is traced)."""
        return next(o.expand_bn.momentum for o in self.block.options if isinstance(o, MBConv))

    def pick(self, index, slots: dict | None = None) -> Picked:
        """Handles of choice ``index`` (scalar int32) in replica context. ``slots``
        maps ``id(variable)`` to its optimizer slot variables (the same number for every
        trainable variable)."""
        slots = slots or {}
        count = len(next(iter(slots.values()), []))
        table = self._table(slots, count)
        row = iter(tf.unstack(tf.gather(table, index), num=table.shape[1]))
        handles, extra = {}, {}
        for role in self.used:
            handles[role] = next(row)
            if not is_statistic(role):
                extra[role] = [next(row) for _ in range(count)]

        def flags(values):
            return tf.gather(tf.constant(values), index)

        return Picked(flags(self.skip), flags(self.se), handles, extra)

    def _table(self, slots: dict, count: int):
        """The handles [options, columns] of this replica's copies (per role: the
        variable, then its slots), built once, eagerly, and captured as one tensor
        (capturing every variable's handle separately costs per call in proportion to the
        whole space).
        A null variable is its own slot (zero gradients keep it and its slots 0)."""
        replica = replica_index()
        first = self.roles[0][self.used[0]]
        key = (count, replica, tuple(id(c) for c in slots.get(id(first), [])))
        if key not in self._tables:
            slots = {**slots, **{id(v): [v] * count for v in self.nulls.values()}}
            with tf.init_scope():
                columns = []
                for role in self.used:
                    variables = [roles[role] for roles in self.roles]
                    columns.append([local_handle(v, replica) for v in variables])
                    if not is_statistic(role):
                        columns += [[local_handle(slots[id(v)][k], replica)
                                     for v in variables] for k in range(count)]
                self._tables[key] = tf.stack([tf.stack(c) for c in columns], axis=1)
        return self._tables[key]

    def forward(self, x, picked: Picked, training: bool, watch=None):
        """[B, H, W, Cin] -> [B, H/s, W/s, Cout] through the picked choice only.

        Returns (outputs, reads): ``reads`` maps each trainable role to the tensor read
        from its handle (``watch`` is called on each, e.g. a tape's ``watch``)."""
        reads = {role: read_handle(picked.handles[role], tf.float32) for role in self.trainable}
        for tensor in reads.values():
            if watch is not None:
                watch(tensor)
        momentum = self.momentum() if training else None
        y = self._mbconv(x, reads, picked, momentum)
        if any(self.skip):  # the skip's null MBConv is masked out (no gradients)
            keep = tf.cast(tf.logical_not(picked.is_skip), y.dtype)
            y = y * keep
            if self.spec.skip_projects:  # an MBConv's null projection is masked out
                y = y + self._projection(x, reads, picked, momentum) * (1 - keep)
            else:
                y = y + self._shortcut(x, reads, picked)
        elif self.spec.residual:
            y = y + x
        size = [None if d is None else -(-d // self.spec.stride) for d in x.shape[1:3]]
        y.set_shape([x.shape[0], *size, self.spec.out_channels])
        return y, reads

    def _skip(self, x, reads):
        return conv1x1(x, reads["stabilizer"]) if "stabilizer" in reads else tf.identity(x)

    def _projection(self, x, reads, picked, momentum):
        """The skip of a layer that changes stride or channels: strided 1x1 conv, BN."""
        stride = self.spec.stride
        y = tf.nn.conv2d(x, reads["shortcut"], stride, "SAME")
        return switched_batch_norm(y, reads, picked.handles, "shortcut", momentum)

    def _shortcut(self, x, reads, picked):
        """What is added to the MBConv part in a layer with a skip choice (a residual
        layer): the skip's output when it is picked, else the residual ``x``."""
        if "stabilizer" not in reads:
            return x
        return tf.cond(picked.is_skip, lambda: self._skip(x, reads), lambda: tf.identity(x))

    def _mbconv(self, x, reads, picked, momentum):
        """The MBConv part (no residual add) of the picked choice's weights."""

        def norm(y, prefix):
            return switched_batch_norm(y, reads, picked.handles, prefix, momentum)

        act = hard_swish if self.spec.activation == "hard_swish" else tf.nn.relu
        y = act(norm(conv1x1(x, reads["expand"]), "expand"))
        stride = self.spec.stride
        y = tf.nn.depthwise_conv2d(y, reads["dw"], [1, stride, stride, 1], "SAME")
        y = act(norm(y, "dw"))
        if self.se_mode != "never":
            gate = squeeze_excite_gate(y, reads)
            if self.se_mode == "switch":  # a null gate for choices without squeeze-excite
                gate = tf.where(picked.has_se, gate, tf.ones_like(gate))
            y = y * gate
        y = norm(conv1x1(y, reads["project"]), "project")
        y.set_shape([x.shape[0], None, None, self.spec.out_channels])
        return y
