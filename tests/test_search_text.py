"""Dutch normalisation for the keyword ranker: lemmas, compounds, stems."""

from knowledge.index import plain_tokens
from knowledge.synonyms import expand_terms, related_words
from knowledge.text import analyzer, fold


def test_lemmas_and_irregular_plurals_meet():
    a = analyzer()
    assert a.terms("schulden") == a.terms("schuld")
    assert a.terms("kinderen") == a.terms("kind")
    assert a.terms("gezinnen") == a.terms("gezin")


def test_compounds_are_split_into_known_parts():
    a = analyzer()
    assert set(a.terms("schuld")) <= set(a.terms("schuldhulpverlening"))
    assert set(a.terms("voedsel")) <= set(a.terms("voedselbank"))
    assert set(a.terms("bank")) <= set(a.terms("kledingbank"))
    assert set(a.terms("ontmoeting")) <= set(a.terms("ontmoetingsgroepen"))
    # Head-final splitting keeps words that only look like compounds whole.
    assert a.terms("maatschappelijk") == [a.stemmer.stemWord("maatschappelijk")]
    assert set(a.terms("mantelzorg")) <= set(a.terms("mantelzorgers"))


def test_stop_words_go_but_meaningful_ones_stay():
    a = analyzer()
    assert a.terms("ik heb het niet") == []
    assert a.terms("alleen")  # lonely, not "only", for us


def test_accents_fold():
    assert fold("Cliëntondersteuning") == "clientondersteuning"
    assert analyzer().terms("cliënt") == analyzer().terms("client")


def test_synonyms_expand_queries_and_passages():
    a = analyzer()
    extra = expand_terms(a.terms("ik kan de rekeningen niet betalen"), a)
    assert set(a.terms("schulden")) <= set(extra)
    assert "inbraak" in related_words("Slachtofferhulp Nederland", a)
    # Compound parts do not widen a passage: geldzorgen is not about mantelzorg.
    assert "mantelzorger" not in related_words("Mensen met geldzorgen", a)


def test_plain_baseline_tokenizer_has_no_dutch_smarts():
    assert plain_tokens("De Voedselbanken van Enschede") == ["voedselbanken", "enschede"]
