"""Every setting the NAS-Bench-Macro study pins, and the order of its stages.

Written to ``settings.json`` beside the results (with the package commit) by
``study.py``; ``macro_report.py`` reads the same settings, so a table can only describe
what was run.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
# The benchmark's stand-alone recipe (SGD momentum 0.9, weight decay 5e-4, lr 0.1 at batch
# 256, cosine, crop and flip, no label smoothing) at batch 128 with the same lr per image;
# the package's SGD is Nesterov. Sampling, matched initialization and the stage-first
# warm-up are the package's defaults, written out so that a change of default cannot
# change this study.
RECIPE = {"space": "nas-bench-macro", "width": 1.0, "batch_size": 128, "lr": 0.05,
          "warmup_epochs": 0.5, "optimizer": "sgd", "weight_decay": 5e-4,
          "label_smoothing": 0.0, "zero_init_residual": True, "seed": 0,
          "sampler": "uniform", "matched_init": True, "firsts_warmup": 0.5,
          "stabilizer_init": "identity"}
VARIANTS = {"learnable": {"stabilizer": "learnable"}, "none": {"stabilizer": "none"},
            "learnable-nowarm": {"stabilizer": "learnable", "firsts_warmup": 0.0},
            # FairNAS strict fairness: 3 paths per step (each choice of each layer once),
            # so fair-e3 gives every choice the updates of 9 uniform epochs
            "fair": {"stabilizer": "learnable", "sampler": "fair"},
            # neither matched initialization nor the warm-up (which ends in its copy)
            "learnable-nomatch": {"stabilizer": "learnable", "matched_init": False,
                                  "firsts_warmup": 0.0},
            # the recipe: half the lr per image; the benchmark's own batch and lr
            "learnable-lrhalf": {"stabilizer": "learnable", "lr": 0.025},
            "learnable-b256": {"stabilizer": "learnable", "batch_size": 256, "lr": 0.1}}
BUDGETS = (3, 10, 30)  # epochs, each its own schedule
RETEST = {"networks": 200, "seed": 1, "recal_batches": (5, 20, 50), "images": (512, 2500)}
RANK = {"archs": 1000, "siblings": 50, "seed": 0, "recal_batches": 20, "max_images": 2500}
SELECT = {"networks": 204, "seed": 2, "depths": (3, 4, 5, 6, 7, 8),  # 34 per depth
          "baseline": "learnable-e3",  # every run is paired with it, and with its own:
          "baselines": {"fair-e3": ("learnable-e10",),
                        "learnable-nomatch-e3": ("learnable-nowarm-e3",),
                        "learnable-e30": ("learnable-e10",),
                        "none-e30": ("learnable-e30",)}}
PARITY = {"path": "12121212", "epochs": 3, "variant": "none"}
LAYER_EFFECTS = {"depths": (3, 4, 5, 6, 7), "min_networks": 3}
PLAN = [("train", "learnable-e3"), ("retest", "learnable-e3"), ("rank", "learnable-e3"),
        ("train", "learnable-nowarm-e3"), ("select", "learnable-e3"),
        ("select", "learnable-nowarm-e3"),
        ("train", "none-e3"), ("rank", "none-e3"), ("parity", None),
        ("train", "learnable-e10"), ("rank", "learnable-e10"),
        ("train", "fair-e3"), ("select", "fair-e3"),
        ("train", "learnable-nomatch-e3"), ("select", "learnable-nomatch-e3"),
        ("train", "learnable-e30"), ("select", "learnable-e30"),
        ("rank", "learnable-e30"), ("train", "none-e30"), ("select", "none-e30"),
        ("train", "learnable-lrhalf-e3"), ("select", "learnable-lrhalf-e3"),
        ("train", "learnable-b256-e3"), ("select", "learnable-b256-e3"),
        ("rank", "none-e30")]
