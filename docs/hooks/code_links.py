"""mkdocs hook: pages link to the code they teach.

1. **Code pages.** ``on_files`` walks the package (``pkgutil.walk_packages``) and adds one generated
   page per module: ``code/llmrec_mini/models/tiger.md`` (URL ``code/llmrec_mini/models/tiger/``; a
   package's page is ``.../<package>/index.md``). The page begins with the module's API reference,
   rendered from its docstrings by mkdocstrings (the page holds the directive ``::: <module>``; the
   options are the ``mkdocstrings`` plugin's in ``mkdocs.yml``; each entry's anchor is its dotted
   path, e.g. ``#llmrec_mini.models.tiger.TIGER``), followed by the source highlighted with line
   numbers, line N carrying the anchor ``#L-N``. ``code/index.md`` lists the modules. Module pages
   stay out of the nav and of search; the index is the nav's "Code" entry.
2. **Links.** In the final HTML of every page (Markdown pages and rendered notes alike), inline code
   holding a dotted name under ``llmrec_mini`` (a module, a module-level class or function, a method
   ``module.Class.method``, optionally followed by ``()``) becomes a link to its code page, at the first
   line of the object in the listing (``inspect.getsourcelines`` after importing it; a re-exported
   object links to the module that defines it, an attribute without source of its own to its class or
   module). The object's API entry is on the same page, above the listing.
   Code blocks (``<pre>``) and inline code already inside a link are left alone.
3. **Stale names.** A name that does not resolve (a typo, a renamed or moved module or function) is a
   warning naming the page and the name, so ``mkdocs build --strict`` fails.

The package is imported once per process: restart ``mkdocs serve`` after moving code in the package,
or links may point at old line numbers.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import logging
import pkgutil
import posixpath
import re
import sys
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, InclusionLevel

ROOT = Path(__file__).resolve().parents[2]
PKG = "llmrec_mini"
CODE_DIR = "code"
INDEX = f"{CODE_DIR}/index.md"
ANCHOR = "L-{}"  # the id of line N on a code page (Pygments' lineanchors/linespans "L")

# Document the checkout's package, whatever is installed. Import it now: mkdocs restores sys.path
# once the hook is loaded, and submodules are then found through the package's __path__.
sys.path.insert(0, str(ROOT))
importlib.import_module(PKG)  # cheap: heavy dependencies load lazily

log = logging.getLogger("mkdocs.hooks.code_links")
_state: dict = {"modules": {}, "pages": {}}  # module -> source file; code page src_uri -> source file

# inline code outside <pre>/<a> (those are skipped whole) holding exactly a dotted name of the package
_INLINE = re.compile(rf"<(?P<skip>pre|a|script|style|textarea)\b[^>]*>.*?</(?P=skip)>"
                     rf"|<code(?P<attrs>\s[^>]*)?>(?P<name>{PKG}(?:\.\w+)*)(?P<call>\(\))?</code>", re.S)


# ---------------------------------------------------------------------------------------------
# the package: modules and where a dotted name is defined
# ---------------------------------------------------------------------------------------------
def discover_modules() -> dict[str, Path]:
    """Every module of the package (the package itself included) -> its source file, sorted by name."""
    def failed(name):
        log.warning("cannot import %s (%s): its modules get no code page", name, sys.exc_info()[1])

    pkg = importlib.import_module(PKG)
    found = {PKG: Path(pkg.__file__)}
    for info in pkgutil.walk_packages(pkg.__path__, f"{PKG}.", onerror=failed):
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            found[info.name] = Path(spec.origin)
    return dict(sorted(found.items()))


def page_uri(module: str, source: Path) -> str:
    """``code/llmrec_mini/models/tiger.md``; a package's page is ``code/llmrec_mini/models/index.md``."""
    path = posixpath.join(CODE_DIR, *module.split("."))
    return f"{path}/index.md" if source.name == "__init__.py" else f"{path}.md"


def _source_line(obj, modules: dict[str, Path]) -> tuple[str, int] | None:
    """(defining module, first line) of a class or function of the package; None for anything else."""
    if isinstance(obj, property):
        obj = obj.fget
    elif isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    elif isinstance(obj, functools.cached_property):
        obj = obj.func
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return None
    obj = inspect.unwrap(obj)
    if getattr(obj, "__module__", None) not in modules:
        return None
    try:
        return obj.__module__, inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return None


