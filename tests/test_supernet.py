"""Supernet training: one trace for all paths, only the sampled choice runs and moves,
fair sampling, identical replicas, resume after a real kill, refused config changes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scarlet_tf import ScarletError, get_space
from scarlet_tf.training.samplers import (
    FairSampler,
    StageFirstWarmup,
    TiedSampler,
    UniformSampler,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--width", "0.25", "--choices", "e3k3se,skip", "--batch-size", "16"]


def make_trainer(optimizer, tmp_path, sampler="uniform"):
    """A trainer over the full 13-choice space (small width: a quick test)."""
    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import SupernetTrainer

    trainer = SupernetTrainer(SupernetConfig(out=str(tmp_path), width=0.25, optimizer=optimizer,
                                             batch_size=8, weight_decay=1e-3, sampler=sampler))
    trainer.build()
    return trainer


def snapshot(variables):
    return [np.array(v) for v in variables]


def choice_state(trainer, layer, index):
    """Weights, optimizer slots and BN moving statistics of one choice."""
    option = trainer.supernet.blocks[layer].options[index]
    slots = [s for v in option.trainable_weights for s in trainer.optimizer.slots[id(v)]]
    return snapshot(option.weights + slots)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_one_trace_no_drift_and_only_sampled_choice_runs(optimizer, tmp_path):
    """Full space: many paths share one trace; only the sampled choices' weights, slots
    and BN statistics move (skip and MBConv, with and without squeeze-excite)."""
    import tensorflow as tf

    trainer = make_trainer(optimizer, tmp_path)
    space = trainer.space
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(8, 32, 32, 3)), tf.float32)
    labels = tf.constant(rng.integers(10, size=8), tf.int32)

    def step(path):
        return trainer.step(images, labels, np.array([path], np.int32), 0.1)

    for seed in range(6):  # give many choices momentum first
        step(space.encode(space.sample(seed)))
    path = space.encode(space.sample(11))
    watched = [(i, c) for i in (1, 2, 7, 12) for c in range(space.num_choices[i])]
    before = {key: choice_state(trainer, *key) for key in watched}
    shared = snapshot(trainer.supernet.stem.weights + trainer.supernet.head.weights)
    step(path)
    assert trainer.traces == 1
    for (layer, choice), old in before.items():
        new = choice_state(trainer, layer, choice)
        same = all(np.array_equal(a, b) for a, b in zip(old, new))
        assert same == (path[layer] != choice), (layer, choice)
    now = snapshot(trainer.supernet.stem.weights + trainer.supernet.head.weights)
    assert not all(np.array_equal(a, b) for a, b in zip(shared, now))
    nulls = [v for switch in trainer.supernet.switches for v in switch.nulls.values()]
    assert nulls and not any(np.any(v.numpy()) for v in nulls)


def test_fair_step_trains_every_choice_with_few_traces(tmp_path):
    """A fair step (13 paths) moves every choice of every layer, with a bounded number
    of traces however many steps run."""
    import tensorflow as tf

    trainer = make_trainer("sgd", tmp_path, sampler="fair")
    images = tf.random.normal((8, 32, 32, 3))
    labels = tf.constant(np.arange(8) % 10, tf.int32)
    before = {(i, c): choice_state(trainer, i, c)
              for i in range(19) for c in range(trainer.space.num_choices[i])}
    trainer.step(images, labels, trainer.sampler.sample(), 0.1)
    traces = trainer.traces
    trainer.step(images, labels, trainer.sampler.sample(), 0.1)
    assert traces == trainer.traces == 2  # one path step for all 13 paths, one shared update
    for key, old in before.items():
        new = choice_state(trainer, *key)
        assert not all(np.array_equal(a, b) for a, b in zip(old, new)), key


def test_fair_step_moves_stem_and_head_by_the_mean_of_its_paths(tmp_path):
    """The stem and head take one Nesterov SGD step on the mean of the 13 paths'
    gradients, not their sum (which would step them 13x further than the choices; see
    docs/design.md)."""
    import tensorflow as tf

    trainer = make_trainer("sgd", tmp_path, sampler="fair")
    images = tf.random.normal((8, 32, 32, 3))
    labels = tf.constant(np.arange(8) % 10, tf.int32)
    lr = tf.constant(0.1)
    paths = trainer.sampler.sample()
    for path in paths:
        trainer.train_step(images, labels, tf.constant(path), lr)
    before, sums = snapshot(trainer.shared), snapshot(trainer.accumulators)
    trainer.apply_shared(lr)
    assert len(paths) == 13 and any(np.abs(s).max() > 0 for s in sums)
    for variable, old, total in zip(trainer.shared, before, sums):
        grad = total / 13 + (1e-3 * old if old.ndim > 1 else 0.0)  # L2 decay on kernels
        expected = old - (1 + 0.9) * 0.1 * grad  # Keras Nesterov with zero momentum
        np.testing.assert_allclose(np.array(variable), expected, rtol=1e-4, atol=1e-6)


def test_unselected_choices_are_not_computed():
    """BatchNorm statistics move only in the choice that ran (training mode)."""
    import tensorflow as tf

    from scarlet_tf.network.supernet import Supernet

    supernet = Supernet(get_space("scarlet-cifar", width=0.25, choices="e3k3se,skip"))
    bn = supernet.blocks[1].options[0].expand_bn  # layer 2: e3k3se or stabilizer
    run = tf.function(lambda x, path: supernet(x, path, training=True))
    x = tf.random.normal((4, 32, 32, 3))
    before = np.array(bn.moving_mean)
    run(x, tf.constant([0, 1] + [0] * 17))
    assert np.array_equal(before, np.array(bn.moving_mean))
    run(x, tf.constant([0] * 19))
    assert not np.array_equal(before, np.array(bn.moving_mean))


def test_fair_sampler_uses_every_choice_once_per_step():
    space = get_space("scarlet-cifar")
    sampler = FairSampler(space, seed=3)
    for _ in range(20):
        paths = sampler.sample()
        assert paths.shape == (13, 19)
        for layer, n in enumerate(space.num_choices):
            counts = np.bincount(paths[:, layer], minlength=n)
            assert counts.min() >= 1 and counts.sum() == 13
            if n == 13:
                assert (counts == 1).all()
    restricted = FairSampler(get_space("scarlet-cifar", choices="e3k3,e6k7se,skip"), seed=0)
    assert restricted.sample().shape == (3, 19)


def test_samplers_are_reproducible_and_resumable():
    space = get_space("scarlet-cifar")
    a, b = UniformSampler(space, 5), UniformSampler(space, 5)
    assert np.array_equal(a.sample(), b.sample())
    state = a.get_state()
    first = a.sample()
    b.set_state(state)
    assert np.array_equal(first, b.sample())


def test_stage_first_warmup_holds_layers_then_opens_them_once():
    space = get_space("scarlet-cifar")
    opened = []
    warmup = StageFirstWarmup(FairSampler(space, 1), {0: 4, 2: 7}, until=3,
                              on_open=lambda: opened.append(True))
    for step in range(3):
        paths = warmup.paths(step)
        assert (paths[:, 0] == 4).all() and (paths[:, 2] == 7).all()
        assert len(set(paths[:, 1])) == 13 and not opened
    assert len(set(warmup.paths(3)[:, 0])) == 12 and opened == [True]
    warmup.paths(4)
    assert opened == [True]
    never = StageFirstWarmup(UniformSampler(space, 1), {0: 4}, until=0, on_open=opened.clear)
    never.paths(0)
    assert opened == [True]


def test_train_supernet_with_a_custom_sampler(tmp_path):
    """A TiedSampler passed to train_supernet picks every step's path: each choice is used
    by all layers equally often; resuming without it is refused with one line."""
    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import train_supernet

    config = SupernetConfig(out=str(tmp_path / "run"), width=0.25, choices="e3k3,e3k5",
                            epochs=1, steps_per_epoch=6, batch_size=8, firsts_warmup=0.0)
    space = get_space("scarlet-cifar", width=0.25, choices="e3k3,e3k5", num_classes=10)
    train_supernet(config, verbose=False, sampler=TiedSampler(space, seed=1))
    counts = json.loads((tmp_path / "run" / "choice_counts.json").read_text())
    layers = [(layer["e3k3"], layer["e3k5"]) for layer in counts]
    assert len(set(layers)) == 1 and sum(layers[0]) == 6 and min(layers[0]) > 0
    with pytest.raises(ScarletError, match=r"\(sampler: tied -> uniform\)"):
        train_supernet(config, verbose=False)
    with pytest.raises(ScarletError, match="same number of choices"):
        TiedSampler(get_space("scarlet-cifar", choices="e3k3,skip"))


REPLICA_SCRIPT = """
import json, numpy as np, tensorflow as tf
from scarlet_tf.training.configs import SupernetConfig
from scarlet_tf.training.supernet import train_supernet
sn, _ = train_supernet(SupernetConfig(out={out!r}, width=0.25, choices={choices!r},
    epochs=1, steps_per_epoch=3, batch_size=16, replicas=2, sampler={sampler!r},
    optimizer="rmsprop"), verbose=False)
