"""Tiny SAGAN models and data for the training and callback tests (32x32 digits): the
`tiny` fixture, loaded for every test by tests/conftest.py.

The networks are `sagan32` cut to two blocks each of 16 channels (G from 8x8, D
downsampling twice), attention at 16x16 in both: about two thirds of its graph, which the
tests trace or run eagerly many times. Every layer kind of the preset but one is there:
D's blocks without downsampling are left out (tests/sagan_tf/networks and layers cover
them, and test_sagan's unconditional step trains a D of the full layout)."""

import types

import keras
import numpy as np
import pytest

from sagan_tf.data import load_dataset
from sagan_tf.layers import SelfAttention
from sagan_tf.models import build_model
from sagan_tf.train_config import TrainConfig

TINY_G = dict(channels=[16, 16], initial_size=8)
TINY_D = dict(channels=[16, 16], downsample=[True, True])
TINY = dict(generator_overrides=TINY_G, discriminator_overrides=TINY_D)


def tiny_config(model_dir, **changes):
    """A TrainConfig of the tiny networks on digits (10 classes), batch 8."""
    values = dict(model_dir=str(model_dir), batch_size=8, steps=4, num_classes=10,
                  class_names=tuple(str(i) for i in range(10)), **TINY)
    values.update(changes)
    return TrainConfig(**values)


def tiny_model(config=None, seed=0, run_eagerly=True, optimizer="adam"):
    """A compiled SAGAN of the tiny config; eager steps (no tracing) by default."""
    config = config or tiny_config("unused")
    keras.utils.set_random_seed(seed)
    model = build_model(config)
    if optimizer == "sgd":
        g_opt, d_opt = keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.02)
    else:
        g_opt = keras.optimizers.Adam(config.g_lr, beta_1=config.beta1, beta_2=config.beta2)
        d_opt = keras.optimizers.Adam(config.d_lr, beta_1=config.beta1, beta_2=config.beta2)
    model.compile(g_opt, d_opt, d_steps_per_g_step=config.d_steps, run_eagerly=run_eagerly)
    return model


def digits(batch_size=8, seed=0):
    return load_dataset("digits", resolution=32, global_batch_size=batch_size, seed=seed)[0]


def batches(dataset, n):
    return [tuple(t.numpy() for t in b) for b in dataset.take(n)]


class Recorder(keras.callbacks.Callback):
    """Records, after every step: the step, the logs, and the gammas of all attention
    layers (by '<network>/<layer>')."""

    def __init__(self):
        super().__init__()
        self.steps, self.logs, self.gammas = [], [], []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(int(self.model.g_optimizer.iterations.numpy()))
        self.logs.append({k: float(np.asarray(v).reshape(())) for k, v in logs.items()})
        gammas = {}
        for net in (self.model.generator, self.model.discriminator):
            for layer in net.layers:
                if isinstance(layer, SelfAttention):
                    gammas[f"{net.name}/{layer.name}"] = float(layer.gamma.numpy())
        self.gammas.append(gammas)


class RecordingWriter:
    """Stands in for `CheckpointWriter`: records the steps it is asked to save at."""

    def __init__(self, model):
        self.model, self.saved, self.last_saved_step = model, [], None

    @property
    def step(self):
        return int(self.model.g_optimizer.iterations.numpy())

    def save(self):
        self.saved.append(self.step)
        self.last_saved_step = self.step
        return f"ckpt-{self.step}"


@pytest.fixture
def tiny():
    """The helpers above, for the test modules (conftest is not importable by name)."""
    return types.SimpleNamespace(config=tiny_config, model=tiny_model, digits=digits,
                                 batches=batches, Recorder=Recorder,
                                 RecordingWriter=RecordingWriter)


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts (and leaves) with the float32 policy (training sets it)."""
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")

