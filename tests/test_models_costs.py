"""Plain models and the analytic cost model, checked against built Keras graphs."""

import numpy as np
import pytest
from keras import layers

from scarlet_tf import Architecture, ScarletError, costs, get_space
from scarlet_tf.network.models import build_model

PAPER = {"scarlet-a": (365e6, 6.7e6), "scarlet-b": (329e6, 6.5e6), "scarlet-c": (280e6, 6.0e6)}


def trainable_count(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def graph_madds(model) -> int:
    """Mult-adds read off the built graph: output shapes times kernel sizes."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.DepthwiseConv2D):
            h, w = layer.output.shape[1:3]
            total += h * w * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, layers.Conv2D):
            h, w = layer.output.shape[1:3]
            total += h * w * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_figures(name):
    madds, params = PAPER[name]
    cost = costs(name)
    assert abs(cost.madds - madds) / madds < 0.01
    assert abs(cost.params - params) / params < 0.02
    model = build_model(name)
    assert trainable_count(model) == cost.params
    assert graph_madds(model) == cost.madds


CHUNKS = [(space, 1.0, chunk) for space in ("scarlet", "scarlet-cifar") for chunk in range(5)]


@pytest.mark.parametrize("space,width,chunk", CHUNKS + [("scarlet", 0.75, 0),
                                                       ("scarlet-cifar", 0.5, 0)])
def test_params_and_graph_madds_equal_on_random_archs(space, width, chunk):
    """50 random architectures per space at width 1, and 10 per space at other widths."""
    for seed in range(chunk * 10, chunk * 10 + 10):
        arch = Architecture.random(int(1000 * width) + seed)
        model = build_model(arch, space, width=width)
        cost = costs(arch, space, width=width)
        assert trainable_count(model) == cost.params, str(arch)
        assert graph_madds(model) == cost.madds, str(arch)


def test_skip_layers_add_no_layer_and_names_tell_place():
    arch = Architecture.parse("scarlet-c")
    names = [layer.name for layer in build_model(arch, "scarlet-cifar").layers]
    assert "layer07_e6k7se_expand" in names and "layer07_e6k7se_se_reduce" in names
    assert not any(n.startswith(("layer04", "layer05", "layer16")) for n in names)
    stabilized = [layer.name
                  for layer in build_model(arch, "scarlet-cifar", stabilizers=True).layers]
    assert "layer04_skip_stabilizer" in stabilized


def test_model_name_is_the_one_given():
    """``name`` names the model (not the last block's layer prefix)."""
    assert build_model("scarlet-c", "scarlet-cifar", width=0.25).name == "scarlet"
    assert build_model("scarlet-c", "scarlet-cifar", width=0.25, name="mine").name == "mine"


def test_forward_shapes_classes_and_dropout():
    model = build_model("scarlet-b", "scarlet-cifar", num_classes=7, dropout=0.2, width=0.5)
    logits = model(np.zeros((2, 32, 32, 3), "float32"), training=False)
    assert logits.shape == (2, 7)
    assert any(isinstance(layer, layers.Dropout) for layer in model.layers)
    big = build_model("scarlet-a", input_shape=(160, 160, 3))
    assert big.output_shape == (None, 1000)
    assert costs("scarlet-a", input_size=160).madds == graph_madds(big)



def test_space_object_with_build_options_is_refused():
    space = get_space("scarlet-cifar", width=0.25)
    for options in ({"width": 0.5}, {"num_classes": 7}, {"input_shape": (64, 64, 3)}):
        with pytest.raises(ScarletError, match="given with a SearchSpace"):
            build_model("scarlet-a", space, **options)
        if "input_shape" not in options:
            with pytest.raises(ScarletError, match="given with a SearchSpace"):
                costs("scarlet-a", space, **options)
    assert build_model("scarlet-a", space).output_shape == (None, 10)

def test_residual_adds_exactly_where_stride_one_and_channels_kept():
    arch = Architecture.parse("scarlet-a")
    adds = {layer.name[:7] for layer in build_model(arch, "scarlet-cifar").layers
            if isinstance(layer, layers.Add)}
    expected = {layer.name for layer in get_space("scarlet-cifar").layers if layer.residual}
    assert adds == expected and len(expected) == 13


def test_costs_take_a_loaded_latency_table(tmp_path):
    from scarlet_tf.latency.table import LatencyTable
    from scarlet_tf.latency.timing import Protocol

    space = get_space("scarlet-cifar", width=0.25, choices="e3k3,skip")
    blocks = {(layer.index, "e3k3"): 0.1 * (layer.index + 1) for layer in space.layers}
    settings = {"target": "android", **Protocol().settings()}  # a table that loads quietly
    table = LatencyTable(space.describe(), settings, 1.0, 2.0, blocks)
    table.save(tmp_path / "lut.json")
    arch = space.sample(0)
    expected = 3.0 + sum(ms for (i, _), ms in blocks.items() if not arch.choices[i].is_skip)
    for given in (table, LatencyTable.load(tmp_path / "lut.json")):
        assert costs(arch, space, latency_table=given).latency_ms == pytest.approx(expected)
    for wrong in (3, tmp_path / "lut.json"):
        with pytest.raises(ScarletError, match="latency_table must be a loaded LatencyTable"):
            costs(arch, space, latency_table=wrong)
