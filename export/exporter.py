"""Exports a generator as a versioned SavedModel that TF Serving serves as it is.

    <export_base>/
      models.config            ModelServerConfig (text proto) for --model_config_file
      1/                       one SavedModel per version (TF Serving loads the
        saved_model.pb         highest number by default)
        variables/
        assets.extra/
          tf_serving_warmup_requests
          sagan_tf.json        latent_dim, num_classes (null: unconditional),
                               unconditional, resolution, class_names,
                               max_batch_size, source
      2/ ...

A version is written to a hidden temporary directory in `export_base`
(`.tmp-<version>-*`, a name TF Serving ignores since it is not a number) and renamed
into place when complete, so the server never sees a half-written version. Every file
goes through `tf.io.gfile`, so `export_base` may be on any TF filesystem (gs://, s3://,
hdfs://), as TF Serving's `base_path` may.

`sagan-export --format=onnx|tflite` writes `<version>/generator.onnx` (or
`generator.tflite`) and `<version>/sagan_tf.json` instead, the same way, and no
models.config (`export_converted`, `export.converters`); keep those in a directory of
their own, not in one TF Serving watches.

TF Serving loads each version once: it does not notice a version directory whose
files change. Publish new weights under a new version number; `overwrite` exists for
versions no server has loaded yet (it swaps directories with two renames, so for a
moment the version is absent).
"""

import os
import uuid

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from export import client, converters, stale_exports, warmup
from export.module import (DEFAULT_MAX_BATCH_SIZE, GeneratorModule, check_max_batch_size,
                           declare_z_width)
from sagan_tf import storage
from sagan_tf.export_base import export_versions
from sagan_tf.run_dir import RunDir

MODEL_CONFIG_FILE = "models.config"
METADATA_FILE = "sagan_tf.json"

_MODEL_CONFIG_HEADER = """\
# TF Serving model config written by sagan-export. Serve the versions in this
# directory with TF Serving's Docker image, this directory mounted at base_path:
#   docker run -p 8500:8500 -p 8501:8501 -v "$PWD:{base_path}" tensorflow/serving \\
#     --model_config_file={base_path}/{config_file}
"""


existing_versions = export_versions  # the export base layout lives in sagan_tf.export_base


def next_version(export_base):
    """1 + the highest version in `export_base` (1 when there is none)."""
    versions = existing_versions(export_base)
    return versions[-1] + 1 if versions else 1


def resolve_version(export_base, version=None, overwrite=False):
    """Checks `version` (None: the next free one) and returns it.

    Raises:
        ValueError: `version` is not a positive integer.
        FileExistsError: the version exists and `overwrite` is false.
    """
    if version is None:
        return next_version(export_base)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive integer. Received: version={version}")
    if storage.exists(storage.join(export_base, str(version))) and not overwrite:
        raise FileExistsError(
            f"Version {version} already exists in {export_base!r}. TF Serving does not "
            "reload a version it has loaded: export the new weights as version "
            f"{next_version(export_base)} (or omit `version`), or pass overwrite=True "
            "(`--overwrite`) to replace it.")
    return version


def check_batch_sizes(warmup_batch_sizes, max_batch_size):
    """Returns `max_batch_size` (int); raises unless it is a positive integer and no
    warmup batch exceeds it. TF Serving replays the warmup requests when it loads a
    version and does not serve a version whose warmup fails, and a warmup request
    above the limit always fails."""
    limit = check_max_batch_size(max_batch_size)
    bad = [n for n in warmup_batch_sizes
           if isinstance(n, bool) or not isinstance(n, int) or n < 1]
    if bad:  # before anything is written: a warmup request of 0 examples always fails
        raise ValueError("`warmup_batch_sizes` must be positive integers. Received: "
                         f"warmup_batch_sizes={list(warmup_batch_sizes)} (not: {bad})")
    over = [n for n in warmup_batch_sizes if isinstance(n, int) and n > limit]
    if over:
        raise ValueError(
            f"Warmup batch sizes {over} exceed the export's batch limit {limit}: their "
            "warmup requests would fail and TF Serving would not load the version. "
            "Lower --warmup_batch_sizes (`warmup_batch_sizes`) or raise --max_batch_size "
            f"(`max_batch_size`). Received: warmup_batch_sizes={list(warmup_batch_sizes)}, "
            f"max_batch_size={limit}")
    return limit


