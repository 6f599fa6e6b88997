"""``scarlet-tf info``: the layer table, mult-adds and parameters of an architecture."""

from __future__ import annotations

import json

import click

from scarlet_tf.space.costs import costs
from scarlet_tf.space.spaces import get_space, resolve_arch

from .options import space_options


def info_record(arch, space) -> dict:
    """The JSON form of ``info``: architecture, space and its totals."""
    total = costs(arch, space)
    code = {"code": space.family.code(arch)} if space.family.digits else {}
    return {"arch": str(arch), **code, "space": space.describe(), "madds": total.madds,
            "madds_with_se_scaling": total.madds_with_se_scaling, "params": total.params,
            "depth": arch.depth}


def layer_table(arch, space) -> str:
    """A fixed-width per-layer table with totals."""
    total = costs(arch, space)
    rows = [("layer", "stage", "resolution", "in", "out", "stride", "choice", "MAdds(M)",
             "params(K)")]
    rows.append(("stem", "-", f"{space.input_size}->{space.stem_resolution}", "3",
                 str(space.stem_out_channels), str(space.stem_stride),
                 "conv3x3+sep" if space.sep_channels else "conv3x3",
                 f"{total.stem.madds / 1e6:.2f}", f"{total.stem.params / 1e3:.1f}"))
    for layer, choice, cost in zip(space.layers, arch.choices, total.layers):
        rows.append((str(layer.number), str(layer.stage),
                     f"{layer.resolution}->{layer.out_resolution}", str(layer.in_channels),
                     str(layer.out_channels), str(layer.stride), _choice_text(layer, choice),
                     f"{cost.madds / 1e6:.2f}", f"{cost.params / 1e3:.1f}"))
    rows.append(("head", "-", f"{space.head_resolution}->1", str(space.layers[-1].out_channels),
                 str(space.num_classes), "1", f"conv1x1-{space.head_channels}+fc",
                 f"{total.head.madds / 1e6:.2f}", f"{total.head.params / 1e3:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines += ["", f"architecture: {arch}",
              f"space: {space.name} (width {space.width}, {space.input_size}x{space.input_size},"
              f" {space.num_classes} classes)",
              f"mult-adds: {total.madds / 1e6:.1f}M ({total.madds_with_se_scaling / 1e6:.1f}M "
              f"with SE pooling and scaling)",
              f"params: {total.params / 1e6:.3f}M", f"depth: {arch.depth} of {len(space.layers)}"
              " searchable layers"]
    return "\n".join(lines)


def _choice_text(layer, choice) -> str:
    """The choice's token; a skip that is a strided projection says so."""
    return choice.token + (" (1x1 proj)" if choice.is_skip and layer.skip_projects else "")


@click.command()
@click.argument("arch")
@space_options()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(arch, space, width, num_classes, input_size, as_json):
    """Show the layers and costs of ARCH: a name (scarlet-a), a string or a JSON file."""
    space = get_space(space, width=width, num_classes=num_classes, input_size=input_size)
    arch = resolve_arch(arch, space)
    click.echo(json.dumps(info_record(arch, space)) if as_json else layer_table(arch, space))

