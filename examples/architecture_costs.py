"""Build a plain Keras model from a named architecture and count its costs.

Parses SCARLET-A (19 choices, one per searchable layer), prints its canonical text
form, its mult-adds and parameters in the paper's 224x224 space (the cost model's
analytic counts: 365.3M mult-adds, 6.71M parameters), then builds it as a plain Keras
model of the CIFAR-sized space and checks that the model's trainable parameter count
equals the cost model's.

    python examples/architecture_costs.py [--small]

``--small`` builds the Keras model at width 0.25 instead of 1.0 (fewer weights, faster).
"""

import argparse

import scarlet_tf


def main() -> None:
    """Print SCARLET-A's costs and check them against a built Keras model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="build at width 0.25")
    args = parser.parse_args()

    arch = scarlet_tf.Architecture.parse("scarlet-a")  # or a canonical string
    print("arch:", arch)
    paper = scarlet_tf.costs(arch, "scarlet")  # .madds (mult-adds), .params (count)
    print(f"scarlet (224 px): {paper.madds / 1e6:.1f}M mult-adds, "
          f"{paper.params / 1e6:.2f}M params")

    space = scarlet_tf.get_space("scarlet-cifar", width=0.25 if args.small else 1.0)
    model = scarlet_tf.build_model(arch, space, dropout=0.2)
    cost = scarlet_tf.costs(arch, space)
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    print(f"scarlet-cifar width {space.width}: {cost.madds / 1e6:.1f}M mult-adds, "
          f"{cost.params} params by the cost model, {trainable} trainable in Keras")
    print("keras layers:", len(model.layers), "first blocks:",
          [layer.name for layer in model.layers if layer.name.startswith("layer01")][:3])
    if trainable != cost.params:
        raise SystemExit("cost model and Keras disagree on the parameter count")


if __name__ == "__main__":
    main()
