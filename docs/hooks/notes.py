"""mkdocs hook: executed notes at their hub paths, "coming" hub pages, and offline math and diagrams.

1. **Notes.** A note ``notebooks/<page>.py`` is rendered (by mkdocs-jupyter, never re-executed) from
   its executed copy ``build/notes/<page>.ipynb`` (``$LLMREC_EXECUTED_NOTES``), added to the site as
   ``<page>.ipynb``: same URL as ``<page>.md`` would have. Links to ``<page>.md`` in pages and nav
   are pointed at it. A missing, stale (source changed since) or failed executed copy is a warning,
   so ``mkdocs build --strict`` fails with what to run.
2. **Coming pages.** Hub pages listed in ``nav`` that have neither a ``docs/<page>.md`` nor a note
   are dropped from the nav, and every link to them becomes plain text marked *coming*.
3. **Notebook HTML.** nbconvert's CDN MathJax 2 and mermaid loaders are removed; mermaid blocks
   become Material's ``<pre class="mermaid">`` (mkdocs-jupyter #241); links in notes resolve like
   page links; ``docs/javascripts/mathjax.js`` typesets notebook Markdown too (#227).
4. **Vendored JS.** MathJax and mermaid fetched by ``scripts/fetch_webassets.py`` are served from the
   site (``assets/vendor/``); without them the site falls back to CDNs (logged). plotly.js comes from
   the installed plotly package and is loaded only on notes with plotly figures.
5. **Badge and run footer.** A note's Open-in-Colab badge image (inline ``data:`` URI in the notebook,
   or Google's in older notes) is served from the site (``docs/assets/open-in-colab.svg``); its link
   to Colab stays. Each note ends with a footer saying how long it ran, at which size, on which CPU
   and when, all from the executed copy's stamp (``notelib.make_stamp``).
"""
from __future__ import annotations

import html as html_lib
import json
import logging
import posixpath
import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import fetch_webassets  # noqa: E402
import notelib  # noqa: E402

log = logging.getLogger("mkdocs.hooks.notes")
PLOTLY_JS = "assets/vendor/plotly/plotly.min.js"  # from the installed plotly package, for figures in notes
COMING = '<span class="llmrec-coming" title="this page is not written yet">coming</span>'

_state: dict = {"coming": set(), "notes": {}, "smoke": set(), "stamps": {}}  # rebuilt by on_files on every build


# ---------------------------------------------------------------------------------------------
# config: repository link, MathJax and mermaid sources
# ---------------------------------------------------------------------------------------------
def on_config(config):
    if not config.repo_url:
        try:
            config.repo_url, config.repo_name = notelib.repo_url(), notelib.repo_slug()
        except ValueError as exc:
            raise PluginError(str(exc)) from None
    scripts = []
    for asset in fetch_webassets.ASSETS:
        if asset.available():
            scripts += [asset.site_path(m) for m in asset.files]
        elif asset.cdn:
            log.info("%s not fetched (python scripts/fetch_webassets.py): loading it from %s", asset.name, asset.cdn)
            scripts.append(asset.cdn)
    config.extra_javascript.extend(scripts)  # after docs/javascripts/mathjax.js, which configures MathJax
    return config


# ---------------------------------------------------------------------------------------------
# files and nav (before mkdocs-jupyter's on_files, so it wraps the notebooks we add)
# ---------------------------------------------------------------------------------------------
def _nav_paths(nav) -> list[str]:
    out = []
    for entry in nav or []:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            out += _nav_paths(value)
        elif isinstance(value, str) and not re.match(r"^[a-z]+://", value):
            out.append(value)
    return out


def _rewrite_nav(nav, notes: dict[str, str], coming: set[str]):
    out = []
    for entry in nav:
        title, value = next(iter(entry.items())) if isinstance(entry, dict) else (None, entry)
        if isinstance(value, list):
            value = _rewrite_nav(value, notes, coming)
            if not value:
                continue
        elif value in coming:
            continue
        elif value in notes:
            value = notes[value]
        out.append({title: value} if title is not None else value)
    return out


