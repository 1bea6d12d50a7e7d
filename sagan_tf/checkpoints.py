"""Checkpoints of a training run: writing, finding, repairing and restoring them.

    model_dir/checkpoints/ckpt-N    tf.train.Checkpoint (`make_checkpoint`): G, D, EMA G,
                                    both optimizers (with their step counters)
    model_dir/checkpoints/damaged/  checkpoints that did not restore (never deleted)

- `CheckpointWriter` saves and restores a run's state, the chief's way and the other
  workers'; no checkpoint is written from a non-finite state (`sagan_tf.divergence`).
- `checkpoints_on_disk`, `latest_checkpoint`, `repair_checkpoint_state`, `set_aside`:
  the checkpoints are found from their own files, whatever the `checkpoint` state file
  says, and one that does not restore is moved aside, not lost.
- `load_generator`: the generator of a run; `check_checkpoint_kind`: a conditional
  checkpoint never restores into an unconditional model, or the reverse.
"""

import logging
import os
import re
import shutil
import tempfile

import tensorflow as tf

from sagan_tf import compat, divergence, storage
from sagan_tf.checkpoint_mismatch import model_mismatch
from sagan_tf.models import build_generator
from sagan_tf.run_dir import RunDir
from sagan_tf.standing_stats import apply_standing_stats

#: Where checkpoints that do not restore are moved (never deleted).
DAMAGED_DIR = "damaged"
#: What a damaged checkpoint raises on restore (a truncated data file: IndexError).
RESTORE_ERRORS = (tf.errors.OpError, ValueError, IndexError, KeyError, AssertionError)

logger = logging.getLogger(__name__)
_CHECKPOINT_INDEX = re.compile(r"^ckpt-(\d+)\.index$")


class CheckpointError(ValueError):
    """No checkpoint of a run can be used as asked; the message says what is there."""


def as_run_dir(run):
    """A `RunDir` from a `RunDir` or a path."""
    return run if isinstance(run, RunDir) else RunDir(os.fspath(run))


def checkpoints_on_disk(run):
    """The prefixes of the checkpoints whose files are in checkpoints/, oldest first,
    found from the files themselves (not from the `checkpoint` state file)."""
    run = as_run_dir(run)
    if not storage.isdir(run.checkpoints):
        return []
    found = [(int(m.group(1)), run.join("checkpoints", f"ckpt-{m.group(1)}"))
             for m in map(_CHECKPOINT_INDEX.match, storage.listdir(run.checkpoints)) if m]
    return [prefix for _, prefix in sorted(found)]

def latest_checkpoint(run):
    """The prefix of the newest checkpoint by number among the files on disk, or None;
    a missing, unreadable or stale `checkpoint` state file is warned about
    (`repair_checkpoint_state`, which `sagan-train` calls, rewrites it)."""
    run = as_run_dir(run)
    on_disk = checkpoints_on_disk(run)
    if not on_disk:
        return None
    problem = _state_problem(run, on_disk)
    if problem:
        logger.warning("%s; using the newest checkpoint on disk, %s.", problem, on_disk[-1])
    return on_disk[-1]

def repair_checkpoint_state(run):
    """Rewrites the `checkpoint` state file from the files on disk if it is missing,
    unreadable or disagrees with them, so that tf.train.CheckpointManager sees (and
    keeps rotating) every checkpoint of the run. Returns True if it rewrote it."""
    run = as_run_dir(run)
    on_disk = checkpoints_on_disk(run)
    problem = _state_problem(run, on_disk) if on_disk else None
    if not problem:
        return False
    logger.warning("%s; rewriting it from the %d checkpoint(s) on disk.", problem,
                   len(on_disk))
    tf.compat.v1.train.update_checkpoint_state(
        run.checkpoints, on_disk[-1], all_model_checkpoint_paths=on_disk)
    return True

def _state_problem(run, on_disk):
    state_file = run.join("checkpoints", "checkpoint")
    if not storage.exists(state_file):
        return f"The checkpoint state file {state_file} is missing"
    state = tf.train.get_checkpoint_state(run.checkpoints)  # None when unreadable
    if state is None:
        return f"The checkpoint state file {state_file} cannot be read"
    listed = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
    if (os.path.basename(state.model_checkpoint_path) != os.path.basename(on_disk[-1])
            or sorted(listed) != sorted(os.path.basename(p) for p in on_disk)):
        return (f"The checkpoint state file {state_file} lists {listed or 'nothing'}, "
                f"not the checkpoints on disk "
                f"{[os.path.basename(p) for p in on_disk]}")
    return None

def set_aside(run, prefix, error):
    """Moves a checkpoint that does not restore into checkpoints/damaged/ (never
    deleting it) and rewrites the state file; returns its new prefix."""
    run = as_run_dir(run)
    target_dir = run.join("checkpoints", DAMAGED_DIR)
    storage.makedirs(target_dir)
    name = os.path.basename(prefix)
    for path in tf.io.gfile.glob(f"{prefix}.*"):
        tf.io.gfile.rename(path, storage.join(target_dir, os.path.basename(path)),
                           overwrite=True)
    logger.warning("Checkpoint %s does not restore (%s: %s); moved it to %s.", prefix,
                   type(error).__name__, error, target_dir)
    repair_checkpoint_state(run)
    return storage.join(target_dir, name)

