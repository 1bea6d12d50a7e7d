"""Every place where sagan_tf relies on a private or undocumented Keras/TF behaviour.

Each workaround is one function here, with the upstream issue (or the reason there is
none), the versions it was checked on, and a test in `tests/sagan_tf/test_compat.py`
that fails when upstream behaviour changes, so that an upgrade says which workaround
to drop or mend. Nothing outside this module touches a private Keras/TF name.

Checked on: TensorFlow 2.21.0, Keras 3.15.1, tensorflow-hub 0.16.1,
tensorflow-gan 2.1.0.
"""

import hashlib


def tfhub_cache_folder(handle):
    """The folder name under which `tensorflow_hub` caches the module of `handle`.

    tensorflow_hub stores the module of a handle (URL) in
    `<cache_dir>/<sha1(handle).hexdigest()>/` and takes a non-empty directory as a
    finished download (`compressed_module_resolver._module_dir`, a private function;
    tensorflow_hub has no public API that looks a handle up without downloading).
    Checked on tensorflow-hub 0.16.1.
    """
    return hashlib.sha1(handle.encode("utf8")).hexdigest()


def optimizer_iterations_key(name):
    """The key of a Keras 3 optimizer's step counter in a `tf.train.Checkpoint` that
    tracks the optimizer as `name`: `<name>/_iterations/.ATTRIBUTES/VARIABLE_VALUE`.

    Keras 3 stores the counter as the private attribute `_iterations`, so the key
    spells a private name; reading it from the checkpoint file tells the step of a
    checkpoint without building the model. No upstream issue: the layout is how
    `tf.train.Checkpoint` names tracked attributes. Checked on Keras 3.15.1.
    """
    return f"{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
