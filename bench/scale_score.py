"""Score a pipeline run on a generated scale corpus: `bench/scale_corpus.py score` under its own name.

    .venv/bin/python bench/scale_score.py --truth /tmp/scale/0.5 --work-dir WORK [--json F]

See bench/scale_corpus.py (and bench/scale_gen/score.py) for what is scored and the targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_corpus import main  # noqa: E402 - bench/ is not a package

if __name__ == "__main__":
    main(["score", *sys.argv[1:]])