def _executed_problem(note: notelib.Note, exe: Path) -> tuple[str, dict]:
    """What keeps the executed copy off the site (``""`` when nothing), and its stamp."""
    run = f"`python scripts/execute_notes.py {note.page}` (or `make docs`)"
    if not exe.is_file():
        failed = exe.with_suffix(".failed.ipynb")
        if failed.is_file():
            return f"note {note.page} failed to execute (see {failed}); fix it and run {run}", {}
        return f"note {note.page} has not been executed ({exe} is missing); run {run}", {}
    nb = json.loads(exe.read_text(encoding="utf-8"))
    stamp = nb.get("metadata", {}).get(notelib.META_KEY, {})
    if stamp.get("source_sha256") != notelib.source_sha256(note):
        return f"note {note.page} changed since it was executed ({exe}); run {run}", stamp
    errors = [o for c in nb.get("cells", []) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        return f"executed note {exe} holds {len(errors)} error output(s); fix the note and run {run}", stamp
    return "", stamp


@event_priority(100)
def on_files(files, config):
    hub = [p for p in _nav_paths(config.nav) if p.endswith((".md", ".ipynb"))]
    hub = [p[: -len(".ipynb")] + ".md" if p.endswith(".ipynb") else p for p in hub]
    out_dir = notelib.executed_dir()
    locale = notelib.current_locale(config)  # "" in the English edition
    notes: dict[str, str] = {}  # hub path (x.md) -> site path (x.ipynb) of every rendered note
    smoke, stamps = set(), {}
    for f in list(files):
        if f.src_uri.endswith(".ipynb"):
            raise PluginError(f"docs/{f.src_uri}: notebooks live in notebooks/<page>.py (see docs/contributing.md)")
    for note in notelib.discover_notes():
        if files.get_file_from_path(note.md_path) is not None:
            raise PluginError(f"page {note.md_path} exists twice: docs/{note.md_path} and {note.py}; keep one")
        exe = note.executed(out_dir)
        problem, stamp = _executed_problem(note, exe)
        if problem:
            log.warning(problem)
            continue
        src_dir = out_dir
        if locale and notelib.translation_path(note, locale).is_file():  # the note's prose in this edition
            src_dir = out_dir.with_name(f"{out_dir.name}-{locale}")
            _, english = notelib.localize_executed(note, exe, locale, src_dir)
            if english:
                log.info("note %s: Markdown cells %s stay English in the '%s' edition (translation missing or "
                         "stale: python scripts/translate_note.py %s)", note.page, english, locale, note.page)
        # a plain File rooted at the executed-notes folder (mkdocs-jupyter's wrapper cannot take File.generated)
        files.append(File(note.site_path, src_dir=str(src_dir), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
        notes[note.md_path] = note.site_path
        stamps[note.site_path] = stamp
        if notelib.stamp_size(stamp) == "smoke":
            smoke.add(note.site_path)
    coming = {p for p in hub if p not in notes and files.get_file_from_path(p) is None}
    if config.nav:
        config.nav = _rewrite_nav(config.nav, notes, coming)
    for asset in fetch_webassets.ASSETS:
        if asset.available():
            for m in asset.files:
                files.append(File.generated(config, asset.site_path(m), abs_src_path=str(asset.local(m))))
    plotly = notelib.plotly_js()
    if plotly is not None and notes:
        files.append(File.generated(config, PLOTLY_JS, abs_src_path=str(plotly)))
    if notes and files.get_file_from_path(notelib.BADGE_SITE_PATH) is None:
        raise PluginError(f"{notelib.BADGE_SVG} is missing: the notes' Open-in-Colab badge is served from it")
    _state.update(coming=coming, notes=notes, smoke=smoke, stamps=stamps)
    return files


# ---------------------------------------------------------------------------------------------
# links: Markdown pages (before mkdocs validates them) and notebook HTML
# ---------------------------------------------------------------------------------------------
_MD_LINK = re.compile(r"(?<!!)\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+).*?(?<!`)\1(?!`)")  # an inline code span: matching backtick runs


def _target(target: str, src_uri: str) -> tuple[str, str] | None:
    """Docs-relative path and #fragment of a relative link to a page, else None."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("/", "#")):
        return None
    path, _, frag = target.partition("#")
    if not path.endswith((".md", ".ipynb")):
        return None
    full = posixpath.normpath(posixpath.join(posixpath.dirname(src_uri), path))
    if full.endswith(".ipynb"):
        full = full[: -len(".ipynb")] + ".md"
    return full, (f"#{frag}" if frag else "")


def _rewrite_md_link(m: re.Match, src_uri: str) -> str:
    found = _target(m.group("target"), src_uri)
    if found is None:
        return m.group(0)
    path, frag = found
    if path in _state["coming"]:
        return f"{m.group('text')} {COMING}"
    if path in _state["notes"]:
        rel = posixpath.relpath(_state["notes"][path], posixpath.dirname(src_uri) or ".")
        return f"[{m.group('text')}]({rel}{frag}{m.group('title') or ''})"
    return m.group(0)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.endswith(".ipynb"):
        return markdown
    out, fenced = [], False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        out.append(line if fenced else _rewrite_md_line(line, page.file.src_uri))
    return "".join(out)


def _rewrite_md_line(line: str, src_uri: str) -> str:
    """Rewrite the links of one line, leaving `inline code` untouched."""
    out, pos = [], 0
    for code in _CODE_SPAN.finditer(line):
        out.append(_MD_LINK.sub(lambda m: _rewrite_md_link(m, src_uri), line[pos:code.start()]))
        out.append(code.group(0))
        pos = code.end()
    out.append(_MD_LINK.sub(lambda m: _rewrite_md_link(m, src_uri), line[pos:]))
    return "".join(out)


_NB_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
_NB_MERMAID_JS = re.compile(r"<script type=\"module\">\s*document\.addEventListener\(\"DOMContentLoaded\".*?"
                            r"<!-- End of mermaid configuration -->", re.S)
_NB_MERMAID = re.compile(r"<div class=\"jp-Mermaid\">\s*<pre class=\"mermaid\">\s*(.*?)</pre>\s*</div>", re.S)
_HTML_LINK = re.compile(r"<a\s+href=\"(?P<href>[^\"]+)\"(?P<attrs>[^>]*)>(?P<text>.*?)</a>", re.S)


def _rewrite_html_link(m: re.Match, page, files) -> str:
    found = _target(html_lib.unescape(m.group("href")), page.file.src_uri)
    if found is None:
        return m.group(0)
    path, frag = found
    if path in _state["coming"]:
        return f"{m.group('text')} {COMING}"
    target = files.get_file_from_path(_state["notes"].get(path, path))
    if target is None:
        log.warning("Doc file '%s' contains a link '%s', but the target '%s' is not found among documentation "
                    "files.", page.file.src_uri, m.group("href"), path)
        return m.group(0)
    return f'<a href="{target.url_relative_to(page.file)}{frag}"{m.group("attrs")}>{m.group("text")}</a>'


_IMG = re.compile(r"<img\b[^>]*>", re.S)
_IMG_SRC = re.compile(r'\bsrc="([^"]*)"')


def local_badge(html: str, badge_url: str) -> str:
    """Point every Open-in-Colab badge image at ``badge_url`` (the site's copy): an ``<img>`` whose alt is
    the badge's, or whose image comes from colab.research.google.com. Links (to Colab) are untouched."""
    def sub(m: re.Match) -> str:
        tag = m.group(0)
        src = _IMG_SRC.search(tag)
        if src is None or not (f'alt="{notelib.BADGE_ALT}"' in tag or "colab.research.google.com" in src.group(1)):
            return tag
        return tag[: src.start(1)] + html_lib.escape(badge_url, quote=True) + tag[src.end(1):]

    return _IMG.sub(sub, html)


def run_footer(page: str, stamp: dict) -> str:
    """The footer of a note's page: how, where and when its executed copy was run (from its stamp)."""
    run = notelib.describe_run(stamp)
    text = f"This page was executed {html_lib.escape(run)}." if run else "This page's run was not recorded."
    if notelib.stamp_size(stamp) == "full":
        again = (f"Re-run it with <code>python scripts/execute_notes.py {page} --full --force</code>; "
                 "without <code>--full</code> it runs at the default size.")
    else:
        again = (f"Re-run it with <code>python scripts/execute_notes.py {page} --force</code>; set "
                 f"<code>{notelib.FULL_ENV}=1</code> for the full-size configuration.")
    return f'<div class="llmrec-run"><p>{text} {again}</p></div>'


def on_page_content(html, page, config, files):
    if page.file.src_uri not in _state["notes"].values():
        return html
    badge = files.get_file_from_path(notelib.BADGE_SITE_PATH)
    if badge is not None:
        html = local_badge(html, badge.url_relative_to(page.file))
    html = _NB_MATHJAX.sub("", html)
    html = _NB_MERMAID_JS.sub("", html)
    html = _NB_MERMAID.sub(lambda m: f'<pre class="mermaid"><code>{m.group(1).strip()}</code></pre>', html)
    html = _HTML_LINK.sub(lambda m: _rewrite_html_link(m, page, files), html)
    if "Plotly.newPlot(" in html:  # figures from notelib.add_plotly_html: load plotly.js before them
        js = files.get_file_from_path(PLOTLY_JS)
        if js is None:
            log.warning("note %s has plotly figures but plotly is not installed", page.file.src_uri)
        else:
            html = f'<script src="{js.url_relative_to(page.file)}"></script>\n' + html
    if page.file.src_uri in _state["smoke"]:
        html = ('<div class="admonition warning"><p class="admonition-title">Smoke run</p><p>This copy of the '
                f'page was executed at smoke size (<code>{notelib.SMOKE_ENV}=1</code>): its numbers are not the '
                'ones the text discusses. Run <code>make docs</code> for the default-size page.</p></div>\n') + html
    page_name = page.file.src_uri[: -len(".ipynb")]
    return html + "\n" + run_footer(page_name, _state["stamps"].get(page.file.src_uri, {}))
