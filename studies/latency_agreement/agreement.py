r"""Does a latency table predict what ``scarlet-tf benchmark`` reports (issue #31)?

A resumable driver for the acceptance measurement, through the installed ``scarlet-tf``:

1. builds a table with ``scarlet-tf latency-table --space SPACE --out TABLE`` unless
   TABLE exists;
2. draws ``--archs`` stratified architectures (``scarlet_tf.space.stratified_archs``, seeded apart
   from the table's calibration, seed 0, and ``--validate``'s, seed 1000) that are not in
   the table's calibration set;
3. for each, runs ``scarlet-tf export-tflite ARCH --random-init`` and then
   ``scarlet-tf benchmark M.tflite --json --table TABLE`` (the table's settings, which
   are ``benchmark``'s defaults for a default table), and records the table's prediction
   (``scarlet_tf.costs(..., latency_table=TABLE)``), the reported latency (fastest run
   over fresh interpreters) and the one-interpreter median; one CSV row per
   architecture, done rows skipped on a rerun;
4. benchmarks the first ``--repeat-models`` models ``--repeats`` times each, interleaved,
   for the host's repeatability of both statistics;
5. writes ``summary.json``: fractions within ±10% and ±5% and mean |error| of the
   prediction against each statistic, and the repeatability.

    python studies/latency_agreement/agreement.py                       # 224 px, 20 archs
    python studies/latency_agreement/agreement.py --space scarlet-cifar --width 0.25 \\
        --archs 3 --table-options "--calibrate 5 --runs 10 --seconds 0.2" \\
        --parity-images 20 --repeat-models 2 --repeats 2 --out /tmp/agreement \\
        --work /tmp/agreement/work                                       # smoke test

Numbers go to ``--out`` (``results/latency_agreement``); TFLite files to ``--work``
(``runs/latency_agreement``, not committed).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from scarlet_tf.files import RowWriter, read_rows

ROOT = Path(__file__).resolve().parents[2]
SEED = 3100  # the architectures' seed: not calibration's (0) nor validation's (1000)
FIELDS = ("index", "arch", "stratum", "predicted_ms", "latency_ms", "median_ms",
          "latency_error", "median_error", "interpreters")


def scarlet_tf() -> str:
    """The installed ``scarlet-tf`` script next to this interpreter (else on PATH)."""
    script = Path(sys.executable).with_name("scarlet-tf")
    return str(script) if script.is_file() else shutil.which("scarlet-tf") or "scarlet-tf"


def run(*args: str) -> str:
    """Run ``scarlet-tf args`` (its progress and errors on our stderr) and return its
    stdout; exit when it fails."""
    print("$ scarlet-tf " + shlex.join(args), flush=True)
    done = subprocess.run([scarlet_tf(), *args], stdout=subprocess.PIPE, text=True,
                          check=False)
    if done.returncode != 0:
        sys.exit(f"scarlet-tf {args[0]} failed with status {done.returncode}")
    return done.stdout


def space_args(args) -> list[str]:
    """``--space/--width[/--input-size]`` as given to this driver."""
    found = ["--space", args.space, "--width", str(args.width)]
    return found + (["--input-size", str(args.input_size)] if args.input_size else [])


def ensure_table(args) -> Path:
    """The table's path, building it with the installed CLI unless it exists."""
    table = Path(args.table or args.out / f"table-{args.space}.json")
    if not table.is_file():
        table.parent.mkdir(parents=True, exist_ok=True)
        run("latency-table", *space_args(args), "--out", str(table),
            *shlex.split(args.table_options))
    return table


def held_out(space, table, count: int) -> list[tuple[str, str]]:
    """``count`` (arch, stratum) pairs of stratified architectures not in ``table``'s
    calibration set, in draw order."""
    from scarlet_tf.space.strata import STRATA, stratified_archs

    calibrated = {c["arch"] for c in table.calibration}
    drawn = stratified_archs(space, 3 * count, SEED)
    pairs = [(str(a), STRATA[i % len(STRATA)]) for i, a in enumerate(drawn)]
    return [pair for pair in pairs if pair[0] not in calibrated][:count]


def benchmark(model: Path, table: Path) -> dict:
    """``scarlet-tf benchmark MODEL --json --table TABLE`` as a dict."""
    return json.loads(run("benchmark", str(model), "--json", "--table", str(table)))