def load_generator(run, use_ema=True, checkpoint=None, standing_stats=0):
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
    run = as_run_dir(run)
    config = run.load_config()
    given = checkpoint
    checkpoint = checkpoint or latest_checkpoint(run)
    if checkpoint is None:
        raise FileNotFoundError(
            f"No checkpoint in {run.checkpoints!r}: the run has not saved one yet (it "
            "saves every `--checkpoint_every` steps and at the end).")
    generator = build_generator(config)
    name = "ema_generator" if use_ema and config.ema_decay is not None else "generator"
    check_checkpoint_kind(checkpoint, config.conditional, name, config_file=run.config_file)
    try:
        tf.train.Checkpoint(**{name: generator}).restore(checkpoint).expect_partial()
    except RESTORE_ERRORS as e:
        # Falling back to an older checkpoint here would export or score other
        # weights than asked for: refuse, and name the newest one that restores.
        older = [] if given else checkpoints_on_disk(run)[:-1]
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


class CheckpointWriter:
    """Saves and restores a run's checkpoints, the chief's way and the other workers'.

    The chief saves into model_dir/checkpoints, keeping the last `max_to_keep`.
    Under MultiWorkerMirroredStrategy every worker must take part in a save (it may
    run collective ops), so the other workers save into a local temporary directory of
    their own, which they delete straight away. Every worker restores from
    model_dir/checkpoints (a file system they share).

    Nothing of a run is lost to one damaged file: the checkpoints are found from their
    own files, whatever the small `checkpoint` state file says (the chief rewrites a
    missing or garbled one), and a newest checkpoint that does not restore is moved to
    checkpoints/damaged/ with a warning that names it, and the next older one is used.
    Only checkpoints of this run directory are ever rotated away.

    No checkpoint is written from a state with a NaN or inf in any variable it holds:
    `save` raises `divergence.DivergenceError` instead, naming the last good one.
    """

    def __init__(self, model, model_dir, max_to_keep, chief=True):
        self.chief = chief
        self.run_dir = as_run_dir(model_dir)
        self.directory = self.run_dir.checkpoints
        self.checkpoint = make_checkpoint(model)
        self._conditional = model.conditional
        self._model = model
        self._iterations = model.g_optimizer.iterations
        self._max_to_keep = max_to_keep
        if chief:
            repair_checkpoint_state(self.run_dir)
        self._manager = self._new_manager()
        self._finite = divergence.FiniteCheck(model)
        self.last_saved_step = None
        #: The chief's newest checkpoint written or restored (None: none yet).
        self.last_saved_path = None

    def _new_manager(self):
        return tf.train.CheckpointManager(self.checkpoint, self.directory,
                                          max_to_keep=self._max_to_keep)

    @property
    def step(self):
        return int(self._iterations.numpy())

    def restore_latest(self):
        """Restores the newest checkpoint that restores; returns its step (0 for a new
        run, one without checkpoint files).

        Raises:
            CheckpointError: there are checkpoint files but none of them restores.
        """
        candidates = checkpoints_on_disk(self.run_dir)
        if not candidates:
            damaged = self.run_dir.join("checkpoints", "damaged")
            if storage.isdir(damaged) and storage.listdir(damaged):
                raise CheckpointError(
                    f"{self.directory} holds only damaged checkpoints (in {damaged}), none "
                    "that restores. To start again from step 0 in this model_dir, move "
                    "config.json and checkpoints/ away; or train in another --model_dir.")
            return 0
        # Another kind of model (conditional/unconditional) is refused, not set aside.
        check_checkpoint_kind(candidates[-1], self._conditional)
        failures = []
        for prefix in reversed(candidates):
            try:
                self.checkpoint.restore(prefix).assert_existing_objects_matched()
                break
            except RESTORE_ERRORS as e:
                # Another model's readable checkpoint (a hand-edited config.json) is
                # refused by name, nothing moved; only unreadable ones are set aside.
                mismatch = model_mismatch(prefix, e, self._model,
                                          self.run_dir.load_config_if_exists(),
                                          self.run_dir.config_file)
                if mismatch:
                    raise CheckpointError(mismatch) from None
                failures.append(f"{prefix} ({type(e).__name__}: {e})")
                if self.chief:
                    set_aside(self.run_dir, prefix, e)
                else:
                    logger.warning("Checkpoint %s does not restore: %s", prefix, e)
        else:
            raise CheckpointError(
                f"None of the {len(candidates)} checkpoint(s) in {self.directory} restores: "
                f"{'; '.join(failures)}. They were moved to checkpoints/damaged/. To start "
                "again from step 0 in this model_dir, move config.json away too; or train "
                "in another --model_dir.")
        if failures:
            self._manager = self._new_manager()  # it read the state file before the move
        self.last_saved_step = self.step
        self.last_saved_path = prefix
        return self.step

    def non_finite_variables(self):
        """The names of the checkpointed variables holding NaN or inf (empty: none)."""
        return self._finite.non_finite()

    def divergence_message(self, what):
        """`divergence.message` at the current step, naming the last good checkpoint."""
        return divergence.message(self.step, what, self.last_saved_step, self.last_saved_path)

    def save(self):
        """Saves the current state, numbered by the step; returns the chief's path.

        Raises:
            divergence.DivergenceError: a variable is not finite (nothing is written).
        """
        step = self.step
        bad = self.non_finite_variables()
        if bad:
            raise divergence.DivergenceError(
                self.divergence_message(divergence.describe({}, bad)))
        if self.chief:
            path = self._manager.save(checkpoint_number=step)
        else:
            tmp = tempfile.mkdtemp(prefix="sagan-worker-ckpt-")  # local scratch, not a run
            try:
                tf.train.CheckpointManager(self.checkpoint, tmp, max_to_keep=1).save(
                    checkpoint_number=step)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            path = None
        self.last_saved_step = step
        self.last_saved_path = path
        return path
