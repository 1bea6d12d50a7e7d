"""sagan_tf.export_base: the numbered versions of SavedModels."""

import pytest

from sagan_tf import storage
from sagan_tf.export_base import export_versions, resolve_saved_model


def test_resolve_saved_model_takes_the_highest_version_with_a_saved_model(tmp_path):
    for version in (1, 3, 12):
        storage.write_atomically(str(tmp_path / str(version) / "saved_model.pb"), b"x")
    storage.makedirs(str(tmp_path / "20"))  # no saved_model.pb: not a version to serve
    storage.makedirs(str(tmp_path / ".tmp-21-abc"))
    assert export_versions(str(tmp_path)) == [1, 3, 12, 20]
    assert resolve_saved_model(str(tmp_path)) == str(tmp_path / "12")
    assert resolve_saved_model(str(tmp_path / "3")) == str(tmp_path / "3")
    with pytest.raises(FileNotFoundError, match="No SavedModel in"):
        resolve_saved_model(str(tmp_path / "20"))
