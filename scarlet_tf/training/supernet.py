"""Supernet training: single-path sampling, one traced step, tf.distribute, resume.

``train_supernet(SupernetConfig(out="runs/demo"))`` trains a stabilized supernet and
returns it with its per-epoch history. Steps are traced once for every path: the path
enters as an int32 tensor ``[19]``, each layer picks its choice's variables by handle
(:mod:`scarlet_tf.network.switching`), and the masked optimizers update only the picked
choices. A ``uniform`` step is one traced call; a ``fair`` step (13 paths) is one call
of the same function per path, updating that path's choices, then one update of the stem
and head from the mean of their gradients over the paths.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from scarlet_tf import data
from scarlet_tf.errors import ScarletError
from scarlet_tf.files import write_json
from scarlet_tf.network.handles import read_handle
from scarlet_tf.network.supernet import Supernet, supernet_settings
from scarlet_tf.space.spaces import get_space
from scarlet_tf.training.budget import budget_report
from scarlet_tf.training.checkpoints import RunCheckpoint, prepare_run_dir, weight_map
from scarlet_tf.training.configs import SupernetConfig, space_recipe
from scarlet_tf.training.distribute import is_chief, make_strategy
from scarlet_tf.training.optimizers import make_optimizer
from scarlet_tf.training.samplers import (
    Sampler,
    StageFirstWarmup,
    count_choices,
    make_sampler,
)
from scarlet_tf.training.schedule import WarmupDecay, plan_steps


class SupernetTrainer:
    """Holds the strategy, supernet, optimizer and the traced step functions of one run."""

    def __init__(self, config: SupernetConfig, strategy=None, sampler: Sampler | None = None):
        config.validate()
        self.config = config
        self.strategy = strategy or make_strategy(config.replicas)
        self.info = data.info(config.dataset)
        self.space = get_space(config.space, width=config.width, choices=config.choices,
                               num_classes=self.info.num_classes, input_size=config.input_size)
        self.sampler = sampler or make_sampler(config.sampler, self.space, config.seed)
        self.settings = supernet_settings(self.space, config.stabilizer, config.stabilizer_init,
                                          zero_init_residual=config.zero_init_residual,
                                          matched_init=config.matched_init)
        self.traces = 0

    def build(self) -> None:
        """Create the supernet, optimizer (and, for the fair sampler, accumulators of the
        stem's and head's gradients) under the strategy."""
        config = self.config
        keras.utils.set_random_seed(config.seed)
        with self.strategy.scope():
            self.supernet = Supernet(self.space, config.stabilizer, config.stabilizer_init,
                                     zero_init_residual=config.zero_init_residual,
                                     matched_init=config.matched_init)
            self.optimizer = make_optimizer(config.optimizer, self.supernet, config.weight_decay)
            self.shared = self.supernet.shared_weights()
            self.accumulators = [] if self.sampler.paths_per_step == 1 else [
                tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                            synchronization=tf.VariableSynchronization.ON_READ,
                            aggregation=tf.VariableAggregation.SUM)
                for v in self.shared]
        self.train_step = tf.function(self._path_step, autograph=False)
        self.apply_shared = tf.function(self._apply_shared, autograph=False)

    def step(self, images, labels, paths: np.ndarray, lr: float):
        """One update on int32 ``paths`` [m, L]: (loss, correct) summed over the paths.

        With several paths (fair sampler) each path's choices are updated right after its
        backward pass: a choice is on one path of the step (the filler of a 12-choice
        layer on two, updated twice), so this equals summing first, without a gradient
        buffer the size of the supernet. The stem and head, on every path, get the mean of
        the paths' gradients in one update at the end."""
        lr = tf.constant(lr, tf.float32)
        totals = [self.train_step(images, labels, tf.constant(p), lr) for p in paths]
        if len(paths) > 1:
            self.apply_shared(lr)
        return tuple(sum(t[i] for t in totals) for i in range(2))

    # -- traced functions (replica context inside strategy.run) --------------------------
    def _loss_and_grads(self, images, labels, path):
        """Forward and backward on one path: loss, correct, shared grads, picks, per-layer
        {role: grad}."""
        onehot = tf.one_hot(labels, self.space.num_classes)
        with tf.GradientTape() as tape:
            logits, picks, reads = self.supernet.run_path(images, path, training=True,
                                                          watch=tape.watch,
                                                          slots=self.optimizer.slots)
            per_example = keras.losses.categorical_crossentropy(
                onehot, logits, from_logits=True, label_smoothing=self.config.label_smoothing)
            loss = tf.reduce_sum(per_example) / self.config.batch_size
        correct = tf.reduce_sum(tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == labels,
                                        tf.float32))
        grads = tape.gradient(loss, flatten(self.shared, reads),
                              unconnected_gradients=tf.UnconnectedGradients.ZERO)
        shared, per_layer = unflatten(grads, self.shared, reads)
        return loss, correct, shared, picks, per_layer

    def _run(self, replica_fn, *args):
        self.traces += 1
        loss, correct = self.strategy.run(replica_fn, args=args)
        return (self.strategy.reduce("sum", loss, None),
                self.strategy.reduce("sum", correct, None))

    def _path_step(self, images, labels, path, lr):
        """Update the choices of one path; the stem and head too, unless their gradients
        are accumulated for :meth:`_apply_shared` (fair sampler)."""
        def replica_step(images, labels):
            loss, correct, shared, picks, per_layer = self._loss_and_grads(images, labels, path)
            if self.accumulators:
                for accumulator, grad in zip(self.accumulators, shared):
                    add_to(accumulator.handle, grad)
                shared = []
            shared, per_layer = all_reduce(shared, per_layer)
            if shared:
                self.optimizer.apply_shared(shared, lr)
            for picked, grads in zip(picks, per_layer):
                self.optimizer.apply_layer(picked, grads, lr)
            return loss, correct
        return self._run(replica_step, images, labels)

    def _apply_shared(self, lr):
        """Apply the mean of the accumulated gradients of the stem and head over the
        step's paths (a sum would step them ``paths_per_step`` times further than the
        choices, which diverged at learning rates uniform sampling trains with), and clear
        them."""
        def replica_step():
            handles = [accumulator.handle for accumulator in self.accumulators]
            share = 1.0 / self.sampler.paths_per_step
            means = [read_handle(h, v.dtype) * share for h, v in zip(handles, self.shared)]
            self.optimizer.apply_shared(all_reduce(means, [])[0], lr)
            for handle in handles:
                clear(handle)
            return tf.constant(0.0), tf.constant(0.0)
        return self._run(replica_step)


