"""The tokenizer itself: how text is split, the vocabulary layout, and the files we save.

- Normalizer: NFC only, so `decode(encode(s)) == NFC(s)` for every string.
- Pre-tokenizer: a regex split that keeps every character (GPT-2's pattern without its byte
  mapping, digits one by one as in Llama): a word takes the space before it, punctuation runs
  and whitespace runs are their own pieces. We do not use Metaspace: it maps spaces to U+2581
  and back, so a text that contains U+2581 itself would not round-trip; nor ByteLevel, whose
  256-symbol alphabet leaves no room for a 113-character alphabet or byte fallback.
- Model: BPE with byte fallback: a character outside the alphabet is spelled with `<0xXX>`
  tokens, so `<unk>` is never produced.
- Vocabulary layout: ids 0-7 special, 8-263 the byte tokens `<0x00>`…`<0xFF>` (as in Llama),
  then the alphabet and the merges in training order; the total is exactly `vocab_size`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
)

from kuznia.files import atomic_path, write_json_atomic

# A word with the space before it; one digit; a run of other symbols; whitespace (the last
# whitespace char before a word is left to the word, as in GPT-2).
PRETOKENIZE_PATTERN = r" ?\p{L}+(?:\p{M}+\p{L}*)*| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
UNK, BOS, EOS, PAD = 0, 1, 2, 3  # roles of the first four special tokens
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


class TokenizerError(RuntimeError):
    """A tokenizer that cannot be built or loaded; the message says what to change."""


def byte_tokens() -> list[str]:
    """The 256 byte-fallback tokens, in byte order (the names `ByteFallback` decodes)."""
    return [f"<0x{b:02X}>" for b in range(256)]


def pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), behavior="isolated")


def untrained_tokenizer(unk_token: str, byte_fallback: bool = True) -> Tokenizer:
    """An empty BPE tokenizer with our normalizer, pre-tokenizer and decoder (to train)."""
    tok = Tokenizer(models.BPE(unk_token=unk_token, byte_fallback=byte_fallback))
    _set_pipeline(tok)
    return tok


def _set_pipeline(tok: Tokenizer) -> None:
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizer()
    # ByteFallback turns runs of <0xXX> back into UTF-8; Fuse joins the pieces as they are.
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])


def top_characters(counts: Counter, size: int) -> list[str]:
    """The `size` most frequent characters; ties broken by code point, so the result is stable."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [c for c, _ in ranked[:size]]


def assemble(trained: Tokenizer, special_tokens: list[str], *, byte_fallback: bool) -> Tokenizer:
    """Rebuild a trained tokenizer with the final vocabulary layout (see the module docstring).

    The trainer knew only the special tokens; the byte tokens are inserted after them and the
    trained entries shifted up, keeping the merges (which are stored as strings).
    """
    state = json.loads(trained.to_str())["model"]
    trained_vocab: dict[str, int] = state["vocab"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in state["merges"]]
    fixed = list(special_tokens) + (byte_tokens() if byte_fallback else [])
    vocab = {t: i for i, t in enumerate(fixed)}
    for token, _ in sorted(trained_vocab.items(), key=lambda kv: kv[1]):
        if token in special_tokens:
            continue
        if token in vocab:
            # Only a merge spelling "<0xAB>" can collide; its ids would be ambiguous on decode.
            raise TokenizerError(
                f"the trained vocabulary contains {token!r}, which is also a byte-fallback token; "
                f"remove that text from the sample or set tokenizer.byte_fallback: false"
            )
        vocab[token] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=special_tokens[UNK],
                               byte_fallback=byte_fallback, fuse_unk=False))
    _set_pipeline(tok)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special_tokens])
    return tok


def special_ids(tok: Tokenizer, special_tokens: list[str]) -> dict[str, int]:
    """`{"unk_id", "bos_id", "eos_id", "pad_id"}` as the tokenizer maps them."""
    names = ("unk_id", "bos_id", "eos_id", "pad_id")
    return {n: tok.token_to_id(special_tokens[i]) for i, n in enumerate(names)}


def save_tokenizer(tok: Tokenizer, out_dir: Path, special_tokens: list[str]) -> list[Path]:
    """Save `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json`.

    `PreTrainedTokenizerFast.from_pretrained(out_dir)` and `AutoTokenizer.from_pretrained(out_dir)`
    load them offline. No BOS/EOS is added by `encode`: the tokens stage appends EOS itself, and
    `clean_up_tokenization_spaces` is off so that decoding stays exact.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    unk, bos, eos, pad = special_tokens[:4]
    reserved = special_tokens[4:]
    with atomic_path(out_dir / "tokenizer.json") as tmp:
        tmp.write_text(tok.to_str(pretty=True) + "\n", "utf-8")
    added = {
        str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": True}
        for i, t in enumerate(special_tokens)
    }
    write_json_atomic(out_dir / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": added,
        "unk_token": unk, "bos_token": bos, "eos_token": eos, "pad_token": pad,
        "additional_special_tokens": reserved,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
    })
    write_json_atomic(out_dir / "special_tokens_map.json", {
        "unk_token": unk, "bos_token": bos, "eos_token": eos, "pad_token": pad,
        "additional_special_tokens": reserved,
    })
    return [out_dir / f for f in TOKENIZER_FILES]


def load_tokenizer(tokenizer_dir: Path) -> Tokenizer:
    """Load `tokenizer_dir/tokenizer.json`, with an error that says how to produce it."""
    path = Path(tokenizer_dir) / "tokenizer.json"
    if not path.exists():
        raise TokenizerError(f"{path} is missing; run `kuznia stage tokenizer` first")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as e:  # noqa: BLE001 - tokenizers raises plain Exception on bad JSON
        raise TokenizerError(f"{path} does not load ({e}); re-run `kuznia stage tokenizer --force`") from e
