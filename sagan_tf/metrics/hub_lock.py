"""`tensorflow_hub`'s download lock, left behind by a process that died.

While it downloads a module, `tensorflow_hub` holds `<cache>/<folder>.lock` holding
`<host>.<pid>.<uid>`, and downloads into `<cache>/<folder>.<uid>.tmp`. A process killed
mid-download leaves both, and every later process waits on the lock ("already being
downloaded ... Waiting") until nothing has changed for ten minutes. A lock naming a
process of this host that no longer runs is taken over at once, with a warning (the
run lock does the same, `sagan_tf.run_lock`); one of another host is left to
`tensorflow_hub`'s own timeout.
"""

import logging
import os

import tensorflow as tf

from sagan_tf import compat, process_liveness

logger = logging.getLogger(__name__)


def lock_holder(text):
    """(host, pid, uid) of a lock file's text, or None if it is not one."""
    parts = text.strip().rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


def take_over_stale_lock(handle, cache_dir):
    """Removes the lock (and the partial download) of `handle` in `cache_dir` when its
    holder is a process of this host that no longer runs; returns whether it did."""
    module_dir = os.path.join(cache_dir, compat.tfhub_cache_folder(handle))
    lock = module_dir + ".lock"
    try:
        holder = lock_holder(tf.io.gfile.GFile(lock).read())
    except tf.errors.OpError:  # no lock: nothing to take over
        return False
    if holder is None or not process_liveness.is_dead_here(holder[0], holder[1]):
        return False
    host, pid, uid = holder
    logger.warning("Taking over tensorflow_hub's download lock %s of %s: pid %d on this "
                   "host no longer runs (a download killed before it finished).", lock,
                   handle, pid)
    partial = f"{module_dir}.{uid}.tmp"
    if tf.io.gfile.isdir(partial):
        tf.io.gfile.rmtree(partial)
    tf.io.gfile.remove(lock)
    return True
