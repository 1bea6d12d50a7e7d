"""Saving and restoring the checkpoints of a training run (layout: `sagan_tf.run_dir`)."""

import shutil
import tempfile

import tensorflow as tf
from absl import logging

from sagan_tf import storage
from sagan_tf.run_dir import RESTORE_ERRORS, CheckpointError, RunDir, make_checkpoint


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
    """

    def __init__(self, model, model_dir, max_to_keep, chief=True):
        self.chief = chief
        self.run_dir = RunDir(model_dir)
        self.directory = self.run_dir.checkpoints
        self.checkpoint = make_checkpoint(model)
        self._iterations = model.g_optimizer.iterations
        self._max_to_keep = max_to_keep
        if chief:
            self.run_dir.repair_checkpoint_state()
        self._manager = self._new_manager()
        self.last_saved_step = None

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
        failures = []
        for prefix in reversed(candidates):
            try:
                self.checkpoint.restore(prefix).assert_existing_objects_matched()
                break
            except RESTORE_ERRORS as e:
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
        return self.step

    def save(self):
        """Saves the current state, numbered by the step; returns the chief's path."""
        step = self.step
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
        return path
