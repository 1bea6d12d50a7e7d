"""The run directory of a training run, and the export base of its SavedModels.

    model_dir/                 (any TF filesystem: a local path, gs://, s3://, hdfs://)
      config.json              TrainConfig (with num_classes and class_names)
      checkpoints/ckpt-N       tf.train.Checkpoint: G, D, EMA G, both optimizers (with
                               their step counters); the noise RNG is stateless, keyed on
                               the step, so the step is the whole RNG state
      logs/train/              TensorBoard summaries of training (run "train")
      logs/eval/               the evaluations during training (run "eval")
      samples/                 sample grids (PNG): step_<N>.png, latest.png
      losses.csv               the losses of every step
      domain_classifier.keras  the domain classifier of the evaluations, once trained
      eval.json, eval.jsonl    sagan-eval's results; the evaluations during training
      best_fid/                the checkpoint with the lowest FID during training

    export_base/<version>/     SavedModels written by sagan-export (see export.exporter)

The training program writes a run directory; sagan-eval, sagan-export and sagan-sample
read it through this module, so what a run directory is lives in one place.
"""

import dataclasses
import logging
import os
import re

import tensorflow as tf

from sagan_tf import compat, storage
from sagan_tf.standing_stats import apply_standing_stats
from sagan_tf.train_config import TrainConfig, build_generator

CONFIG_FILE = "config.json"
SAVED_MODEL_FILE = "saved_model.pb"
#: Where checkpoints that do not restore are moved (never deleted).
DAMAGED_DIR = "damaged"

logger = logging.getLogger(__name__)
_CHECKPOINT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
#: What a damaged checkpoint raises on restore (a truncated data file: IndexError).
RESTORE_ERRORS = (tf.errors.OpError, ValueError, IndexError, KeyError, AssertionError)


class CheckpointError(ValueError):
    """No checkpoint of a run can be used as asked; the message says what is there."""


