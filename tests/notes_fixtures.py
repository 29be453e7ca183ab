"""Shared fixtures for tests/test_notebooks.py and tests/test_docs.py (loaded as a pytest plugin).

Notes are executed at smoke size at most once per test session, and only the ones a test asks for
(so ``pytest tests/test_notebooks.py -k overview`` runs one note); the site is built once, from
those executed copies, into a temporary folder. Each note runs as Colab would run it
(`notelib.ColabRuntime`): its paired ``.ipynb`` in a new environment where only its install cell,
switched on by ``LLMREC_INSTALL=1``, puts ``llmrec_mini`` (a wheel of this checkout) and its extras.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import notelib  # noqa: E402

CELL_TIMEOUT = 600  # seconds per cell, as the design asks


class NoteRunner:
    """Executes notes at smoke size, as Colab would, into one folder, each at most once."""

    def __init__(self, out_dir: Path, colab_root: Path) -> None:
        self.out_dir, self.colab_root = out_dir, colab_root
        self.colab: notelib.ColabRuntime | None = None  # built on first use (a wheel of this checkout)
        self.results: dict[str, notelib.ExecResult] = {}

    def __call__(self, note: notelib.Note) -> notelib.ExecResult:
        if note.page not in self.results:
            self.colab = self.colab or notelib.colab_runtime(self.colab_root)
            self.results[note.page] = notelib.execute_note(note, self.out_dir, smoke=True, timeout=CELL_TIMEOUT,
                                                           colab=self.colab)
        return self.results[note.page]

    def run_all(self) -> list[notelib.ExecResult]:
        return [self(n) for n in notelib.discover_notes()]


@pytest.fixture(scope="session")
def note_runner(tmp_path_factory) -> NoteRunner:
    return NoteRunner(tmp_path_factory.mktemp("executed_notes"), tmp_path_factory.mktemp("colab"))


@dataclass
class BuiltSite:
    returncode: int
    output: str
    site: Path
    executed: list[notelib.ExecResult]


@pytest.fixture(scope="session")
def built_site(note_runner, tmp_path_factory) -> BuiltSite:
    """``mkdocs build --strict`` of the whole site, the notes executed at smoke size first."""
    executed = note_runner.run_all()
    site = tmp_path_factory.mktemp("site")
    env = {**os.environ, notelib.EXECUTED_ENV: str(note_runner.out_dir), "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(site)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return BuiltSite(proc.returncode, proc.stdout + proc.stderr, site, executed)
