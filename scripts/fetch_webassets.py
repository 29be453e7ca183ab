"""Fetch the site's third-party JavaScript (MathJax, mermaid) from the npm registry at build time.

``python scripts/fetch_webassets.py`` runs ``npm pack NAME@VERSION`` for each pinned package, checks
the tarball's SHA-512 against the pin below, and extracts only the files the site serves into
``build/webassets/`` (gitignored: nothing third-party is committed). The mkdocs hook then serves them
from the built site under ``assets/vendor/``, so math and diagrams render with no network at view
time. Without the files (no npm, or not fetched yet) the hook falls back to the public CDNs.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEBASSETS_DIR = ROOT / "build" / "webassets"


@dataclass(frozen=True)
class Asset:
    name: str  # npm package
    version: str
    integrity: str  # npm's dist.integrity of the tarball
    files: tuple[str, ...]  # paths inside the package, served as assets/vendor/<name>/<basename>
    cdn: str  # fallback URL when the files are not available locally

    def local(self, member: str) -> Path:
        return WEBASSETS_DIR / f"{self.name}-{self.version}" / Path(member).name

    def site_path(self, member: str) -> str:
        return f"assets/vendor/{self.name}/{Path(member).name}"

    def available(self) -> bool:
        return all(self.local(m).is_file() for m in self.files)


ASSETS = (
    # MathJax 3, TeX input + SVG output with every TeX extension preloaded: one file, no font files.
    Asset("mathjax", "3.2.2",
          "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
          ("es5/tex-svg-full.js",), "https://unpkg.com/mathjax@3.2.2/es5/tex-svg-full.js"),
    # mermaid 11 (the major Material for MkDocs loads); the UMD build defines the global `mermaid`,
    # which Material uses instead of fetching its own copy.
    Asset("mermaid", "11.17.2",
          "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO73aCleBBg==",
          ("dist/mermaid.min.js",), ""),  # no URL needed: Material loads mermaid@11 itself
)


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch(asset: Asset, npm: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([npm, "pack", f"{asset.name}@{asset.version}", "--json", "--pack-destination", tmp],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"npm pack {asset.name}@{asset.version} failed:\n{out.stderr.strip()}")
        tgz = Path(tmp) / json.loads(out.stdout)[0]["filename"]
        got = _integrity(tgz)
        if got != asset.integrity:
            raise RuntimeError(f"{tgz.name}: integrity {got} does not match the pinned {asset.integrity}")
        dest = asset.local(asset.files[0]).parent
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz) as tar:
            for member in asset.files:
                src = tar.extractfile(f"package/{member}")
                if src is None:
                    raise RuntimeError(f"{tgz.name} has no {member}")
                with open(asset.local(member), "wb") as f:
                    shutil.copyfileobj(src, f)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strict", action="store_true", help="exit 1 when npm is missing (default: warn, use CDNs)")
    args = ap.parse_args(argv)
    todo = [a for a in ASSETS if not a.available()]
    if not todo:
        print(f"web assets present in {WEBASSETS_DIR}")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: the site will load MathJax and mermaid from CDNs (install Node.js/npm "
              "to serve them locally)", file=sys.stderr)
        return 1 if args.strict else 0
    for asset in todo:
        fetch(asset, npm)
        print(f"fetched {asset.name}@{asset.version} -> {asset.local(asset.files[0]).parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
