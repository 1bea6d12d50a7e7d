import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.data import digits_arrays
from tolerances import STEP_RTOL
from training import pipeline
from training import strategy as strategy_lib


def test_load_fills_in_the_classes_and_batches_d_steps_slices(tiny, tmp_path):
    config = tiny.config(tmp_path, num_classes=None, class_names=(), batch_size=6, d_steps=2)
    dataset, filled = pipeline.load(config)
    images, labels = next(iter(dataset))
    assert images.shape == (12, 32, 32, 3) and labels.shape == (12,)
    assert filled.num_classes == 10 and filled.class_names == tuple("0123456789")
    assert filled.replace(num_classes=None, class_names=()) == config


def test_resumed_run_on_other_classes_is_refused(tiny, tmp_path):
    config = tiny.config(tmp_path, num_classes=3, class_names=("cat", "dog", "eel"))
    with pytest.raises(ValueError, match=r"10 classes.*trained on 3 classes"):
        pipeline.load(config)


def test_data_without_classes_makes_the_config_unconditional(tiny, tmp_path):
    images, _ = digits_arrays("train", 8)
    folder = tmp_path / "flat"
    folder.mkdir()
    for i, image in enumerate(np.round((images[:8] + 1) * 127.5).astype(np.uint8)):
        tf.io.write_file(str(folder / f"{i}.png"), tf.io.encode_png(image))
    config = tiny.config(tmp_path / "run", dataset=str(folder), num_classes=None,
                         class_names=(), batch_size=4)
    _, filled = pipeline.load(config)
    assert filled.unconditional and filled.num_classes is None
    # --unconditional on labelled data: labels 0, no classes.
    dataset, filled = pipeline.load(config.replace(dataset="digits", unconditional=True))
    assert filled.unconditional and not next(iter(dataset))[1].numpy().any()
    # A class-conditional run cannot continue on data without classes.
    with pytest.raises(ValueError, match=r"has no classes, but the run .* is "
                                         r"class-conditional \(10 classes\)"):
        pipeline.load(tiny.config(tmp_path / "run", dataset=str(folder), batch_size=4))


def test_resume_continues_the_seeded_stream(tiny, tmp_path):
    config = tiny.config(tmp_path, random_flip=True, seed=3)
    full = tiny.batches(pipeline.load(config)[0], 7)
    resumed = tiny.batches(pipeline.resume(pipeline.load(config)[0], 4), 3)
    for (x, y), (x_ref, y_ref) in zip(resumed, full[4:]):
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)
    assert not np.array_equal(full[0][0], full[4][0])


def _replica_chunks(dataset, replicas, d_steps):
    """What D step k of replica r receives: its slice of the distributed batch, split
    into d_steps chunks, as SAGAN.train_step does."""
    strategy = strategy_lib.mirrored([f"/cpu:{i}" for i in range(replicas)])
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    local = strategy.experimental_local_results(batch[1])
    return [np.split(np.asarray(v), d_steps) for v in local]


def test_replica_order_gives_each_d_step_its_slice_of_one_devices_chunk():
    d_steps, replicas, batch = 3, 2, 4
    index = tf.data.Dataset.from_tensors(
        (tf.zeros([d_steps * batch, 1]), tf.range(d_steps * batch))).repeat()
    chunks = _replica_chunks(pipeline.order_for_replicas(index, d_steps, replicas),
                             replicas, d_steps)
    for r in range(replicas):
        for k in range(d_steps):
            # One device's D step k uses rows k*batch..(k+1)*batch; replica r its r-th half.
            expected = np.arange(k * batch, (k + 1) * batch)[r * 2:(r + 1) * 2]
            np.testing.assert_array_equal(chunks[r][k], expected)
    # Without the reordering the replicas' D steps would mix different chunks.
    plain = _replica_chunks(index, replicas, d_steps)
    assert not np.array_equal(plain[1][0], chunks[1][0])
    assert pipeline.order_for_replicas(index, 1, replicas) is index
    assert pipeline.order_for_replicas(index, d_steps, 1) is index




def _flat(weights):
    return np.concatenate([np.ravel(w) for w in weights]).astype(np.float64)


