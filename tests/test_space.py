"""Search spaces and architectures: layer tables, parsing, errors, JSON, sampling."""

import json

import pytest

from scarlet_tf import Architecture, ScarletError, get_space, resolve_arch
from scarlet_tf.space.spaces import NAMED, SKIPPABLE, make_divisible


def test_scarlet_space_matches_paper_table():
    space = get_space("scarlet")
    assert len(space.layers) == 19
    assert [layer.out_channels for layer in space.layers] == [32] * 2 + [40] * 4 + [80] * 4 + \
        [96] * 4 + [192] * 4 + [320]
    assert [layer.resolution for layer in space.layers][::4] == [112, 28, 14, 14, 7]
    assert space.head_resolution == 7 and space.stem_stride == 2
    assert sum(layer.can_skip for layer in space.layers) == 13
    assert space.num_choices.count(13) == 13 and space.num_choices.count(12) == 6
    assert space.size == 12 ** 6 * 13 ** 13


def test_cifar_space_ends_at_4x4():
    space = get_space("scarlet-cifar")
    assert space.input_size == 32 and space.num_classes == 10
    assert space.stem_resolution == 32 and space.layers[0].stride == 1
    assert space.head_resolution == 4


def test_skip_only_where_stride_one_and_channels_kept():
    for layer in get_space("scarlet").layers:
        assert layer.can_skip == (layer.stride == 1 and layer.in_channels == layer.out_channels)


@pytest.mark.parametrize("width,expected", [(0.5, [16, 24, 40, 48]), (1.4, [48, 56, 112, 136])])
def test_width_multiplier_rounds_to_multiples_of_8(width, expected):
    space = get_space("scarlet", width=width)
    assert [space.layers[i].out_channels for i in (0, 2, 6, 10)] == expected
    assert all(layer.out_channels % 8 == 0 for layer in space.layers)
    assert make_divisible(7.9) == 8 and make_divisible(100) == 104


def test_named_architectures_round_trip():
    for name, text in NAMED.items():
        arch = Architecture.parse(name)
        assert str(arch) == text.replace(" ", "")
        assert Architecture.parse(str(arch)) == arch
    assert Architecture.parse("SCARLET-B").depth == 17
    assert Architecture.parse("scarlet-c").depth == 16


def test_encode_decode_round_trip_and_restricted_choices():
    space = get_space("scarlet")
    arch = Architecture.parse("scarlet-c")
    assert space.decode(space.encode(arch)) == arch
    assert space.encode(arch)[3] == 12 and space.encode(arch)[0] == 7
    small = get_space("scarlet-cifar", choices="skip,e6k5se,e3k3")
    assert small.num_choices == tuple(3 if s else 2 for s in SKIPPABLE)
    assert small.describe()["choices"] == "e3k3,e6k5se,skip"
    sampled = small.sample(0)
    assert small.decode(small.encode(sampled)) == sampled
    with pytest.raises(ScarletError, match="layer 1: 'e3k5se' is not a choice of this space"):
        small.encode(Architecture.parse("scarlet-c"))
    with pytest.raises(ScarletError, match="unknown choice 'e4k3'"):
        get_space("scarlet", choices="e4k3")
    with pytest.raises(ScarletError, match="at least one MBConv"):
        get_space("scarlet", choices="skip")


def test_random_is_seeded_and_valid():
    assert Architecture.random(3) == Architecture.random(3)
    archs = {Architecture.random(seed) for seed in range(200)}
    assert len(archs) == 200
    assert any(c.is_skip for a in archs for c in a.choices)
    for a in archs:
        assert all(s or not c.is_skip for c, s in zip(a.choices, SKIPPABLE))


@pytest.mark.parametrize("text,message", [
    ("e3k3," * 18 + "e3k9", "layer 19: unknown token 'e3k9'"),
    ("e3k3," * 17 + "e3k3", "needs 19 comma-separated tokens, got 18"),
    ("skip," + "e3k3," * 17 + "e3k3", "layer 1: 'skip' is not allowed"),
    ("scarlet-z", "unknown architecture 'scarlet-z'"),
])
def test_parse_errors_name_layer_and_allowed(text, message):
    with pytest.raises(ScarletError, match=message.replace("(", r"\(")):
        Architecture.parse(text)


def test_json_save_load_and_resolve(tmp_path):
    arch = Architecture.random(7)
    path = tmp_path / "arch.json"
    arch.save(path, accuracy=0.5)
    assert json.loads(path.read_text())["accuracy"] == 0.5
    assert Architecture.load(path) == arch == resolve_arch(str(path))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ScarletError, match="cannot read architecture JSON"):
        resolve_arch(tmp_path / "bad.json")
    with pytest.raises(ScarletError, match="not found"):
        resolve_arch(tmp_path / "missing.json")


def test_unknown_space_lists_allowed():
    with pytest.raises(ScarletError, match="allowed: scarlet, scarlet-cifar"):
        get_space("imagenet")


def test_options_with_a_space_object_are_an_error_not_ignored():
    space = get_space("scarlet-cifar", width=0.5)
    assert get_space(space) is space
    for options in ({"width": 0.25}, {"width": 1.0}, {"num_classes": 7}, {"input_size": 64},
                    {"choices": "e3k3,skip"}):
        with pytest.raises(ScarletError, match=f"{next(iter(options))} given with a SearchSpace "
                                               r"\(scarlet-cifar, width 0.5\)"):
            get_space(space, **options)
    wider = get_space(**{**space.describe(), "width": 0.25})
    assert wider.name == "scarlet-cifar" and wider.width == 0.25


def test_encode_takes_an_architecture_not_a_string():
    space = get_space("scarlet")
    with pytest.raises(ScarletError, match="expected an Architecture, got str 'scarlet-a'"):
        space.encode("scarlet-a")
    assert space.encode(resolve_arch("scarlet-a")) == space.encode(Architecture.parse("scarlet-a"))
