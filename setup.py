"""Installs the sagan_tf library and its programs (training, export)."""

import pathlib

import setuptools

HERE = pathlib.Path(__file__).parent


def _requirements():
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")
            and not ln.startswith("pytest")]


setuptools.setup(
    name="sagan-tf",
    version="0.1.0",
    description="Self-Attention GAN (Zhang et al. 2018) for TensorFlow 2 and Keras 3",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=setuptools.find_packages(include=["sagan_tf", "sagan_tf.*", "training",
                                               "training.*", "export", "export.*"]),
    python_requires=">=3.10",
    install_requires=_requirements(),
    entry_points={"console_scripts": [
        "sagan-train=training.train:run",
        "sagan-eval=training.evaluate:run",
        "sagan-fid-stats=training.fid_stats:run",
        "sagan-export=export.main:run",
        "sagan-sample=export.sample:run",
    ]},
)
