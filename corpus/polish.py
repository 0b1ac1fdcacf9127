"""What plain Polish text is made of: its letters, its punctuation, its stop words.

These sets are data the cleaning and quality rules share. `PLAIN_CHARS` is the gate in front of
ftfy: a document made only of these characters has nothing ftfy could change (a property tested
in tests/corpus/test_mojibake.py), so ftfy, the slowest step of cleaning, is skipped for it.
"""

from __future__ import annotations

POLISH_LOWER = "ąćęłńóśźż"
POLISH_UPPER = "ĄĆĘŁŃÓŚŹŻ"
POLISH_LETTERS = POLISH_LOWER + POLISH_UPPER

# Typographic punctuation of Polish texts: „quotes”, «guillemets», ‚single’ quotes, dashes,
# the ellipsis, the bullet, the middle dot, the degree, section and currency signs.
POLISH_PUNCTUATION = "„”“‚’‘«»–—…•·°§©®™€"

# Printable ASCII, tab, line breaks, Polish letters, typographic punctuation, the no-break space.
PLAIN_CHARS = "\t\n\r" + "".join(chr(c) for c in range(0x20, 0x7F)) + POLISH_LETTERS + POLISH_PUNCTUATION + "\u00a0"

# FineWeb-2's Polish stop words (configs/pol_Latn.yml of huggingface/fineweb-2): the words whose
# presence tells running Polish prose from lists, tables and keyword spam.
FINEWEB2_STOPWORDS: tuple[str, ...] = (
    "w", "i", "na", "z", "do", "się", "roku", "od", "a", "jest",
    "przez", "po", "jako", "oraz", "o", "został", "był", "nie",
)

# Characters that end a sentence (FineWeb's TERMINAL_PUNCTUATION restricted to the Latin
# script, plus the ellipsis character, common in Polish texts).
TERMINAL_PUNCTUATION = ".!?…"

# Closing quotes and brackets that may follow the terminal punctuation of a line: `koniec.”`
CLOSING_MARKS = "”\"'’»)]"
