"""sagan_tf.data.sources: one table of sources; each value is claimed by exactly one."""

import os
import pathlib

import numpy as np
import pytest

from sagan_tf.data import sources
from sagan_tf.data.sources import SOURCES, find_source


def test_exact_names_are_unique_and_every_row_is_complete():
    names = [name for source in SOURCES for name in source.names]
    assert len(names) == len(set(names))
    assert len({source.name for source in SOURCES}) == len(SOURCES)
    for source in SOURCES:
        assert callable(source.claims) and callable(source.read) and source.help
        if source.flag:  # the --dataset help and the split help read the table
            assert source.help in sources.DATASET_HELP
            assert f"{source.eval_split!r} for {source.name}" in sources.EVAL_SPLITS_HELP


@pytest.mark.parametrize("source", [s for s in SOURCES if s.names], ids=lambda s: s.name)
def test_an_exact_name_wins_over_every_pattern(source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in source.names:
        os.makedirs(name)  # a folder of that name here: still the named source
        assert find_source(name) is source
        assert find_source(f"./{name}").name != source.name  # the folder, so written


def test_each_kind_of_value_has_one_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs("photos")
    os.makedirs("shots.npz")  # a folder, whatever its name ends in
    expected = [
        ("photos", "folder"),  # an existing directory
        ("./photos", "folder"), (str(tmp_path / "photos"), "folder"), ("new/", "folder"),
        ("gs://bucket/images", "folder"), ("~/images", "folder"),
        (tmp_path / "photos", "folder"),  # os.PathLike
        ("shots.npz", "folder"), ("./shots.npz", "folder"),
        ("cifar10", "tfds"), ("lsun/bedroom", "tfds"), ("mnist:3.0.1", "tfds"),
        ("x.npz", "numpy_file"), ("./x.npz", "numpy_file"), ("data/x.NPZ", "numpy_file"),
        ("/data/x.npy", "numpy_file"), ("gs://bucket/x.npz", "numpy_file"),
        ("ram://x.npy", "numpy_file"), ("~/x.npz", "numpy_file"),
        (tmp_path / "x.npz", "numpy_file"),
        ((np.zeros((2, 4, 4), np.uint8), np.zeros(2)), "arrays"),
        (np.zeros((2, 4, 4), np.uint8), "arrays"),
    ]
    for value, name in expected:
        claimed = [s.name for s in SOURCES if s.claims(value) or (
            isinstance(value, str) and value in s.names)]
        assert claimed == [name], (value, claimed)
        assert find_source(value).name == name


def test_a_file_path_is_not_taken_for_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.npz").write_bytes(b"")
    folder = next(s for s in SOURCES if s.name == "folder")
    for value in ("./x.npz", str(tmp_path / "x.npz"), "gs://bucket/x.npz"):
        assert not folder.claims(value), value
    (tmp_path / "x.nosuchformat").write_bytes(b"")
    with pytest.raises(ValueError, match=r"No data source reads '\./x\.nosuchformat' \(a "
                                         r"file, not a directory\)\. One of: "):
        find_source("./x.nosuchformat")
    with pytest.raises(TypeError, match="`source` must be"):
        find_source(3)


def test_the_docs_describe_every_source():
    text = (pathlib.Path(__file__).resolve().parents[3] / "docs" / "data.md").read_text()
    for source in SOURCES:
        assert f"| `{source.name}` |" in text, source.name
