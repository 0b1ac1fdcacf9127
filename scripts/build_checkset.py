#!/usr/bin/env python3
"""Build the independent check set in `data/checkset/` from Polish text in Debian packages.

How to run (a developer's task, not CI's: the result is committed, so tests need no apt):

    apt-get update && apt-get install -y groff-base    # Debian/Ubuntu; groff renders man pages
    .venv/bin/python scripts/build_checkset.py          # rewrites data/checkset/

Options: `--cache-dir DIR` keeps the downloaded `.deb` files (default
`~/.cache/kuznia/checkset-debs`), `--out DIR` writes elsewhere, `--seed N` changes every random
choice (the committed set uses the default).

The texts come from packages neither the demo data nor the writing of the cleaning rules used
(manpages-pl-dev, texlive-lang-polish, vim-runtime and the Polish message catalogues of
util-linux, GnuPG and Midnight Commander; see scripts/checkset/packages.py); the web
page chrome planted into them is written in phrasings the phrase rules do not contain (the
build stops if `corpus.clean.boilerplate.is_boilerplate` catches a planted line). Running it
twice gives byte-identical files. tests/corpus/test_checkset.py scores the pipeline on it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))

from checkset import assemble, texts  # noqa: E402
from checkset.packages import copyright_text, download_packages  # noqa: E402
from demo_data.debian_packages import require_tools, unpack_packages  # noqa: E402

from corpus.clean.boilerplate import is_boilerplate  # noqa: E402

DEFAULT_SEED = 20250101
MESSAGE_DOCS = 60
PORTAL_SHARE = 0.35  # of the man pages and LaTeX sections, published on the web portal instead
MAX_TOTAL_BYTES = 4 * 1024 * 1024
LSHORT = "usr/share/doc/texlive-doc/latex/lshort-polish/lshort-6.4PL1.src.tar.gz"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    parser.add_argument("--cache-dir", type=Path, default=cache / "kuznia" / "checkset-debs")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "checkset")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    return parser.parse_args(argv)


def pools(roots: dict[str, Path], tmp: Path, seed: int) -> dict[str, list[tuple[str, str]]]:
    """(origin, text) per dataset; the portal gets a seeded share of the man pages and sections."""
    with tarfile.open(roots["texlive-lang-polish"] / LSHORT) as tar:
        tar.extractall(tmp / "lshort", filter="data")
    src = next((tmp / "lshort").glob("*/src"))
    sections = [(f"texlive-lang-polish:lshort-polish/{title}", text)
                for title, text in texts.latex_sections(src) if len(text) >= texts.MIN_DOC_CHARS]
    man = texts.man_pages(roots["manpages-pl-dev"])
    rng = random.Random(f"{seed}:portal")
    portal, kept_man, kept_sections = [], [], []
    for items, kept in ((man, kept_man), (sections, kept_sections)):
        for item in items:
            (portal if rng.random() < PORTAL_SHARE else kept).append(item)
    messages = texts.message_runs(roots)
    messages = sorted(random.Random(f"{seed}:messages").sample(messages, min(MESSAGE_DOCS, len(messages))))
    return {"dokumentacja_programisty_pl": kept_man,
            "podrecznik_latex_pl": kept_sections + texts.readmes(roots["texlive-lang-polish"]),
            "kurs_vim_pl": texts.vim_lessons(roots["vim-runtime"]),
            "komunikaty_programow_pl": messages,
            "portal_it_pl": sorted(portal)}


def check_chrome(docs: dict[str, list[assemble.Doc]]) -> None:
    """Stop if the phrase rules catch a planted line: the set must test what they do not know."""
    caught = sorted({p["line"] for items in docs.values() for d in items
                     for p in d.extra.get("boilerplate", []) if is_boilerplate(p["line"].strip())})
    if caught:
        raise SystemExit("the phrase rules already catch these planted lines; rephrase them in "
                         "scripts/checkset/chrome.py:\n  " + "\n  ".join(caught))


def write_readme(out: Path, labels: list[dict]) -> None:
    template = (Path(__file__).parent / "checkset" / "readme.md").read_text("utf-8")
    counts = Counter((r["dataset"], r["kind"]) for r in labels)
    kinds = sorted({k for _, k in counts})
    rows = ["| dataset | category | " + " | ".join(kinds) + " | total |",
            "|---|---|" + "---:|" * (len(kinds) + 1)]
    for name in sorted({d for d, _ in counts}):
        values = [counts[(name, k)] for k in kinds]
        rows.append(f"| {name} | {assemble.DATASETS[name].category} | "
                    + " | ".join(map(str, values)) + f" | {sum(values)} |")
    (out / "README.md").write_text(template.replace("{{COUNTS}}", "\n".join(rows)), "utf-8")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_tools()
    debs = download_packages(args.cache_dir)
    with tempfile.TemporaryDirectory(prefix="kuznia-checkset-") as tmp:
        roots = unpack_packages(debs, Path(tmp))
        print("extracting texts ...", flush=True)
        docs = assemble.plan(pools(roots, Path(tmp), args.seed), args.seed)
        check_chrome(docs)
        copyrights = {pkg: copyright_text(root, pkg) for pkg, root in roots.items()}
    out = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    labels = assemble.write(out, docs)
    (out / "NOTICE").write_text(assemble.notice(copyrights), "utf-8")
    write_readme(out, labels)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    for kind, n in sorted(Counter(r["kind"] for r in labels).items()):
        print(f"{n:6d}  {kind}")
    print(f"{total:,} bytes in {out}")
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"{out} is {total:,} bytes, over {MAX_TOTAL_BYTES:,}: lower the counts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
