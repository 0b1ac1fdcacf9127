"""Polish texts for the check set, from Debian packages the demo does not use.

- manpages-pl-dev: the programmer's man pages (sections 2 and 3), rendered with groff as the
  demo renders its pages (scripts/demo_data/source_texts.py), pages with more English than
  Polish left out;
- texlive-lang-polish: "Nie za krótkie wprowadzenie do systemu LaTeX 2ε" (lshort-polish, its
  LaTeX sources reduced to plain paragraphs, one document per section) and the Polish READMEs of
  the `polski` package and the PL fonts;
- vim-runtime: the Polish vimtutor, one document per lesson;
- Polish message catalogues (`.mo`) of util-linux, GnuPG, Midnight Commander and Vim:
  runs of consecutive messages, the UI and help text of those programs.
"""

from __future__ import annotations

import gettext
import gzip
import re
import unicodedata
from pathlib import Path

from demo_data.base_pool import english_share, language_of, render_all
from demo_data.source_texts import man_page_files

MAX_ENGLISH_SHARE = 0.3
MIN_DOC_CHARS = 400


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def man_pages(root: Path) -> list[tuple[str, str]]:
    """(origin, text) of the Polish pages of sections 2 and 3."""
    files = [f for f in man_page_files(root, "pl") if f.parent.name in ("man2", "man3")]
    out = []
    for page in render_all(files, "pl"):
        if (len(page.text) >= MIN_DOC_CHARS and english_share(page.text) <= MAX_ENGLISH_SHARE
                and language_of(page.text) == "pl"):
            out.append((page.origin.replace("manpages-pl:", "manpages-pl-dev:"), page.text))
    return out


# ---- LaTeX -> paragraphs ------------------------------------------------------------------------

_DROP_ENVS = ("lscommand", "verbatim", "example", "code", "tabular", "table", "figure", "equation",
              "eqnarray", "displaymath", "math", "lstlisting", "align", "array", "picture", "minipage",
              "center", "flushleft", "flushright", "itemize", "enumerate", "description", "lined",
              "tabbing", "multline", "gather", "split", "cases", "quote", "quotation", "small")
_ENV_RE = re.compile(r"\\begin\{(" + "|".join(_DROP_ENVS) + r")\*?\}.*?\\end\{\1\*?\}", re.DOTALL)
_SECTION_RE = re.compile(r"^\\(chapter|section)\*?\{(.+?)\}\s*$", re.MULTILINE)
_KEEP_ARG_RE = re.compile(r"\\(?:emph|textbf|textit|texttt|pai|ci|cih|ei|pei|eei|ie|wi|wwi|name|"
                          r"lstinline|url|index|mbox|textsf|textrm|nolinkurl|hologo)\*?\{([^{}]*)\}")
_DROP_CMD_RE = re.compile(r"\\(?:label|ref|pageref|cite|footnote|index|vspace|hspace|includegraphics|"
                          r"input|include|markboth|addcontentsline|newcommand|renewcommand)\*?"
                          r"(?:\[[^\]]*\])?\{[^{}]*\}")


def latex_sections(src_dir: Path) -> list[tuple[str, str]]:
    """(title, text) per section of the lshort sources: prose paragraphs only (a paragraph with
    math, tables or leftover commands is dropped)."""
    out = []
    for path in sorted(src_dir.glob("*.tex")):
        body = path.read_text("utf-8", errors="replace")
        body = "\n".join(line for line in body.split("\n") if not line.lstrip().startswith("%"))
        body = _ENV_RE.sub("\n\n", body)
        pieces = _SECTION_RE.split(body)
        for i in range(1, len(pieces) - 2, 3):
            title, text = _plain(pieces[i + 1]), pieces[i + 2]
            paras = [p for p in (_plain(x) for x in re.split(r"\n\s*\n", text)) if _is_prose(p)]
            if paras and title:
                out.append((f"{path.name}: {title}", nfc(title + "\n\n" + "\n\n".join(paras))))
    return out


