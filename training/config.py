"""Training settings: one frozen dataclass, saved as `config.json` in the model_dir."""

import dataclasses
import json
import os

CONFIG_FILE = "config.json"
STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (architecture comes from `preset`).

    `num_classes` and `class_names` come from the data and are filled in by the
    training program before the config is saved.
    """

    model_dir: str
    dataset: str = "digits"
    data_dir: str | None = None
    preset: str = "sagan32"
    generator_overrides: dict = dataclasses.field(default_factory=dict)
    discriminator_overrides: dict = dataclasses.field(default_factory=dict)
    batch_size: int = 64
    steps: int = 1000
    d_steps: int = 1
    g_lr: float = 1e-4
    d_lr: float = 4e-4
    beta1: float = 0.0
    beta2: float = 0.9
    ema_decay: float | None = 0.999
    ema_start_step: int = 0
    strategy: str = "default"
    num_cpu_devices: int = 0
    mixed_precision: str = "float32"
    seed: int = 0
    random_flip: bool = False
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    sample_every: int = 500
    num_classes: int | None = None
    class_names: tuple = ()

    def __post_init__(self):
        positive = ("batch_size", "steps", "d_steps", "checkpoint_every",
                    "keep_checkpoints", "sample_every")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")
        for name in ("g_lr", "d_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be positive. Received: {name}={getattr(self, name)}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"`strategy` must be one of {STRATEGIES}. "
                             f"Received: strategy={self.strategy!r}")
        if self.mixed_precision not in PRECISIONS:
            raise ValueError(f"`mixed_precision` must be one of {PRECISIONS}. "
                             f"Received: mixed_precision={self.mixed_precision!r}")
        if self.ema_decay is not None and not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"`ema_decay` must be in [0, 1) or None. "
                             f"Received: ema_decay={self.ema_decay}")

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        values = json.loads(text)
        values["class_names"] = tuple(values.get("class_names", ()))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def save(self, model_dir=None):
        model_dir = model_dir or self.model_dir
        os.makedirs(model_dir, exist_ok=True)
        path = os.path.join(model_dir, CONFIG_FILE)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.to_json())
        os.replace(tmp, path)

    @classmethod
    def load(cls, model_dir):
        path = os.path.join(model_dir, CONFIG_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"No {CONFIG_FILE} in model_dir {model_dir!r}: is it the `--model_dir` of a "
                "`sagan-train` run?")
        with open(path) as f:
            return cls.from_json(f.read())