def model_server_config(model_name=client.DEFAULT_MODEL_NAME, base_path=None):
    """A `ModelServerConfig` serving the latest version of one model.

    Args:
        model_name: the name clients use (`/v1/models/NAME`, `model_spec.name`).
        base_path: the export_base as the server sees it (default `/models/NAME`, the
            Docker image's convention).
    """
    config = model_server_config_pb2.ModelServerConfig()
    model = config.model_config_list.config.add()
    model.name = model_name
    model.base_path = base_path or f"/models/{model_name}"
    model.model_platform = "tensorflow"
    model.model_version_policy.latest.num_versions = 1
    return config


def write_model_config(export_base, model_name=client.DEFAULT_MODEL_NAME, base_path=None):
    """Writes `<export_base>/models.config` (text proto, atomically); returns its path."""
    config = model_server_config(model_name, base_path)
    base = config.model_config_list.config[0].base_path
    text = _MODEL_CONFIG_HEADER.format(base_path=base, config_file=MODEL_CONFIG_FILE)
    text += text_format.MessageToString(config)
    return storage.write_atomically(storage.join(export_base, MODEL_CONFIG_FILE), text)


def export_generator(generator, export_base, version=None, *, num_classes, class_names=(),
                     overwrite=False, model_name=client.DEFAULT_MODEL_NAME,
                     serving_base_path=None, warmup_batch_sizes=(1,),
                     max_batch_size=DEFAULT_MAX_BATCH_SIZE, metadata=None):
    """Writes `<export_base>/<version>/` (SavedModel, warmup, metadata) and models.config.

    Args:
        generator: Keras model `[z, labels] -> images in [-1, 1]`, or `z -> images`
            (unconditional).
        export_base: the directory TF Serving watches (created if needed).
        version: positive integer; None takes 1 + the highest existing version.
        num_classes: number of classes; None for an unconditional generator (the
            signatures then take no labels, see `export.module`).
        class_names: optional class names, stored in the SavedModel and metadata.
        overwrite: replace an existing version instead of failing.
        model_name: the name in models.config and in the warmup requests.
        serving_base_path: export_base as the server sees it, for models.config
            (default `/models/<model_name>`).
        warmup_batch_sizes: batch sizes of the warmup requests, at most
            `max_batch_size`.
        max_batch_size: the most examples a request may hold (checked in the graph,
            stored as the module's `max_batch_size` and in the metadata).
        metadata: extra JSON-serializable entries for assets.extra/sagan_tf.json.

    Returns:
        The path of the new version directory.
    """
    version = resolve_version(export_base, version, overwrite)
    check_batch_sizes(warmup_batch_sizes, max_batch_size)
    storage.makedirs(export_base)
    module = GeneratorModule(generator, num_classes, class_names, max_batch_size)
    final = storage.join(export_base, str(version))
    stale_exports.clean_stale(export_base)
    tmp = storage.join(export_base, stale_exports.tmp_name(version))
    try:
        storage.makedirs(tmp)
        stale_exports.write_owner(tmp)
        tf.saved_model.save(module, tmp, signatures=module.signatures())
        latent_dim = int(module.latent_dim.numpy())
        declare_z_width(tmp, latent_dim)
        warmup.write_warmup_file(tmp, warmup.warmup_requests(
            latent_dim, num_classes, warmup_batch_sizes, model_name))
        info = {**_model_info(module, num_classes),
                "max_batch_size": int(module.max_batch_size.numpy()),
                "signatures": sorted(module.signatures()), **(metadata or {})}
        storage.write_json(storage.join(tmp, warmup.ASSETS_EXTRA, METADATA_FILE), info)
        storage.remove(storage.join(tmp, stale_exports.OWNER_FILE))  # not published
        _publish(tmp, final)
    except BaseException:
        storage.remove_tree(tmp)
        raise
    write_model_config(export_base, model_name, serving_base_path)
    return final


def export_converted(generator, export_base, version=None, *, export_format, num_classes,
                     class_names=(), overwrite=False, metadata=None):
    """Writes `<export_base>/<version>/` with the generator in a converted format (ONNX,
    LiteRT: `export.converters`) and sagan_tf.json, atomically as `export_generator`.

    TF Serving cannot serve these files, so a directory holding models.config (an
    export_base TF Serving watches) is refused: the server would fail on the version.

    Args:
        generator, export_base, version, num_classes, class_names, overwrite: as
            `export_generator`.
        export_format: a name in `export.converters.FORMATS` with a converter.
        metadata: extra JSON-serializable entries for sagan_tf.json.

    Returns:
        The path of the new version directory.
    """
    fmt = converters.get_format(export_format)
    if fmt.convert is None:
        raise ValueError(f"`export_format` must be a converted format, not {fmt.name!r} "
                         "(use `export_generator`).")
    _refuse_serving_base(export_base, fmt.name)
    version = resolve_version(export_base, version, overwrite)
    module = GeneratorModule(generator, num_classes, class_names)  # checks the classes
    model_bytes = fmt.convert(generator)
    storage.makedirs(export_base)
    final = storage.join(export_base, str(version))
    tmp = storage.join(export_base, f".tmp-{version}-{uuid.uuid4().hex[:8]}")
    try:
        storage.makedirs(tmp)
        with tf.io.gfile.GFile(storage.join(tmp, fmt.file_name), "wb") as f:
            f.write(model_bytes)
        info = {**_model_info(module, num_classes), "format": fmt.name,
                "file": fmt.file_name, "runtime": fmt.runtime, **(metadata or {})}
        storage.write_json(storage.join(tmp, METADATA_FILE), info)
        _publish(tmp, final, last=(fmt.file_name,))
    except BaseException:
        storage.remove_tree(tmp)
        raise
    return final


