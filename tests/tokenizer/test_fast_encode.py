"""FastEncoder gives `Tokenizer.encode`'s ids on every text: the demo corpus, adversarial text,
random strings; its split agrees with `tokenizers`' on every code point it trusts; its cache
limits and fallbacks change nothing."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, pre_tokenizers

from tokenizer import fast_encode_kernels as K
from tokenizer.bpe import load_tokenizer, pre_tokenizer
from tokenizer.config import TokenizerConfig
from tokenizer.fast_encode import FastEncoder, UnsupportedTokenizer, char_table, fast_encoder, pieces
from tokenizer.fertility import encode_flat, encode_ids
from tokenizer.learn import train_tokenizer

POLISH = "Zażółć gęślą jaźń, źdźbło; Łódź — „cytat” (nawias) 2024 r."
FRAGMENTS = [
    POLISH, unicodedata.normalize("NFD", POLISH), " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n\n", "\r\n",
    "\r\n\r\n", " \t ", "\u00a0", " \u00a0 ", "\u2028", "\u2029", "\u3000", "\u2009", "\x0b\x0c", "\x85",
    "0", "12345", " 7", "٣٤٥", "１２", "²³", "Ⅻ", "⅝", "½", "৪",
    "😀", "🫨", "👩\u200d👩\u200d👧", "👍🏽", "🇵🇱", "\U0001F9EA", "✓", "€100", "§",
    "e\u0301", "z\u0307", "\u0301", " \u0301", "\u0301a", "a\u0323\u0301", "a\u0301\u0323", "5\u0301",
    "\u1100\u1161\u11a8", "\u1100\u1161", "가\u11a8", "Å", "\u212b", "\u2126", "\u0344", "ﬁ", "Ǆ", "ǅ",
    "Привет мир", "Ελληνικά", "中文字符", "עברית", "العربية", "हिन्दी", "ภาษาไทย", "한국어", "ქართული",
    "<s>", "</s>", "<unk>", "<pad>", "<|im_start|>", "<|im_end|>", "<reserved_0>", "<reserved_1>",
    "</s", "<<s>>", "</s></s>", "a</s>b", "<0x41>", "<0xC3>",
    "\x00", "\x7f", "\x1c", "\x1f", "\u200b", "\u200d", "\ufeff", "\u00ad", "\u061c",
    "\u0378", "\U000e0080", "\ue000", "\U0010fffd", "\uffff", "\U0010ffff",  # unassigned, private use
    "\u0897", "\U0002ebf0", "\U000105c0", "\u1c89",  # assigned after Python's Unicode 14: untrusted
    "!!!", "...", "—", "?!", "(a)", "http://example.com/a?b=c&d=e", "a_b", "x" * 60, "ź" * 70, "=" * 80,
]
LONG = ["a" * 1500, "=" * 3000, "1" * 500, " " * 2000 + "x", "ą" * 900, "\u0301" * 1200]


def adversarial_texts(n: int = 400, seed: int = 0) -> list[str]:
    """Every fragment alone, then seeded random joins of them (with and without spaces)."""
    rng = random.Random(seed)
    texts = ["", *FRAGMENTS, *LONG]
    for _ in range(n):
        parts = rng.choices(FRAGMENTS, k=rng.randint(1, 12))
        texts.append(rng.choice(["", " ", "\n"]).join(parts))
    return texts


def theirs(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    """`Tokenizer.encode`'s ids, text by text (what the contract names)."""
    return [tok.encode(t, add_special_tokens=False).ids for t in texts]


def ours(encoder: FastEncoder, texts: list[str]) -> list[list[int]]:
    ids, counts = encoder.encode(texts)
    assert ids.dtype == np.int32 and counts.size == len(texts) and counts.sum() == ids.size
    ends = np.cumsum(counts).tolist()
    return [ids[a:b].tolist() for a, b in zip([0, *ends], ends)]


@pytest.fixture(scope="module")
def small_tok(trained) -> Tokenizer:
    """The shared test tokenizer: 1,000 tokens, a 60-character alphabet (much byte fallback)."""
    return load_tokenizer(trained[0] / "tokenizer")


@pytest.fixture(scope="module")
def demo_tok(demo) -> Tokenizer:
    """A tokenizer of APT3's alphabet size trained on a quarter of the demo corpus."""
    texts = [d.text for _, d in sorted(demo.docs.items())][::4]
    cfg = TokenizerConfig(vocab_size=2000, alphabet_size=113)
    return train_tokenizer(lambda: iter([texts]), cfg, log=lambda _: None)[0]


@pytest.fixture(params=[True, False], ids=["specials-as-text", "specials-split"])
def special_mode(request) -> bool:
    return request.param


def test_demo_corpus_ids_are_identical(demo, demo_tok, small_tok):
    texts = [d.text for _, d in sorted(demo.docs.items())]
    for tok in (demo_tok, small_tok):
        tok.encode_special_tokens = True  # as the tokens stage encodes
        assert ours(FastEncoder(tok), texts) == theirs(tok, texts)


def test_adversarial_text_ids_are_identical(demo_tok, small_tok, special_mode):
    texts = adversarial_texts()
    for tok in (demo_tok, small_tok):
        tok.encode_special_tokens = special_mode
        encoder = FastEncoder(tok)
        assert ours(encoder, texts) == theirs(tok, texts)
        assert ours(encoder, texts[::-1]) == theirs(tok, texts[::-1])  # now from the cache


