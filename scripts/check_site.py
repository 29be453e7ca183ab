"""Look at the built site in a real browser, offline: ``python scripts/check_site.py site/ [PAGE ...]``.

Serves the built site on 127.0.0.1 with ``python -m http.server``, opens each page in headless
Chromium with every other host unresolvable (so nothing can come from a CDN), and checks that

* every formula was typeset by MathJax (``mjx-container`` elements, no MathJax error),
* every mermaid block became a diagram (Material replaces ``pre.mermaid`` with ``div.mermaid``),
* every plotly figure was drawn (plotly.js marks its div ``js-plotly-plot``), at a readable size
  (its title and drawn width x height are listed in the report's ``figures``),
* the server saw no request that failed (404s for scripts, styles, fonts, notebooks).

Screenshots go to ``--out`` (default ``build/screenshots/<page>.png``). Prints one line per page and
exits 1 when any check fails. Pages default to every hand-written page, in English and in
Russian (``ru/``), and every executed note.
"""
from __future__ import annotations

import argparse
import html
import html.parser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notelib  # noqa: E402

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-default-apps", "--mute-audio",
    # offline: any host but the local server fails to resolve
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


class _Counter(html.parser.HTMLParser):
    """Counts what the checks need in an HTML document (static page or dumped DOM)."""

    def __init__(self) -> None:
        super().__init__()
        self.mjx = self.mjx_errors = self.pre_mermaid = self.div_mermaid = self.arithmatex = 0
        self.plotly_divs = self.plotly_drawn = 0
        self.in_md = 0  # depth inside a rendered notebook Markdown cell
        self.nb_math = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        self.mjx += tag == "mjx-container"
        self.mjx_errors += tag == "mjx-merror" or "data-mjx-error" in a
        self.pre_mermaid += tag == "pre" and "mermaid" in cls
        self.div_mermaid += tag == "div" and "mermaid" in cls
        self.arithmatex += "arithmatex" in cls
        self.plotly_divs += "plotly-graph-div" in cls
        self.plotly_drawn += "js-plotly-plot" in cls  # added by plotly.js once a figure is drawn
        if self.in_md:
            self.in_md += 1
        elif "jp-RenderedMarkdown" in cls:
            self.in_md = 1

    def handle_endtag(self, tag):
        if self.in_md:
            self.in_md -= 1

    def handle_data(self, data):
        if self.in_md and re.search(r"\$[^$\s][^$]*\$", data):
            self.nb_math = True


def count(doc: str) -> _Counter:
    c = _Counter()
    c.feed(doc)
    return c


@dataclass
class PageReport:
    page: str
    screenshot: str
    problems: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    figures: list[dict] = field(default_factory=list)  # per drawn plotly figure: title, width, height (px)
    text: str = field(default="", repr=False)  # the rendered page's visible text (for tests)


MIN_FIGURE_PX = (300, 200)  # a figure drawn smaller than this is not readable


def plotly_figures(dom: str) -> list[dict]:
    """Title and drawn size of every plotly figure in a rendered DOM (plotly.js writes an
    ``svg.main-svg`` with width/height and a ``text.gtitle`` for the title)."""
    out = []
    for chunk in re.split(r'<div[^>]*class="[^"]*js-plotly-plot[^"]*"', dom)[1:]:
        svg = re.search(r'<svg[^>]*class="main-svg"[^>]*>', chunk)
        size = {k: float(v) for k, v in re.findall(r'\b(width|height)="([\d.]+)"', svg.group(0))} if svg else {}
        title = re.search(r'class="gtitle"[^>]*>(.*?)</text>', chunk, re.S)
        out.append({"title": re.sub(r"<[^>]+>", " ", title.group(1)).strip() if title else "",
                    "width": size.get("width", 0.0), "height": size.get("height", 0.0)})
    return out