diffs = []
for v in sn.trainable_weights:
    copies = [np.array(c) for c in v.value.values]
    diffs.append(max(float(np.abs(c - copies[0]).max()) for c in copies))
print(json.dumps({{"replicas": len(sn.trainable_weights[0].value.values),
                   "max_diff": max(diffs)}}))
"""


@pytest.mark.parametrize("sampler, choices", [("uniform", None), ("fair", "e3k3se,skip")])
def test_two_replicas_keep_identical_weights(tmp_path, sampler, choices):
    """MirroredStrategy over two CPU replicas: every weight bit-identical after training
    (uniform on the full space: the masked updates through picked handles)."""
    script = REPLICA_SCRIPT.format(out=str(tmp_path), sampler=sampler, choices=choices)
    result = subprocess.run([sys.executable, "-c", script],
                            capture_output=True, text=True, check=False, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2 and report["max_diff"] == 0.0


def cli(*args):
    return [sys.executable, "-m", "scarlet_tf.cli.main", "train-supernet", *args]


def test_resume_after_kill_and_refuse_changed_config(tmp_path):
    out = tmp_path / "run"
    args = ["--out", str(out), *SMALL, "--epochs", "2", "--steps-per-epoch", "5",
            "--save-every", "2", "--stabilizer", "none", "--quiet"]
    process = subprocess.Popen(cli(*args), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 400
    while time.time() < deadline and process.poll() is None:
        state = out / "state.json"
        if state.is_file() and json.loads(state.read_text())["step"] >= 2:
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = json.loads((out / "state.json").read_text())["step"]
    assert 2 <= killed_at < 10
    resumed = subprocess.run(cli(*args), cwd=ROOT, capture_output=True, text=True, check=False,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming {out} at step {killed_at}" in resumed.stdout
    state = json.loads((out / "state.json").read_text())
    assert state["step"] == 10 and [h["epoch"] for h in state["history"]] == [1, 2]
    assert sum(sum(layer) for layer in state["choice_counts"]) == 10 * 19
    changed = subprocess.run(cli(*args[:-1], "--lr", "0.2"), cwd=ROOT, capture_output=True,
                             text=True, check=False, timeout=300)
    assert changed.returncode == 2 and "was made with other settings (lr: " in changed.stderr
    assert json.loads((out / "state.json").read_text()) == state

    from scarlet_tf.evaluation.runs import SupernetRun

    supernet = SupernetRun(out).supernet
    assert supernet.settings["stabilizer"] == "none"
    assert supernet.settings["space"]["choices"] == "e3k3se,skip"


def test_bad_settings_are_refused():
    from scarlet_tf.training.configs import SupernetConfig

    with pytest.raises(ScarletError, match="multiple of --replicas"):
        SupernetConfig(out="x", batch_size=9, replicas=2).validate()
    result = subprocess.run(cli("--out", "x", "--epochs", "0"), cwd=ROOT, capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 2 and result.stderr.strip() == "error: --epochs must be >= 1"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_workers_on_localhost(tmp_path):
    """MultiWorkerMirroredStrategy from TF_CONFIG: two processes, one run directory."""
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            cli("--out", str(tmp_path / "run"), *SMALL, "--epochs", "1",
                "--steps-per-epoch", "3", "--quiet"),
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [w.communicate(timeout=900)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["step"] == 3 and "done: epoch 1" in outputs[0]
    assert not list((tmp_path / "run").glob(".worker-tmp-*"))


def test_checkpoint_round_trip_restores_every_weight(tmp_path):
    """Every weight (choice blocks included) survives save and SupernetRun's load."""
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.network.supernet import Supernet
    from scarlet_tf.training.checkpoints import RunCheckpoint, prepare_run_dir, weight_map

    space = get_space("scarlet-cifar", width=0.25, choices="e3k3se,skip")
    net = Supernet(space)
    rng = np.random.default_rng(0)
    for variable in net.weights:
        variable.assign(rng.normal(size=variable.shape))
    prepare_run_dir(tmp_path, {"dataset": "digits"}, False, {"supernet": net.settings})
    RunCheckpoint(tmp_path, weights=weight_map(net)).save(1, {"step": 1})
    loaded = SupernetRun(tmp_path).supernet
    assert len(loaded.weights) == len(net.weights) > 300
    for a, b in zip(net.weights, loaded.weights):
        assert a.path == b.path and np.array_equal(np.array(a), np.array(b)), a.path