def _refuse_serving_base(export_base, format_name):
    if storage.exists(storage.join(export_base, MODEL_CONFIG_FILE)):
        raise ValueError(
            f"{export_base!r} holds {MODEL_CONFIG_FILE}: TF Serving watches it and would "
            f"fail to load a {format_name} version as a SavedModel. Write "
            f"--format={format_name} to another directory.")


def _model_info(module, num_classes):
    """The metadata every format records: the model and its inputs."""
    latent_dim = int(module.latent_dim.numpy())
    inputs = {"z": ["float32", [-1, latent_dim]]}
    if num_classes is not None:
        inputs["labels"] = ["int32", [-1]]
    return {"latent_dim": latent_dim, "num_classes": num_classes,
            "unconditional": num_classes is None,
            "resolution": int(module.resolution.numpy()),
            "class_names": [c.decode() for c in module.class_names.numpy()],
            "inputs": inputs}


def export_model_dir(model_dir, export_base, version=None, *, use_ema=True, checkpoint=None,
                     standing_stats=0, export_format=converters.DEFAULT_FORMAT, **kwargs):
    """Exports the generator of a training run (`sagan-train`'s model_dir).

    Args:
        model_dir: the run's directory (config.json, checkpoints/).
        export_base: as `export_generator`.
        version: as `export_generator`.
        use_ema: export the EMA generator when the run kept one.
        checkpoint: a checkpoint prefix (default: the latest of the run).
        standing_stats: N > 0 exports G with standing statistics over N passes instead
            of its moving ones (`RunDir.load_generator`); the metadata records N.
        export_format: a name in `export.converters.FORMATS`; other than
            "saved_model", the file goes through `export_converted`.
        **kwargs: the keyword arguments of `export_generator` (or `export_converted`)
            except num_classes and class_names, which come from the run's config.

    Returns:
        The path of the new version directory.
    """
    # Fail on a bad format, base or version, or batch sizes over the limit, before the
    # (slow) restore.
    converted = converters.get_format(export_format).convert is not None
    if converted:
        _refuse_serving_base(export_base, export_format)
    version = resolve_version(export_base, version, kwargs.get("overwrite", False))
    check_batch_sizes(kwargs.get("warmup_batch_sizes", (1,)),
                      kwargs.get("max_batch_size", DEFAULT_MAX_BATCH_SIZE))
    generator, config, checkpoint = RunDir(model_dir).load_generator(use_ema, checkpoint,
                                                                     standing_stats)
    ema = use_ema and config.ema_decay is not None
    metadata = {"model_dir": _absolute(model_dir), "checkpoint": checkpoint,
                "preset": config.preset, "ema": ema, "standing_stats": int(standing_stats),
                **kwargs.pop("metadata", {})}
    if converted:
        return export_converted(generator, export_base, version, export_format=export_format,
                                num_classes=config.num_classes,
                                class_names=config.class_names, metadata=metadata, **kwargs)
    return export_generator(generator, export_base, version, num_classes=config.num_classes,
                            class_names=config.class_names, metadata=metadata, **kwargs)


def _absolute(path):
    return path if storage.is_remote(path) else os.path.abspath(path)


def _publish(tmp, final, last=("saved_model.pb",)):
    """Moves the complete `tmp` to `final`, replacing an existing `final`; the files in
    `last` arrive last where a move is a copy (`storage.move_tree`)."""
    if not storage.exists(final):
        storage.move_tree(tmp, final, last)
        return
    parent, name = os.path.split(final)
    old = storage.join(parent, f".replaced-{name}-{uuid.uuid4().hex[:8]}")
    storage.move_tree(final, old)
    storage.move_tree(tmp, final, last)
    storage.remove_tree(old)
