"""The trained tokenizer: vocabulary layout, special ids, alphabet, exact round trip, HF loading."""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tokenizer_fixtures import RARE, VOCAB
from tokenizers import Tokenizer, trainers

from tokenizer.bpe import (
    TokenizerError,
    assemble,
    byte_tokens,
    load_tokenizer,
    top_characters,
    untrained_tokenizer,
)
from tokenizer.config import DEFAULT_SPECIAL_TOKENS, TokenizerConfig
from tokenizer.fertility import encode_ids
from tokenizer.learn import read_tokenizer_manifest


@pytest.fixture(scope="module")
def tok(trained) -> Tokenizer:
    return load_tokenizer(trained[0] / "tokenizer")


def test_vocabulary_is_exactly_the_configured_size(tok, trained):
    assert tok.get_vocab_size() == VOCAB
    vocab = tok.get_vocab()
    assert len(vocab) == VOCAB and sorted(vocab.values()) == list(range(VOCAB))
    assert read_tokenizer_manifest(trained[0] / "tokenizer")["vocab_size"] == VOCAB


def test_special_tokens_hold_ids_0_to_7_and_bytes_8_to_263(tok, trained):
    assert [tok.id_to_token(i) for i in range(8)] == [
        "<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>", "<reserved_0>", "<reserved_1>"]
    assert [tok.id_to_token(i) for i in range(8, 264)] == byte_tokens()
    assert byte_tokens()[0x41] == "<0x41>" and len(byte_tokens()) == 256
    m = read_tokenizer_manifest(trained[0] / "tokenizer")
    assert (m["unk_id"], m["bos_id"], m["eos_id"], m["pad_id"]) == (0, 1, 2, 3)


def test_alphabet_is_the_most_frequent_characters(tok, trained):
    m = read_tokenizer_manifest(trained[0] / "tokenizer")
    alphabet = m["alphabet"]
    assert len(alphabet) == 60 == len(set(alphabet))
    singles = {t for t in tok.get_vocab() if len(t) == 1}
    assert singles == set(alphabet)
    # The corpus's most frequent characters are in; a character of two documents is not.
    counts = Counter(c for docs in trained[1].values() for _, t in docs for c in t)
    assert set(top_characters(counts, 20)) <= set(alphabet)
    assert RARE not in alphabet
    assert tok.encode(RARE, add_special_tokens=False).tokens == ["<0xC3>", "<0x9F>"]


def test_top_characters_breaks_ties_by_code_point():
    assert top_characters(Counter({"b": 2, "a": 2, "c": 5, "d": 1}), 3) == ["c", "a", "b"]


def test_merges_give_polish_words_few_tokens(tok):
    # Frequent words of the fixture text are single tokens with their leading space.
    ids = tok.encode(" się nie jest", add_special_tokens=False)
    assert ids.tokens == [" się", " nie", " jest"]


def _round_trip(tok: Tokenizer, s: str) -> str:
    return tok.decode(encode_ids(tok, [s])[0])


EDGE_CASES = [
    "", " ", "  ", "\t", "\n\n", " leading", "trailing ", "  two  spaces  ", "a\r\nb",
    "Zażółć gęślą jaźń", "ZAŻÓŁĆ", "emoji 😀👍🏽 i flaga 🇵🇱", "▁ metaspace ▁▁", "<s></s><unk><pad>",
    "<0x41> <0xZZ>", "e\u0301 (NFD é)", "\u0000\u0001 nul", "漢字 かな", "\U0010fffd", "Straße ß",
]


@pytest.mark.parametrize("s", EDGE_CASES)
def test_edge_cases_round_trip(tok, s):
    assert _round_trip(tok, s) == unicodedata.normalize("NFC", s)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
@example("👍" * 7 + " \t ")
def test_any_string_round_trips(tok, s):
    assert _round_trip(tok, s) == unicodedata.normalize("NFC", s)


