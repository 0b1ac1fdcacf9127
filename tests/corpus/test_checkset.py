"""The pipeline scored on the independent check set (data/checkset/, built by
scripts/build_checkset.py from Debian packages neither the demo nor the rules' writing used).

What is asserted is what holds there, beside the first wave's numbers from the same run
(`checkset_scoring.py` prints them all; README.md, "Check set", shows them):
- page chrome at the top and the bottom of pages, in phrasings no phrase rule contains, is
  removed (≥ 97 %), the original lines of those pages are kept (≥ 99.5 %), and clean documents
  lose ≤ 0.5 % of their lines. A single chrome line in the middle of a text (a "read more" link,
  an ad label) is removed too (≥ 97 % overall, ≥ 95 % inside texts): the site-line rule finds it by
  its association with the site's chrome, not by a phrase, while the genre's headings stay;
- documents whose mojibake cleaning repaired exactly, and whose repaired text passes the other
  rules, reach the corpus (≥ 90 %), where the first wave's stale labels kept few;
- clean curated documents (HIGH/MEDIUM) rejected by the curated profile ≤ 5 %; the web profile
  decides as FineWeb-2's thresholds do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from checkset_scoring import report, score


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict:
    s = score(Path(tmp_path_factory.mktemp("checkset")))
    print("\n" + report(s))
    return s


def rate(removed: int, planted: int) -> float:
    assert planted > 0
    return removed / planted


def test_page_chrome_at_the_edges_is_removed_and_text_kept(scores):
    bp = scores["boilerplate"]
    assert bp["planted"]["top"] >= 200 and bp["planted"]["bottom"] >= 200
    assert rate(bp["removed"]["top"], bp["planted"]["top"]) >= 0.97
    assert rate(bp["removed"]["bottom"], bp["planted"]["bottom"]) >= 0.97
    assert bp["kept"] / bp["original"] >= 0.995
    assert bp["clean_lost"] / bp["clean_lines"] <= 0.005
    overall = rate(bp["removed"]["all"], bp["planted"]["all"])
    assert overall >= 0.97 and bp["phrases_removed"] / bp["planted"]["all"] < 0.05  # unseen phrasings
    assert bp["planted"]["mid"] >= 80 and rate(bp["removed"]["mid"], bp["planted"]["mid"]) >= 0.95


def test_repaired_mojibake_reaches_the_corpus(scores):
    mb = scores["mojibake"]
    assert mb["eligible"] >= 20 and mb["low_label"] >= 10
    assert mb["in_corpus"] / mb["eligible"] >= 0.90
    assert mb["first_wave"] / mb["eligible"] < 0.5


def test_curated_profile_keeps_clean_documentation(scores):
    pr = scores["profiles"]
    assert pr["curated/docs"] >= 80
    assert pr["curated/rejected"] / pr["curated/docs"] <= 0.05
    assert pr["curated/rejected_by_web"] / pr["curated/docs"] > 0.5  # what the web rules would cost
    assert pr["web/rejected"] == pr["web/rejected_by_web"]  # the web profile is FineWeb-2's
