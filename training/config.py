"""Training settings: one frozen dataclass, saved as `config.json` in the model_dir.

A run started again with the same model_dir resumes with the saved config: settings
given again must match it, except those in `RESUMABLE`, which may change between runs
(the step target, the hardware, how often to save and log). See `resume_config`.
"""

import dataclasses
import json
import os

from sagan_tf import presets

CONFIG_FILE = "config.json"
STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
NETWORKS = {"generator_overrides": "generator", "discriminator_overrides": "discriminator"}
#: Settings that may differ from the saved config when a run resumes.
RESUMABLE = frozenset({
    "model_dir", "data_dir", "steps", "strategy", "num_cpu_devices", "deterministic",
    "checkpoint_every", "keep_checkpoints", "sample_every", "log_every", "eval_every",
    "eval_num_samples", "eval_classifier"})


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
    deterministic: bool = False
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    sample_every: int = 500
    log_every: int = 10
    eval_every: int = 0  # steps between FID/KID/IS evaluations (0: none); see EvalCallback
    eval_num_samples: int = 1000
    eval_classifier: str = "domain"
    num_classes: int | None = None
    class_names: tuple = ()

    def __post_init__(self):
        positive = ("batch_size", "steps", "d_steps", "checkpoint_every",
                    "keep_checkpoints", "sample_every", "log_every")
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
        if self.preset not in presets.PRESETS:
            raise ValueError(f"Unknown preset. Received: preset={self.preset!r}. "
                             f"Available: {sorted(presets.PRESETS)}")
        for field, network in NETWORKS.items():
            presets.network_settings(self.preset, network, getattr(self, field))  # key check
        if self.d_steps > 15:
            # The noise streams of one iteration are 16 * step + stream (stream 0 for G).
            raise ValueError(f"`d_steps` must be at most 15. Received: d_steps={self.d_steps}")

    @property
    def resolution(self):
        return presets.get_preset(self.preset)["resolution"]

    def network_settings(self, network):
        """The effective settings of "generator" or "discriminator" (preset + overrides)."""
        field = {v: k for k, v in NETWORKS.items()}[network]
        return presets.network_settings(self.preset, network, getattr(self, field))

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
    def load_if_exists(cls, model_dir):
        """The saved config of `model_dir`, or None for a new run."""
        if not os.path.exists(os.path.join(model_dir, CONFIG_FILE)):
            return None
        return cls.load(model_dir)

    @classmethod
    def load(cls, model_dir):
        path = os.path.join(model_dir, CONFIG_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"No {CONFIG_FILE} in model_dir {model_dir!r}: is it the `--model_dir` of a "
                "`sagan-train` run?")
        with open(path) as f:
            return cls.from_json(f.read())


def _normalized(value):
    """JSON view of a value (tuples become lists), to compare flags with a saved config."""
    return json.loads(json.dumps(value))


def resume_config(saved, changes):
    """The config of a run: `saved` (None for a new run) with the `changes` asked for.

    Args:
        saved: the model_dir's saved `TrainConfig`, or None.
        changes: the settings given explicitly (e.g. on the command line): a dict of
            TrainConfig fields; for `generator_overrides`/`discriminator_overrides` only
            the keys given. It must contain `model_dir`.

    Returns:
        For a new run, `TrainConfig(**changes)`. On resume, the saved config with the
        changes to `RESUMABLE` settings applied.

    Raises:
        ValueError: on resume, when a setting outside `RESUMABLE` differs from the saved
            one; the message names every such setting with both values.
    """
    if saved is None:
        return TrainConfig(**changes)
    conflicts, allowed = [], {}
    for name, value in changes.items():
        if name in NETWORKS:
            network = NETWORKS[name]
            effective = saved.network_settings(network)
            for key, wanted in value.items():
                have = effective.get(key)
                if _normalized(have) != _normalized(wanted):
                    conflicts.append((f"{network} {key}", have, wanted))
        elif name in RESUMABLE:
            allowed[name] = value
        elif _normalized(getattr(saved, name)) != _normalized(value):
            conflicts.append((name, getattr(saved, name), value))
    if conflicts:
        lines = "\n".join(f"  {name}: saved {have!r}, requested {wanted!r}"
                          for name, have, wanted in conflicts)
        raise ValueError(
            f"The model_dir {changes.get('model_dir', saved.model_dir)!r} holds a run whose "
            f"settings differ from the ones requested:\n{lines}\n"
            "To resume it, leave these flags out (the saved values are used) or pass the saved "
            "values; to train with the new settings, use another --model_dir. Only "
            f"{sorted(RESUMABLE - {'model_dir'})} may change when a run resumes.")
    return saved.replace(**allowed)
