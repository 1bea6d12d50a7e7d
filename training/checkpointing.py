"""Saving and restoring the checkpoints of a training run (layout: `sagan_tf.run_dir`)."""

import shutil
import tempfile

import tensorflow as tf
from absl import logging

from sagan_tf import storage
from sagan_tf.checkpoint_mismatch import model_mismatch
from sagan_tf.run_dir import (RESTORE_ERRORS, CheckpointError, RunDir, check_checkpoint_kind,
                              make_checkpoint)
from training import divergence


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
        self.run_dir = RunDir(model_dir)
        self.directory = self.run_dir.checkpoints
        self.checkpoint = make_checkpoint(model)
        self._conditional = model.conditional
        self._model = model
        self._iterations = model.g_optimizer.iterations
        self._max_to_keep = max_to_keep
        if chief:
            self.run_dir.repair_checkpoint_state()
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
        candidates = self.run_dir.checkpoints_on_disk()
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
                # A readable checkpoint of another model (a hand-edited config.json) is
                # healthy: refused by name, nothing moved. Only unreadable ones are set aside.
                mismatch = model_mismatch(prefix, e, self._model,
                                          self.run_dir.load_config_if_exists(),
                                          self.run_dir.config_file)
                if mismatch:
                    raise CheckpointError(mismatch) from None
                failures.append(f"{prefix} ({type(e).__name__}: {e})")
                if self.chief:
                    self.run_dir.set_aside(prefix, e)
                else:
                    logging.warning("Checkpoint %s does not restore: %s", prefix, e)
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