def test_specials_follow_the_tokenizers_setting(demo_tok):
    encoder = FastEncoder(demo_tok)
    demo_tok.encode_special_tokens = False
    assert ours(encoder, ["a</s>b"])[0][1] == 2 and ours(encoder, ["<</s>>"])[0].count(2) == 1
    demo_tok.encode_special_tokens = True
    assert 2 not in ours(encoder, ["a</s>b"])[0]


def test_tiny_cache_and_long_pieces_change_no_id(demo, demo_tok):
    texts = [d.text for _, d in sorted(demo.docs.items())][:60] + adversarial_texts(100, seed=1)
    demo_tok.encode_special_tokens = True
    encoder = FastEncoder(demo_tok, cache_slots=16, pool_size=64, max_piece_chars=4, max_bpe_chars=20)
    expected = theirs(demo_tok, texts)
    for start in range(0, len(texts), 7):  # many batches: the cache fills, resets, refuses pieces
        assert ours(encoder, texts[start : start + 7]) == expected[start : start + 7]
    assert encoder.state[0] <= 8 and encoder.state[1] <= 64


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(st.sampled_from("aąź ́\t\n\u00a05٣!<>/s😀\u0897") | st.characters(exclude_categories=("Cs",)),
                        max_size=30), max_size=6))
def test_random_strings_ids_are_identical(demo_tok, texts):
    demo_tok.encode_special_tokens = True
    assert ours(fast_encoder(demo_tok), texts) == theirs(demo_tok, texts)


def test_split_matches_tokenizers_on_every_trusted_code_point():
    # Each code point c in "a{c} {c}!": the pieces differ for each of the five classes (letter,
    # mark, number, whitespace, other) whatever the neighbouring segments hold, so a class the
    # kernels got wrong shows as a different cut. Private use (stable by Unicode's policy) sampled.
    table = char_table()
    cps = np.flatnonzero((table & K.UNTRUSTED) == 0)
    cps = cps[(cps != 0x20) & ((cps < 0xF0000) | (cps % 97 == 0))]
    assert cps.size > 140_000
    text = "".join(f"a{c} {c}!" for c in map(chr, cps.tolist()))
    chunk = 5 * 65536  # at segment ends: "!" then "a" always cut there
    starts = [i + a for i in range(0, len(text), chunk)
              for _, (a, _) in pre_tokenizer().pre_tokenize_str(text[i : i + chunk])]
    assert np.array_equal(K.piece_starts(np.frombuffer(text.encode("utf-32-le"), np.uint32), table), starts)


def test_nfc_inert_code_points_are_left_alone_by_the_normalizer(demo_tok):
    table = char_table()
    inert = [chr(c) for c in np.flatnonzero((table & (K.UNTRUSTED | K.NOT_NFC_INERT)) == 0).tolist()
             if c < 0xF0000]
    normalize = demo_tok.normalizer.normalize_str
    for base in ("", "a", "o", "A", "\u1100", "가", "α", "и"):  # starters that compose with much
        text = "".join(base + c for c in inert)
        assert normalize(text) == text


def test_char_table_classes():
    table = char_table()
    assert [table[ord(c)] & K.CLASS_BITS for c in "aŁ\u0301٣ \t\u00a0!"] == [
        K.LETTER, K.LETTER, K.MARK, K.NUMBER, K.SPACE, K.WHITESPACE, K.WHITESPACE, K.OTHER]
    assert all(table[ord(c)] & K.NOT_NFC_INERT for c in "\u0301\u1161\u11a8\u212b\u0344")
    assert not any(table[ord(c)] & (K.NOT_NFC_INERT | K.UNTRUSTED) for c in "ąęółźżćńś ")
    assert all(table[c] & K.UNTRUSTED for c in (0x897, 0x2EBF0, 0x378, 0xD800))
    text = "  a\t\tb 12!!  \r\n x"
    assert pieces(text) == [" ", " a", "\t", "\t", "b", " 1", "2", "!!", "  \r\n", " x"]
    assert pieces(text) == [p for p, _ in pre_tokenizer().pre_tokenize_str(text)]


def test_encode_ids_and_encode_flat_use_it_and_keep_special_text_as_text(demo_tok):
    texts = adversarial_texts(50, seed=2)
    demo_tok.encode_special_tokens = True
    expected = theirs(demo_tok, texts)
    assert encode_ids(demo_tok, texts) == expected and fast_encoder(demo_tok) is not None
    ids, counts = encode_flat(demo_tok, texts)
    assert ids.tolist() == [i for e in expected for i in e] and counts.tolist() == list(map(len, expected))


def test_another_pipeline_falls_back_to_tokenizers(demo_tok):
    other = Tokenizer.from_str(demo_tok.to_str())
    other.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(UnsupportedTokenizer, match="pre-tokenizer"):
        FastEncoder(other)
    assert fast_encoder(other) is None
    texts = ["Zażółć  gęślą\tjaźń", "", "a</s>b"]
    other.encode_special_tokens = True  # as encode_ids sets it
    expected = [e.ids for e in other.encode_batch(texts, add_special_tokens=False)]
    assert encode_ids(other, texts) == expected and 2 not in expected[2]
    ids, counts = encode_flat(other, texts)
    assert ids.tolist() == [i for e in expected for i in e] and counts.tolist() == list(map(len, expected))
