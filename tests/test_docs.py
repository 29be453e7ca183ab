"""The site: the hub mirrors the knowledge base, ``mkdocs build --strict`` passes, every link resolves,
hub pages are built or marked coming, and (with Chromium) math and diagrams render offline.

Tests that need the built site are marked ``notebook``: building it executes every note first
(at smoke size, shared with tests/test_notebooks.py).
"""
from __future__ import annotations

import html.parser
import importlib.util
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import check_site  # noqa: E402
import fetch_webassets  # noqa: E402
import notelib  # noqa: E402

pytest_plugins = ["notes_fixtures"]  # built_site: mkdocs build --strict after executing the notes

DOCS = ROOT / "docs"
HUB = DOCS / "index.md"
SITE_PAGES = {"index.md", "getting_started.md", "datasets.md", "reproduction.md", "contributing.md"}  # not hub pages
SHARED = Path(os.environ.get("LLMREC_SHARED") or ROOT / ".." / "shared")


# ---------------------------------------------------------------------------------------------
# Sources: hub, nav and knowledge base agree (fast, no build)
# ---------------------------------------------------------------------------------------------
class _IgnoreTags(yaml.SafeLoader):
    pass


_IgnoreTags.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def _config() -> dict:
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_IgnoreTags)


def _nav_pages(nav) -> list[str]:
    out = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        out += _nav_pages(value) if isinstance(value, list) else [value]
    return out


def _hub_links() -> dict[str, str]:
    """Page path -> title, for every link in the hub's tables."""
    rows = [line for line in HUB.read_text().splitlines() if line.startswith("| [")]
    return {m.group(2): m.group(1) for line in rows for m in [re.match(r"\| \[([^\]]+)\]\(([^)]+)\)", line)]}


def test_hub_and_nav_list_exactly_the_knowledge_base_pages():
    hub = list(_hub_links())
    nav = [p for p in _nav_pages(_config()["nav"]) if p not in SITE_PAGES]
    assert hub == list(notelib.KB_PAGES), "docs/index.md must list the knowledge base pages in hub order"
    assert nav == list(notelib.KB_PAGES), "mkdocs.yml nav must list the knowledge base pages in hub order"


def test_knowledge_base_file_matches_the_page_list():
    kb = SHARED / "KNOWLEDGE_BASE.md"
    if not kb.is_file():
        pytest.skip(f"{kb} not available")
    paths = re.findall(r"^\| `((?:\.\./)*[\w/]+\.md)`", kb.read_text(), re.M)
    assert [re.sub(r"^(\.\./)+", "", p) for p in paths] == list(notelib.KB_PAGES)