def measure_arch(index: int, arch: str, stratum: str, args, table: Path) -> dict:
    """Export ``arch`` (random init), benchmark it; one CSV row."""
    from scarlet_tf import costs
    from scarlet_tf.latency.table import LatencyTable

    model = args.work / f"arch{index:02d}.tflite"
    if not Path(f"{model}.json").is_file():
        run("export-tflite", arch, "--random-init", *space_args(args), "--parity-images",
            str(args.parity_images), "--out", str(model))
    record = benchmark(model, table)
    predicted = costs(arch, args.space, latency_table=LatencyTable.load(table), width=args.width,
                      **({"input_size": args.input_size} if args.input_size else {})).latency_ms
    median = record["one_interpreter"]["median_ms"]
    return {"index": index, "arch": arch, "stratum": stratum, "predicted_ms": predicted,
            "latency_ms": record["latency_ms"], "median_ms": median,
            "latency_error": predicted / record["latency_ms"] - 1,
            "median_error": predicted / median - 1, "interpreters": record["interpreters"]}


def repeatability(args, table: Path) -> dict:
    """Benchmark the first ``--repeat-models`` models ``--repeats`` times each (round robin,
    resumable in ``repeats.csv``); per statistic, each model's spread (max - min) / median
    of its repeats, and the largest and mean spread."""
    path = args.out / "repeats.csv"
    rows = read_rows(path)
    done = {(r["index"], r["repeat"]) for r in rows}
    writer = RowWriter(path, ("index", "repeat", "latency_ms", "median_ms"), rows)
    try:
        for repeat in range(args.repeats):
            for index in range(args.repeat_models):
                if (str(index), str(repeat)) not in done:
                    record = benchmark(args.work / f"arch{index:02d}.tflite", table)
                    writer.write({"index": index, "repeat": repeat,
                                  "latency_ms": record["latency_ms"],
                                  "median_ms": record["one_interpreter"]["median_ms"]})
    finally:
        writer.close()
    rows = read_rows(path)
    found = {}
    for key in ("latency_ms", "median_ms"):
        spreads = []
        for index in range(args.repeat_models):
            ms = np.array([float(r[key]) for r in rows if r["index"] == str(index)])
            spreads.append(float((ms.max() - ms.min()) / np.median(ms)))
        found[key] = {"spread": spreads, "max_spread": max(spreads),
                      "mean_spread": float(np.mean(spreads))}
    return found


def summarize(rows: list[dict], table: Path, args, repeats: dict) -> dict:
    """The summary JSON: the prediction's accuracy against both statistics, and the
    host's repeatability."""
    from scarlet_tf.latency.builder import accuracy
    from scarlet_tf.latency.table import LatencyTable

    records = [{k: float(r[k]) for k in ("latency_error", "median_error")} for r in rows]
    return {"table": str(table), "table_settings": LatencyTable.load(table).settings,
            "space": args.space, "width": args.width, "input_size": args.input_size,
            "archs": len(rows), "seed": SEED,
            "against_latency": accuracy(records, "latency_error"),
            "against_one_interpreter_median": accuracy(records, "median_error"),
            "repeatability": {"models": args.repeat_models, "repeats": args.repeats,
                              **repeats}}


def main() -> None:
    """Command line: build or reuse the table, measure, summarize."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="scarlet")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--input-size", type=int, help="[default: the space's]")
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--table", help="[default: OUT/table-SPACE.json, built if absent]")
    parser.add_argument("--table-options", default="",
                        help="More `latency-table` options for the build, e.g. '--calibrate 5'.")
    parser.add_argument("--parity-images", type=int, default=200)
    parser.add_argument("--repeat-models", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "latency_agreement")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "latency_agreement")
    args = parser.parse_args()
    args.repeat_models = min(args.repeat_models, args.archs)
    from scarlet_tf import get_space
    from scarlet_tf.latency.table import LatencyTable

    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    table = ensure_table(args)
    space = get_space(args.space, width=args.width,
                      **({"input_size": args.input_size} if args.input_size else {}))
    lut = LatencyTable.load(table)
    lut.check_space(space)
    path = args.out / "agreement.csv"
    rows = read_rows(path)
    done = {r["arch"] for r in rows}
    writer = RowWriter(path, FIELDS, rows)
    try:
        for index, (arch, stratum) in enumerate(held_out(space, lut, args.archs)):
            if arch not in done:
                writer.write(measure_arch(index, arch, stratum, args, table))
    finally:
        writer.close()
    summary = summarize(read_rows(path), table, args, repeatability(args, table))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    for key in ("against_latency", "against_one_interpreter_median"):
        fit = summary[key]
        print(f"{key}: {fit['within_10']:.0%} within ±10%, {fit['within_5']:.0%} within ±5%,"
              f" mean |error| {fit['mean_abs']:.1%} ({fit['count']} archs)")
    for key, spread in summary["repeatability"].items():
        if isinstance(spread, dict):
            print(f"repeatability of {key}: spread up to {spread['max_spread']:.1%} "
                  f"(mean {spread['mean_spread']:.1%})")


if __name__ == "__main__":
    main()
