"""engage runs on Linux, macOS and Windows: no POSIX-only module or call, and the sync lock
still keeps a second sync out where ``fcntl`` does not exist."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Modules that do not exist on Windows.
POSIX_ONLY_MODULES = {
    "fcntl", "pwd", "grp", "termios", "tty", "pty", "resource", "posix", "syslog", "crypt",
    "nis", "spwd", "curses", "readline",
}  # fmt: skip

#: ``module.attribute`` uses that fail on Windows.
POSIX_ONLY_CALLS = {
    ("os", name)
    for name in (
        "getuid", "geteuid", "getgid", "getegid", "getgroups", "fork", "forkpty", "setsid",
        "setpgid", "killpg", "getpgid", "getppid", "nice", "chown", "lchown", "fchown",
        "fchmod", "statvfs", "mkfifo", "sync", "wait3", "wait4", "uname", "pwrite", "pread",
        "get_blocking", "set_blocking",
    )
} | {
    ("signal", name)
    for name in ("SIGKILL", "SIGHUP", "SIGALRM", "SIGUSR1", "SIGUSR2", "SIGPIPE", "SIGCHLD",
                 "SIGQUIT", "alarm", "setitimer", "pause", "siginterrupt")
}  # fmt: skip


def shipped_sources() -> list[Path]:
    """Every Python file of the core and of the adapters (their src trees, not their tests)."""
    files = sorted((ROOT / "src" / "engage").rglob("*.py"))
    for plugin in sorted((ROOT / "plugins").glob("*/src")):
        files += sorted(plugin.rglob("*.py"))
    return files


def _guarded_imports(tree: ast.AST) -> set[ast.AST]:
    """Imports inside ``try: ... except ImportError``: optional, so harmless where missing."""
    guarded: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in {"ImportError", "ModuleNotFoundError"}
            for h in node.handlers
        ):
            guarded.update(n for stmt in node.body for n in ast.walk(stmt))
    return guarded


def test_no_posix_only_module_or_call_is_used() -> None:
    """No POSIX-only module is imported (unless inside ``try/except ImportError``) and no
    POSIX-only function called: Windows has none of them (use filelock, shutil, pathlib, or
    ``getattr(os, name, None)`` where a fallback exists)."""
    found: list[str] = []
    for path in shipped_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        guarded = _guarded_imports(tree)
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.split(".")[0]]
            else:
                names = []
            if node not in guarded:
                found += [
                    f"{where}:{node.lineno}: import {n}" for n in names if n in POSIX_ONLY_MODULES
                ]
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in POSIX_ONLY_CALLS
            ):
                found.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    assert shipped_sources(), "no sources found"
    assert not found, "POSIX-only code:\n" + "\n".join(found)


WITHOUT_FCNTL = """
import sys, warnings
sys.modules["fcntl"] = None  # as on Windows: importing it fails
warnings.simplefilter("ignore")  # filelock says it falls back to its marker-file lock
"""


def run_without_fcntl(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = WITHOUT_FCNTL + textwrap.dedent(script)
    env = {**os.environ, "ENGAGE_LOAD_PLUGINS": ""}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_every_module_imports_without_fcntl(tmp_path: Path) -> None:
    """engage, each of its modules and each installed adapter import where fcntl is missing."""
    result = run_without_fcntl(
        """
        import importlib, pkgutil, json
        import engage
        names = ["engage"] + [m.name for m in pkgutil.walk_packages(engage.__path__, "engage.")]
        for adapter in ("engage_csv", "engage_hubspot", "engage_gmail"):
            try:
                package = importlib.import_module(adapter)
            except ModuleNotFoundError as exc:
                if exc.name != adapter:
                    raise
                continue
            names += [m.name for m in pkgutil.walk_packages(package.__path__, adapter + ".")]
        names = [name for name in names if not name.endswith(".__main__")]  # runs the CLI
        for name in names:
            importlib.import_module(name)
        print(json.dumps(names))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    names = json.loads(result.stdout)
    assert {"engage", "engage.cli", "engage.store.sqlite", "engage.sync"} <= set(names)


def test_two_syncs_exclude_each_other_without_fcntl(tmp_path: Path) -> None:
    """Where fcntl is missing the lock still holds: a second sync is refused, then may run."""
    (tmp_path / "engage.toml").write_text('store = "engage.db"\n')
    result = run_without_fcntl(
        """
        import engage
        from engage.config import Config
        from engage.plugins import Registry, make_plugin_manager
        from engage.sync import run_sync

        config = Config.load("engage.toml")
        registry = Registry.from_plugins(make_plugin_manager(entry_points=False))
        with engage.SQLiteStore("engage.db") as holder, engage.SQLiteStore("engage.db") as other:
            with holder.lock():
                try:
                    run_sync(config, registry, other)
                except engage.LockedError as exc:
                    print("refused:", exc)
            report = run_sync(config, registry, other)
            print("ran:", report.ok)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("refused: another engage sync is running"), result.stdout
    assert lines[1] == "ran: True"


def test_the_command_line_runs_without_fcntl(tmp_path: Path) -> None:
    """engage --help and a command on a store work where fcntl is missing."""
    (tmp_path / "engage.toml").write_text('store = "engage.db"\n')
    result = run_without_fcntl(
        """
        from engage.cli import main
        sys.argv = ["engage", "sync", "--json"]
        main()
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["customers"] == 0


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_the_readme_names_the_platforms_and_python_versions(version: str) -> None:
    """The README says where engage runs, matching pyproject's requires-python."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "Linux, macOS and Windows" in readme
    assert f"Python {version}" in readme or version in readme
