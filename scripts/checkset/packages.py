"""The pinned Debian packages the check set is made from: none of them is used by the demo data
(scripts/demo_data/debian_packages.py), and none is kept back for others' independent checks
(libreoffice-help-pl, kicad-doc-pl, GNOME help, debian-handbook)."""

from __future__ import annotations

from pathlib import Path

from demo_data.debian_packages import download_packages as _download

# Package -> exact version (Debian 12 "bookworm"); every one is `Architecture: all`.
PINNED_PACKAGES: dict[str, str] = {
    "manpages-pl-dev": "1:4.18.1-1",
    "texlive-lang-polish": "2022.20230122-1",
    "vim-runtime": "2:9.0.1378-2+deb12u2",
    "util-linux-locales": "2.38.1-5+deb12u3",
    "gnupg-l10n": "2.2.40-1.1+deb12u2",
    "mc-data": "3:4.8.29-2",
}


def download_packages(cache_dir: Path) -> dict[str, Path]:
    """Download the pinned packages missing from `cache_dir`; return every `.deb` path."""
    return _download(cache_dir, PINNED_PACKAGES, "scripts/checkset/packages.py")


def copyright_text(root: Path, package: str) -> str:
    """The package's `/usr/share/doc/<package>/copyright` file."""
    return (root / "usr/share/doc" / package / "copyright").read_text(encoding="utf-8")
