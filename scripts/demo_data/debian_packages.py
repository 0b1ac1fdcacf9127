"""Download the pinned Debian packages the demo data is made from, and unpack them.

The versions are pinned so that a rebuild on another day reads the same bytes. When Debian drops
one of these versions from the archive, `apt-get download` fails with a message naming it: update
the pin in `PINNED_PACKAGES` (see `apt-cache policy NAME`) and rebuild.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Package -> exact version (Debian 12 "bookworm").
PINNED_PACKAGES: dict[str, str] = {
    "manpages-pl": "1:4.18.1-1",
    "fortunes-pl": "0.0.20130525-3",
    "debian-edu-doc-legacy-pl": "2.12.23~deb12u1",
    # Foreign-language documents for the `foreign` noise: same man pages, other languages.
    "manpages-cs": "4.18.1-1",
    "manpages-de": "4.18.1-1",
    "manpages-es": "4.18.1-1",
    "manpages-fr": "4.18.1-1",
    "manpages-it": "4.18.1-1",
    "manpages-nl": "4.18.1-1",
    "manpages-ru": "4.18.1-1",
}


def deb_file_name(package: str, version: str) -> str:
    """The file name `apt-get download` gives a package (an epoch's ':' is written '%3a')."""
    return f"{package}_{version.replace(':', '%3a')}_all.deb"


def require_tools() -> None:
    """Stop with the package to install when groff or dpkg-deb is missing."""
    for tool, package in (("groff", "groff-base"), ("dpkg-deb", "dpkg")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: install it with `apt-get install {package}`")


def download_packages(cache_dir: Path, pinned: dict[str, str] | None = None,
                      pins_file: str = "scripts/demo_data/debian_packages.py") -> dict[str, Path]:
    """Download the pinned packages (`pinned`, default `PINNED_PACKAGES`; all `Architecture:
    all`) missing from `cache_dir`; return every `.deb` path. `pins_file` is where an error tells
    to update a pin."""
    pinned = PINNED_PACKAGES if pinned is None else pinned
    cache_dir.mkdir(parents=True, exist_ok=True)
    paths = {pkg: cache_dir / deb_file_name(pkg, ver) for pkg, ver in pinned.items()}
    missing = [pkg for pkg, path in paths.items() if not path.is_file()]
    if missing:
        if shutil.which("apt-get") is None:
            raise SystemExit(
                "apt-get not found: the demo data is built from Debian packages; run this script "
                "on Debian/Ubuntu, or put these files into "
                f"{cache_dir}: {', '.join(paths[p].name for p in missing)}"
            )
        specs = [f"{pkg}={pinned[pkg]}" for pkg in missing]
        result = subprocess.run(
            ["apt-get", "download", *specs], cwd=cache_dir, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(
                f"apt-get download {' '.join(specs)} failed in {cache_dir}:\n"
                f"{result.stderr.strip()}\n"
                "Run `apt-get update` first; if a pinned version is gone from the archive, update "
                f"PINNED_PACKAGES in {pins_file} (see `apt-cache policy`)."
            )
    for pkg, path in paths.items():
        if not path.is_file():
            raise SystemExit(f"apt-get download did not produce {path} for {pkg}")
    return paths


def unpack_packages(debs: dict[str, Path], dest: Path) -> dict[str, Path]:
    """Unpack each `.deb` with `dpkg-deb -x` into `dest/<package>/`; return the roots."""
    roots = {}
    for pkg, deb in sorted(debs.items()):
        root = dest / pkg
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        roots[pkg] = root
    return roots


def copyright_text(root: Path, package: str) -> str:
    """The package's `/usr/share/doc/<package>/copyright` file."""
    return (root / "usr/share/doc" / package / "copyright").read_text(encoding="utf-8")
