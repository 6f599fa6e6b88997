"""``ParamCount``: a model's parameter count as a per-epoch metric, for objectives."""

from __future__ import annotations

import keras


class ParamCount(keras.callbacks.Callback):
    """Adds ``logs[name] = model.count_params()`` (a count) at the end of every epoch, so
    that a stock ``kt.Tuner`` can minimize it as ``kt.Objective(name, "min")``."""

    def __init__(self, name: str = "params"):
        super().__init__()
        self.name = name

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.name] = float(self.model.count_params())