def test_switched_path_equals_the_chosen_layers_chained():
    """Logits and gradients of the handle-switched supernet equal those of the chosen
    choices' Keras layers chained directly (gradients mapped back by role)."""
    import keras
    import tensorflow as tf

    from scarlet_tf.network.supernet import Supernet
    from scarlet_tf.network.switching import option_roles

    keras.utils.set_random_seed(2)
    supernet = Supernet(get_space("scarlet-cifar", width=0.25), zero_init_residual=False,
                        matched_init=False)
    indices = supernet.space.encode(supernet.space.sample(5))
    images = tf.random.uniform([8, 32, 32, 3], -1, 1)
    labels = tf.constant(np.arange(8) % 10)

    def loss_of(logits):
        return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True))


    @tf.function(autograph=False)
    def switched():
        with tf.GradientTape() as tape:
            logits, _, reads = supernet.run_path(images, tf.constant(indices), training=True,
                                                 watch=tape.watch)
            loss = loss_of(logits)
        tensors = [t for read in reads for t in read.values()]
        return logits, tape.gradient(loss, supernet.shared_weights() + tensors,
                                     unconnected_gradients="zero")

    @tf.function(autograph=False)
    def direct():
        with tf.GradientTape() as tape:
            x = supernet.stem(images, training=True)
            for block, index in zip(supernet.blocks, indices):
                x = block.options[index](x, training=True)
            logits = supernet.head(x, training=True)
            loss = loss_of(logits)
        return logits, tape.gradient(loss, supernet.trainable_weights)

    direct_logits, direct_grads = direct()
    by_variable = {id(v): np.asarray(g) for v, g in zip(supernet.trainable_weights, direct_grads)
                   if g is not None}
    switched_logits, switched_grads = switched()
    np.testing.assert_allclose(switched_logits, direct_logits, atol=1e-4)
    shared = supernet.shared_weights()
    variables, grads, rest = list(shared), list(switched_grads[:len(shared)]), \
        list(switched_grads[len(shared):])
    for switch, block, index in zip(supernet.switches, supernet.blocks, indices):
        roles = option_roles(block.options[index])
        for role in switch.trainable:
            grad = rest.pop(0)
            if role in roles:
                variables.append(roles[role])
                grads.append(grad)
    scale = max(np.abs(g).max() for g in by_variable.values())
    assert scale > 0 and len(variables) == len(by_variable)
    for variable, grad in zip(variables, grads):
        np.testing.assert_allclose(grad, by_variable[id(variable)], atol=1e-4 * scale,
                                   err_msg=variable.path)