@pytest.mark.slow  # 15 s; test_sagan_replicas' SGD test checks the replica arithmetic
def test_two_replicas_with_two_d_steps_train_like_one_device(tiny):
    """The whole point: with the reordered batch, one SAGAN step on two replicas
    (synchronized BN) gives one device's weights (SGD), up to float rounding."""
    # A fixed batch (not dependent on the global seed that earlier tests set).
    config = tiny.config("x", d_steps=2, seed=2, generator_overrides=dict(
        channels=[16, 16, 16], synchronized_bn=True))
    images, labels = digits_arrays("train", 32)
    dataset = tf.data.Dataset.from_tensors((images[:16], labels[:16])).cache()
    single = tiny.model(config, optimizer="sgd")
    before = {name: _flat(getattr(single, name).get_weights())
              for name in ("generator", "discriminator")}
    single.train_step(next(iter(dataset)))
    strategy = strategy_lib.mirrored(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = tiny.model(config, optimizer="sgd")
    ordered = pipeline.order_for_replicas(dataset, 2, 2)
    strategy.run(mirrored.train_step,
                 args=(next(iter(strategy.experimental_distribute_dataset(ordered))),))
    for name in ("generator", "discriminator"):
        one = _flat(getattr(single, name).get_weights())
        two = _flat(getattr(mirrored, name).get_weights())
        step = np.linalg.norm(one - before[name])
        assert step > 1e-3, name  # the step moved the weights
        assert np.linalg.norm(two - one) <= STEP_RTOL * step, (
            name, np.linalg.norm(two - one) / step)


def test_the_stream_depends_on_the_seed_alone(tiny, tmp_path):
    """tf.data's seeded shuffle also draws from the global seed: whatever set it before
    (another run in the process, a library), the run's batches are the same."""
    config = tiny.config(tmp_path, seed=4)
    first = tiny.batches(pipeline.load(config)[0], 2)
    tf.random.set_seed(123)
    again = tiny.batches(pipeline.load(config)[0], 2)
    for (x, y), (x_ref, y_ref) in zip(again, first):
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(x, x_ref)
    other = tiny.batches(pipeline.load(config.replace(seed=5))[0], 1)
    assert not np.array_equal(other[0][1], first[0][1])


@pytest.mark.parametrize("crop", ["center", "none"])
def test_the_data_log_line_says_how_other_sizes_are_resized(crop, tiny, tmp_path, caplog):
    import logging
    # The line goes through absl's logger; a program run earlier in the session may have
    # stopped it propagating to the root logger, so caplog listens on it directly.
    absl_logger = logging.getLogger("absl")
    absl_logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="absl"):
            pipeline.load(tiny.config(tmp_path, num_classes=None, class_names=(), crop=crop))
    finally:
        absl_logger.removeHandler(caplog.handler)
    said = {"center": "the shorter side resized to 32, bilinear and antialiased, then "
                      "center-cropped to a square",
            "none": "the longer side resized to 32, bilinear and antialiased, keeping the "
                    "aspect ratio, then padded to a square (centred) with copies of the "
                    "edge pixels, nothing cropped"}[crop]
    assert f"32x32 pixels (images of other sizes or shapes, --crop={crop}: {said})" in (
        caplog.text)


def test_crop_reaches_the_data(tiny, tmp_path):
    """A folder of 32x16 images: --crop=none keeps the whole image (16 columns, 8 of
    edge copies each side), --crop=center resizes them to 64x32 and cuts rows 16..47."""
    folder = tmp_path / "wide"
    folder.mkdir()
    image = np.random.RandomState(0).randint(0, 256, (32, 16, 3)).astype(np.uint8)
    for i in range(4):
        tf.io.write_file(str(folder / f"{i}.png"), tf.io.encode_png(image))
    config = tiny.config(tmp_path / "run", dataset=str(folder), num_classes=None,
                         class_names=(), batch_size=4, crop="none")
    images = next(iter(pipeline.load(config)[0]))[0].numpy()
    unit = image / 127.5 - 1.0
    np.testing.assert_allclose(images[0], np.pad(unit, ((0, 0), (8, 8), (0, 0)), "edge"),
                               atol=1e-5)
    centred = next(iter(pipeline.load(config.replace(crop="center"))[0]))[0].numpy()
    assert not np.allclose(centred[0], images[0], atol=0.1)
    with pytest.raises(ValueError, match=r"`crop` must be one of"):
        config.replace(crop="fit")


def test_a_numpy_file_of_other_channels_is_refused_naming_the_flags(tiny, tmp_path):
    path = str(tmp_path / "bands.npz")
    np.savez(path, images=np.zeros((8, 32, 32, 6), np.uint8), labels=np.arange(8) % 2)
    config = tiny.config(tmp_path / "run", dataset=path, num_classes=None, class_names=(),
                         batch_size=4)
    with pytest.raises(ValueError, match=r"`--g_image_channels` and `--d_image_channels` "
                                         r"must be the channel count of the images in "
                                         r".*bands\.npz.*: pass --g_image_channels=6 "
                                         r"--d_image_channels=6\. Received: "
                                         r"--g_image_channels=3 --d_image_channels=3"):
        pipeline.load(config)
    six = dict(channels=[16, 16, 16], image_channels=6)
    dataset, filled = pipeline.load(config.replace(
        generator_overrides=six, discriminator_overrides={**six, "channels": [16] * 4}))
    assert filled.num_classes == 2 and next(iter(dataset))[0].shape == (4, 32, 32, 6)