def visible_text(dom: str) -> str:
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", dom)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium(chromium: str, args: list[str], timeout: float, attempts: int = 3) -> subprocess.CompletedProcess:
    """One headless Chromium run in a fresh profile. A run normally takes seconds, but headless
    Chromium under ``--virtual-time-budget`` now and then never exits (seen once in CI on a page
    that renders in 12 s): such a run is killed after ``timeout`` s and started again, up to
    ``attempts`` times; then the result says so (returncode -9) rather than raising."""
    cmd = [chromium, *CHROMIUM_FLAGS, None, *args]
    for _ in range(attempts):
        with tempfile.TemporaryDirectory() as profile:
            cmd[len(CHROMIUM_FLAGS) + 1] = f"--user-data-dir={profile}"
            try:
                return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                continue
    return subprocess.CompletedProcess(cmd, -9, "", f"Chromium did not finish in {timeout:.0f} s, {attempts} times")


def check_page(chromium: str, base: str, site: Path, page: str, out: Path, budget_ms: int,
               screenshot: bool = True, window: tuple[int, int] = (1280, 1600)) -> PageReport:
    rel = page.strip("/")
    static = (site / rel / "index.html") if rel else site / "index.html"
    shot = out / f"{rel.replace('/', '_') or 'index'}.png"
    report = PageReport(page or "/", str(shot))
    if not static.is_file():
        report.problems.append(f"{static} is not in the built site")
        return report
    before = count(static.read_text(encoding="utf-8"))
    url = f"{base}/{rel}/" if rel else f"{base}/"
    timing = [f"--virtual-time-budget={budget_ms}", "--run-all-compositor-stages-before-draw"]
    shoot = [f"--window-size={window[0]},{window[1]}", f"--screenshot={shot}"] if screenshot else []
    run = _chromium(chromium, [*timing, *shoot, "--dump-dom", url], timeout=150 if screenshot else 90)
    dom = run.stdout
    if run.returncode == -9:
        report.problems.append(run.stderr)
    after = count(dom)
    report.facts = {"math_before": before.arithmatex + int(before.nb_math), "mjx": after.mjx,
                    "mermaid_blocks": before.pre_mermaid, "mermaid_rendered": after.div_mermaid,
                    "plotly_figures": before.plotly_divs, "plotly_drawn": after.plotly_drawn}
    if not dom.strip():
        report.problems.append("Chromium returned no DOM")
    if (before.arithmatex or before.nb_math) and after.mjx == 0:
        report.problems.append("the page has math but MathJax typeset nothing")
    if after.mjx_errors:
        report.problems.append(f"{after.mjx_errors} MathJax errors")
    if before.pre_mermaid and (after.div_mermaid < before.pre_mermaid or after.pre_mermaid):
        report.problems.append(f"{before.pre_mermaid} mermaid blocks, {after.div_mermaid} rendered")
    if before.plotly_divs and after.plotly_drawn < before.plotly_divs:
        report.problems.append(f"{before.plotly_divs} plotly figures, {after.plotly_drawn} drawn")
    report.figures, report.text = plotly_figures(dom), visible_text(dom)
    small = [f for f in report.figures if f["width"] < MIN_FIGURE_PX[0] or f["height"] < MIN_FIGURE_PX[1]]
    if small:
        report.problems.append(f"{len(small)} figures drawn smaller than {MIN_FIGURE_PX[0]}x{MIN_FIGURE_PX[1]} px: "
                               + "; ".join(f"{f['title'][:40]!r} {f['width']:.0f}x{f['height']:.0f}" for f in small))
    if screenshot and not shot.is_file():
        report.problems.append("no screenshot was written")
    return report


