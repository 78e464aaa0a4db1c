"""
System I/O: remember probe answers across runs, keyed by the state of their inputs.

The scheduled ``state.apply idlelock`` runs every 30 minutes on every machine,
and almost every run changes nothing. Its cost is the proof: ``sshd -V``,
``sshd -T`` and the login shells. Each probe's answer depends only on its
inputs (the binaries, every configuration and start-up file, the directories
their globs expand, the account database), so an answer recorded with the
identity of those inputs (device, inode, size, mtime and ctime in nanoseconds:
ctime changes on every write and cannot be set back) is the answer a new probe
would give while the identity is the same. Verdicts are never recorded: the
planner and judges run afresh on every run, on the recorded probe answers, so
a skipped probe can never make a wrong verdict, only an old answer to the same
question.

What a file identity cannot see (an LDAP group that gains a member, a shell
that sources a file outside the known start-up files) is bounded by the
record's maximum age (``idlelock:proof_max_age``); past it, every probe runs.
A missing, corrupt or foreign record is a full proof.
"""

import contextlib
import hashlib
import json
import os
import tempfile
import time

FORMAT = 1
MAX_ENTRIES = 64


def _key(key):
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def _load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or \
            not isinstance(data.get("entries"), dict):
        return {}
    return data["entries"]


def lookup(path, key, max_age, now=None):
    """``(True, answer)`` recorded for ``key`` less than ``max_age`` seconds ago, else ``(False, None)``."""
    entry = _load(path).get(_key(key))
    now = time.time() if now is None else now
    if not isinstance(entry, dict) or not isinstance(entry.get("at"), (int, float)):
        return False, None
    if not 0 <= now - entry["at"] < max_age:
        return False, None
    return True, entry.get("answer")


def store(path, key, answer, now=None):
    """Record ``answer`` for ``key``, atomically; the oldest entries go past MAX_ENTRIES."""
    entries = _load(path)
    entries[_key(key)] = {"at": time.time() if now is None else now, "answer": answer}
    newest = sorted(entries.items(), key=lambda item: item[1].get("at", 0))[-MAX_ENTRIES:]
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".probes-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"format": FORMAT, "entries": dict(newest)}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
