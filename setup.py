"""scarlet-tf: SCARLET-NAS (stabilized weight-sharing NAS) in Keras 3 and TensorFlow."""

from setuptools import find_packages, setup

setup(
    name="scarlet-tf",
    # The one version source, scarlet_tf.__version__, read as text (not imported: the
    # package's requirements may not be installed yet).
    version=next(line.split('"')[1]
                 for line in open("scarlet_tf/__init__.py", encoding="utf-8")  # noqa: SIM115
                 if line.startswith("__version__ = ")),
    description="SCARLET-NAS in Keras 3 / TensorFlow: stabilized supernet, evolutionary "
                "search as a keras-tuner Oracle, TFLite export and latency tools",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # The repository's top-level cli/ folder installs as scarlet_tf.cli: no top-level
    # package named `cli` lands in site-packages.
    packages=[*find_packages(include=["scarlet_tf", "scarlet_tf.*"]), "scarlet_tf.cli"],
    package_dir={"scarlet_tf.cli": "cli"},
    # NAS-Bench-Macro's results (Apache-2.0, credited in its README), the truth of `rank`.
    package_data={"scarlet_tf": ["benchmarks/*.json", "benchmarks/*.md",
                                 "benchmarks/LICENSE-*"]},
    install_requires=[
        # tensorflow-cpu by default; users with GPUs install `tensorflow[and-cuda]` first,
        # which satisfies the same imports.
        "tensorflow-cpu>=2.21; platform_machine=='x86_64'",
        "tensorflow>=2.21; platform_machine!='x86_64'",
        "keras>=3.15",
        "tensorboard>=2.20",
        "keras-tuner>=1.4.8",
        "tensorflow-datasets>=4.9.10",
        "numpy>=1.26",
        "click>=8.1",
        "scikit-learn>=1.5",
        "scipy>=1.13",
        "matplotlib>=3.9",
        "ai-edge-litert>=2.3",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3.6"],
        "dev": ["pytest>=8", "pytest-xdist>=3.6", "ruff>=0.6", "mkdocs>=1.6", "mkdocs-click>=0.8",
                "mkdocstrings[python]>=0.26", "pymdown-extensions>=10"],
    },
    entry_points={"console_scripts": ["scarlet-tf=scarlet_tf.cli.main:main"]},
)
