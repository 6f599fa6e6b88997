"""Keras callbacks in supernet and stand-alone training: the hooks and their logs, a real
CSVLogger file, EarlyStopping and TerminateOnNaN stopping, and a supernet stopped by a
callback resuming from the checkpoint it saved."""

import csv
import json
import math

import keras
import pytest

from scarlet_tf.space.spaces import SKIPPABLE

TINY = {"width": 0.25, "choices": "e3k3se,skip", "batch_size": 16}
EPOCH_KEYS = {"loss", "accuracy", "lr"}  # both trainers' epoch logs
CSV_COLUMNS = ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss", "val_lr"]


class Recorder(keras.callbacks.Callback):
    """Every hook call as (hook, index, logs); optionally stops after global batch
    ``stop_after`` (counted from 1 over this call's batches)."""

    def __init__(self, stop_after=None):
        super().__init__()
        self.calls, self.stop_after, self.batches = [], stop_after, 0

    def _add(self, hook, index=None, logs=None):
        self.calls.append((hook, index, dict(logs or {})))

    def on_train_begin(self, logs=None):
        self._add("train_begin", None, logs)

    def on_train_end(self, logs=None):
        self._add("train_end", None, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._add("epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._add("epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._add("batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._add("batch_end", batch, logs)
        self.batches += 1
        if self.batches == self.stop_after:
            self.model.stop_training = True

    def hooks(self, *names):
        return [(hook, index) for hook, index, _ in self.calls if not names or hook in names]

    def logs(self, hook):
        return [logs for name, _, logs in self.calls if name == hook]


def read_csv(path):
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        return reader.fieldnames, list(reader)


def supernet_config(out, **settings):
    from scarlet_tf.training.configs import SupernetConfig

    return SupernetConfig(out=str(out), **TINY, **settings)


def state(out):
    return json.loads((out / "state.json").read_text())


def test_supernet_hooks_logs_csv_and_early_stopping(tmp_path, capsys):
    """Hooks in fit's order with loss/accuracy (batch) and loss/accuracy/lr (epoch) logs;
    CSVLogger's file matches the history; EarlyStopping stops after epoch 2 of 3 with the
    epoch's checkpoint."""
    from scarlet_tf.training.supernet import train_supernet

    out, table = tmp_path / "run", tmp_path / "log.csv"
    recorder = Recorder()
    early = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e9, patience=0)
    supernet, history = train_supernet(
        supernet_config(out, epochs=3, steps_per_epoch=2), verbose=False,
        callbacks=[recorder, keras.callbacks.CSVLogger(str(table)), early])
    assert recorder.model is supernet and supernet.stop_training
    assert recorder.hooks() == [
        ("train_begin", None),
        ("epoch_begin", 0), ("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1),
        ("batch_end", 1), ("epoch_end", 0),
        ("epoch_begin", 1), ("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1),
        ("batch_end", 1), ("epoch_end", 1),
        ("train_end", None)]
    assert all(set(logs) == {"loss", "accuracy"} for logs in recorder.logs("batch_end"))
    epoch_logs = recorder.logs("epoch_end")
    assert [set(logs) for logs in epoch_logs] == [EPOCH_KEYS] * 2
    for logs, record in zip(epoch_logs, history, strict=True):
        assert logs == {key: pytest.approx(record[key]) for key in EPOCH_KEYS}
    # batch logs: the epoch's running means, so its last batch's equal the epoch's
    assert recorder.logs("batch_end")[1]["loss"] == pytest.approx(epoch_logs[0]["loss"])
    assert early.stopped_epoch == 1 and [h["epoch"] for h in history] == [1, 2]
    assert state(out)["step"] == 4 and state(out)["history"] == history
    assert "stopped by a callback after epoch 2 (step 4 of 6)" in capsys.readouterr().out
    columns, rows = read_csv(table)
    assert columns == CSV_COLUMNS and [row["epoch"] for row in rows] == ["0", "1"]
    for row, record in zip(rows, history, strict=True):
        assert all(float(row[key]) == pytest.approx(record[key]) for key in EPOCH_KEYS)
        assert all(row[f"val_{key}"] == "NA" for key in EPOCH_KEYS)


def test_supernet_stopped_mid_epoch_saves_and_resumes(tmp_path, capsys):
    """A callback stopping after step 2 of epoch 1 (3 steps an epoch): training ends at
    once with a checkpoint of step 2 and no record of the unfinished epoch; the same
    config resumes at step 2 (batch 2 of epoch 1) and trains the 4 remaining steps; an
    appending CSVLogger across both calls holds one row an epoch."""
    from scarlet_tf.training.supernet import train_supernet

    out, table = tmp_path / "run", tmp_path / "log.csv"
    config = supernet_config(out, epochs=2, steps_per_epoch=3, save_every=100)
    stopper = Recorder(stop_after=2)
    _, history = train_supernet(config, verbose=False, callbacks=[
        stopper, keras.callbacks.CSVLogger(str(table), append=True)])
    assert stopper.hooks() == [("train_begin", None), ("epoch_begin", 0), ("batch_begin", 0),
                               ("batch_end", 0), ("batch_begin", 1), ("batch_end", 1),
                               ("train_end", None)]
    assert history == [] == json.loads((out / "history.json").read_text())
    stopped = state(out)
    assert stopped["step"] == 2 and stopped["checkpoint"] == "ckpt-2"
    assert (out / "checkpoints" / "ckpt-2.index").is_file()
    assert sum(sum(layer) for layer in stopped["choice_counts"]) == 2 * 19
    assert "stopped by a callback at step 2 of 6" in capsys.readouterr().out

    resumed = Recorder()
    _, history = train_supernet(config, verbose=False, callbacks=[
        resumed, keras.callbacks.CSVLogger(str(table), append=True)])
    assert f"resuming {out} at step 2 of 6" in capsys.readouterr().out
    assert resumed.hooks("epoch_begin", "batch_begin", "epoch_end") == [
        ("epoch_begin", 0), ("batch_begin", 2), ("epoch_end", 0),
        ("epoch_begin", 1), ("batch_begin", 0), ("batch_begin", 1), ("batch_begin", 2),
        ("epoch_end", 1)]
    final = state(out)
    assert final["step"] == 6 and [h["epoch"] for h in history] == [1, 2]
    assert final["history"] == history == json.loads((out / "history.json").read_text())
    assert sum(sum(layer) for layer in final["choice_counts"]) == 6 * 19
    columns, rows = read_csv(table)
    assert columns == CSV_COLUMNS and [row["epoch"] for row in rows] == ["0", "1"]
    assert [float(row["loss"]) for row in rows] == pytest.approx([h["loss"] for h in history])


def test_supernet_terminate_on_nan_stops_without_saving_the_bad_step(tmp_path, capsys):
    """An exploding learning rate: the second step's loss is NaN; TerminateOnNaN sees it
    at that batch's end and training stops without an error and without saving it."""
    from scarlet_tf.training.supernet import train_supernet

    out = tmp_path / "run"
    config = supernet_config(out, epochs=1, steps_per_epoch=3, lr=1e30, warmup_epochs=0,
                             save_every=1)
    recorder = Recorder()
    _, history = train_supernet(config, verbose=False,
                                callbacks=[keras.callbacks.TerminateOnNaN(), recorder])
    losses = [logs["loss"] for logs in recorder.logs("batch_end")]
    assert len(losses) == 2 and math.isfinite(losses[0]) and math.isnan(losses[1])
    assert recorder.hooks()[-1] == ("train_end", None) and history == []
    assert state(out)["step"] == 1  # the good step's checkpoint, not the NaN one
    assert sorted(p.name for p in (out / "checkpoints").glob("*.index")) == ["ckpt-1.index"]
    output = capsys.readouterr().out
    assert "Invalid loss, terminating training" in output
    assert "loss became nan at step 2; not saved (checkpoint kept: step 1)" in output


def test_subnet_csv_logger_early_stopping_and_logs(tmp_path):
    """train_subnet passes callbacks to fit after its own: the epoch logs (and CSVLogger's
    columns) are the supernet's loss/accuracy/lr, lr equal to history.json's (the
    epoch's last step's rate); EarlyStopping stops after epoch 2 of 3 and the run is
    scored as finished."""
    from scarlet_tf.standalone.training import train_subnet
    from scarlet_tf.training.configs import SubnetConfig
    from scarlet_tf.training.schedule import WarmupDecay

    shallow = ",".join("skip" if s else "e3k3" for s in SKIPPABLE)
    out, table = tmp_path / "run", tmp_path / "log.csv"
    config = SubnetConfig(arch=shallow, out=str(out), width=0.25, epochs=3, steps_per_epoch=2,
                          batch_size=16, warmup_epochs=0.5)
    recorder = Recorder()
    result = train_subnet(config, verbose=False, callbacks=[
        keras.callbacks.CSVLogger(str(table)), recorder,
        keras.callbacks.EarlyStopping(monitor="accuracy", mode="max", min_delta=2.0,
                                      patience=0)])
    assert recorder.hooks("train_begin", "epoch_begin", "epoch_end", "train_end") == [
        ("train_begin", None), ("epoch_begin", 0), ("epoch_end", 0), ("epoch_begin", 1),
        ("epoch_end", 1), ("train_end", None)]
    assert recorder.hooks("batch_end") == [("batch_end", 0), ("batch_end", 1)] * 2
    assert all({"loss", "accuracy"} <= set(logs) for logs in recorder.logs("batch_end"))
    epoch_logs = recorder.logs("epoch_end")
    assert [set(logs) for logs in epoch_logs] == [EPOCH_KEYS] * 2
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and result["epochs"] == 2
    schedule = WarmupDecay(0.05, total=6, warmup=1)
    for logs, record, last_step in zip(epoch_logs, history, (1, 3), strict=True):
        assert logs == {key: pytest.approx(record[key]) for key in EPOCH_KEYS}
        assert record["lr"] == pytest.approx(float(schedule(last_step)))
    columns, rows = read_csv(table)
    assert columns == CSV_COLUMNS and [row["epoch"] for row in rows] == ["0", "1"]
    for row, record in zip(rows, history, strict=True):
        assert all(float(row[key]) == pytest.approx(record[key]) for key in EPOCH_KEYS)
    assert (out / "result.json").is_file() and not (out / "backup").exists()