def test_unnamed_variables_keep_keras_paths_and_values():
    """Variables made under one TensorFlow name (fast to create) keep their Keras paths,
    values and independence."""
    import keras

    from scarlet_tf.network.switching import unnamed_variables

    layers = [keras.layers.Dense(3, name=f"dense_{i}") for i in range(2)]
    with unnamed_variables(), keras.name_scope("outer"):
        for layer in layers:
            layer.build((None, 4))
    assert [layer.kernel.path for layer in layers] == ["outer/dense_0/kernel",
                                                      "outer/dense_1/kernel"]
    assert layers[0].kernel.value.name == "v:0"
    layers[0].kernel.assign(np.ones((4, 3), "float32"))
    assert not np.all(layers[1].kernel.numpy() == 1.0)  # the other variable kept its value


def test_hard_swish_gradient_matches_keras():
    """The switched block's hard swish: Keras' values, and Keras' chain-rule gradient
    within one float32 ulp, also at the kinks (-3, 3)."""
    import keras
    import tensorflow as tf

    from scarlet_tf.network.switched_ops import hard_swish

    x = tf.constant(np.concatenate([np.linspace(-5, 5, 2001), [-3.0, 3.0, 0.0]]), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours, theirs = hard_swish(x), keras.activations.hard_swish(x)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_allclose(tape.gradient(ours, x), tape.gradient(theirs, x), rtol=0,
                               atol=2.0 ** -22)