@dataclasses.dataclass(frozen=True)
class RunDir:
    """The paths of a run directory, and reading and writing what is in it."""

    path: str

    def __post_init__(self):
        object.__setattr__(self, "path", os.fspath(self.path))

    # -- the layout ---------------------------------------------------------------------

    def join(self, *parts):
        return storage.join(self.path, *parts)

    @property
    def config_file(self):
        return self.join(CONFIG_FILE)

    @property
    def checkpoints(self):
        return self.join("checkpoints")

    @property
    def logs(self):
        """The TensorBoard log directory: one sub-directory per run (train, eval)."""
        return self.join("logs")

    @property
    def train_logs(self):
        return self.join("logs", "train")

    @property
    def eval_logs(self):
        return self.join("logs", "eval")

    @property
    def samples(self):
        return self.join("samples")

    @property
    def losses(self):
        return self.join("losses.csv")

    @property
    def domain_classifier(self):
        return self.join("domain_classifier.keras")

    @property
    def eval_file(self):
        return self.join("eval.json")

    @property
    def eval_log(self):
        return self.join("eval.jsonl")

    @property
    def best_fid(self):
        return self.join("best_fid")

    # -- the config ---------------------------------------------------------------------

    def has_config(self):
        return storage.exists(self.config_file)

    def load_config(self):
        """The run's `TrainConfig`; FileNotFoundError naming the directory if it has none."""
        if not self.has_config():
            raise FileNotFoundError(
                f"No {CONFIG_FILE} in model_dir {self.path!r}: is it the `--model_dir` of a "
                "`sagan-train` run?")
        try:
            return TrainConfig.from_json(storage.read_text(self.config_file))
        except (ValueError, TypeError) as e:  # a hand-edited file
            raise ValueError(
                f"{self.config_file} is not a valid sagan-train config: {e}. Undo the edit "
                "(every field must keep its type; see TrainConfig), or start a new run in "
                "another --model_dir.") from None

    def load_config_if_exists(self):
        """The saved config, or None for a new run."""
        return self.load_config() if self.has_config() else None

    def save_config(self, config):
        """Writes `config` as config.json (atomically)."""
        storage.write_atomically(self.config_file, config.to_json())

    # -- checkpoints --------------------------------------------------------------------

    def checkpoints_on_disk(self):
        """The prefixes of the checkpoints whose files are in checkpoints/, oldest first,
        found from the files themselves (not from the `checkpoint` state file)."""
        if not storage.isdir(self.checkpoints):
            return []
        found = [(int(m.group(1)), self.join("checkpoints", f"ckpt-{m.group(1)}"))
                 for m in map(_CHECKPOINT_INDEX.match, storage.listdir(self.checkpoints)) if m]
        return [prefix for _, prefix in sorted(found)]

    def latest_checkpoint(self):
        """The prefix of the newest checkpoint, or None.

        The newest by number among the files on disk. When the `checkpoint` state file
        is missing, unreadable or names another one, a warning says so (the state file
        is rewritten by `repair_checkpoint_state`, which `sagan-train` calls).
        """
        on_disk = self.checkpoints_on_disk()
        if not on_disk:
            return None
        problem = self._state_problem(on_disk)
        if problem:
            logger.warning("%s; using the newest checkpoint on disk, %s.", problem, on_disk[-1])
        return on_disk[-1]

    def repair_checkpoint_state(self):
        """Rewrites the `checkpoint` state file from the files on disk if it is missing,
        unreadable or disagrees with them, so that tf.train.CheckpointManager sees (and
        keeps rotating) every checkpoint of the run. Returns True if it rewrote it."""
        on_disk = self.checkpoints_on_disk()
        problem = self._state_problem(on_disk) if on_disk else None
        if not problem:
            return False
        logger.warning("%s; rewriting it from the %d checkpoint(s) on disk.", problem,
                       len(on_disk))
        tf.compat.v1.train.update_checkpoint_state(
            self.checkpoints, on_disk[-1], all_model_checkpoint_paths=on_disk)
        return True

    def _state_problem(self, on_disk):
        state_file = self.join("checkpoints", "checkpoint")
        if not storage.exists(state_file):
            return f"The checkpoint state file {state_file} is missing"
        state = tf.train.get_checkpoint_state(self.checkpoints)  # None when unreadable
        if state is None:
            return f"The checkpoint state file {state_file} cannot be read"
        listed = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
        if (os.path.basename(state.model_checkpoint_path) != os.path.basename(on_disk[-1])
                or sorted(listed) != sorted(os.path.basename(p) for p in on_disk)):
            return (f"The checkpoint state file {state_file} lists {listed or 'nothing'}, "
                    f"not the checkpoints on disk "
                    f"{[os.path.basename(p) for p in on_disk]}")
        return None

    def set_aside(self, prefix, error):
        """Moves a checkpoint that does not restore into checkpoints/damaged/ (never
        deleting it) and rewrites the state file; returns its new prefix."""
        target_dir = self.join("checkpoints", DAMAGED_DIR)
        storage.makedirs(target_dir)
        name = os.path.basename(prefix)
        for path in tf.io.gfile.glob(f"{prefix}.*"):
            tf.io.gfile.rename(path, storage.join(target_dir, os.path.basename(path)),
                               overwrite=True)
        logger.warning("Checkpoint %s does not restore (%s: %s); moved it to %s.", prefix,
                       type(error).__name__, error, target_dir)
        self.repair_checkpoint_state()
        return storage.join(target_dir, name)

    def load_generator(self, use_ema=True, checkpoint=None, standing_stats=0):
        """Restores the generator of the run.

        Args:
            use_ema: the EMA generator when the run kept one.
            checkpoint: a checkpoint prefix (default: the latest of the run).
            standing_stats: N > 0 replaces G's batch-norm moving statistics (in memory
                only) by standing statistics over N passes of the run's `batch_size`
                with noise seed 0 (`sagan_tf.standing_stats`); 0 keeps the trained ones.

        Returns:
            `(generator, config, checkpoint)`: a `keras.Model` `[z, labels] -> images`
            (`z -> images` for an unconditional run), the run's `TrainConfig` and the
            checkpoint prefix restored.

        Raises:
            CheckpointError: the checkpoint does not restore, or holds a generator of
                the other kind (class-conditional against the run's unconditional
                config, or the reverse).
        """
        config = self.load_config()
        given = checkpoint
        checkpoint = checkpoint or self.latest_checkpoint()
        if checkpoint is None:
            raise FileNotFoundError(
                f"No checkpoint in {self.checkpoints!r}: the run has not saved one yet (it "
                "saves every `--checkpoint_every` steps and at the end).")
        generator = build_generator(config)
        name = "ema_generator" if use_ema and config.ema_decay is not None else "generator"
        check_checkpoint_kind(checkpoint, config.conditional, name, config_file=self.config_file)
        try:
            tf.train.Checkpoint(**{name: generator}).restore(checkpoint).expect_partial()
        except RESTORE_ERRORS as e:
            # Falling back to an older checkpoint here would export or score other
            # weights than asked for: refuse, and name the newest one that restores.
            older = [] if given else self.checkpoints_on_disk()[:-1]
            usable = next((p for p in reversed(older)
                           if _restores(name, build_generator(config), p)), None)
            hint = (f" The newest checkpoint that restores is {usable}: pass "
                    f"--checkpoint={usable} to use it." if usable else
                    " No older checkpoint of the run restores either." if older else "")
            raise CheckpointError(f"Checkpoint {checkpoint} cannot be read "
                                  f"({type(e).__name__}: {e}).{hint}") from None
        if standing_stats:
            apply_standing_stats(generator, standing_stats, config.batch_size,
                                 config.num_classes)
        return generator, config, checkpoint


