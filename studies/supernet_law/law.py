"""How fast does a supernet learn as its choices grow? Curves for 1, 2, 4 and 13 choices.

Supernets of the default space (``scarlet-cifar``, 19 layers, width 1.0) that differ only
in the choices every layer offers (nested sets: one fixed path; two MBConv choices; four
with skip; all 13) train for the same steps with the same schedule. At every epoch end a
callback records the sampled paths' training accuracy and the recalibrated ``search``
split accuracy of a fixed set of paths (seeded random architectures of that choice set,
or for a run with its own sampler, paths that sampler draws; scored with
:class:`scarlet_tf.evaluation.evaluator.Evaluator` as ``search`` scores them). With
uniform sampling each choice of a layer is trained on 1/C of the steps, so the curves
are drawn against steps and against updates per choice (steps / C). Controls (a fair
sampler, a tied sampler, mixing only in the residual layers) ask why more choices slow it.

Resumable: training resumes from its checkpoint and finished epochs are read back from
``--out``. Weights go to ``--runs`` (never committed).

    python studies/supernet_law/law.py     # digits: every run, about 90 min on 2 cores
    python studies/supernet_law/law.py --dataset ../shared/data/cifar10-jpeg.tar.gz \
        --name cifar10 \
        --only 1,2,4,13,2-fair,2-tied,2-fixed-firsts,2-matched,13-matched,13-warm-firsts
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import keras
import numpy as np

import scarlet_tf
from scarlet_tf.files import read_json, write_json
from scarlet_tf.training.samplers import TiedSampler, UniformSampler

ROOT = Path(__file__).resolve().parents[2]
# run name -> choices of every layer (None: all 13); "1-e6k5se" controls for the block
# kind: does one path of the costliest choice learn as fast as one path of e3k3? and
# "2-skip" pairs e3k3 with the weightless skip (a depth choice).
CHOICE_SETS = {"1": "e3k3", "2": "e3k3,e6k5se", "4": "e3k3,e6k5se,e3k7,skip", "13": None,
               "1-e6k5se": "e6k5se", "2-skip": "e3k3,skip", "2-fair": "e3k3,e6k5se",
               "2-tied": "e3k3,e6k5se", "2-fixed-firsts": "e3k3,e6k5se",
               "2-matched": "e3k3,e6k5se", "4-matched": "e3k3,e6k5se,e3k7,skip",
               "13-matched": None, "13-warm-firsts": None}
# Runs with the fair sampler (every choice of a layer trained at each step, gradients
# summed): "2-fair" gives each of two weighted choices one update per step, as many as
# one path gets. If it learns per step as one path does, the count of updates is what
# slows "2"; if not, the choices interfere through what they share (stem, head).
FAIR = {"2-fair"}


class FixedFirstsSampler(UniformSampler):
    """Uniform, except that the layers without a residual (each stage's first, which
    changes channels or stride) always hold their first choice."""

    name = "fixed-firsts"

    def __init__(self, space, seed: int = 0):
        super().__init__(space, seed)
        self.fixed = [layer.index for layer in space.layers if not layer.residual]

    def sample(self) -> np.ndarray:
        paths = super().sample()
        paths[:, self.fixed] = 0
        return paths


# Runs with a sampler of their own, controls for what slows "2":
# - "2-tied": one path per step with the same choice in every layer; each choice is
#   trained on half the steps as in "2", but a layer never meets the other choice's
#   output. If it learns like one path, the mixing of choices along a path slows "2".
# - "2-fixed-firsts": mixing only in the residual layers (the stage-first layers hold
#   e3k3): is the mixing harmful where a block's output replaces its input rather than
#   adding to it?
SAMPLERS = {"2-tied": TiedSampler, "2-fixed-firsts": FixedFirstsSampler}
# - "13-warm-firsts": all 13 choices; the first half of the steps as "2-fixed-firsts"
#   (stage-first layers at e3k3, which is matched initialization's reference), then every
#   stage-first choice is set to compute the trained e3k3 and all layers mix: does a
#   network trained without interference stay compatible once the choices open?
#   (SupernetConfig.firsts_warmup = 0.5, the package's default since; 0 for the others.)
WARM = {"13-warm-firsts"}
# Runs with matched initialization (every choice of a non-residual layer starts as the
# same function; the package's default since this study), the others without it.
MATCHED = {"2-matched", "4-matched", "13-matched", "13-warm-firsts"}
# figure -> the runs it draws: the law over choice sets, and the controls beside 1 and 2
FIGURES = {"law.png": ("1", "1-e6k5se", "2-skip", "2", "4", "13"),
           "controls.png": ("1", "2", "2-fair", "2-tied", "2-fixed-firsts"),
           "matched.png": ("1", "2", "2-matched", "4", "4-matched", "13", "13-matched",
                           "13-warm-firsts")}
FIXED_PATHS = 8
SCORED_IMAGES = 1000  # of the search split (digits has 145, CIFAR-10 5,000)


class ScoreFixedPaths(keras.callbacks.Callback):
    """At each epoch end: the epoch's sampled-path accuracy and the mean recalibrated
    search-split accuracy of ``archs``, appended to the JSON list at ``record``."""

    def __init__(self, archs, dataset: str, count: int, record: Path):
        super().__init__()
        self.archs, self.dataset, self.record = archs, dataset, record
        # count: steps per update of a choice (its choices per layer; 1 for a fair run)
        self.count = count
        self.evaluator = None

    def on_epoch_end(self, epoch, logs=None):
        from scarlet_tf.evaluation.evaluator import Evaluator

        if self.evaluator is None:  # one Evaluator: it restores the statistics of the moment
            self.evaluator = Evaluator(self.model, self.dataset, recal_batches=4,
                                       max_images=SCORED_IMAGES)
        scores = [self.evaluator.score(arch)["accuracy"] for arch in self.archs]
        steps = (epoch + 1) * self.params["steps"]  # the run's, capped by the data
        rows = [r for r in read_json(self.record, []) if r["epoch"] != epoch + 1]
        rows.append({"epoch": epoch + 1, "steps": steps, "updates_per_choice": steps / self.count,
                     "train_accuracy": logs["accuracy"], "loss": logs["loss"],
                     "fixed_paths_accuracy": float(np.mean(scores)),
                     "fixed_paths_best": float(np.max(scores))})
        write_json(self.record, rows)
        print(f"  C={self.count} step {steps}: sampled {logs['accuracy']:.3f}, fixed paths "
              f"mean {np.mean(scores):.3f} best {np.max(scores):.3f}", flush=True)


def run_one(name: str, args) -> list[dict]:
    """Train (or resume) run ``name`` of :data:`CHOICE_SETS`; its records."""
    from scarlet_tf.space.spaces import Architecture, get_space
    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import train_supernet

    record = args.out / args.name / f"choices-{name}.json"
    done = read_json(record, [])
    if len(done) >= args.epochs:
        return done
    choices = CHOICE_SETS[name]
    space = get_space("scarlet-cifar", choices=choices)
    count = 1 if name in FAIR else max(space.num_choices)
    if name in SAMPLERS:  # score paths of the kind the run trains
        archs = [space.decode(SAMPLERS[name](space, seed + 1).sample()[0])
                 for seed in range(FIXED_PATHS)]
    else:
        archs = [Architecture.random(seed, space) for seed in range(FIXED_PATHS)]
    config = SupernetConfig(out=str(args.runs / args.name / f"choices-{name}"),
                            dataset=args.dataset, choices=choices, epochs=args.epochs,
                            steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
                            lr=args.lr, sampler="fair" if name in FAIR else "uniform",
                            matched_init=name in MATCHED,
                            firsts_warmup=0.5 if name in WARM else 0.0)
    sampler = SAMPLERS[name](space) if name in SAMPLERS else None
    train_supernet(config, verbose=False, sampler=sampler,
                   callbacks=[ScoreFixedPaths(archs, args.dataset, count, record)])
    return read_json(record, [])


def plot(curves: dict, path: Path, title: str) -> None:
    """Two panels: accuracy against steps and against updates per choice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 4.2), sharey=True)
    for i, (name, rows) in enumerate(curves.items()):
        color = f"C{i}"
        for axis, key in zip(axes, ("steps", "updates_per_choice")):
            x = [r[key] for r in rows]
            axis.plot(x, [r["fixed_paths_accuracy"] for r in rows], "o-", color=color,
                      label=f"{name}: fixed paths, recalibrated (search split)")
            axis.plot(x, [r["train_accuracy"] for r in rows], "--", color=color,
                      label=f"{name}: sampled paths (training)")
    for axis, label in zip(axes, ("steps", "updates per choice (steps / choices)")):
        axis.set_xscale("log")
        axis.set_xlabel(label)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("top-1 accuracy")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Command line: run (or read back) the chosen runs, then plot them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--name", default="digits", help="results subfolder")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps-per-epoch", type=int, default=100,
                        help="at most; a smaller training split caps it (digits: 20 at batch 64)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--only", default=",".join(CHOICE_SETS), help="runs, by name")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "supernet_law")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "supernet_law")
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    (args.out / args.name).mkdir(parents=True, exist_ok=True)
    curves = {name: run_one(name, args) for name in args.only.split(",")}
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "runs", "only")}
    write_json(args.out / args.name / "settings.json", settings)
    for figure, names in FIGURES.items():  # every finished run of the folder, not only these
        found = {n: read_json(args.out / args.name / f"choices-{n}.json") for n in names}
        plot({n: rows for n, rows in found.items() if rows}, args.out / args.name / figure,
             f"{args.name}: scarlet-cifar, width 1.0, batch {args.batch_size}, lr {args.lr}")
    print(json.dumps({c: rows[-1] for c, rows in curves.items()}, indent=1))


if __name__ == "__main__":
    main()
