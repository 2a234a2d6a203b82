"""Dutch normalisation for the keyword ranker: spaCy's Dutch tokenizer, its lookup
lemmatizer (spacy-lookups-data), compound splitting against the same lexicon, and a
Snowball stem so that "schulden", "schuld" and "schuldhulpverlening" meet.

    analyzer().terms("Ik heb schulden")      →  ["schuld"]
    analyzer().terms("schuldhulpverlening")  →  ["schuldhulpverlen", "schuld", "hulpverlen"]
    analyzer().terms("mantelzorgers")        →  ["mantelzorger", "mantelzorg", "mantel", "zorg"]
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import spacy
import spacy_lookups_data
import srsly
import Stemmer
from spacy.lang.nl.stop_words import STOP_WORDS

# spaCy's list drops words that carry meaning for us ("alleen" = lonely, "pas" = the
# stadspas, "vrij" = vrij toegankelijk, "eigen" = eigen kracht).
KEEP = {
    "alleen",
    "pas",
    "vrij",
    "eigen",
    "ander",
    "andere",
    "anderen",
    "doen",
    "geven",
    "klaar",
    "weg",
    "lang",
    "min",
    "mogelijk",
    "beter",
    "gewoon",
    "weinig",
    "samen",
}
STOPWORDS = frozenset(w for w in STOP_WORDS if w not in KEEP) | {
    "kun",
    "wil",
    "wilt",
    "graag",
    "hoi",
    "hallo",
    "mevrouw",
    "meneer",
    "zit",
    "gaat",
}
# Linking sounds between the parts of a compound: voedsel|bank, vrijwilliger|s|werk.
LINKS = ("", "s", "e", "en")
MIN_PART = 4
MIN_COMPOUND = 8
_WORD = re.compile(r"[a-z0-9]")


def fold(text: str) -> str:
    """lower case without accents: cliënt → client, één → een."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


class DutchAnalyzer:
    def __init__(self, *, stem: bool = True, split_compounds: bool = True):
        self.nlp = spacy.blank("nl")
        self.lemmas, lexicon, nouns = _lemma_data()
        self.lexicon = frozenset(w for w in lexicon if len(w) >= MIN_PART and w not in STOPWORDS)
        self.nouns = frozenset(w for w in nouns if w in self.lexicon)
        self.stem_on = stem
        self.split_on = split_compounds
        # The classic Snowball Dutch stemmer: PyStemmer's newer "dutch" strips "ge-" and
        # merges gezin with zin and geweld with wel.
        self.stemmer = Stemmer.Stemmer("dutch_porter")
        self._cache: dict[str, tuple[str, ...]] = {}

    # -- words ----------------------------------------------------------------------
    def words(self, text: str) -> list[str]:
        """Content words, lemmatised and folded, in order."""
        out = []
        for tok in self.nlp.make_doc(text):
            low = tok.text.lower()
            if not _WORD.search(fold(low)) or low in STOPWORDS or tok.like_num:
                continue
            lemma = fold(self.lemmas.get(low, low))
            if lemma in STOPWORDS or len(lemma) < 2:
                continue
            out.append(lemma)
        return out

    def split(self, word: str) -> list[str]:
        """Parts of a compound (voedselbank → voedsel, bank), [] if it is not one."""
        if not self.split_on or len(word) < MIN_COMPOUND:
            return []
        best = _split(word, self.lexicon, self.nouns, self.lemmas)
        return list(best) if best and len(best) > 1 else []

    def _forms(self, word: str) -> list[str]:
        # Agent nouns meet their activity: mantelzorger → mantelzorg, vrijwilliger →
        # vrijwillig.
        if len(word) >= 9 and word.endswith("er") and word[:-2] in self.lexicon:
            return [word, word[:-2]]
        return [word]

    def _word_terms(self, word: str, split: bool = True) -> tuple[str, ...]:
        key = word if split else "\0" + word
        cached = self._cache.get(key)
        if cached is None:
            forms = self._forms(word)
            for form in list(forms) if split else ():
                for part in self.split(form):  # parts are base forms already
                    forms.extend(self._forms(part))
            if self.stem_on:
                forms = [self.stemmer.stemWord(f) for f in forms]
            cached = tuple(dict.fromkeys(forms))
            if len(self._cache) < 200_000:
                self._cache[key] = cached
        return cached

    def terms(self, text: str, *, split: bool = True) -> list[str]:
        """The tokens the BM25 index sees (split=False: without compound parts)."""
        out: list[str] = []
        for word in self.words(text):
            out.extend(self._word_terms(word, split))
        return out


def _lemma_data() -> tuple[dict[str, str], set[str], set[str]]:
    """form → lemma, and the set of Dutch base forms (the lexicon for compound splitting),
    from the files behind spaCy's Dutch lemmatizer (spacy-lookups-data): the lookup
    table, plus the irregular forms (kinderen → kind, heb → hebben) it leaves out."""
    base = Path(spacy_lookups_data.__file__).parent / "data"
    lookup: dict[str, str] = srsly.read_gzip_json(base / "nl_lemma_lookup.json.gz")
    exceptions = srsly.read_gzip_json(base / "nl_lemma_exc.json.gz")
    index = srsly.read_gzip_json(base / "nl_lemma_index.json.gz")
    lemmas = {}
    for pos in ("verb", "adj", "noun"):  # later wins: a noun reading beats a verb one
        for form, options in exceptions.get(pos, {}).items():
            if options:
                lemmas[form] = options[0]
    lemmas.update(lookup)
    # "ouder" is a parent here far more often than "older".
    lemmas.update({"ouder": "ouder", "ouders": "ouder", "ouderen": "oudere"})
    lexicon = {fold(w) for pos in ("noun", "verb", "adj") for w in index.get(pos, [])}
    lexicon.update(fold(v) for v in lookup.values())
    nouns = {fold(w) for w in index.get("noun", [])}
    return lemmas, lexicon, nouns


def _split(word: str, lexicon: frozenset[str], nouns: frozenset[str], lemmas: dict[str, str]) -> tuple[str, ...] | None:
    """Fewest parts (then the longest shortest part) that cover `word`: modifiers from
    the lexicon, an optional linking s/e/en after each, and a noun as the last part (Dutch
    compounds are head-final; this keeps "vrijwilliger" and "maatschappelijk" whole)."""
    memo: dict[int, tuple[str, ...] | None] = {}

    def best_from(i: int, first: bool) -> tuple[str, ...] | None:
        if not first and i in memo:
            return memo[i]
        candidates = []
        if not first:
            tail = word[i:]
            tail = tail if tail in nouns else fold(lemmas.get(tail, ""))
            if tail in nouns:
                candidates.append((tail,))
        for j in range(i + MIN_PART, len(word) - MIN_PART + 1):
            head = word[i:j]
            if head not in lexicon:
                continue
            for link in LINKS:
                k = j + len(link)
                if link and word[j:k] != link:
                    continue
                tail = best_from(k, False)
                if tail:
                    candidates.append((head,) + tail)
        result = min(candidates, key=lambda p: (len(p), -min(map(len, p)))) if candidates else None
        if not first:
            memo[i] = result
        return result

    return best_from(0, True)


@lru_cache(maxsize=1)
def analyzer() -> DutchAnalyzer:
    return DutchAnalyzer()
