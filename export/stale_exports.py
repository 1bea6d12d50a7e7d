"""Folders of exports that were killed before they were published.

An export writes `<export_base>/.tmp-<version>-<pid>-<random>/` and renames it into
place at the end; a killed export leaves that folder behind. Each holds an `.owner`
file (host, pid, process start time): the next export removes the folders whose
owner is a process of this host that no longer runs (`sagan_tf.process_liveness`), and
leaves those of running exports and of other hosts alone.
"""

import json
import logging
import os
import re
import socket

import tensorflow as tf

from sagan_tf import process_liveness, storage

OWNER_FILE = ".owner"
_TMP = re.compile(r"^\.tmp-\d+-")
logger = logging.getLogger(__name__)


def tmp_name(version):
    return f".tmp-{version}-{os.getpid()}-{os.urandom(4).hex()}"


def write_owner(tmp):
    """Records this process as the owner of the export folder `tmp`."""
    pid = os.getpid()
    storage.write_atomically(storage.join(tmp, OWNER_FILE), json.dumps(dict(
        host=socket.gethostname(), pid=pid, started=process_liveness.start_time(pid))))


def clean_stale(export_base):
    """Removes the export folders of dead processes of this host; returns their paths."""
    removed = []
    if not storage.isdir(export_base):
        return removed
    for name in storage.listdir(export_base):
        path = storage.join(export_base, name)
        if not _TMP.match(name) or not storage.isdir(path):
            continue
        try:
            owner = json.loads(storage.read_text(storage.join(path, OWNER_FILE)))
        except (tf.errors.OpError, OSError, ValueError):
            continue  # no owner recorded: it cannot be known to be stale
        if process_liveness.is_dead_here(owner.get("host"), owner.get("pid"),
                                         owner.get("started")):
            logger.warning("Removing %s: the export that wrote it (pid %s on this host) "
                           "was killed before publishing it.", path, owner.get("pid"))
            storage.remove_tree(path)
            removed.append(path)
    return removed
