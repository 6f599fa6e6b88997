"""Feature consistency: cosine matrices by hand, the analyze command, layer checks."""

import json

import numpy as np
import pytest

from scarlet_tf import ScarletError, get_space
from scarlet_tf.evaluation.analysis import cosine_matrix, skippable_layer


def test_cosine_matrix_by_hand():
    a = np.array([[[1.0, 0.0]], [[0.0, 2.0]]])  # 2 examples, feature maps [1, 2]
    b = np.array([[[1.0, 1.0]], [[0.0, -1.0]]])
    zero = np.zeros((2, 1, 2))
    matrix = cosine_matrix([a, b, zero])
    # example 1: cos = 1/sqrt(2); example 2: cos = -1; mean over the batch
    assert matrix[0, 1] == matrix[1, 0] == pytest.approx((1 / np.sqrt(2) - 1) / 2)
    assert matrix[0, 2] == 0.0 and np.array_equal(np.diag(matrix), np.ones(3))


def test_layer_must_be_able_to_skip():
    space = get_space("scarlet-cifar")
    assert skippable_layer(space, 2).number == 2
    with pytest.raises(ScarletError, match="layers that can skip: 2, 4, 5, 6, 8"):
        skippable_layer(space, 3)


def test_analyze_command(tiny_supernet_dir, tmp_path):
    from click.testing import CliRunner
    from scarlet_tf.cli.main import cli

    out = tmp_path / "analysis"
    result = CliRunner().invoke(cli, ["analyze", "--supernet", str(tiny_supernet_dir),
                                      "--layer", "4", "--out", str(out), "--batch-size", "16",
                                      "--recal-batches", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "layer04.json").read_text())
    matrix = np.array(report["matrix"])
    assert report["choices"] == ["e3k3se", "skip"] and report["stabilizer"] == "learnable"
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1.0)
    assert np.all(np.abs(matrix) <= 1 + 1e-9) and report["prefix_path"] == [0, 0, 0]
    assert report["skip_vs_others"] == pytest.approx(matrix[1, 0])
    assert (out / "layer04.png").stat().st_size > 1000
    refused = CliRunner().invoke(cli, ["analyze", "--supernet", str(tiny_supernet_dir),
                                       "--layer", "1", "--out", str(out)])
    assert refused.exit_code != 0 and "layers that can skip" in str(refused.exception)
