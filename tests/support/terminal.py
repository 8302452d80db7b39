"""Run ``python -m engage`` as a person would: in a real pseudo-terminal of a given size,
or with its output piped. POSIX only (``pty``, ``termios``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

#: Any ANSI escape sequence (colours, cursor moves, line clears).
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: The parameters of SGR sequences (``ESC [ ... m``).
SGR = re.compile(r"\x1b\[([0-9;]*)m")


@attrs.frozen
class Ran:
    """What a command printed and how it exited."""

    output: str
    code: int

    @property
    def plain(self) -> str:
        """The output without escape sequences, with line ends as ``\\n``."""
        return ANSI.sub("", self.output).replace("\r\n", "\n")


def colours(text: str) -> list[str]:
    """The colour codes among ``text``'s SGR sequences (30-37, 38, 40-47, 48, 90-107)."""
    found = []
    for params in SGR.findall(text):
        for code in params.split(";"):
            if code.isdigit() and (30 <= int(code) <= 48 or 90 <= int(code) <= 107):
                found.append(code)
    return found


def environment(env: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child engage: ``env`` (or ours) without COLUMNS, LINES and
    NO_COLOR, then ``extra``."""
    base = {**(os.environ if env is None else env)}
    for name in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR"):
        base.pop(name, None)
    return {**base, **extra}


def in_terminal(
    args: Sequence[str],
    *,
    columns: int,
    cwd: Path,
    env: Mapping[str, str],
    lines: int = 40,
    timeout: float = 120,
) -> Ran:
    """Run ``python -m engage ARGS`` with stdin, stdout and stderr on a pseudo-terminal
    ``columns`` wide; returns everything it wrote there."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-m", "engage", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env={"TERM": "xterm-256color", **env},
        close_fds=True,
    )
    os.close(follower)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], timeout)
            if not ready:
                child.kill()
                raise TimeoutError(f"engage {' '.join(args)} wrote nothing for {timeout} s")
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal (EIO on Linux)
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        code = child.wait(timeout=timeout)
    return Ran(b"".join(chunks).decode("utf-8", errors="replace"), code)


def piped(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m engage ARGS`` with stdout and stderr piped (as cron or CI would)."""
    return subprocess.run(
        [sys.executable, "-m", "engage", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