def _plain(tex: str) -> str:
    s = tex.replace("\\LaTeX{}", "LaTeX").replace("\\LaTeX", "LaTeX").replace("\\TeX{}", "TeX")
    s = s.replace("\\TeX", "TeX").replace("~", " ").replace("\\-", "").replace("---", "—").replace("--", "–")
    s = s.replace("``", "„").replace("''", "”").replace(",,", "„").replace("\\ldots", "…").replace("\\dots", "…")
    s = _DROP_CMD_RE.sub("", s)
    for _ in range(3):
        s = _KEEP_ARG_RE.sub(r"\1", s)
    s = re.sub(r"\\noindent|\\par\b|\\\\|\\item", " ", s)
    s = re.sub(r"\{\}|(?<!\\)[{}]", "", s)
    return re.sub(r"\s+", " ", s).strip()


def _is_prose(p: str) -> bool:
    return len(p) >= 80 and "\\" not in p and "$" not in p and sum(c.isalpha() for c in p) > 0.7 * len(p)


def readmes(root: Path) -> list[tuple[str, str]]:
    """The Polish READMEs of texlive-lang-polish (decorations stripped, paragraphs joined)."""
    out = []
    for rel in ("usr/share/doc/texlive-doc/fonts/pl/README.POL.gz",
                "usr/share/doc/texlive-doc/fonts/pl/README-T1.POL.gz",
                "usr/share/doc/texlive-doc/latex/polski/czytaj.txt.gz",
                "usr/share/doc/texlive-doc/latex/polski/conowego.txt.gz"):
        raw = gzip.decompress((root / rel).read_bytes()).decode("utf-8", errors="replace")
        lines = [line.strip() for line in raw.split("\n")]
        lines = ["" if not re.search(r"[^\W\d_]", line) or re.fullmatch(r"[*=\-~_ ]+.*[*=\-~_]", line)
                 else line.strip("* ") for line in lines]
        paras = [" ".join(p.split("\n")).strip() for p in re.split(r"\n{2,}", "\n".join(lines))]
        text = "\n\n".join(p for p in paras if p)
        if len(text) >= MIN_DOC_CHARS:
            out.append((f"texlive-lang-polish:{rel.split('/doc/')[1]}", nfc(text)))
    return out


def vim_lessons(root: Path) -> list[tuple[str, str]]:
    """(lesson title, text) of the Polish vimtutor."""
    raw = (root / "usr/share/vim/vim90/tutor/tutor.pl.utf-8").read_text("utf-8")
    chunks = re.split(r"^~{20,}\s*$", raw, flags=re.MULTILINE)
    out = []
    for chunk in chunks:
        text = "\n".join(line.rstrip().replace("\t", "    ") for line in chunk.split("\n")).strip("\n")
        text = re.sub(r"^={20,}$", "", text, flags=re.MULTILINE).strip()
        if len(text) >= MIN_DOC_CHARS:
            first = next((line.strip() for line in text.split("\n") if line.strip()), "")
            out.append((f"vim-runtime:tutor.pl.utf-8 {first[:40]}", nfc(text)))
    return out


CATALOGUES = {"util-linux-locales": "usr/share/locale/pl/LC_MESSAGES/util-linux.mo",
              "gnupg-l10n": "usr/share/locale/pl/LC_MESSAGES/gnupg2.mo",
              "mc-data": "usr/share/locale/pl/LC_MESSAGES/mc.mo",
              "vim-runtime": "usr/share/vim/vim90/lang/pl.UTF-8/LC_MESSAGES/vim.mo"}
MESSAGES_PER_DOC = 30


def message_runs(roots: dict[str, Path]) -> list[tuple[str, str]]:
    """Runs of `MESSAGES_PER_DOC` consecutive messages (in catalogue order) of at least 30
    characters with letters, one message per paragraph."""
    out = []
    for package, rel in sorted(CATALOGUES.items()):
        with open(roots[package] / rel, "rb") as f:
            catalog = gettext.GNUTranslations(f)._catalog
        msgs = [v.strip() for k, v in sorted(catalog.items(), key=lambda kv: str(kv[0]))
                if k and isinstance(v, str) and len(v.strip()) >= 30 and re.search(r"[^\W\d_]{3}", v)]
        for i in range(0, len(msgs) - MESSAGES_PER_DOC + 1, MESSAGES_PER_DOC):
            out.append((f"{package}:{Path(rel).name} #{i // MESSAGES_PER_DOC}",
                        nfc("\n\n".join(msgs[i:i + MESSAGES_PER_DOC]))))
    return out
