"""RunLock: one training process at a time in a run directory.

Two trainings on one model_dir would write the same checkpoint names and interleave
their loss rows. `sagan-train`'s chief holds `<model_dir>/.lock` while it trains: a JSON
record of the holder (host, pid, start time, a random token), written through
`tf.io.gfile`, so it works on shared storage that every machine sees.

A second run refuses and names the holder. A lock left behind by a process that died
without releasing it (SIGKILL, a lost machine) is stale: on the same host, a holder
whose pid no longer runs, or runs with another start time than the one recorded
beside it (a reused pid), is detected and the lock taken over with a warning; on
another host that cannot be known, so the message says how to clear it
(`--break_lock`, or deleting the file).

Object stores offer no atomic create-if-absent through tf.io.gfile, so two runs that
start within the same instant could both write the file; the lock is read back after
writing and the run whose token is not there refuses. That closes all but a window of
one round trip, which is enough against the mistake it guards against (starting a run
twice), not against an adversary.
"""

import json
import logging
import os
import socket
import time
import uuid

from sagan_tf import process_liveness, storage

LOCK_FILE = ".lock"
logger = logging.getLogger(__name__)


class RunLockedError(ValueError):
    """The run directory is held by another training process."""


class RunLock:
    """The lock of the run directory `model_dir`; a context manager.

    Args:
        model_dir: the run directory (any TF filesystem).
        program: the holder's name, shown to a second run.
        break_lock: take the lock even if another process holds it (after its
            machine died, say).
    """

    def __init__(self, model_dir, program="sagan-train", break_lock=False):
        self.path = storage.join(model_dir, LOCK_FILE)
        self.record = dict(host=socket.gethostname(), pid=os.getpid(), program=program,
                           pid_started=process_liveness.start_time(os.getpid()),
                           started=time.strftime("%Y-%m-%d %H:%M:%S"),
                           token=uuid.uuid4().hex)
        self.break_lock = break_lock
        self.held = False

    def holder(self):
        """The record of the current holder, or None (an unreadable file counts as a
        holder that cannot be identified)."""
        if not storage.exists(self.path):
            return None
        try:
            return json.loads(storage.read_text(self.path))
        except (ValueError, OSError):
            return {"host": "?", "pid": "?", "program": "?", "started": "?", "token": None,
                    "unreadable": True}

    def acquire(self):
        holder = self.holder()
        if holder is not None and not self.break_lock:
            if _is_stale(holder):
                logger.warning("Taking over the stale lock %s of %s (pid %s on this host "
                               "no longer runs, or now names another process).",
                               self.path, holder.get("program"), holder.get("pid"))
            else:
                raise RunLockedError(_held_message(self.path, holder))
        elif holder is not None:
            logger.warning("--break_lock: taking the lock %s from %s (pid %s on %s).",
                           self.path, holder.get("program"), holder.get("pid"),
                           holder.get("host"))
        storage.write_atomically(self.path, json.dumps(self.record, sort_keys=True))
        holder = self.holder()
        if holder is None or holder.get("token") != self.record["token"]:
            raise RunLockedError(_held_message(self.path, holder or {}))
        self.held = True
        return self

    def release(self):
        """Deletes the lock file if this process still holds it."""
        if self.held:
            holder = self.holder()
            if holder is not None and holder.get("token") == self.record["token"]:
                storage.remove(self.path)
            self.held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _is_stale(holder):
    """Its holder is known gone: a process of this host that no longer runs, or whose
    pid now names another process (another start time than the one recorded)."""
    return process_liveness.is_dead_here(holder.get("host"), holder.get("pid"),
                                         holder.get("pid_started"))


def _held_message(path, holder):
    if holder.get("unreadable"):
        return (f"The run directory's lock {path} cannot be read (it is not a lock record "
                "that sagan-train writes: a partial write or a hand edit), so its holder "
                "is unknown. If no training runs in this model_dir, delete that file or "
                "pass --break_lock.")
    return (f"The run directory is in use: {path} is held by {holder.get('program', '?')} "
            f"(pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, since "
            f"{holder.get('started', '?')}). Wait for it to finish or stop it; if it is gone "
            "(its machine died), pass --break_lock or delete that file.")
