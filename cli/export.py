"""``scarlet-tf export-tflite``: a checked TFLite file (ops, parity against Keras), timed."""

from __future__ import annotations

import json

import click

from scarlet_tf.errors import ScarletError
from scarlet_tf.latency.timing import describe_latency, time_export
from scarlet_tf.names import QUANTIZATIONS
from scarlet_tf.space.spaces import get_space, resolve_arch

from .latency import threads_option
from .options import fast_first_trace, space_options


@click.command("export-tflite")
@click.argument("arch")
@click.option("--weights", type=click.Path(dir_okay=False), help="Trained plain model (.keras).")
@click.option("--supernet", type=click.Path(file_okay=False), help="Supernet checkpoint folder.")
@click.option("--random-init", is_flag=True, help="Export freshly initialized weights.")
@space_options()
@click.option("--quantize", type=click.Choice(QUANTIZATIONS),
              default="none", show_default=True)
@click.option("--int8-io", is_flag=True, help="int8 model input and output (with --quantize int8).")
@click.option("--representative-data", default="digits", show_default=True,
              help="Dataset for int8 calibration and parity: digits, a folder, an archive, "
                   "tfds:NAME.")
@click.option("--parity-images", type=int, default=200, show_default=True)
@threads_option
@click.option("--out", type=click.Path(dir_okay=False), default="model.tflite", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@fast_first_trace
def export_tflite(arch, weights, supernet, random_init, space, width, num_classes, input_size,
                  quantize, int8_io, representative_data, parity_images, threads, out, as_json):
    """Convert ARCH to TFLite, check ops and parity against Keras, time it.

    Writes OUT and its report OUT.json."""
    from scarlet_tf import export
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.space.costs import costs

    if sum((weights is not None, supernet is not None, random_init)) != 1:
        raise ScarletError("give exactly one of --weights, --supernet, --random-init")
    if parity_images < 1:
        raise ScarletError(f"--parity-images must be >= 1, got {parity_images}")
    space = get_space(space, width=width, num_classes=num_classes, input_size=input_size)
    run = SupernetRun(supernet) if supernet is not None else None
    space = run.space if run else space  # a supernet's architectures live in its space
    arch = resolve_arch(arch, space)
    model = model_to_export(arch, space, weights, run)
    total = costs(arch, space)
    metadata = {"arch": str(arch), "space": space.describe(), "madds": total.madds,
                "params": total.params}
    export.export(model, out, quantize=quantize, data=representative_data,
                  parity_images=parity_images, int8_io=int8_io, metadata=metadata,
                  random_init=random_init)
    report = time_export(out, threads=threads)
    click.echo(json.dumps(report) if as_json else export_summary(out, report))


def model_to_export(arch, space, weights, run):
    """The plain Keras model of ``arch``: extracted from the supernet run (BatchNorm
    recalibrated, stabilizers folded), loaded from ``weights``, or freshly initialized."""
    from scarlet_tf.export.pipeline import load_plain
    from scarlet_tf.network.models import build_model

    if run is not None:
        return run.subnet(arch)
    return load_plain(weights, arch, space) if weights else build_model(arch, space)


def export_summary(out, report) -> str:
    """Human-readable lines of an export report."""
    parity, latency = report["parity"], report["latency"]
    size = f"{report['size_bytes'] / 1e6:.2f} MB, {report['quantize']}"
    lines = [f"wrote {out} ({size}) and {out}.json",
             "ops: " + ", ".join(f"{k} x{v}" for k, v in report["ops"].items()) + " (all builtin)",
             f"parity on {parity['images']} images: max |logit diff| {parity['max_abs_diff']:.3g}"
             f" (max |logit| {parity['max_abs_logit']:.3g}), logit cosine {parity['cosine']:.3f},"
             f" top-1 agreement {parity['agreement']:.3f}"]
    if parity["random_init"]:
        lines.append("random-init weights: BatchNorm statistics recalibrated on the representative"
                     " data; top-1 is reported, not checked (the logit cosine is)")
    if parity["accuracy_drop"] is not None:
        lines.append(f"top-1 accuracy: Keras {parity['keras_accuracy']:.3f}, TFLite "
                     f"{parity['tflite_accuracy']:.3f} (drop {parity['accuracy_drop']:+.3f})")
    lines.append(f"host {describe_latency(latency)}; {report['madds'] / 1e6:.1f}M mult-adds")
    return "\n".join(lines)
