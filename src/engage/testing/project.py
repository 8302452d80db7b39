"""A project directory for end-to-end tests: a config file, input files, and ``engage`` run
through its command line with the installed plugins, as a person would run it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs


@attrs.frozen
class Run:
    """What one ``engage`` command did.

    Attributes:
        code: Its exit code.
        stdout: What it printed on standard output.
        stderr: What it printed on standard error.
    """

    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        """Standard output read as JSON (``--json`` commands); ``{}`` when it printed nothing."""
        return json.loads(self.stdout) if self.stdout.strip() else {}


@attrs.define
class Project:
    """A directory holding ``engage.toml`` and the files it names.

    ``plugins`` are the entry-point names loaded (``ENGAGE_LOAD_PLUGINS``), so a test runs
    with its own plugin whatever else is installed::

        project = Project(tmp_path, plugins=("csv",))
        project.write("export.csv", "Date,Email\\n2026-02-20,jane@acme.com\\n")
        project.config('[sources.export]\\nplugin = "csv"\\npath = "export.csv"\\n')
        run = project.sync(as_of="2026-03-01T09:00:00+00:00")
        assert run.code == 0 and run.json["customers"] == 1

    Attributes:
        path: The directory.
        plugins: Entry-point names to load (empty: none but the built-ins).
        env: More environment for every command (secrets a config names with ``*_env``);
            a variable given as None is unset (one the developer's shell may have, such as
            a credentials variable the plugin would otherwise read).
    """

    path: Path
    plugins: Sequence[str] = ()
    env: Mapping[str, str | None] = attrs.field(factory=dict)

    @property
    def config_path(self) -> Path:
        """Where the config file is: ``engage.toml`` in :attr:`path`."""
        return self.path / "engage.toml"

    def write(self, name: str, content: str | bytes) -> Path:
        """Write a file under the project (directories made as needed); returns its path.

        Text is written as UTF-8 with its line ends as given (a CSV's ``\\r\\n`` stays).
        """
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    def config(self, text: str, *, store: str = "engage.db", internal: str = "ourco.com") -> Path:
        """Write ``engage.toml``: ``store`` and ``internal_domains`` first unless ``text``
        sets them, then ``text`` (the sources, sinks and segments)."""
        head = ""
        if not any(line.startswith("store") for line in text.splitlines()):
            head += f'store = "{store}"\n'
        if "internal_domains" not in text:
            head += f'internal_domains = ["{internal}"]\n'
        return self.write("engage.toml", head + "\n" + text)

    def _settings(self) -> dict[str, str | None]:
        """What this project sets in a command's environment (None: unset)."""
        return {
            "ENGAGE_CONFIG": str(self.config_path),
            "ENGAGE_LOAD_PLUGINS": ",".join(self.plugins),
            "ENGAGE_AS_OF": None,
            **self.env,
        }

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment :meth:`run` gives ``engage``, for running it in a process of its
        own: ``base`` (by default this process's) with this project's config, its plugins
        and :attr:`env`, and no ``ENGAGE_AS_OF``::

            subprocess.run(["engage", "sync"], cwd=project.path, env=project.environ())
        """
        environ = dict(os.environ if base is None else base)
        for name, value in self._settings().items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        return environ

    def run(self, *args: str, env: Mapping[str, str | None] | None = None) -> Run:
        """Run ``engage ARGS`` on this project's config (in this process, through click);
        ``env`` adds to (None: unsets from) the environment for this command only."""
        from click.testing import CliRunner

        from engage.cli import cli

        environ: dict[str, str | None] = {**self._settings(), **(env or {})}
        cwd = Path.cwd()
        os.chdir(self.path)  # relative paths a person would type are the project's
        try:
            result = CliRunner().invoke(cli, list(args), env=environ)
        finally:
            os.chdir(cwd)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr)

    def sync(self, *args: str, as_of: str | None = None) -> Run:
        """``engage sync --json`` (``--as-of`` when given): its report is :attr:`Run.json`."""
        more = ("--as-of", as_of) if as_of is not None else ()
        return self.run("sync", "--json", *more, *args)
