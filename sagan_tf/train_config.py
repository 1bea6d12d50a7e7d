"""Training settings: one frozen dataclass, saved as `config.json` in the run directory.

A run started again with the same model_dir resumes with the saved config: settings
given again must match it, except those in `RESUMABLE`, which may change between runs
(the step target, the hardware, how often to save and log). See `resume_config`.
"""

import dataclasses
import json

from sagan_tf import diff_augment, noise, presets
from sagan_tf.data import pipeline, sources
from sagan_tf.measuring_settings import CLASSIFIER_HELP, DEFAULT_CLASSIFIER
from sagan_tf.settings import setting

STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
NETWORKS = {"generator_overrides": "generator", "discriminator_overrides": "discriminator"}
#: Settings that may differ from the saved config when a run resumes.
RESUMABLE = frozenset({
    "model_dir", "data_dir", "steps", "strategy", "num_cpu_devices", "deterministic",
    "checkpoint_every", "keep_checkpoints", "sample_every", "log_every", "eval_every",
    "eval_num_samples", "eval_classifier", "eval_reference", "g_lr", "d_lr"})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (architecture comes from `preset`).

    Each field is a `setting`: `sagan-train` has one flag per field, named after it, with
    the help below (see `sagan_tf.settings`). `num_classes` and `class_names` come from
    the data and are filled in by the training program before the config is saved
    (None and () for an unconditional model, whose `unconditional` is then True).
    """

    model_dir: str = setting(None, "Directory of the run (any TF filesystem: a local "
                             "path, gs://, s3://, hdfs://): config, checkpoints, logs, "
                             "samples. An existing run there is resumed.", kind="str")
    dataset: str = setting("digits", sources.DATASET_HELP)
    unconditional: bool = setting(False, "Train an unconditional model (G and D without "
                                  "classes: plain batch norms, no projection), whatever "
                                  "classes the data has. Data without classes (a folder "
                                  "of images without sub-folders, a TFDS dataset without "
                                  "a class label) always trains one.")
    data_dir: str | None = setting(None, "TensorFlow Datasets data directory.", kind="str")
    preset: str = setting(presets.DEFAULT_PRESET, "Architecture and resolution.",
                          choices=sorted(presets.PRESETS))
    generator_overrides: dict = setting({}, "", flag=False)  # the --g_<key> flags
    discriminator_overrides: dict = setting({}, "", flag=False)  # the --d_<key> flags
    batch_size: int = setting(64, "Global batch per D step, split across all replicas.")
    steps: int = setting(1000, "Training iterations (G steps) in total.")
    d_steps: int = setting(1, f"D steps per G step (SAGAN: 1; at most {noise.MAX_D_STEPS}).")
    grad_accum: int = setting(1, "Gradient accumulation: each D and G update sums the "
                              "gradients of this many micro-batches of --batch_size and "
                              "applies them once (effective batch grad_accum x "
                              "batch_size; batch-norm statistics per micro-batch, as in "
                              "BigGAN).")
    g_lr: float | None = setting(None, "Generator Adam learning rate (default: the "
                                 "preset's, else TTUR's 1e-4; may be lowered on resume, "
                                 "e.g. after a divergence).", kind="float")
    d_lr: float | None = setting(None, "Discriminator Adam learning rate (default: the "
                                 "preset's, else TTUR's 4e-4; may be lowered on resume).",
                                 kind="float")
    beta1: float = setting(0.0, "Adam beta_1 of both optimizers (SAGAN: 0).")
    beta2: float = setting(0.9, "Adam beta_2 of both optimizers (SAGAN: 0.9).")
    ema_decay: float | None = setting(0.999, "Decay of the generator's weight EMA used for "
                                      "samples (not in the paper; BigGAN's); 0 disables it.",
                                      kind="float", zero_is_none=True)
    ema_start_step: int = setting(0, "Before this G step the EMA copies G's weights.")
    ema_warmup: bool = setting(True, "Warm the EMA's decay up as TF's "
                               "ExponentialMovingAverage(num_updates) does: the t-th "
                               "update uses min(ema_decay, (1 + t) / (10 + t)), so runs "
                               "of any length need no hand-picked --ema_decay (false: "
                               "ema_decay from the first update).")
    strategy: str = setting("default", "default: one device; mirrored: all GPUs, or the "
                            "logical CPUs; multi_worker: MultiWorkerMirroredStrategy over "
                            "TF_CONFIG's cluster.", choices=STRATEGIES)
    num_cpu_devices: int = setting(0, "Split the CPU into this many logical devices (for "
                                   "mirrored training without GPUs).")
    mixed_precision: str = setting("float32", "Keras dtype policy of the networks "
                                   "(mixed_float16: dynamic loss scaling; spectral norm "
                                   "and batch-norm statistics stay float32).",
                                   choices=PRECISIONS)
    jit_compile: bool = setting(False, "Compile the training step with XLA (Keras' "
                                "compile(jit_compile=True)). XLA's stateless generator "
                                "draws other training z than TensorFlow's for the same "
                                "seed, so it is fixed for a run. Off by default on every "
                                "device (Keras' 'auto' would turn it on for a single GPU "
                                "only), so a run computes the same way wherever it runs.")
    seed: int = setting(0, "Seed of the initial weights, the data order, the noise and the "
                        "sample grids (which show the z of `sagan-sample --seed`).")
    random_flip: bool = setting(False, "Random left-right flips of the data.")
    crop: str = setting("center", "How images that are not square become squares: "
                        + "; ".join(f"{name}: {text.format(resolution='the resolution')}"
                                    for name, text in pipeline.CROPS.items())
                        + ". Square images are only resized.",
                        choices=tuple(pipeline.CROPS))
    mode_seeking: float | None = setting(
        None, "Weight of MSGAN's mode-seeking term in G's loss (Mao et al. 2019; not in "
        "SAGAN): G draws two z of one class apart (default: the preset's, else 0: none, "
        "the paper).", kind="float")
    diffaugment: str = setting("", "DiffAugment (Zhao et al., 2020; for small datasets): "
                               "comma-separated policies among "
                               f"{','.join(diff_augment.POLICIES)}, applied to every image "
                               "D sees, real and generated ('': none).", kind="str")
    diffaugment_cutout_inside: bool = setting(
        False, "DiffAugment's cut-out square stays inside the image (default: the "
        "authors' code, where it may be clipped by the border).")
    train_fraction: float = setting(1.0, f"{sources.TRAIN_FRACTION_SOURCES} only: train on this fraction of the "
                                    "training split (a fixed class-stratified subset; "
                                    "the held-out test split is unchanged).")
    deterministic: bool = setting(False, "tf.config.experimental.enable_op_determinism "
                                  "(slower).")
    checkpoint_every: int = setting(500, "Steps between checkpoints.")
    keep_checkpoints: int = setting(3, "Checkpoints kept.")
    sample_every: int = setting(500, "Steps between sample grids and attention maps.")
    log_every: int = setting(10, "Steps between scalar summaries.")
    eval_every: int = setting(0, "Steps between FID/KID/IS evaluations of the EMA "
                              "generator, logged to TensorBoard with the best-FID "
                              "checkpoint kept in model_dir/best_fid (0: none).")
    eval_num_samples: int = setting(1000, "Generated images per evaluation during "
                                    "training.")
    eval_classifier: str = setting(DEFAULT_CLASSIFIER, "Classifier of the evaluations "
                                   f"during training: {CLASSIFIER_HELP}")
    eval_reference: str | None = setting(
        None, "Reference statistics (sagan-fid-stats) the evaluations during training "
        "compare with instead of running the classifier over the real images each time.",
        kind="str")
    init_from: str | None = setting(
        None, "Fine-tuning: start this new run (step 0) from the G, D and EMA weights of "
        "another: its run directory (latest checkpoint) or a checkpoint prefix in one "
        "(<run>/best_fid/ckpt-N). The architecture must be the source's; another class "
        "count starts only the class tables afresh. See docs/fine_tuning.md.", kind="str")
    init_optimizers: bool = setting(False, "With --init_from: also restore the source's "
                                    "Adam moments (default: fresh optimizers).")
    freeze_d_blocks: int = setting(0, "FreezeD (Mo et al. 2020): D's first K residual "
                                   "blocks (and the attention between them) do not train.")
    #: The checkpoint `init_from` resolved to when the run started (sagan_tf.init_from).
    init_from_checkpoint: str | None = setting(None, "", flag=False)
    num_classes: int | None = setting(None, "", flag=False)
    class_names: tuple = setting((), "", flag=False)

    def __post_init__(self):
        if self.preset not in presets.PRESETS:
            raise ValueError(f"Unknown preset. Received: preset={self.preset!r}. "
                             f"Available: {sorted(presets.PRESETS)}")
        # Unset training settings take the preset's defaults (presets.training_settings).
        for name, value in presets.training_settings(self.preset).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if not self.model_dir:
            raise ValueError("`model_dir` must be set (the run's directory). "
                             f"Received: model_dir={self.model_dir!r}")
        positive = ("batch_size", "steps", "d_steps", "grad_accum", "checkpoint_every",
                    "keep_checkpoints", "sample_every", "log_every")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")
        for name in ("g_lr", "d_lr"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"`{name}` must be positive and finite. "
                                 f"Received: {name}={getattr(self, name)}")
        if not 0 <= self.mode_seeking < float("inf"):
            raise ValueError("`mode_seeking` must be a finite number >= 0. "
                             f"Received: mode_seeking={self.mode_seeking}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"`strategy` must be one of {STRATEGIES}. "
                             f"Received: strategy={self.strategy!r}")
        if self.mixed_precision not in PRECISIONS:
            raise ValueError(f"`mixed_precision` must be one of {PRECISIONS}. "
                             f"Received: mixed_precision={self.mixed_precision!r}")
        if self.ema_decay is not None and not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"`ema_decay` must be in [0, 1) or None. "
                             f"Received: ema_decay={self.ema_decay}")
        for field, network in NETWORKS.items():
            presets.network_settings(self.preset, network, getattr(self, field))  # key check
        channels = [presets.network_settings(self.preset, network, getattr(self, field))[
            "image_channels"] for field, network in NETWORKS.items()]
        if channels[0] != channels[1]:
            raise ValueError("G must draw the channels D reads: `g_image_channels` and "
                             "`d_image_channels` must be equal. Received: "
                             f"g_image_channels={channels[0]}, d_image_channels={channels[1]}")
        diff_augment.parse_policy(self.diffaugment)  # names check
        pipeline.check_crop(self.crop)
        if not 0.0 < self.train_fraction <= 1.0:
            raise ValueError("`train_fraction` must be in (0, 1]. "
                             f"Received: train_fraction={self.train_fraction}")
        if self.train_fraction != 1.0 and not sources.reads_train_fraction(self.dataset):
            raise ValueError(f"`train_fraction` applies to the {sources.TRAIN_FRACTION_SOURCES} "
                             "dataset only. "
                             f"Received: train_fraction={self.train_fraction}, "
                             f"dataset={self.dataset!r}")
        if self.unconditional and (self.num_classes is not None or self.class_names):
            raise ValueError("An unconditional config has no classes. Received: "
                             f"num_classes={self.num_classes}, class_names="
                             f"{list(self.class_names)[:10]}")
        if isinstance(self.freeze_d_blocks, bool) or self.freeze_d_blocks < 0:
            raise ValueError("`freeze_d_blocks` must be a non-negative integer. "
                             f"Received: freeze_d_blocks={self.freeze_d_blocks}")
        if self.init_optimizers and not self.init_from:
            raise ValueError("`init_optimizers` restores the optimizers of `init_from`: "
                             "pass --init_from too. Received: init_from=None")
        if self.d_steps > noise.MAX_D_STEPS:  # each update of an iteration has a stream
            raise ValueError(f"`d_steps` must be at most {noise.MAX_D_STEPS}. "
                             f"Received: d_steps={self.d_steps}")

    @property
    def resolution(self):
        return presets.get_preset(self.preset)["resolution"]

    @property
    def image_channels(self):
        """Channels of the images (G's `image_channels`; D's is checked to equal it)."""
        return presets.network_settings(self.preset, "generator",
                                        self.generator_overrides)["image_channels"]

    @property
    def conditional(self):
        """Whether the model is class-conditional (False: `unconditional`)."""
        return not self.unconditional

    @property
    def examples_per_step(self):
        """Examples one training iteration consumes: batch_size x d_steps x grad_accum."""
        return self.batch_size * self.d_steps * self.grad_accum

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
