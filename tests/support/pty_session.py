"""Drive the real OpenSSH client on a real pseudo-terminal.

Idle timeouts are about terminals: sshd's ChannelTimeout counts channel traffic, bash's TMOUT
counts time at the prompt.  To observe them, a test needs what a person has: ``/usr/bin/ssh -tt``
attached to a pty, with every byte timestamped.  A background thread reads the pty continuously,
so "when did the last output arrive" and "when did the connection close" are measured when they
happen, not when the test gets round to looking.

Typical use::

    with open_session(sshd, user) as session:
        session.wait_for("$ ")
        session.send("echo ready")
        session.wait_for("ready")
        print(session.idle_close_seconds(timeout=10))   # e.g. 2.6 with ChannelTimeout 3
        assert session.exit_status == 255
"""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time

SSH = "/usr/bin/ssh"
DEFAULT_TIMEOUT = 10.0


class SessionClosed(AssertionError):
    """The session ended before the awaited output appeared."""


def ssh_command(sandbox, user, command=None, tty=True, log_level="ERROR", options=()):
    """The ssh argv for ``user`` (a TestUser) on ``sandbox`` (an SshdSandbox).

    ``-F /dev/null`` keeps the host's client config (SendEnv, ...) out of the test.  Note that
    the client prints "Connection to HOST closed." only at LogLevel INFO or above.
    """
    argv = [SSH, "-F", "/dev/null", "-tt" if tty else "-T",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", f"LogLevel={log_level}",
            "-i", str(user.key), "-p", str(sandbox.port)]
    for option in options:
        argv += ["-o", option]
    argv.append(f"{user.name}@127.0.0.1")
    if command is not None:
        argv += [command] if isinstance(command, str) else list(command)
    return argv


def open_session(sandbox, user, command=None, tty=True, log_level="ERROR", options=(),
                 term="dumb", size=(24, 80)):
    """Start ``ssh`` to the sandbox on a fresh pty and return a running :class:`Session`.

    ``command=None`` gives an interactive login shell (channel label ``session:shell``); a
    command gives ``session:command``.  ``tty=True`` passes ``-tt`` (remote pty), False ``-T``.
    ``term`` is sent as TERM; "dumb" keeps shells from emitting most escape sequences.
    """
    return Session(ssh_command(sandbox, user, command, tty, log_level, options),
                   term=term, size=size)