def test_every_page_source_is_in_the_nav():
    nav = set(_nav_pages(_config()["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "hooks" not in p.parts}
    assert pages - nav == set(), "hand-written pages missing from mkdocs.yml nav"
    for note in notelib.discover_notes():
        assert note.md_path in nav, f"note {note.page} is not in the nav"


def test_reproduction_markers_pair_up():
    text = (DOCS / "reproduction.md").read_text()
    starts = re.findall(r"^<!-- bench:start ([A-Za-z0-9_.-]+) -->$", text, re.M)
    ends = re.findall(r"^<!-- bench:end ([A-Za-z0-9_.-]+) -->$", text, re.M)
    assert starts and starts == ends and len(set(starts)) == len(starts)
    if importlib.util.find_spec("llmrec_mini.bench") is not None:
        from llmrec_mini.bench import BENCHES

        assert set(starts) == set(BENCHES), "one result block per benchmark of llmrec_mini.bench"
    for name in starts:  # each block is closed before the next opens
        block = re.search(rf"<!-- bench:start {re.escape(name)} -->\n(.*?)<!-- bench:end {re.escape(name)} -->",
                          text, re.S)
        assert block and "bench:start" not in block.group(1)


def test_datasets_page_states_the_generator_sizes():
    from llmrec_mini.data.synthetic import SIZES

    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| ([\d.]+) \|$",
                      (DOCS / "datasets.md").read_text(), re.M)
    assert {r[0] for r in rows} == set(SIZES)
    for name, users, items, depts, brands, mean_len in rows:
        cfg = SIZES[name]
        assert (int(users), int(items), int(depts), int(brands), float(mean_len)) == (
            cfg.n_users, cfg.n_items, cfg.n_departments, cfg.brands_per_department, cfg.mean_length), name


def test_datasets_page_states_the_generator_defaults():
    from llmrec_mini.data.synthetic import SyntheticConfig

    text = (DOCS / "datasets.md").read_text()
    cfg = SyntheticConfig()
    stated = {
        "p_follow": r"p_\\text\{follow\} = ([\d.]+)", "p_stay": r"p_\\text\{stay\} = ([\d.]+)",
        "p_comp": r"p_\\text\{comp\} = ([\d.]+)", "p_popular": r"p_\\text\{popular\} = ([\d.]+)", "taste_alpha": r"\\alpha = ([\d.]+)",
        "popularity_exponent": r"s = ([\d.]+)", "brand_boost": r"b_u\(i\) = (\d+)",
        "drift": r"\\lambda_t = ([\d.]+)", "max_length": r"\\min\((\d+),",
    }
    for field, pattern in stated.items():
        m = re.search(pattern, text)
        assert m, f"datasets.md no longer states {field}"
        assert float(m.group(1)) == pytest.approx(getattr(cfg, field)), field


def test_cli_commands_on_the_pages_exist():
    if importlib.util.find_spec("llmrec_mini.cli") is None:
        pytest.skip("llmrec_mini.cli not written yet")
    text = " ".join(p.read_text() for p in DOCS.rglob("*.md"))
    mentioned = set(re.findall(r"llmrec-mini ([a-z][a-z-]+)", text))
    for listed in re.findall(r"llmrec-mini --help\s+# (.+)", text):  # "llmrec-mini --help  # data, train, ..."
        mentioned |= {w.strip() for w in listed.split(",")}
    proc = subprocess.run([sys.executable, "-c", "import sys; from llmrec_mini.cli import main; "
                           "sys.argv = ['llmrec-mini', '--help']; main()"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    helptext = proc.stdout + proc.stderr
    missing = sorted(c for c in mentioned if not re.search(rf"\b{c}\b", helptext))
    assert not missing, f"the docs mention `llmrec-mini {missing}` but `llmrec-mini --help` does not list them"


# ---------------------------------------------------------------------------------------------
# The hook's link rewriting, on hand-made cases
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def hook():
    spec = importlib.util.spec_from_file_location("notes_hook", DOCS / "hooks" / "notes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod._state.update(coming={"tiger.md", "plum/main.md"}, notes={"overview.md": "overview.ipynb"}, smoke=set())
    return mod


@pytest.mark.parametrize("src, line, expected", [
    ("index.md", "| [TIGER](tiger.md) | x |", "| TIGER {coming} | x |"),
    ("index.md", "see [**PLUM**](plum/main.md).", "see **PLUM** {coming}."),
    ("index.md", "[Overview](overview.md#the-data)", "[Overview](overview.ipynb#the-data)"),
    ("plum/other.md", "[Overview](../overview.md \"t\")", "[Overview](../overview.ipynb \"t\")"),
    ("plum/other.md", "[PLUM](main.md)", "PLUM {coming}"),
    ("index.md", "write `[TIGER](tiger.md)` like this", "write `[TIGER](tiger.md)` like this"),
    ("index.md", "[Data](datasets.md) and [ext](https://x.org/tiger.md)", "[Data](datasets.md) and [ext](https://x.org/tiger.md)"),
    ("index.md", "![pic](tiger.md)", "![pic](tiger.md)"),
])
def test_hook_rewrites_markdown_links(hook, src, line, expected):
    assert hook._rewrite_md_line(line, src) == expected.format(coming=hook.COMING)


def test_hook_skips_fenced_code(hook):
    class Page:
        class file:
            src_uri = "index.md"

    md = "```\n[TIGER](tiger.md)\n```\n[TIGER](tiger.md)\n"
    assert hook.on_page_markdown(md, Page, None, None) == f"```\n[TIGER](tiger.md)\n```\nTIGER {hook.COMING}\n"


def test_hook_rewrites_the_nav(hook):
    nav = [{"Home": "index.md"}, {"Group": [{"TIGER": "tiger.md"}, {"Overview": "overview.md"}]},
           {"Only coming": [{"PLUM": "plum/main.md"}]}]
    assert hook._rewrite_nav(nav, {"overview.md": "overview.ipynb"}, {"tiger.md", "plum/main.md"}) == [
        {"Home": "index.md"}, {"Group": [{"Overview": "overview.ipynb"}]}]


# ---------------------------------------------------------------------------------------------
# The built site
# ---------------------------------------------------------------------------------------------
class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key) is not None and tag in ("a", "link", "script", "img", "iframe", "source"):
                self.refs.append(a[key])


@lru_cache(maxsize=None)
def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _resolve(site: Path, page: Path, ref: str) -> tuple[Path, str] | None:
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc or ref.startswith(("mailto:", "data:", "javascript:")):
        return None
    if not parts.path:
        return page, parts.fragment
    base = site if parts.path.startswith("/") else page.parent  # 404.html links from the site root
    target = (base / unquote(parts.path).lstrip("/")).resolve()
    if target.is_dir() or parts.path.endswith("/"):
        target = target / "index.html"
    return target, parts.fragment


@pytest.fixture(scope="module")
def site(built_site):
    failed = [r for r in built_site.executed if not r.ok]
    assert not failed, "notes failed to execute: " + "; ".join(f"{r.note.page}: {r.error[-500:]}" for r in failed)
    assert built_site.returncode == 0, f"mkdocs build --strict failed:\n{built_site.output[-5000:]}"
    return built_site.site


@pytest.mark.notebook
def test_strict_build_has_no_warning(site, built_site):
    assert "WARNING" not in built_site.output, built_site.output


@pytest.mark.notebook
def test_hub_pages_are_built_or_marked_coming(site):
    hub_html = (site / "index.html").read_text(encoding="utf-8")
    titles = _hub_links()
    for page in notelib.KB_PAGES:
        built = (site / page[: -len(".md")] / "index.html").is_file()
        has_source = (DOCS / page).is_file() or notelib.Note(page[: -len(".md")]).py.is_file()
        marked = f"{titles[page]} <span class=\"llmrec-coming\"" in hub_html
        assert built == has_source, f"{page}: source {'exists' if has_source else 'missing'} but built={built}"
        assert built != marked, f"{page}: built={built} but marked coming={marked}"
        if built:
            linked = any(_resolve(site, site / "index.html", r) == ((site / page[:-3] / "index.html").resolve(), "")
                         for r in _parse(site / "index.html").refs)
            assert linked, f"the hub does not link to the built page {page}"


@pytest.mark.notebook
def test_internal_links_and_anchors_resolve(site):
    broken = []
    for page in sorted(site.rglob("*.html")):
        for ref in _parse(page).refs:
            found = _resolve(site, page, ref)
            if found is None:
                continue
            target, frag = found
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {ref} -> missing {target}")
            elif frag and target.suffix == ".html" and frag not in _parse(target).ids:
                broken.append(f"{page.relative_to(site)}: {ref} -> no #{frag} in {target.relative_to(site)}")
    assert not broken, "\n".join(broken[:50])


@pytest.mark.notebook
def test_note_pages_are_rendered_for_offline_viewing(site):
    for note in notelib.discover_notes():
        page = (site / note.page / "index.html").read_text(encoding="utf-8")
        assert "jupyter-wrapper" in page, f"{note.page} is not rendered by mkdocs-jupyter"
        assert "cdnjs.cloudflare.com" not in page and 'class="jp-Mermaid"' not in page, note.page
        assert "google.colab" not in page, f"{note.page}: the colab-install cell must be hidden"
        n_mermaid = len(re.findall(r"^# ```mermaid", note.py.read_text(), re.M))
        assert page.count('<pre class="mermaid">') == n_mermaid, note.page
        assert (site / note.page / f"{Path(note.page).name}.ipynb").is_file(), "download copy missing"
        if "Plotly.newPlot(" in page:
            assert page.index("/plotly/plotly.min.js") < page.index("Plotly.newPlot("), note.page
    if all(a.available() for a in fetch_webassets.ASSETS):
        for page in site.rglob("*.html"):
            scripts = re.findall(r"<script[^>]+src=\"(https?://[^\"]+)\"", page.read_text(encoding="utf-8"))
            assert not scripts, f"{page.relative_to(site)} loads scripts from the network: {scripts}"


@pytest.mark.notebook
def test_math_and_diagrams_render_offline_in_chromium(site, tmp_path):
    if check_site.find_chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    if not all(a.available() for a in fetch_webassets.ASSETS):
        pytest.skip("MathJax/mermaid not fetched (python scripts/fetch_webassets.py): the site would use CDNs")
    pages = ["", "datasets/"] + [f"{n.page}/" for n in notelib.discover_notes()]
    code = check_site.main([str(site), *pages, "--out", str(tmp_path), "--no-screenshots"])
    assert code == 0, "see the FAIL lines above"
