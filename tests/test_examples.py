"""Every script in examples/ runs at its small budget and prints what its docstring says."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def check_architecture_costs(out: str, workdir: Path) -> None:
    assert "arch: e3k7,e6k5,e3k5,e3k7se," in out  # SCARLET-A's canonical form
    assert "scarlet (224 px): 365.3M mult-adds, 6.71M params" in out  # the paper's figures
    counted = re.search(r"(\d+) params by the cost model, (\d+) trainable in Keras", out)
    assert counted and counted[1] == counted[2]


def check_fold_supernet_path(out: str, workdir: Path) -> None:
    rows = dict(re.findall(r"fold_stabilizers=(True|False): (.*)", out))
    folded, kept = rows["True"], rows["False"]
    assert " 0 stabilizer layers" in folded  # folded away: true identities at skips
    assert int(re.search(r"(\d+) stabilizer layers", kept)[1]) == 11  # one per skip of ARCH
    for row in (folded, kept):
        assert float(re.search(r"relative logits gap (\S+)", row)[1]) < 1e-4
    assert (workdir / "supernet" / "config.json").is_file()


def check_pareto_oracle_digits(out: str, workdir: Path) -> None:
    front = [line for line in out.splitlines() if line.startswith("{'layers'")]
    assert front, out
    params = [float(p) for p in re.findall(r"'params': ([\d.]+)", "\n".join(front))]
    assert params == sorted(params, reverse=True)  # most accurate (and largest) first
    assert float(re.search(r"hypervolume (\S+)", out)[1]) > 0
    assert (workdir / "pareto_digits" / "pareto_digits.png").stat().st_size > 1000


def check_search_and_export(out: str, workdir: Path) -> None:
    best = re.search(r"best: (\S+) accuracy (\S+) mult-adds (\S+)M", out)
    assert best and len(best[1].split(",")) == 19 and float(best[3]) <= 60
    assert float(re.search(r"top-1 agreement with Keras ([\d.]+)", out)[1]) >= 0.99
    assert (workdir / "runs" / "example" / "best.tflite").stat().st_size > 10_000
    assert (workdir / "runs" / "example" / "search" / "best.json").is_file()


CHECKS = {
    "architecture_costs.py": (check_architecture_costs, []),
    "fold_supernet_path.py": (check_fold_supernet_path, ["--out", "supernet"]),
    "pareto_oracle_digits.py": (check_pareto_oracle_digits, []),
    "search_and_export.py": (check_search_and_export, []),
}


def test_every_example_is_checked():
    assert EXAMPLES, "examples/ is empty"
    assert {path.name for path in EXAMPLES} == set(CHECKS)


# opt-in (-m slow) to keep the default suite under 10 minutes: folding is also checked
# by test_evaluation's folded-subnet test
SLOW = {"fold_supernet_path.py"}


@pytest.mark.parametrize("example", [pytest.param(p, marks=pytest.mark.slow)
                                     if p.name in SLOW else p for p in EXAMPLES],
                         ids=lambda path: path.stem)
def test_example_runs_at_its_small_budget(example, tmp_path):
    check, extra = CHECKS[example.name]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, str(example), "--small", *extra], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    check(result.stdout, tmp_path)