def checkpoint_is_conditional(prefix, network="generator"):
    """Whether the generator `network` stored in the checkpoint `prefix` is
    class-conditional (its residual blocks hold conditional batch norms, `cbn_1`) or
    unconditional (plain ones, `bn_1`); None when it cannot be read or holds neither."""
    try:
        names = [n for n, _ in tf.train.list_variables(prefix)]
    except RESTORE_ERRORS:
        return None
    mine = [n for n in names if n.startswith(f"{network}/")]
    if any("/cbn_1/" in n for n in mine):
        return True
    if any("/bn_1/" in n for n in mine):
        return False
    return None


def check_checkpoint_kind(prefix, conditional, network="generator", config_file=None):
    """Raises `CheckpointError` when the checkpoint's generator is of the other kind
    than `conditional` asks (restoring it would match only part of the weights)."""
    stored = checkpoint_is_conditional(prefix, network)
    if stored is None or stored == bool(conditional):
        return
    kinds = {True: "class-conditional", False: "unconditional"}
    article = {True: "a", False: "an"}
    wanted = bool(conditional)
    where = f" ({config_file}: unconditional={not conditional})" if config_file else ""
    raise CheckpointError(
        f"Checkpoint {prefix} holds {article[stored]} {kinds[stored]} {network}, but the "
        f"model it is restored into is {kinds[wanted]}{where}. Pass a checkpoint of "
        f"{article[wanted]} {kinds[wanted]} run, or use the --model_dir of the run that "
        f"wrote {prefix} (its config.json says which kind it is).")


def _restores(name, network, prefix):
    try:
        tf.train.Checkpoint(**{name: network}).restore(prefix).expect_partial()
        return True
    except RESTORE_ERRORS:
        return False


def make_checkpoint(model):
    """The tf.train.Checkpoint of everything a run needs to resume exactly."""
    items = dict(generator=model.generator, discriminator=model.discriminator,
                 g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer)
    if model.ema_generator is not None:
        items["ema_generator"] = model.ema_generator
    return tf.train.Checkpoint(**items)


def checkpoint_step(checkpoint):
    """G optimizer iterations stored in a checkpoint (its `-N` suffix as fallback)."""
    try:
        reader = tf.train.load_checkpoint(checkpoint)
        return int(reader.get_tensor(compat.optimizer_iterations_key("g_optimizer")))
    except (tf.errors.NotFoundError, ValueError):
        suffix = checkpoint.rsplit("-", 1)[-1]
        return int(suffix) if suffix.isdigit() else None


# -- exports ----------------------------------------------------------------------------


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