def search(chromium: str, base: str, page: str, query: str, timeout: float = 60) -> list[dict]:
    """Type nothing, but open ``page?q=query`` in headless Chromium, as a reader's shared search link
    does, and return the results Material's search shows (``title`` and ``href`` of each), once its web
    worker has built the index. Chromium's virtual time does not wait for a worker, so this drives a
    real-time session over the DevTools protocol (``websockets``), polling the rendered result list."""
    import urllib.parse
    import urllib.request

    from websockets.sync.client import connect

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:  # Chromium's helpers may linger
        proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                                 "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            port_file, deadline = Path(profile) / "DevToolsActivePort", time.monotonic() + timeout
            while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("Chromium did not open its DevTools port")
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                target = next(t for t in json.loads(r.read()) if t["type"] == "page")
            with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
                ids = iter(range(1, 1_000_000))

                def call(method: str, **params):
                    n = next(ids)
                    ws.send(json.dumps({"id": n, "method": method, "params": params}))
                    while True:
                        msg = json.loads(ws.recv(timeout=timeout))
                        if msg.get("id") == n:
                            return msg.get("result", {})

                call("Page.navigate", url=f"{base}/{page.lstrip('/')}?q={urllib.parse.quote(query)}")
                script = ("JSON.stringify([...document.querySelectorAll('.md-search-result__item "
                          "a.md-search-result__link')].map(a => ({title: (a.querySelector('h1, h2') || a)"
                          ".textContent.trim(), href: a.getAttribute('href')})))")
                last = None  # the list is complete when two reads half a second apart agree
                while True:
                    value = call("Runtime.evaluate", expression=script).get("result", {}).get("value") or "[]"
                    found = [r for r in json.loads(value)  # not Material's collapsed "more on this page" rows
                             if r["title"] and r["href"] and not r["href"].endswith("undefined")]
                    if (found and found == last) or time.monotonic() > deadline:
                        return found
                    last = found
                    time.sleep(0.5)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the browser and its helper processes
            proc.wait(timeout=10)


def default_pages() -> list[str]:
    """Every hand-written page (both editions: ``ru/...`` for the Russian one) and every executed note."""
    hand = sorted(p.relative_to(notelib.DOCS_DIR).as_posix()[: -len(".md")] for p in notelib.DOCS_DIR.rglob("*.md")
                  if "hooks" not in p.parts and not p.name.endswith(".ru.md"))
    pages = ["" if p == "index" else f"{p}/" for p in hand]
    return pages + [f"ru/{p}" for p in pages] + [f"{n.page}/" for n in notelib.discover_notes()]


class serve:
    """``with serve(site) as base:`` the built site on 127.0.0.1 (``python -m http.server``); the
    request log is kept in ``log_path`` for a check of failed requests."""

    def __init__(self, site: Path, log_path: Path) -> None:
        self.site, self.log_path = site, log_path

    def __enter__(self) -> str:
        port = _free_port()
        with open(self.log_path, "w") as log:
            self.server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                            "--directory", str(self.site)], stdout=log, stderr=subprocess.STDOUT)
        for _ in range(50):  # wait for the server
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        self.server.terminate()
        self.server.wait(timeout=10)

    def failed_requests(self) -> list[str]:
        """Requests the server could not answer. Two kinds are expected and left out: the favicon, and
        ``<page>/sitemap.xml``: Material's language selector fetches ``sitemap.xml`` next to each
        ``<link rel="alternate">`` of the page, and mkdocs-static-i18n points those at the same page in
        the other edition (not at an edition's root), so the fetch misses and the selector keeps the
        plain links, which lead to the same page in the other language (checked by the tests)."""
        return [line.strip() for line in self.log_path.read_text().splitlines()
                if re.search(r'" (4\d\d|5\d\d) ', line) and "favicon" not in line
                and not re.search(r'"GET /(\S+/)?sitemap\.xml HTTP', line)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path, help="the built site folder (mkdocs build -d ...)")
    ap.add_argument("pages", nargs="*", help="page paths such as '' (home) or overview/ (default: home + notes)")
    ap.add_argument("--out", type=Path, default=notelib.ROOT / "build" / "screenshots")
    ap.add_argument("--budget-ms", type=int, default=20000, help="Chromium virtual time per page")
    ap.add_argument("--no-screenshots", action="store_true", help="only check the rendered DOM")
    ap.add_argument("--json", action="store_true", help="print the reports as JSON")
    args = ap.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    site = args.site.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    server = serve(site, args.out / "http.log")
    with server as base:
        reports = [check_page(chromium, base, site, p, args.out, args.budget_ms, not args.no_screenshots)
                   for p in (args.pages or default_pages())]
    failed_requests = server.failed_requests()
    if args.json:
        pages = [{k: v for k, v in r.__dict__.items() if k != "text"} for r in reports]
        print(json.dumps({"pages": pages, "failed_requests": failed_requests}, indent=2))
    else:
        for r in reports:
            print(f"{'ok  ' if not r.problems else 'FAIL'} {r.page:<40} {r.facts} {'; '.join(r.problems)}")
        for line in failed_requests:
            print(f"FAIL request: {line}")
    return 1 if failed_requests or any(r.problems for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
