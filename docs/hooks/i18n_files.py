"""Keep the pages the other hooks add through mkdocs-static-i18n's file sorting.

The i18n plugin (mkdocs.yml) sorts every documentation page by language suffix (``page.ru.md``) and
drops the ones that do not live in ``docs/`` (its ``on_files`` runs at priority -100). The executed
notes (``build/notes/*.ipynb``, docs/hooks/notes.py) and the generated code pages
(docs/hooks/code_links.py) live elsewhere: this hook sets them aside just before the plugin and puts
them back just after. In the Russian build they go under ``ru/``, as the plugin places the pages it
sorts, so the Russian edition links to its own copy of each (the notes' prose stays English).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path, PurePosixPath

from mkdocs.plugins import CombinedEvent, event_priority

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import notelib  # noqa: E402

_aside: list = []


def _foreign(file, docs_dir: Path) -> bool:
    if file.generated_by or file.abs_src_path is None:
        return True
    return docs_dir not in Path(file.abs_src_path).resolve().parents


@event_priority(-90)  # after the other hooks and mkdocs-jupyter, before the i18n plugin (-100)
def _set_aside(files, config):
    docs_dir = Path(config.docs_dir).resolve()
    _aside[:] = [f for f in files if f.is_documentation_page() and _foreign(f, docs_dir)]
    for f in _aside:
        files.remove(f)
    return files


@event_priority(-110)  # after the i18n plugin
def _put_back(files, config):
    locale = notelib.current_locale(config)
    for f in _aside:
        if locale:
            f.dest_path = str(PurePosixPath(locale) / PurePosixPath(f.dest_path))
            f.abs_dest_path = os.path.normpath(os.path.join(config.site_dir, f.dest_path))
            f.url = f._get_url(config.use_directory_urls)
        files.append(f)
    _aside.clear()
    return files


on_files = CombinedEvent(_set_aside, _put_back)


def on_pre_build(config):
    """Each edition is a whole build by the same plugin objects, and mkdocs-autorefs keeps the anchors
    it collected (mkdocstrings registers one per documented object): forget the previous edition's, or
    every object would have two primary URLs (``code/...`` and ``ru/code/...``) and the strict build fail."""
    autorefs = config.plugins.get("autorefs")
    for name in ("_primary_url_map", "_secondary_url_map", "_title_map", "_breadcrumbs_map", "_backlinks"):
        getattr(autorefs, name, {}).clear()