def flatten(shared: list, per_layer: list[dict]) -> list:
    """One list: ``shared``, then every layer's {role: tensor} values in order."""
    return shared + [t for tensors in per_layer for t in tensors.values()]


def unflatten(flat: list, shared: list, per_layer: list[dict]) -> tuple[list, list[dict]]:
    """The inverse of :func:`flatten`, shaped like ``shared`` and ``per_layer``."""
    out, rest = [], flat[len(shared):]
    for tensors in per_layer:
        out.append(dict(zip(tensors, rest[:len(tensors)])))
        rest = rest[len(tensors):]
    return flat[:len(shared)], out


def all_reduce(shared: list, per_layer: list[dict]):
    """Sum gradients over replicas: (shared list, per-layer {role: grad}) in, same out."""
    flat = flatten(shared, per_layer)
    if not flat:
        return shared, per_layer
    return unflatten(tf.distribute.get_replica_context().all_reduce("sum", flat), shared,
                     per_layer)


def add_to(handle, value) -> None:
    """Variable += value through a resource handle."""
    tf.raw_ops.AssignAddVariableOp(resource=handle, value=value)


def clear(handle) -> None:
    """Variable = 0 through a resource handle."""
    tf.raw_ops.AssignVariableOp(resource=handle,
                                value=tf.zeros_like(read_handle(handle, tf.float32)))


def train_supernet(config: SupernetConfig, strategy=None, verbose: bool = True,
                   callbacks: list | None = None, sampler: Sampler | None = None):
    """Train (or resume) a supernet run in ``config.out``; returns (supernet, history).

    ``verbose=False`` hides the per-step progress bar (epoch and resume lines remain).

    ``history`` is a list of per-epoch records: epoch, loss, accuracy (on the sampled
    paths, training mode), lr, seconds.

    ``callbacks``: ``keras.callbacks.Callback`` objects (CSVLogger, EarlyStopping,
    TerminateOnNaN, your own), run as ``model.fit`` runs them, with the supernet as
    ``callback.model``. ``on_epoch_end`` gets a finished epoch's loss, accuracy and lr
    (its history record; ``train_subnet`` logs the same keys); ``on_train_batch_end``
    the epoch's running loss and accuracy. EarlyStopping on ``accuracy`` needs
    ``mode="max"`` (the supernet compiles no metrics). ``model.stop_training = True``
    ends training after that step with a checkpoint, so running the same config again
    resumes there (with several workers, all must stop at the same step, as callbacks
    reading the logs do); on a non-finite loss (TerminateOnNaN) nothing of that step is
    saved, and without a callback stopping it the loss raises ScarletError.

    ``sampler``: a :class:`~scarlet_tf.training.samplers.Sampler` of the run's space used
    instead of ``config.sampler`` (your own sampling rule); its ``name`` is recorded in
    the run's configuration, so resuming needs the same sampler again. During the
    stage-first warm-up (``config.firsts_warmup``) those layers still hold their
    reference choice whatever it samples; set it to 0 to let the sampler pick them.
    """
    trainer = SupernetTrainer(config, strategy, sampler)
    out = Path(config.out)
    chief = is_chief(trainer.strategy)
    identity = {**config.identity(), "sampler": trainer.sampler.name}
    resume = prepare_run_dir(out, identity, config.overwrite,
                             {"supernet": trainer.settings,
                              "dataset": {"name": config.dataset,
                                          "num_classes": trainer.info.num_classes}},
                             legacy={"matched_init": False,  # runs from before them
                                     "firsts_warmup": 0.0})
    trainer.build()
    run = RunLoop(trainer, out, chief, verbose, callbacks)
    if resume:
        run.restore()
    run.fit()
    return trainer.supernet, run.history


