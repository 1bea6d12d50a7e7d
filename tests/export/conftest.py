"""Fixtures of the export tests: a tiny training run, its export, a serving stand-in.

The model_dir is made here as `sagan-train` lays it out (config.json and a
checkpoint), from a tiny sagan32 SAGAN whose generator and EMA generator differ, with
per-class gains and biases and attention that matter, and batch-norm statistics
measured on generated batches (so activations stay in a normal range and float
comparisons are meaningful). The export is made by the `sagan-export` program in a
subprocess.
"""

import os
import sys

import numpy as np
import pytest
from tensorflow.core.protobuf import saved_model_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
# The helpers next to this file (standin_client, tf_serving_json, programs,
# noise_reference).
sys.path.insert(0, HERE)

from programs import run_program  # noqa: E402
from standin_client import StandIn  # noqa: E402
from tiny_models import TINY  # noqa: E402
import tensorflow as tf  # noqa: E402

from sagan_tf.checkpoints import make_checkpoint  # noqa: E402
from sagan_tf.run_dir import RunDir  # noqa: E402
from sagan_tf.models import build_model, compile_model  # noqa: E402
from sagan_tf.train_config import TrainConfig  # noqa: E402

NUM_CLASSES = 10
CLASS_NAMES = tuple(f"digit_{i}" for i in range(NUM_CLASSES))


def _randomize(generator, rng):
    """Non-trivial per-class gains/biases and attention, then BN statistics."""
    for w in generator.weights:
        if w.path.endswith("/gain"):
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
        elif w.path.endswith("/bias") and len(w.shape) == 2:  # CBN [classes, C] tables
            w.assign(rng.normal(0.0, 0.5, w.shape).astype("float32"))
        elif w.path.endswith("/gamma") and not w.shape:  # attention
            w.assign(np.float32(0.7))
    latent_dim = generator.inputs[0].shape[-1]
    for _ in range(25):  # momentum 0.9: moving statistics ~93% measured
        z = rng.normal(size=(32, latent_dim)).astype("float32")
        labels = rng.randint(0, NUM_CLASSES, 32).astype("int32")
        generator([z, labels], training=True)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A training run's directory with an EMA generator different from G."""
    path = str(tmp_path_factory.mktemp("run"))
    config = TrainConfig(model_dir=path, num_classes=NUM_CLASSES, class_names=CLASS_NAMES,
                         **TINY)
    model = build_model(config)
    compile_model(model, config)
    _randomize(model.generator, np.random.RandomState(1))
    _randomize(model.ema_generator, np.random.RandomState(2))
    RunDir(path).save_config(config)
    tf.train.CheckpointManager(make_checkpoint(model), RunDir(path).checkpoints, 3).save()
    return path


@pytest.fixture(scope="session")
def generators(model_dir):
    """(EMA generator, raw generator) restored from the model_dir in this process."""

    ema = RunDir(model_dir).load_generator(use_ema=True)[0]
    raw = RunDir(model_dir).load_generator(use_ema=False)[0]
    return ema, raw


@pytest.fixture(scope="session")
def export_base(model_dir, tmp_path_factory):
    """`sagan-export --model_dir=... --export_base=... --version=1` (two warmup sizes)."""
    base = str(tmp_path_factory.mktemp("serving") / "sagan")
    run_program(["sagan-export", f"--model_dir={model_dir}", f"--export_base={base}",
                 "--version=1", "--warmup_batch_sizes=1,3"])
    return base


@pytest.fixture(scope="session")
def saved_model_dir(export_base):
    return os.path.join(export_base, "1")


@pytest.fixture(scope="session")
def signature_defs(saved_model_dir):
    """The SignatureDefs of the export's "serve" MetaGraph, read from saved_model.pb."""
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        saved_model = saved_model_pb2.SavedModel.FromString(f.read())
    (meta_graph,) = [m for m in saved_model.meta_graphs if "serve" in m.meta_info_def.tags]
    return dict(meta_graph.signature_def)


@pytest.fixture(scope="session")
def server(saved_model_dir, tmp_path_factory):
    """The serving stand-in on the export (a fresh process without sagan_tf)."""
    standin = StandIn(os.path.join(HERE, "standin_server.py"), saved_model_dir,
                      str(tmp_path_factory.mktemp("standin") / "log.txt"))
    yield standin
    standin.close()

