"""The word lists are data, one file per language, each with every section."""

from __future__ import annotations

from ctdc.mapping.spec import normalize
from ctdc.onboard.matching import words
from ctdc.onboard.vocabulary import SECTIONS, language_files, vocabulary
from ctdc.schema import Schema

#: the languages the data officers' exports are in, at least
LANGUAGES = {"pt", "es", "fr", "en"}
#: the targets every language must name (a profile field nobody can onboard otherwise)
PROFILE = ("case_id", "age", "year_of_registration", "gender", "citizenship",
           "country_of_exploitation")  # fmt: skip


def test_every_language_has_every_section_filled() -> None:
    langs = language_files()
    assert set(langs) >= LANGUAGES
    for lang, data in langs.items():
        assert set(data) == set(SECTIONS), lang
        for section in SECTIONS:
            assert data[section], (lang, section)  # none empty
        assert data["identifiers"]["words"] and data["identifiers"]["phrases"], lang
        assert set(PROFILE) <= set(data["names"]), (lang, set(PROFILE) - set(data["names"]))
        assert "gender" in data["values"], lang


def test_the_merge_keeps_every_language(schema: Schema) -> None:
    vocab = vocabulary()
    assert set(vocab.languages) == set(language_files())
    for lang, data in language_files().items():
        assert {str(w) for w in data["identifiers"]["words"]} <= vocab.identifier_words, lang
        assert {normalize(w) for w in data["unknown_words"]} <= vocab.unknown_words, lang
        for target, names in data["names"].items():
            assert set(names) <= set(vocab.synonyms[target]), (lang, target)
    # every target a list names is one the schema has (a typo would match nothing)
    known = {"case_id", "age", *schema.by_name, *schema.groups}
    assert set(vocab.synonyms) <= known, set(vocab.synonyms) - known
    for field, table in vocab.field_values.items():
        allowed = set(schema[field].values)
        for value, meanings in table.items():
            assert set(meanings) <= allowed, (field, value, meanings)


def test_no_word_says_two_things() -> None:
    """An unknown word is never also a value or a yes/no word; no identifier word is a
    stopword (it would vanish from the column name before it is looked for)."""
    vocab = vocabulary()
    values = {v for table in vocab.field_values.values() for v in table}
    assert not vocab.unknown_words & values
    assert not vocab.unknown_words & set(vocab.yes_no)
    assert not vocab.identifier_words & vocab.stopwords
    assert vocab.field_values["gender"]["m"].keys() == {"Male", "Female"}  # M: two meanings


def test_the_words_the_officers_missed_are_there() -> None:
    vocab = vocabulary()
    for column in ("CPF", "RG", "DNI", "CURP", "NIR", "NIF", "NIE", "Passaporte", "Passport No",
                   "Numéro de sécurité sociale", "Carte d'identité", "Nome completo"):  # fmt: skip
        ws = words(column)
        assert set(ws) & vocab.identifier_words or any(
            tuple(p) == ws[i : i + len(p)] for p in vocab.identifier_phrases
            for i in range(len(ws))), column  # fmt: skip
    for intake in ("data de entrada", "data do atendimento", "fecha de ingreso", "date d'accueil"):
        assert words(intake) in {words(n) for n in vocab.synonyms["year_of_registration"]}
    for word, target in [("Feminino", "Female"), ("Masculino", "Male"), ("Feminina", "Female"),
                         ("Mulher", "Female"), ("Homem", "Male"), ("Femenino", "Female"),
                         ("Mujer", "Female"), ("Hombre", "Male"), ("Femme", "Female"),
                         ("Homme", "Male"), ("F", "Female")]:  # fmt: skip
        assert set(vocab.field_values["gender"][normalize(word)]) == {target}, word
    for word in ("Não informado", "Não sabe", "Sem informação", "Desconocido", "No sabe",
                 "Inconnu", "Non renseigné", "Unknown"):  # fmt: skip
        assert normalize(word) in vocab.unknown_words, word
    assert "N/A" in vocab.missing_tokens
