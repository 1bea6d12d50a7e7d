"""README.md: short, its Python example runs, and the topic pages it links to exist."""

import pathlib
import re

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_the_readme_is_short():
    assert len(README.splitlines()) <= 200


def test_the_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)  # its SampleGrid writes samples/ here
    scope = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)  # noqa: S102 (our own README)
    images = np.asarray(scope["images"])
    # Independent of the example's own code: one 32x32 RGB image per label, in [-1, 1].
    assert images.shape == (len(scope["labels"]), 32, 32, 3)
    assert np.all(np.abs(images) <= 1.0)
    assert (tmp_path / "samples" / "latest.png").exists()


@pytest.mark.parametrize("page", sorted(p.stem for p in (REPO / "docs").glob("*.md")))
def test_every_topic_page_is_linked(page):
    assert f"(docs/{page}.md" in README


def test_every_linked_page_exists():
    linked = re.findall(r"\]\((docs/[^)#]+)", README)
    assert linked and all((REPO / path).exists() for path in linked), linked