def resolve(name: str, modules: dict[str, Path]) -> tuple[str, int | None]:
    """(module whose page to link, first line or None for the top) of a dotted name.

    Raises LookupError, saying why, when the name names nothing in the package.
    """
    parts = name.split(".")
    n = next((i for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in modules), 0)
    if n == 0:
        raise LookupError(f"no module {parts[0]}")
    module, line = ".".join(parts[:n]), None
    try:
        obj = importlib.import_module(module)
    except Exception as exc:  # a module broken mid-refactor: report it, keep building
        raise LookupError(f"importing {module} fails: {type(exc).__name__}: {exc}") from None
    for i in range(n, len(parts)):
        try:
            obj = inspect.getattr_static(obj, parts[i])
        except AttributeError:
            raise LookupError(f"{'.'.join(parts[:i])} has no attribute {parts[i]!r}") from None
        module, line = _source_line(obj, modules) or (module, line)
    return module, line


def link_code(html: str, modules: dict[str, Path], url, where: str) -> str:
    """Turn ``<code>llmrec_mini.x.y</code>`` into a link to ``url(module)#L-<line>``; warn on stale names."""
    def sub(m: re.Match) -> str:
        if m.group("skip"):
            return m.group(0)
        name = m.group("name")
        try:
            module, line = resolve(name, modules)
        except LookupError as exc:
            log.warning("%s: `%s` does not name a module, class or function of %s (%s); fix or remove "
                        "the name", where, name + (m.group("call") or ""), PKG, exc)
            return m.group(0)
        frag = f"#{ANCHOR.format(line)}" if line else ""
        title = _shown(modules[module]) + (f", line {line}" if line else "")
        return f'<a class="llmrec-code" href="{url(module)}{frag}" title="{title}">{m.group(0)}</a>'

    return _INLINE.sub(sub, html)


# ---------------------------------------------------------------------------------------------
# generated pages
# ---------------------------------------------------------------------------------------------
def _shown(source: Path) -> str:
    return source.relative_to(ROOT).as_posix() if source.is_relative_to(ROOT) else source.name


def _summary(source: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(source.read_text(encoding="utf-8"))) or ""
    except SyntaxError:
        return ""
    return (doc.strip().splitlines() or [""])[0].replace("|", r"\|")


def _index_markdown(modules: dict[str, Path]) -> str:
    rows = "\n".join(f"| `{name}` | {_summary(path)} |" for name, path in modules.items())
    return (f"# Code\n\nThe `{PKG}` package, one page per module: its API, from the docstrings, then its source "
            f"with line numbers. Wherever "
            f"a page names a module, class or function of the package in inline code, the name links to its "
            f"first line here.\n\n| Module | Summary |\n| --- | --- |\n{rows}\n")


def _module_markdown(name: str, source: Path, uri: str) -> str:
    parent = name.rpartition(".")[0]
    index = posixpath.relpath(INDEX, posixpath.dirname(uri))
    return (f"---\nsearch:\n  exclude: true\n---\n\n# {name}\n\n`{_shown(source)}`"
            + (f" in `{parent}`" if parent else "") + f" · [all modules]({index}) · [source](#source)\n\n"
            + f"::: {name}\n\n## Source\n")  # API reference (mkdocstrings); on_page_content appends the listing


def _listing(source: Path) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    fmt = HtmlFormatter(linenos="table", anchorlinenos=True, lineanchors="L", linespans="L", wrapcode=True,
                        cssclass="highlight")
    html = highlight(source.read_text(encoding="utf-8"), PythonLexer(stripnl=False), fmt)
    html = re.sub(r'<a id="L-\d+" name="L-\d+"></a>', "", html)  # the line's <span id="L-N"> is the anchor
    return f'<div class="llmrec-source">{html}</div>'


@event_priority(110)  # before docs/hooks/notes.py (100), which drops nav entries that have no file
def on_files(files, config):
    modules = discover_modules()
    pages = {}
    for name, source in modules.items():
        uri = page_uri(name, source)
        files.append(File.generated(config, uri, content=_module_markdown(name, source, uri),
                                    inclusion=InclusionLevel.NOT_IN_NAV))
        pages[uri] = source
    files.append(File.generated(config, INDEX, content=_index_markdown(modules)))
    _state.update(modules=modules, pages=pages)
    return files


def _where(file: File) -> str:
    """The file to fix, in words: the note's source, the Markdown page, or a generated page."""
    if file.src_uri.endswith(".ipynb"):
        return f"notebooks/{file.src_uri[: -len('.ipynb')]}.py"
    return f"{file.src_uri} (generated)" if file.generated_by else f"docs/{file.src_uri}"


def on_page_content(html, page, config, files):
    modules = _state["modules"]

    def url(module: str) -> str:
        return files.get_file_from_path(page_uri(module, modules[module])).url_relative_to(page.file)

    html = link_code(html, modules, url, _where(page.file))
    source = _state["pages"].get(page.file.src_uri)
    return html + _listing(source) if source is not None else html
