"""Turn the unpacked Debian packages into plain texts: man pages, fortunes, the Audacity manual.

Man pages are roff: groff renders them to UTF-8 text with a very long line length, so that each
paragraph comes out as one line (no hard wraps), and without overstrike bold/underline. The
page header and footer lines and the translation-credits section that closes every
manpages-l10n page are dropped: that section is the same few lines on every page and would
otherwise be a shared footer in documents labelled `clean`.
"""

from __future__ import annotations

import gzip
import html.parser
import re
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# groff: tables (-t), input encoding from the coding tag (-k), no SGR/overstrike (-P-cbou),
# one line per paragraph (huge LL), no hyphenation, ragged right.
GROFF_COMMAND = ["groff", "-t", "-k", "-Tutf8", "-mandoc", "-P-cbou", "-rLL=5000n", "-rHY=0",
                 "-dAD=l"]
TRANSLATION_HEADINGS = {"TŁUMACZENIE", "ÜBERSETZUNG", "TRADUCTION", "TRADUCCIÓN", "TRADUZIONE",
                        "ПЕРЕВОД", "PŘEKLAD", "VERTALING"}
# A section heading of a rendered man page: a line of upper-case letters and spaces.
HEADING_RE = re.compile(r"^[^\W\d_a-zà-ÿа-яё]+(?: [^\W\d_a-zà-ÿа-яё]+)*$")


@dataclass(frozen=True)
class ManPage:
    """One rendered man page."""

    lang: str
    name: str
    section: str
    text: str
    origin: str  # e.g. "manpages-pl:man1/ls.1"

    @property
    def title(self) -> str:
        return f"{self.name}({self.section})"

    @property
    def url(self) -> str:
        """Where Debian publishes the page (manpages.debian.org layout)."""
        return (f"https://manpages.debian.org/bookworm/manpages-{self.lang}/"
                f"{self.name}.{self.section}.{self.lang}.html")

    def name_line(self) -> str:
        """The first line of the NAME section, e.g. "ls - wypisuje zawartość katalogu"."""
        lines = self.text.split("\n")
        return lines[1] if len(lines) > 1 else lines[0]


def nfc(text: str) -> str:
    """NFC-normalise; every text in the mirror is NFC before noise is planted."""
    return unicodedata.normalize("NFC", text)


def man_page_files(root: Path, lang: str) -> list[Path]:
    """Real (not symlinked, not `.so`-redirect) page files of a manpages-<lang> package, sorted."""
    files = []
    for path in sorted((root / "usr/share/man" / lang).glob("man*/*.gz")):
        if path.is_symlink():
            continue
        head = gzip.decompress(path.read_bytes())[:4000]
        if re.match(rb"^(?:\.\\\".*\n)*\.so ", head):
            continue
        files.append(path)
    return files


def render_man_page(path: Path, lang: str) -> ManPage | None:
    """Render one `.gz` page with groff; None when groff produces nothing."""
    result = subprocess.run(GROFF_COMMAND, input=gzip.decompress(path.read_bytes()),
                            capture_output=True, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
    text = clean_rendered_page(result.stdout.decode("utf-8", "replace"))
    if not text:
        return None
    stem = path.name[: -len(".gz")]
    name, _, section = stem.rpartition(".")
    return ManPage(lang=lang, name=name, section=section, text=text,
                   origin=f"manpages-{lang}:{path.parent.name}/{stem}")


def clean_rendered_page(rendered: str) -> str:
    """Drop header/footer lines and the translation section; unindent; collapse blank runs."""
    lines = rendered.split("\n")
    non_empty = [i for i, line in enumerate(lines) if line.strip()]
    if len(non_empty) < 3:
        return ""
    lines = [re.sub(r"[ \t]+", " ", line.strip())
             for line in lines[non_empty[0] + 1: non_empty[-1]]]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i] in TRANSLATION_HEADINGS:
            lines = lines[:i]
            break
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return nfc(text)


def read_fortunes(root: Path, skip_files: set[str]) -> dict[str, list[str]]:
    """Fortune files of fortunes-pl (UTF-8 ones only) -> their fortunes, in file order."""
    fortunes = {}
    for path in sorted((root / "usr/share/games/fortunes/pl").iterdir()):
        if path.suffix in (".dat", ".u8") or path.is_symlink() or path.name in skip_files:
            continue
        try:
            raw = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # a few old files are not UTF-8; we need none of them
        items = []
        for chunk in re.split(r"^%\s*$", raw, flags=re.MULTILINE):
            lines = [line.rstrip() for line in chunk.replace("\t", "    ").split("\n")]
            text = "\n".join(lines).strip("\n")
            if text.strip():
                items.append(nfc(text))
        if items:
            fortunes[path.name] = items
    return fortunes


class _ManualParser(html.parser.HTMLParser):
    """Collect block-level text of a DocBook XHTML manual, skipping navigation and the TOC."""

    BLOCKS = {"p", "h1", "h2", "h3", "h4", "li", "dt", "dd", "div", "pre", "tr", "title"}
    SKIP_CLASSES = {"toc", "navheader", "navfooter"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []  # (tag, text)
        self._stack: list[tuple[str, bool]] = []  # (tag, skipping)
        self._buf: list[str] = []
        self._tag = "p"

    def _skipping(self) -> bool:
        return any(skip for _, skip in self._stack)

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self._buf)).strip()
        if text and not self._skipping():
            self.blocks.append((self._tag, text))
        self._buf = []

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        if tag in ("br", "hr", "img", "meta", "link", "col"):
            return
        if tag in self.BLOCKS:
            self._flush()
            self._tag = tag
        skip = tag in ("style", "script", "head") or bool(classes & self.SKIP_CLASSES)
        self._stack.append((tag, skip))

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self._flush()
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        if not self._skipping():
            self._buf.append(data)


def read_manual_sections(html_path: Path) -> list[tuple[str, str]]:
    """Split a DocBook manual into its top-level numbered sections: [(title, text)]."""
    parser = _ManualParser()
    parser.feed(html_path.read_text(encoding="utf-8"))
    parser.close()
    sections: list[tuple[str, list[str]]] = []
    for tag, text in parser.blocks:
        if tag in ("h2", "h3") and re.match(r"^\d+\. \S", text):
            sections.append((text, [text]))
        elif sections:
            sections[-1][1].append(text)
    return [(title, nfc("\n\n".join(parts))) for title, parts in sections]
