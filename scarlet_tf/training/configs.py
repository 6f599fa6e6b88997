"""Every setting of supernet and stand-alone training, with their defaults and checks
(a light module, no TensorFlow: the command line reads its defaults from here).

``defaults(SupernetConfig)`` maps each field to its default, so a CLI option states it
once: ``default=defaults(SupernetConfig)["lr"]``. The fields of :data:`RECIPE` default to
``None`` and are filled from the space's recipe when the config is made.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from scarlet_tf.errors import ScarletError
from scarlet_tf.names import DECAYS, OPTIMIZERS, SAMPLERS, STABILIZER_INITS, STABILIZERS
from scarlet_tf.space.spaces import resolve_arch

# Training settings that depend on the space, for the fields a run leaves unset. "default":
# the package's own recipe (for the SCARLET spaces). "nas-bench-macro": the recipe its
# benchmark trained every network with (SGD momentum 0.9, weight decay 5e-4, lr 0.1 at
# batch 256, cosine, no label smoothing), at batch 128 with the same lr per image; the one
# studies/nas_bench_macro pins and measured.
RECIPE = {
    "default": {"batch_size": 64, "warmup_epochs": 1.0, "weight_decay": 4e-5,
                "label_smoothing": 0.1},
    "nas-bench-macro": {"batch_size": 128, "warmup_epochs": 0.5, "weight_decay": 5e-4,
                        "label_smoothing": 0.0},
}


def space_recipe(space: str) -> dict:
    """{field: value} of :data:`RECIPE` that a run of ``space`` gets by default."""
    return RECIPE.get(space, RECIPE["default"])


@dataclass(kw_only=True)
class TrainingConfig:
    """Settings supernet and stand-alone training share (keyword-only). ``batch_size`` is
    global (split across replicas); ``lr`` is the peak learning rate after
    ``warmup_epochs`` of linear warm-up; ``weight_decay`` is the L2 coefficient on kernels
    (gradient ``+ weight_decay * w``); ``zero_init_residual`` starts residual blocks as
    the identity (projection BatchNorm gamma 0). ``None`` in a field of :data:`RECIPE`
    means the space's value (:func:`space_recipe`)."""

    out: str
    space: str = "scarlet-cifar"
    width: float = 1.0
    input_size: int | None = None
    dataset: str = "digits"
    epochs: int = 10
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    lr: float = 0.05
    warmup_epochs: float | None = None
    optimizer: str = "sgd"
    weight_decay: float | None = None
    label_smoothing: float | None = None
    zero_init_residual: bool = True
    replicas: int = 1
    seed: int = 0
    overwrite: bool = False

    def __post_init__(self):
        for key, value in space_recipe(self.space).items():
            if getattr(self, key) is None:
                setattr(self, key, value)

    def checks(self) -> list[tuple[bool, str]]:
        """(ok, message) checks of the shared settings."""
        return [
            (self.optimizer in OPTIMIZERS, f"--optimizer: allowed {', '.join(OPTIMIZERS)}"),
            (self.epochs >= 1, "--epochs must be >= 1"),
            (self.steps_per_epoch is None or self.steps_per_epoch >= 1,
             "--steps-per-epoch must be >= 1"),
            (self.batch_size >= 1 and self.batch_size % self.replicas == 0,
             f"--batch-size must be a positive multiple of --replicas ({self.replicas})"),
            (self.lr > 0, "--lr must be positive"),
            (self.warmup_epochs >= 0, "--warmup-epochs must be >= 0"),
            (0 <= self.label_smoothing < 1, "--label-smoothing must be in [0, 1)"),
            (self.weight_decay >= 0, "--weight-decay must be >= 0"),
        ]


@dataclass(kw_only=True)
class SupernetConfig(TrainingConfig):
    """Every setting of a supernet run (all but ``out``/``overwrite``/``save_every`` must
    match to resume); the learning rate decays to 0 along a cosine after warm-up.
    ``matched_init`` starts every choice of a layer without a residual as the same
    function (:mod:`scarlet_tf.network.matched_init`). For the first ``firsts_warmup``
    of the steps (a fraction) those layers train only that reference choice; then every
    other choice is set to compute the trained reference and all are sampled, so the
    layers after them learn on one stage-first path before the choices open
    (``studies/supernet_law``); 0 samples them from the start."""

    choices: str | None = None
    stabilizer: str = "learnable"
    stabilizer_init: str = "identity"
    matched_init: bool = True
    firsts_warmup: float = 0.5
    sampler: str = "uniform"
    save_every: int = 100

    def identity(self) -> dict:
        """The settings that define the run (compared on resume)."""
        settings = dataclasses.asdict(self)
        for key in ("out", "overwrite", "save_every"):
            settings.pop(key)
        return settings

    def validate(self) -> None:
        raise_failed(self.checks() + [
            (self.sampler in SAMPLERS, f"--sampler: allowed {', '.join(SAMPLERS)}"),
            (self.stabilizer in STABILIZERS, f"--stabilizer: allowed {', '.join(STABILIZERS)}"),
            (self.stabilizer_init in STABILIZER_INITS,
             f"--stabilizer-init: allowed {', '.join(STABILIZER_INITS)}"),
            (self.save_every >= 1, "--save-every must be >= 1"),
            (0 <= self.firsts_warmup < 1, "--firsts-warmup must be in [0, 1)"),
        ])


def stored_space(run: str) -> str | None:
    """The space a train-supernet run in directory ``run`` was trained on, or None when
    its config.json is missing or unreadable."""
    try:
        return json.loads(Path(run, "config.json").read_text())["config"]["space"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def raise_failed(checks) -> None:
    """Raise a ScarletError with the message of the first failed (ok, message) check."""
    for ok, message in checks:
        if not ok:
            raise ScarletError(message)


@dataclass(kw_only=True)
class SubnetConfig(TrainingConfig):
    """Every setting of a stand-alone run (all but ``out``/``overwrite`` must match to
    resume); see :class:`TrainingConfig` for the shared ones.
    ``init_from_supernet``: a train-supernet directory whose weights (stabilizers folded,
    BatchNorm recalibrated) start the model; the space then comes from that supernet."""

    arch: str
    decay: str = "cosine"
    dropout: float = 0.2
    ema: bool = True
    ema_momentum: float = 0.99
    init_from_supernet: str | None = None

    def __post_init__(self):
        if self.init_from_supernet:  # its space sets the recipe (unreadable: checked later)
            self.space = stored_space(self.init_from_supernet) or self.space
        super().__post_init__()

    def identity(self) -> dict:
        """The settings that define the run (compared on resume)."""
        settings = dataclasses.asdict(self)
        settings["arch"] = str(resolve_arch(self.arch, self.space))
        for key in ("out", "overwrite"):
            settings.pop(key)
        return settings

    def validate(self) -> None:
        raise_failed(self.checks() + [
            (self.decay in DECAYS, f"--decay: allowed {', '.join(DECAYS)}"),
            (0 <= self.dropout < 1, "--dropout must be in [0, 1)"),
            (0 < self.ema_momentum < 1, "--ema-momentum must be in (0, 1)"),
        ])


def defaults(config_class) -> dict:
    """{field name: default} of a config dataclass (required fields left out)."""
    return {f.name: f.default for f in dataclasses.fields(config_class)
            if f.default is not dataclasses.MISSING}
