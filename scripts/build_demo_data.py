#!/usr/bin/env python3
"""Build the bundled demo data in `data/demo/` from Polish text in Debian packages.

How to run (a developer's task, not CI's: the result is committed):

    apt-get update && apt-get install -y groff-base    # Debian/Ubuntu; groff renders man pages
    .venv/bin/python scripts/build_demo_data.py         # rewrites data/demo/

Options: `--cache-dir DIR` keeps the downloaded `.deb` files (default
`~/.cache/kuznia/demo-debs`; they are never committed), `--out DIR` writes elsewhere,
`--seed N` changes every random choice (the committed mirror uses the default),
`--wiki-multistream` only rewrites the Wikipedia multistream pair and sha1sums from the plain
dump already there (what a whole build writes, without the downloads).

It downloads pinned versions of manpages-pl, fortunes-pl, debian-edu-doc-legacy-pl and
manpages-{cs,de,es,fr,it,nl,ru} with `apt-get download`, unpacks them with `dpkg-deb -x`,
builds five Speakleash datasets and a plwiki dump with labelled planted noise, checks the
result from disk (scripts/demo_data/verify.py), and prints the counts per source and kind.
Running it twice gives byte-identical files. See data/demo/README.md for what is built.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_data.base_pool import load_pool  # noqa: E402
from demo_data.debian_packages import download_packages, unpack_packages  # noqa: E402
from demo_data.outputs import (  # noqa: E402
    count_table,
    notice_text,
    reset_output,
    write_labels,
    write_readme,
    write_speakleash,
    write_wiki_multistream,
    write_wikipedia,
)
from demo_data.planner import Planner  # noqa: E402
from demo_data.verify import verify_mirror  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 20240101
MAX_TOTAL_BYTES = 10 * 1024 * 1024


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    parser.add_argument("--cache-dir", type=Path, default=cache / "kuznia" / "demo-debs",
                        help="where downloaded .deb files are kept")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "demo",
                        help="output folder (default: data/demo in the repository)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of every choice")
    parser.add_argument("--wiki-multistream", action="store_true",
                        help="only (re)write the multistream dump, its index and the sha1sums "
                             "from the plain dump already in --out (no downloads)")
    return parser.parse_args(argv)


def print_summary(labels: list[dict], out: Path) -> None:
    """Counts per source and per kind, and the size of each file."""
    sources, kinds, counts = count_table(labels)
    width = max(len(s) for s in sources + ["total"]) + 2
    cols = [max(len(k), 4) + 2 for k in kinds]
    header = "".join(k.rjust(c) for k, c in zip(kinds, cols, strict=True))
    print("source".ljust(width) + header + "   total")
    for s in sources + ["total"]:
        values = [sum(counts[(x, k)] for x in sources) if s == "total" else counts[(s, k)]
                  for k in kinds]
        print(s.ljust(width) + "".join(str(v).rjust(c) for v, c in zip(values, cols, strict=True))
              + str(sum(values)).rjust(8))
    total = 0
    print()
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        size = path.stat().st_size
        total += size
        print(f"{size:>10,}  {path.relative_to(out)}")
    print(f"{total:>10,}  total")
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"data/demo is {total:,} bytes, over the 10 MB budget: lower the "
                         "counts in scripts/demo_data/planner.py")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.wiki_multistream:
        write_wiki_multistream(args.out)
        problems = verify_mirror(args.out)
        if problems:
            raise SystemExit(f"{len(problems)} problems in {args.out}: {problems[:5]}")
        return 0
    for tool, package in (("groff", "groff-base"), ("dpkg-deb", "dpkg")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: install it with `apt-get install {package}`")
    debs = download_packages(args.cache_dir)
    with tempfile.TemporaryDirectory(prefix="kuznia-demo-") as tmp:
        roots = unpack_packages(debs, Path(tmp))
        print("rendering and de-duplicating the source texts ...", flush=True)
        pool = load_pool(roots, random.Random(f"{args.seed}:foreign-pick"))
        planner = Planner(pool, args.seed)
        print("planting noise and computing meta ...", flush=True)
        pages = planner.build()
        origins = {e.origin for d in planner.entries.values() for e in d}
        origins |= {p.label.get("origin", "") for p in pages}
        notice = notice_text(roots, origins)
    out = args.out
    reset_output(out)
    write_speakleash(out, planner.entries)
    write_wikipedia(out, pages, args.seed)
    labels = write_labels(out, planner.entries, pages)
    (out / "NOTICE").write_text(notice, encoding="utf-8")
    template = (Path(__file__).parent / "demo_data" / "demo_readme.md").read_text("utf-8")
    write_readme(out, labels, template)
    print("checking the written mirror ...", flush=True)
    problems = verify_mirror(out)
    if problems:
        for problem in problems[:50]:
            print(f"  PROBLEM: {problem}", file=sys.stderr)
        raise SystemExit(f"{len(problems)} problems in {out}; see above")
    print_summary(labels, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
