"""Seeded Polish-like text for the tokenizer tests and `bench/tokens.py` (no data files needed).

Real Polish stems with real inflectional endings, drawn with a Zipf law, in sentences with
punctuation, numbers, quotes and paragraphs: enough to give BPE Polish-shaped statistics
(diacritics, frequent endings) and a vocabulary that keeps growing with the text, like Heaps'
law on real text. It is not real text; fertility on it says nothing about real corpora.
"""

from __future__ import annotations

import random
from itertools import accumulate

STEMS = (
    "dom kot pies miast rok dzień czas ludz sprawa prac człowiek kobiet dzieck ręk oko życ "
    "ziemi wod świat kraj polsk szkoł rodzin państw rząd prawd wojn histori muzyk książk "
    "nauk język słow drog rzek góra las mor niebo słońc księżyc gwiazd wiatr deszcz śnieg "
    "zim wiosn lat jesień rano wieczor noc godzin tydzień miesiąc wiek pokój okn drzwi stół "
    "krzesł łóżk kuchni chleb mlek mięs ryb owoc warzyw jabłk gruszk śliwk wiśni truskawk "
    "samochod pociąg samolot statek rower autobus tramwaj ulic plac most kości zamk pałac "
    "wieś pol łąk ogród kwiat drzew liść trawa zbo pszenic żyt owies ziemniak burak kapust "
    "lekarz nauczyciel uczeń student profesor inżynier robotnik rolnik żołnierz policjant "
    "sędzi adwokat ksiądz biskup król królow książ prezydent premier minister poseł senator "
    "gazet telewizj radi internet komputer telefon film teatr koncert wystaw muze bibliotek "
    "uniwersytet szpital sklep bank urząd sąd więzieni fabryk kopalni huta port lotnisk "
    "pisa czyta mówi robi chodzi jeździ lata pływa śpiewa tańczy gra myśle wiedzie rozumie "
    "kocha lubi chce może musi powinien zaczyna kończy otwiera zamyka daje bierze kupuje "
    "sprzedaje płaci pracuje odpoczywa śpi je pije gotuje sprząta pierze prasuje szyje "
    "dobr zł wielk mał now star młod piękn brzydk szybk woln ciepł zimn jasn ciemn ważn "
    "łatw trudn cich głośn wysok nisk dług krótk szerok wąsk gęst rzadk czyst brudn śwież"
).split()
ENDINGS = ("", "a", "u", "owi", "em", "ie", "y", "i", "ów", "om", "ami", "ach", "ego", "emu",
           "ym", "ą", "ę", "ej", "ych", "ymi", "ość", "ności", "ować", "ował", "owała", "ują",
           "ał", "ała", "ało", "ali", "ały", "ać", "ić", "ywać", "ający", "ająca", "ski", "ska",
           "skiego", "ką", "ce", "cy", "ach", "ek", "ka", "ki", "ko", "owy", "owa", "owe", "nik")
SHORT = ("i", "w", "z", "na", "do", "że", "się", "nie", "to", "jest", "jak", "o", "po", "a",
         "od", "ale", "za", "przez", "dla", "co", "tak", "już", "tylko", "czy", "był", "ze")
PREFIXES = ("", "", "", "", "prze", "przy", "wy", "za", "po", "roz", "naj", "nie", "pod", "od")
SENTENCES = (
    "Zażółć gęślą jaźń.",
    "Litwo! Ojczyzno moja! ty jesteś jak zdrowie.",
    "W Szczebrzeszynie chrząszcz brzmi w trzcinie.",
    "Pchnąć w tę łódź jeża lub ośm skrzyń fig.",
    "Ala ma kota, a kot ma Alę.",
)


def _zipf_cum_weights(n: int, s: float = 1.07) -> list[float]:
    """Cumulative Zipf weights (`random.choices` with `cum_weights` skips re-summing each call)."""
    return list(accumulate(1.0 / (k + 1) ** s for k in range(n)))


class PolishText:
    """A seeded generator of documents; the same seed gives the same documents."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        stems = list(STEMS)
        self.rng.shuffle(stems)
        self.stems, self.stem_w = stems, _zipf_cum_weights(len(stems))
        self.endings, self.end_w = list(ENDINGS), _zipf_cum_weights(len(ENDINGS), 0.8)
        self.short_w = _zipf_cum_weights(len(SHORT), 0.9)

    def _stem_and_ending(self) -> str:
        r = self.rng
        stem = r.choices(self.stems, cum_weights=self.stem_w)[0]
        return stem + r.choices(self.endings, cum_weights=self.end_w)[0]

    def word(self) -> str:
        r = self.rng
        if r.random() < 0.35:
            return r.choices(SHORT, cum_weights=self.short_w)[0]
        if r.random() < 0.03:
            return str(r.choice((r.randint(1, 31), r.randint(1900, 2024), r.randint(2, 99_999))))
        w = r.choice(PREFIXES) + self._stem_and_ending()
        if r.random() < 0.08:  # rare compounds: a vocabulary that keeps growing, like real text
            w += self._stem_and_ending()
        return w

    def sentence(self) -> str:
        r = self.rng
        if r.random() < 0.05:
            return r.choice(SENTENCES)
        words = [self.word() for _ in range(r.randint(3, 18))]
        for i in range(1, len(words) - 1):
            if r.random() < 0.08:
                words[i] += ","
        if r.random() < 0.05:
            words[len(words) // 2] = f"„{words[len(words) // 2]}”"
        text = " ".join(words)
        return text[0].upper() + text[1:] + r.choice((".", ".", ".", "!", "?", "…", ":"))

    def document(self, min_chars: int = 200, max_chars: int = 3000) -> str:
        """One document: paragraphs of sentences, `min_chars`..`max_chars` characters."""
        r = self.rng
        target = r.randint(min_chars, max_chars)
        paras, size = [], 0
        while size < target:
            para = " ".join(self.sentence() for _ in range(r.randint(1, 6)))
            paras.append(para)
            size += len(para) + 1
        return "\n".join(paras)

    def documents(self, n: int, **kw) -> list[str]:
        return [self.document(**kw) for _ in range(n)]

    def corpus_bytes(self, n_bytes: int, **kw) -> list[str]:
        """Documents until their UTF-8 size reaches `n_bytes`."""
        docs, size = [], 0
        while size < n_bytes:
            d = self.document(**kw)
            docs.append(d)
            size += len(d.encode("utf-8"))
        return docs
