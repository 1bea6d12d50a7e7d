"""The export base of SavedModels: numbered versions, as TF Serving reads them.

    export_base/<version>/     a SavedModel written by sagan-export (see export.exporter)
      saved_model.pb, variables/, assets.extra/

`sagan-export` writes a new version; `sagan-eval --saved_model`, `sagan-sample` and the
serving tests read the highest one through `resolve_saved_model`.
"""

import os

from sagan_tf import storage

SAVED_MODEL_FILE = "saved_model.pb"


def export_versions(export_base):
    """The version numbers (numeric subdirectories) in `export_base`, ascending."""
    if not storage.isdir(export_base):
        return []
    return sorted(int(name) for name in storage.listdir(export_base)
                  if name.isdigit() and storage.isdir(storage.join(export_base, name)))


def resolve_saved_model(path):
    """`path` if it holds a SavedModel, else its highest version that holds one (as TF
    Serving picks it)."""
    path = os.fspath(path)
    if storage.exists(storage.join(path, SAVED_MODEL_FILE)):
        return path
    versions = [v for v in export_versions(path)
                if storage.exists(storage.join(path, str(v), SAVED_MODEL_FILE))]
    if not versions:
        raise FileNotFoundError(
            f"No SavedModel in {path!r}: pass a version directory (with saved_model.pb) or "
            "an export_base holding numbered versions, as `sagan-export` writes them.")
    return storage.join(path, str(versions[-1]))
