"""The schedule both trainers share: steps per epoch, warm-up steps, and the learning rate
of each step (linear warm-up, then cosine decay to 0 or MnasNet's exponential decay)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras

EXPONENTIAL_RATE, EXPONENTIAL_EPOCHS = 0.97, 2.4  # MnasNet: x0.97 every 2.4 epochs


@dataclass(frozen=True)
class Steps:
    """A run's length in optimizer steps: per epoch, in all, and of the lr warm-up."""

    per_epoch: int
    total: int
    warmup: int


def plan_steps(config, train_examples: int) -> Steps:
    """Steps of a run of ``config`` (a TrainingConfig) over ``train_examples`` images:
    one pass per epoch at the global batch size, capped by ``config.steps_per_epoch``; the
    warm-up is ``config.warmup_epochs`` epochs, at most half of the run."""
    one_pass = max(1, train_examples // config.batch_size)
    per_epoch = min(one_pass, config.steps_per_epoch or one_pass)
    total = per_epoch * config.epochs
    return Steps(per_epoch, total, min(round(config.warmup_epochs * per_epoch), total // 2))


@keras.saving.register_keras_serializable("scarlet_tf")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate per step: linear warm-up to ``peak`` over ``warmup`` steps, then
    cosine decay to 0 at ``total`` steps or ``peak * rate ** ((step - warmup) /
    decay_steps)`` (``exponential``). Called with a step, returns a float32 scalar."""

    def __init__(self, peak: float, total: int, warmup: int, decay: str = "cosine",
                 rate: float = EXPONENTIAL_RATE, decay_steps: float = 1.0):
        self.peak, self.total, self.warmup = peak, total, warmup
        self.decay, self.rate, self.decay_steps = decay, rate, decay_steps

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = self.peak * (step + 1) / max(1, self.warmup)
        after = step - self.warmup
        if self.decay == "cosine":
            progress = after / max(1, self.total - self.warmup)
            decayed = 0.5 * self.peak * (1 + keras.ops.cos(math.pi * progress))
        else:
            decayed = self.peak * keras.ops.power(self.rate, after / self.decay_steps)
        return keras.ops.where(step < self.warmup, warm, decayed)

    def get_config(self) -> dict:
        return {"peak": self.peak, "total": self.total, "warmup": self.warmup,
                "decay": self.decay, "rate": self.rate, "decay_steps": self.decay_steps}