class Session:
    """A child process on a pty, read continuously by a background thread.

    Times are ``time.monotonic()`` values.  Attributes: ``started_at``, ``last_output_at``,
    ``last_input_at``, ``closed_at`` (when the pty reported end of file, i.e. the client
    exited; None while open).
    """

    def __init__(self, argv, term="dumb", size=(24, 80), env=None):
        """Spawn ``argv`` with the pty slave as stdin/stdout/stderr."""
        self.argv = list(argv)
        env = dict(os.environ if env is None else env)
        env["TERM"] = term
        env.pop("SSH_AUTH_SOCK", None)  # only the test key may be offered
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
        self._cond = threading.Condition()
        self._text = ""
        self._cursor = 0
        self.started_at = time.monotonic()
        self.last_output_at = None
        self.last_input_at = None
        self.closed_at = None
        self._activity = []  # monotonic times of every output chunk and every send
        try:
            # A new session keeps the test runner's signals (Ctrl-C) away from the client.
            self.proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave,
                                         env=env, start_new_session=True, close_fds=True)
        except BaseException:
            os.close(master)
            raise
        finally:
            # Our copy must go, or the master never sees end of file when ssh exits.
            os.close(slave)
        self._fd = master
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, daemon=True,
                                        name=f"pty-reader-{self.proc.pid}")
        self._reader.start()

    # -- reading -----------------------------------------------------------------------------

    def _read_loop(self):
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self._fd, 65536)
            except OSError:  # EIO: every slave fd is closed, i.e. the client is gone
                data = b""
            now = time.monotonic()
            with self._cond:
                if data:
                    self._text += decoder.decode(data)
                    self.last_output_at = now
                    self._activity.append(now)
                else:
                    self._text += decoder.decode(b"", final=True)
                    self.closed_at = now
                self._cond.notify_all()
            if not data:
                return

    @property
    def output(self):
        """All text the client has written so far (decoded UTF-8, raw control characters)."""
        with self._cond:
            return self._text

    @property
    def pid(self):
        """PID of the ssh client process."""
        return self.proc.pid

    @property
    def last_activity(self):
        """Latest of the last output and the last input (None if neither happened)."""
        times = [t for t in (self.last_output_at, self.last_input_at) if t is not None]
        return max(times) if times else None

    def wait_for(self, pattern, timeout=DEFAULT_TIMEOUT):
        """Wait until ``pattern`` appears in output not yet consumed; return the re.Match.

        ``pattern`` is a literal string or a compiled regex.  Matching consumes output up to the
        end of the match, so waiting twice for a prompt waits for two prompts.  Raises
        TimeoutError, or SessionClosed if the client exits first; both carry the output tail.
        """
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                match = regex.search(self._text, self._cursor)
                if match:
                    self._cursor = match.end()
                    return match
                if self.closed_at is not None:
                    raise SessionClosed(f"session closed before {regex.pattern!r} appeared; "
                                        f"output tail: {self._text[-500:]!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {regex.pattern!r} within {timeout}s; "
                                       f"output tail: {self._text[-500:]!r}")
                self._cond.wait(min(remaining, 0.2))

    def wait_quiet(self, quiet=0.3, timeout=DEFAULT_TIMEOUT):
        """Wait until no output arrived for ``quiet`` seconds (or the session closed)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.closed_at is None:
                now = time.monotonic()
                since = now - (self.last_output_at or self.started_at)
                if since >= quiet:
                    return
                if now >= deadline:
                    raise TimeoutError(f"output did not pause for {quiet}s within {timeout}s")
                self._cond.wait(min(quiet - since, deadline - now))

    # -- writing -----------------------------------------------------------------------------

    def send(self, line):
        """Type ``line`` followed by Enter."""
        self.send_raw(line + "\n")

    def send_raw(self, data):
        """Write ``data`` (str or bytes) to the terminal as typed input, without Enter."""
        if self.closed_at is not None:
            raise SessionClosed(f"cannot send {data!r}: session closed")
        data = data.encode() if isinstance(data, str) else data
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        with self._cond:
            self.last_input_at = time.monotonic()
            self._activity.append(self.last_input_at)

    # -- ending ------------------------------------------------------------------------------

    def wait_closed(self, timeout=DEFAULT_TIMEOUT, since=None):
        """Wait up to ``timeout`` s for the client to exit.

        Returns the seconds from ``since`` (a monotonic time; default: ``started_at``, so the
        session's lifetime) to the close, or None if the session is still open.  After a close,
        ``exit_status`` is set.  For "idle time before the server closed it", see
        :meth:`idle_close_seconds`.
        """
        reference = self.started_at if since is None else since
        with self._cond:
            self._cond.wait_for(lambda: self.closed_at is not None, timeout)
            closed_at = self.closed_at
        if closed_at is None:
            return None
        try:
            self.proc.wait(timeout=5)  # the pty closes as the client exits; reap it
        except subprocess.TimeoutExpired:
            pass
        return closed_at - reference

    def idle_close_seconds(self, timeout=DEFAULT_TIMEOUT, quiet=0.3):
        """Wait up to ``timeout`` s for the close; return how long the session had been idle.

        That is the time from the last activity (output or input) before the close to the close,
        or None if the session is still open.  Output within ``quiet`` s of the close (the
        client's own "Connection to ... closed." line) is part of the close, not activity.
        Works the same when called after the session already closed.
        """
        closed = self.wait_closed(timeout)
        if closed is None:
            return None
        with self._cond:
            events = sorted(self._activity)
        reference = self.closed_at
        for when in reversed(events):
            if reference - when >= quiet:
                break
            reference = when
        else:
            return self.closed_at - self.started_at  # nothing happened before the close burst
        return self.closed_at - when

    def stays_open(self, seconds):
        """True if the session is still open after ``seconds`` s (waits that long at most)."""
        return self.wait_closed(seconds) is None

    @property
    def exit_status(self):
        """The client's exit status (ssh: 255 when the server closed it), None while running."""
        return self.proc.poll()

    def close(self, timeout=5.0):
        """End the client if still running (SIGTERM, then SIGKILL, by PID) and free the pty."""
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        self._reader.join(timeout)  # EOF follows the exit almost at once
        self._stop.set()
        self._reader.join(timeout)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _signal(self, sig):
        try:
            os.kill(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "open" if self.closed_at is None else f"closed, status {self.exit_status}"
        return f"<Session pid={self.proc.pid} {state}: {' '.join(self.argv[-2:])!r}>"
