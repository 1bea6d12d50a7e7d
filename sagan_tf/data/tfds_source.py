"""The TensorFlow Datasets source: a dataset by name, read from `data_dir`.

The dataset must have an image feature; its `tfds.features.ClassLabel` feature gives the
classes. A dataset without one (or read with `unconditional=True`) is unconditional data:
every label 0, no classes. Nothing is downloaded unless `download=True`; an unprepared
dataset raises an error that says how to prepare it. `tensorflow_datasets` is imported
only when this source is used.
"""

import os

import tensorflow as tf

from sagan_tf.data import pipeline


def tfds_source(name, *, split, data_dir, download, shuffle, shuffle_buffer, seed,
                image_key, label_key, unconditional=False):
    """The pipeline source of a TFDS split. Returns `(source, num_classes, class_names)`;
    `(source, None, ())` for unconditional data (no `ClassLabel` feature, or
    `unconditional=True`), whose labels are all 0."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"`source`={name!r} is not 'digits', not an existing directory, and not a "
            f"TFDS dataset known here or prepared in data_dir={data_dir!r}. Check the name "
            "(see `tfds.list_builders()`) or the data_dir, or pass the path of an image "
            "folder.") from None
    if not builder.is_prepared():
        if download:
            builder.download_and_prepare()
        else:
            where = data_dir if data_dir is not None else "~/tensorflow_datasets (the default)"
            flag = f" --data_dir={data_dir}" if data_dir is not None else ""
            raise ValueError(
                f"The TFDS dataset {name!r} is not prepared in data_dir={where} (looked for "
                f"{os.fspath(builder.data_dir)!r}), and download=False. Prepare it on a "
                f"machine with network access with `tfds build {name}{flag}` (datasets with "
                "manual downloads also need --manual_dir=...) and copy the data_dir here, "
                "or call load_dataset(..., download=True) where there is network.")

    features = builder.info.features
    image_key = _pick_feature(features, image_key, tfds.features.Image, "image", builder, 0,
                              name, "image_key")
    has_labels = any(isinstance(f, tfds.features.ClassLabel) for f in features.values())
    if unconditional or (label_key is None and not has_labels):
        label_key, num_classes, class_names = None, None, ()
    else:
        label_key = _pick_feature(features, label_key, tfds.features.ClassLabel, "label",
                                  builder, 1, name, "label_key")
        label_feature = features[label_key]
        num_classes = int(label_feature.num_classes)
        class_names = tuple(label_feature.names)
    try:
        num_examples = int(builder.info.splits[split].num_examples)
    except (KeyError, ValueError) as e:
        raise ValueError(f"Unknown split {split!r} for the TFDS dataset {name!r}: {e} "
                         f"Available splits: {sorted(builder.info.splits.keys())}.") from None

    # Images stay encoded until after the shuffle buffer, which so holds bytes, not pixels.
    image_feature = features[image_key]
    ds = builder.as_dataset(
        split=split, shuffle_files=shuffle,
        decoders={image_key: tfds.decode.SkipDecoding()},
        # The same file order every epoch (each epoch's buffer is seeded by its number,
        # see sagan_tf.data.pipeline), so that a resumed run can start at any epoch.
        read_config=tfds.ReadConfig(shuffle_seed=seed,
                                    shuffle_reshuffle_each_iteration=False))
    if label_key is None:
        ds = ds.map(lambda ex: (ex[image_key], tf.constant(0, tf.int64)))
    else:
        ds = ds.map(lambda ex: (ex[image_key], ex[label_key]))
    dtype = tf.as_dtype(image_feature.dtype)

    def shuffle_fn(d, s):
        return d.shuffle(min(shuffle_buffer, num_examples), seed=s,
                         reshuffle_each_iteration=True)

    def to_example(encoded, label):
        image = image_feature.decode_example(encoded)
        image = pipeline.to_rgb(image)
        if dtype.is_integer:
            image = pipeline.to_unit_range(image, (0, dtype.max))
        else:  # TFDS float images hold [0, 1]
            image = pipeline.to_unit_range(image, (0, 1))
        label = tf.cast(label, tf.int32)
        if num_classes is None:
            return image, label
        with tf.control_dependencies([
                tf.debugging.assert_greater_equal(
                    label, 0, message=f"Label out of range [0, {num_classes})"),
                tf.debugging.assert_less(
                    label, num_classes, message=f"Label out of range [0, {num_classes})")]):
            label = tf.identity(label)
        return image, label

    src = pipeline.streamed_source(ds, num_examples, shuffle_fn, to_example)
    return src, num_classes, class_names


def _pick_feature(features, key, feature_type, default_key, builder, supervised_pos, name,
                  arg):
    """Chooses the top-level feature of `feature_type`: `key`, else the supervised key, else
    `default_key`, else the only one."""
    kind = "image" if feature_type.__name__ == "Image" else "ClassLabel"
    candidates = [k for k, f in features.items() if isinstance(f, feature_type)]
    described = {k: type(f).__name__ for k, f in features.items()}
    if key is not None:
        if key not in candidates:
            raise ValueError(f"`{arg}`={key!r} is not an {kind} feature of the TFDS dataset "
                             f"{name!r}. Its features: {described}.")
        return key
    supervised = builder.info.supervised_keys
    if (isinstance(supervised, tuple) and len(supervised) == 2
            and isinstance(supervised[supervised_pos], str)
            and supervised[supervised_pos] in candidates):
        return supervised[supervised_pos]
    if default_key in candidates:
        return default_key
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ValueError(f"The TFDS dataset {name!r} has no top-level {kind} feature, so it "
                         f"cannot be used for class-conditional image training. Its "
                         f"features: {described}.")
    raise ValueError(f"The TFDS dataset {name!r} has several {kind} features "
                     f"{sorted(candidates)}; choose one with `{arg}`=...")