class RunLoop:
    """Epochs, progress, callbacks, TensorBoard, checkpoints and choice counts of one
    run."""

    def __init__(self, trainer: SupernetTrainer, out: Path, chief: bool, verbose: bool,
                 callbacks: list | None = None):
        self.trainer, self.out, self.chief, self.verbose = trainer, out, chief, verbose
        config = trainer.config
        steps = plan_steps(config, trainer.info.num_examples["train"])
        self.steps_per_epoch, self.total_steps = steps.per_epoch, steps.total
        self.learning_rate = WarmupDecay(config.lr, steps.total, steps.warmup)
        self.warmup = StageFirstWarmup(trainer.sampler, trainer.supernet.first_references(),
                                       round(config.firsts_warmup * self.total_steps),
                                       trainer.supernet.match_firsts)
        self.step = 0
        self.saved = -1  # the step of the newest checkpoint
        self.history: list[dict] = []
        self.counts = [np.zeros(n, np.int64) for n in trainer.space.num_choices]
        self.checkpoint = RunCheckpoint(out, chief, weights=weight_map(trainer.supernet),
                                        slots=trainer.optimizer.slot_variables())
        self.writer = tf.summary.create_file_writer(str(out / "logs")) if chief else None
        self.callbacks = keras.callbacks.CallbackList(
            callbacks, model=trainer.supernet, epochs=config.epochs,
            steps=self.steps_per_epoch, verbose=0)

    def restore(self) -> None:
        state = self.checkpoint.restore()
        self.step = self.saved = state["step"]
        self.history = state["history"]
        self.counts = [np.array(c, np.int64) for c in state["choice_counts"]]
        self.trainer.sampler.set_state(state["sampler"])
        self._say(f"resuming {self.out} at step {self.step} of {self.total_steps}")

    def fit(self) -> None:
        config, model = self.trainer.config, self.trainer.supernet
        dataset, _ = data.load(config.dataset, "train", batch_size=config.batch_size,
                               image_size=self.trainer.space.input_size, repeat=True,
                               drop_remainder=True, seed=config.seed + self.step)
        batches = iter(self.trainer.strategy.experimental_distribute_dataset(dataset))
        model.stop_training = False
        self._say_recipe()
        self._say_budget()
        self._say_warmup()
        self.callbacks.on_train_begin()
        logs = None
        while self.step < self.total_steps and not model.stop_training:
            logs = self._epoch(batches)
        self.callbacks.on_train_end(logs)

    def _say_recipe(self) -> None:
        """One line with the settings that depend on the space (configs.RECIPE)."""
        config = self.trainer.config
        recipe = ", ".join(f"{key.replace('_', ' ')} {getattr(config, key):g}"
                           for key in space_recipe(config.space))
        self._say(f"recipe: {recipe}, lr {config.lr:g} ({config.space}'s defaults "
                  f"unless set)")

    def _say_budget(self) -> None:
        """The run's steps against those its choices need, and one warning line when they
        are too few."""
        line, warning = budget_report(self.total_steps, self.trainer.space,
                                      self.trainer.sampler.paths_per_step,
                                      self.trainer.config.matched_init)
        self._say(line)
        if warning and self.chief:
            warnings.warn(warning, stacklevel=1)

    def _say_warmup(self) -> None:
        """One line on the stage-first warm-up, when a layer it holds has other choices."""
        space, warmup = self.trainer.space, self.warmup
        if warmup.until and any(len(space.layers[i].choices) > 1 for i in warmup.held):
            self._say(f"stage-first warm-up: until step {warmup.until} the "
                      f"{len(warmup.held)} layers that change stride or channels train only "
                      f"their smallest choice, then the others start as copies of it")

    def _epoch(self, batches) -> dict | None:
        """Train the rest of the current epoch, or up to a step whose callbacks stop
        training (saved, unless its loss is not finite); the epoch's logs when finished."""
        model = self.trainer.supernet
        epoch = self.step // self.steps_per_epoch
        bar = keras.utils.Progbar(self.steps_per_epoch, verbose=1 if self.verbose else 0,
                                  stateful_metrics=["lr"])
        first, sums, started = self.step % self.steps_per_epoch, np.zeros(3), time.time()
        self._say(f"epoch {epoch + 1}/{self.trainer.config.epochs}")
        if self.step == 0 or self.trainer.traces == 0:
            self._say("tracing the train step once for all paths (seconds; later steps "
                      "reuse it)")
        self.callbacks.on_epoch_begin(epoch)
        for i in range(first, self.steps_per_epoch):
            self.callbacks.on_train_batch_begin(i)
            loss, correct, lr = self._one_step(next(batches))
            sums += (loss, correct, 1)
            bar.update(i + 1, [("loss", loss), ("accuracy", correct), ("lr", lr)])
            self.callbacks.on_train_batch_end(i, {"loss": sums[0] / sums[2],
                                                  "accuracy": sums[1] / sums[2]})
            if not math.isfinite(loss):
                return self._stop_at_non_finite(loss)
            last = i + 1 == self.steps_per_epoch
            if not last and (model.stop_training
                             or self.step % self.trainer.config.save_every == 0):
                self._save()
            if not last and model.stop_training:
                self._say(f"stopped by a callback at step {self.step} of {self.total_steps}; "
                          f"saved, the same config resumes there")
                return None
        self.history.append({"epoch": epoch + 1, "loss": sums[0] / sums[2],
                             "accuracy": sums[1] / sums[2], "lr": lr,
                             "seconds": round(time.time() - started, 2)})
        self._log(self.history[-1], epoch + 1, prefix="epoch_")
        self._save()
        logs = {key: self.history[-1][key] for key in ("loss", "accuracy", "lr")}
        self.callbacks.on_epoch_end(epoch, logs)
        if model.stop_training and self.step < self.total_steps:
            self._say(f"stopped by a callback after epoch {epoch + 1} (step {self.step} of "
                      f"{self.total_steps}); saved, the same config resumes there")
        return logs

    def _stop_at_non_finite(self, loss: float) -> None:
        """After the callbacks saw a non-finite loss: stop if one asked to (nothing of
        this step is saved), else raise."""
        where = f"loss became {loss} at step {self.step + 1}"
        if not self.trainer.supernet.stop_training:
            raise ScarletError(f"{where}; stopped, and the last good checkpoint in "
                               f"{self.out} is kept (try a lower --lr)")
        kept = f"step {self.saved}" if self.saved >= 0 else "none yet"
        self._say(f"stopped by a callback: {where}; not saved (checkpoint kept: {kept})")

    def _one_step(self, batch):
        """One training step: (loss, accuracy, lr); a non-finite loss leaves the step,
        choice counts and logs as they were."""
        trainer, config = self.trainer, self.trainer.config
        paths = self.warmup.paths(self.step)
        lr = float(self.learning_rate(self.step))
        loss, correct = trainer.step(batch[0], batch[1], paths, lr)
        loss = float(loss) / len(paths)
        accuracy = float(correct) / (len(paths) * config.batch_size)
        if not math.isfinite(loss):
            return loss, accuracy, lr
        picked = count_choices(paths, trainer.space.num_choices)
        self.counts = [c + n for c, n in zip(self.counts, picked)]
        self.step += 1
        if self.step % 10 == 0:
            self._log({"loss": loss, "accuracy": accuracy, "lr": lr}, self.step)
        return loss, accuracy, lr

    def _save(self) -> None:
        self.saved = self.step
        counts = [c.tolist() for c in self.counts]
        self.checkpoint.save(self.step, {"step": self.step, "history": self.history,
                                         "choice_counts": counts,
                                         "sampler": self.trainer.sampler.get_state()})
        if self.chief:
            write_json(self.out / "history.json", self.history)
            tokens = [[c.token for c in layer.choices] for layer in self.trainer.space.layers]
            write_json(self.out / "choice_counts.json",
                       [dict(zip(t, c)) for t, c in zip(tokens, counts)])

    def _log(self, scalars: dict, step: int, prefix: str = "") -> None:
        if self.writer is None:
            return
        with self.writer.as_default(step=step):
            for name, value in scalars.items():
                if name not in ("epoch", "seconds"):
                    tf.summary.scalar(prefix + name, value)
        self.writer.flush()

    def _say(self, text: str) -> None:
        if self.chief:
            print(text, flush=True)