POLISHISH = st.text(alphabet=st.sampled_from(list("aąbcćdeęfghijklłmnńoóprsśtuwyzźż ,.\n\t1😀")))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(POLISHISH)
def test_polish_like_strings_round_trip(tok, s):
    # Strings made of the alphabet exercise the merges, not just the byte fallback.
    assert _round_trip(tok, s) == unicodedata.normalize("NFC", s)


def test_no_unknown_token_ever(tok):
    ids = encode_ids(tok, ["\U0001F9EA ⅝ \u200b ǅ 𝔊 \x7f"])[0]
    assert 0 not in ids


def test_literal_special_token_text_is_text_in_documents(tok):
    ids = encode_ids(tok, ["a</s>b"])[0]
    assert 2 not in ids and tok.decode(ids) == "a</s>b"


@pytest.mark.parametrize("cls_name", ["AutoTokenizer", "PreTrainedTokenizerFast"])
def test_transformers_loads_the_folder_offline(trained, cls_name):
    import transformers

    hf = getattr(transformers, cls_name).from_pretrained(trained[0] / "tokenizer", local_files_only=True)
    assert (hf.unk_token, hf.bos_token, hf.eos_token, hf.pad_token) == ("<unk>", "<s>", "</s>", "<pad>")
    assert (hf.unk_token_id, hf.bos_token_id, hf.eos_token_id, hf.pad_token_id) == (0, 1, 2, 3)
    assert len(hf) == VOCAB
    s = "  Zażółć gęślą jaźń 😀 — tak , jak .\n"
    ids = hf(s)["input_ids"]
    assert ids == encode_ids(load_tokenizer(trained[0] / "tokenizer"), [s])[0]  # no BOS/EOS added
    assert hf.decode(ids) == s


def _tiny_trained(texts: list[str], *, split: bool = True) -> Tokenizer:
    raw = untrained_tokenizer("<unk>")
    if not split:
        raw.pre_tokenizer = None  # the whole text is one word: merges can spell anything
    raw.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=40, special_tokens=DEFAULT_SPECIAL_TOKENS,
                                                       show_progress=False))
    return raw


def test_our_pre_tokenizer_cannot_merge_a_byte_token_name():
    # Digits are split one by one and apart from letters and symbols, so "<0x41>" is never a word.
    raw = _tiny_trained(["<0x41>"] * 50)
    assert "<0x41>" not in raw.get_vocab()
    assert assemble(raw, DEFAULT_SPECIAL_TOKENS, byte_fallback=True).token_to_id("<0x41>") == 8 + 0x41


def test_assemble_refuses_a_merge_that_spells_a_byte_token():
    raw = _tiny_trained(["<0x41>"] * 50, split=False)
    assert "<0x41>" in raw.get_vocab()
    with pytest.raises(TokenizerError, match=r"'<0x41>'.*byte-fallback token"):
        assemble(raw, DEFAULT_SPECIAL_TOKENS, byte_fallback=True)


def test_config_refuses_a_vocabulary_without_room_for_merges():
    with pytest.raises(ValueError, match="leaves no room for merges.*raise it above 377"):
        TokenizerConfig(vocab_size=300)
    with pytest.raises(ValueError, match="exactly 8 distinct"):
        TokenizerConfig(special_tokens=["<unk>", "<s>"])


def test_without_byte_fallback_unknown_characters_become_unk(corpus_dir):
    from tokenizer.learn import train_tokenizer

    texts = [t for docs in corpus_dir[1].values() for _, t in docs]
    cfg = TokenizerConfig(vocab_size=500, alphabet_size=60, byte_fallback=False)
    tok, record = train_tokenizer(lambda: iter([texts]), cfg, log=lambda _: None)
    assert tok.get_vocab_size() == 500 and "<0x00>" not in tok.get_vocab()
    assert len(record["alphabet"]) == 60
    assert encode_ids(tok, ["a😀"])[0][-1] == 0  # <unk>
