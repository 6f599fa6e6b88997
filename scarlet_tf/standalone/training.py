"""Stand-alone training of one architecture: the plain Keras model, trained with ``fit``.

``train_subnet(SubnetConfig(arch="scarlet-a", out="runs/a"))`` trains from scratch (or
fine-tunes from a supernet's inherited weights with ``init_from_supernet``) with the
MnasNet-style recipe the paper follows: RMSProp or Nesterov SGD, linear warm-up then
cosine or exponential decay, label smoothing, dropout, L2 weight decay on kernels and an
exponential moving average of the weights (Keras' ``use_ema``). The run directory holds::

    config.json     every setting (a different config is refused unless overwrite)
    backup/         keras.callbacks.BackupAndRestore state (removed once result.json exists)
    history.json    one record per finished epoch
    model.keras     the trained model (EMA weights when ``ema``)
    result.json     arch, madds, params, search_accuracy, test_accuracy

Running the same config again resumes from the last finished epoch; after
``result.json`` exists it returns that result without training.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from scarlet_tf import data
from scarlet_tf.errors import ScarletError
from scarlet_tf.evaluation.evaluator import recalibrate_batch_norms
from scarlet_tf.evaluation.runs import SupernetRun
from scarlet_tf.files import read_json, write_json
from scarlet_tf.names import DEFAULT_RECAL_BATCHES
from scarlet_tf.network.models import build_model
from scarlet_tf.space.costs import costs
from scarlet_tf.space.spaces import get_space, resolve_arch
from scarlet_tf.training.checkpoints import prepare_run_dir
from scarlet_tf.training.configs import SubnetConfig
from scarlet_tf.training.distribute import is_chief, make_strategy
from scarlet_tf.training.schedule import EXPONENTIAL_EPOCHS, WarmupDecay, plan_steps


def use_ema(config: SubnetConfig, total_steps: int) -> bool:
    """EMA of weights when asked for and the run is long enough for the average to
    forget the initial weights (Keras' EMA has no bias correction): at least
    ``10 / (1 - ema_momentum)`` steps."""
    return config.ema and total_steps >= 10 / (1 - config.ema_momentum)


def make_keras_optimizer(config: SubnetConfig, schedule, total_steps: int):
    """Nesterov SGD (momentum 0.9) or RMSProp (rho 0.9, momentum 0.9, epsilon 1e-3), as
    the supernet's optimizers, with the weights' EMA when :func:`use_ema`."""
    ema = {"use_ema": use_ema(config, total_steps), "ema_momentum": config.ema_momentum}
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, **ema)
    return keras.optimizers.RMSprop(schedule, rho=0.9, momentum=0.9, epsilon=1e-3, **ema)


def add_weight_decay(model: keras.Model, weight_decay: float) -> None:
    """L2 loss ``weight_decay / 2 * sum(w**2)`` on every kernel (rank > 1) of ``model``."""
    if weight_decay:
        for variable in model.trainable_weights:
            if len(variable.shape) > 1:
                variable.regularizer = keras.regularizers.L2(weight_decay / 2)


class SubnetRun:
    """The space, datasets, model and callbacks of one stand-alone run."""

    def __init__(self, config: SubnetConfig, strategy=None):
        config.validate()
        self.config = config
        self.out = Path(config.out)
        self.strategy = strategy or make_strategy(config.replicas)
        self.info = data.info(config.dataset)
        self.source = None  # the SupernetRun whose weights start the model
        if config.init_from_supernet:
            self.source = SupernetRun(config.init_from_supernet)
            self.space = self.source.space
            config.space = self.space.name  # the run's record names the space it used
        else:
            self.space = get_space(config.space, width=config.width, input_size=config.input_size,
                                   num_classes=self.info.num_classes)
        self.arch = resolve_arch(config.arch, self.space)
        if self.space.num_classes != self.info.num_classes:
            raise ScarletError(f"the supernet has {self.space.num_classes} classes but dataset "
                               f"{config.dataset} has {self.info.num_classes}")
        self.steps = plan_steps(config, self.info.num_examples["train"])
        self.steps_per_epoch, self.total_steps = self.steps.per_epoch, self.steps.total

    def schedule(self) -> WarmupDecay:
        """The run's learning rate per step."""
        steps, config = self.steps, self.config
        return WarmupDecay(config.lr, steps.total, steps.warmup, config.decay,
                           decay_steps=EXPONENTIAL_EPOCHS * steps.per_epoch)

    def build(self) -> keras.Model:
        """The compiled model (created under the strategy's scope)."""
        config = self.config
        keras.utils.set_random_seed(config.seed)
        initial = self._inherited_weights()
        with self.strategy.scope():
            model = build_model(self.arch, self.space, dropout=config.dropout,
                                stabilizers=initial is not None and initial[0],
                                zero_init_residual=config.zero_init_residual)
            if initial is not None:
                model.set_weights(initial[1])
            add_weight_decay(model, config.weight_decay)
            model.compile(
                optimizer=make_keras_optimizer(config, self.schedule(), self.total_steps),
                loss=keras.losses.CategoricalCrossentropy(
                    from_logits=True, label_smoothing=config.label_smoothing),
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                jit_compile=False)
        return model

    def _inherited_weights(self):
        """(kept stabilizers?, weights) of the supernet's recalibrated, folded subnet
        (:meth:`SupernetRun.subnet`), or None when training from scratch."""
        if self.source is None:
            return None
        subnet = self.source.subnet(self.arch, dataset=self.config.dataset)
        kept = any(layer.name.endswith("_stabilizer") for layer in subnet.layers)
        return kept, subnet.get_weights()

    def recalibration_batches(self, count: int = DEFAULT_RECAL_BATCHES) -> list:
        """Un-augmented training images for the final BatchNorm recalibration."""
        ds, _ = data.load(self.config.dataset, "train", batch_size=self.config.batch_size,
                          image_size=self.space.input_size, augment=False, seed=0,
                          drop_remainder=True)
        return [images for images, _ in ds.take(count)]

    def dataset(self, split: str, seed: int = 0) -> tf.data.Dataset:
        """Batches of (images [B, S, S, 3], one-hot labels [B, classes]); train repeats."""
        train = split == "train"
        ds, _ = data.load(self.config.dataset, split, batch_size=self.config.batch_size,
                          image_size=self.space.input_size, seed=seed, repeat=train,
                          drop_remainder=train)
        classes = self.space.num_classes
        return ds.map(lambda x, y: (x, tf.one_hot(y, classes)))


class EpochHistory(keras.callbacks.Callback):
    """Adds ``lr`` (the rate of the epoch's last step, ``schedule``'s when given) to the
    epoch's logs, as the supernet's loop logs it, and writes ``history.json`` (epoch,
    loss, accuracy, lr, seconds) after every epoch, dropping records past the epoch that
    BackupAndRestore resumed from."""

    def __init__(self, path: Path, chief: bool, schedule=None):
        super().__init__()
        self.path, self.chief, self.schedule = path, chief, schedule
        self.records = read_json(path, [])

    def on_epoch_begin(self, epoch, logs=None):
        self.records = [r for r in self.records if r["epoch"] <= epoch]
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if self.schedule is None:
            lr = float(optimizer.learning_rate)
        else:
            lr = float(self.schedule(max(0, int(optimizer.iterations) - 1)))
        logs["lr"] = lr  # the dict the callbacks after this one get
        self.records.append({"epoch": epoch + 1, "loss": float(logs["loss"]),
                             "accuracy": float(logs["accuracy"]), "lr": lr,
                             "seconds": round(time.time() - self.started, 2)})
        if self.chief:
            write_json(self.path, self.records)


def train_subnet(config: SubnetConfig, strategy=None, verbose: bool = True,
                 callbacks: list | None = None) -> dict:
    """Train (or resume, or return the finished result of) a stand-alone run in
    ``config.out``; returns the result record (also in ``result.json``):
    arch, madds, params, search_accuracy, test_accuracy (top-1 in [0, 1]), epochs.

    ``callbacks``: ``keras.callbacks.Callback`` objects passed to ``model.fit`` after the
    run's own (backup, history), so they see ``history.json`` written and epoch logs
    with loss, accuracy and lr (the keys ``train_supernet`` logs). A callback that stops
    training (EarlyStopping) ends the run: it is scored and saved as finished. Not
    called when ``result.json`` already exists.
    """
    run = SubnetRun(config, strategy)
    chief = is_chief(run.strategy)
    prepare_run_dir(run.out, config.identity(), config.overwrite,
                    {"space": run.space.describe(), "steps_per_epoch": run.steps_per_epoch})
    finished = read_json(run.out / "result.json")
    if finished is not None:
        _say(chief, f"{run.out} is already trained; result.json kept")
        return finished
    model = run.build()
    if config.ema and not use_ema(config, run.total_steps):
        _say(chief, f"EMA of weights off: {run.total_steps} steps are too few for momentum "
                    f"{config.ema_momentum} (needs {10 / (1 - config.ema_momentum):.0f})")
    history = EpochHistory(run.out / "history.json", chief, run.schedule())
    # Kept until result.json exists, so a run killed while scoring resumes after fit.
    # double_checkpoint: a kill while the weights are written leaves the previous backup
    backup = keras.callbacks.BackupAndRestore(str(run.out / "backup"), delete_checkpoint=False,
                                              double_checkpoint=True)
    if (run.out / "backup").is_dir():
        _say(chief, f"resuming {run.out} from its last finished epoch")
    model.fit(run.dataset("train", seed=config.seed + len(history.records)),
              epochs=config.epochs, steps_per_epoch=run.steps_per_epoch,
              # the backup first: history.json then never lists an epoch whose weights
              # a kill could still lose (a resume would train it again)
              callbacks=[backup, history, *(callbacks or [])], shuffle=False,
              verbose="auto" if verbose and chief else 0)
    recalibrate_batch_norms(model, run.recalibration_batches())
    result = _result(run, model, history.records)
    if chief:
        model.save(run.out / "model.keras")
        write_json(run.out / "result.json", result)
        shutil.rmtree(run.out / "backup", ignore_errors=True)
    return result


def _result(run: SubnetRun, model: keras.Model, records: list) -> dict:
    cost = costs(run.arch, run.space)
    accuracy = {split: float(model.evaluate(run.dataset(split), verbose=0,
                                            return_dict=True)["accuracy"])
                for split in ("search", "test")}
    return {"arch": str(run.arch), "madds": cost.madds, "params": cost.params,
            "search_accuracy": accuracy["search"], "test_accuracy": accuracy["test"],
            "epochs": len(records), "space": run.space.describe(),
            "dataset": run.config.dataset}


def _say(chief: bool, text: str) -> None:
    if chief:
        print(text, flush=True)
