"""The lines of a text where a regular expression matches, at one search per such line.

Cleaning rules test whole lines (is this line boilerplate? does ftfy need to see it?), and most
lines need no test at all. Searching the whole text at C speed and jumping to the next line after
each hit finds the few that do, without a Python loop over every line.
"""

from __future__ import annotations

import re


def matching_lines(text: str, pattern: re.Pattern) -> set[int]:
    """Indices of the lines (split on "\\n") in which a match of `pattern` starts.

    After a match the search resumes at the next line, so a line costs one search however many
    matches it holds. For a pattern that cannot match across a line break, a line is found iff
    it matches alone (the character before a line is "\\n", a non-word character, as a line's
    start is; give a pattern with "^" `re.MULTILINE`). A pattern that can may also find the line
    where a match starts and runs on into the next: a superset, and the next line is still
    searched from its own start.
    """
    found: set[int] = set()
    line, last = 0, 0
    m = pattern.search(text)
    while m is not None:
        line += text.count("\n", last, m.start())
        found.add(line)
        end = text.find("\n", m.start())
        if end < 0:
            break
        last = end
        m = pattern.search(text, end + 1)
    return found
