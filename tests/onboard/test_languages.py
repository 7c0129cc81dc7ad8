"""``mapping init`` on exports in Portuguese, Spanish and French, checked through ``validate``.

Each export has its country's national ids, a name, a birth date, an intake
date, a sex column in the language's words with a word for unknown, and
nationalities as country names in that language. The scaffold must drop the
identifiers, map both dates, translate the sex values, list the unknown word
under ``missing:`` with its rows, and pin the nationality language; then
``ctdc validate`` (in-process, nothing written) must stage every row.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import run_ctdc
from ctdc.onboard import build_scaffold
from ctdc.schema import Schema

#: language -> (identifier columns, birth date, intake date, sex column, nationality column,
#:              sex value -> schema value (None: the unknown word), nationalities, language)
EXPORTS = {
    "pt": (["CPF", "RG", "Nome completo", "Nome da mãe"], "Data de nascimento",
           "Data de entrada", "Sexo", "Nacionalidade",
           {"Feminino": "Female", "Masculino": "Male", "Não informado": None},
           ["Brasil", "Paraguai", "Bolívia", "Haiti"], "pt"),
    "es": (["DNI", "CURP", "Nombre", "Apellidos"], "Fecha de nacimiento", "Fecha de ingreso",
           "Sexo", "Nacionalidad", {"Mujer": "Female", "Hombre": "Male", "Desconocido": None},
           ["México", "España", "Honduras", "Perú"], "es"),
    "fr": (["NIR", "Numéro de sécurité sociale", "Nom", "Prénom"], "Date de naissance",
           "Date d'accueil", "Sexe", "Nationalité",
           {"Femme": "Female", "Homme": "Male", "Inconnu": None},
           ["Nigéria", "Roumanie", "Albanie", "Chine"], "fr"),
}  # fmt: skip
ROWS = 12


def write_export(path: Path, lang: str) -> None:
    ids, birth, intake, sex, nat, sexes, countries, _ = EXPORTS[lang]
    values = list(sexes)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["Código", *ids, birth, intake, sex, nat])
        for i in range(ROWS):
            out.writerow([f"K-{i:03d}", *(f"{c[:3]}-{i:09d}" for c in ids),
                          f"{1 + i % 28:02d}/0{1 + i % 9}/19{80 + i}",
                          f"{1 + i % 28:02d}/{1 + i % 12:02d}/2023",
                          values[i % len(values)], countries[i % len(countries)]])  # fmt: skip


@pytest.mark.parametrize("lang", sorted(EXPORTS))
def test_identifiers_dates_sex_and_unknown_in_each_language(
    tmp_path: Path, schema: Schema, lang: str
) -> None:
    ids, birth, intake, sex, nat, sexes, _, language = EXPORTS[lang]
    export = tmp_path / f"export-{lang}.csv"
    write_export(export, lang)
    s = build_scaffold(export, f"org-{lang}", schema)
    plans = {c.column: c for c in s.columns}
    assert set(s.by_kind("drop")) == set(ids)
    assert plans[birth].kind == "birth_date" and plans[birth].extra["birth_date_format"] == (
        "%d/%m/%Y")  # fmt: skip
    assert (plans[intake].kind, plans[intake].target) == ("field", "year_of_registration")
    assert plans[intake].extra["date_format"] == "%d/%m/%Y"
    assert plans[nat].extra == {"country": "name", "language": language}
    entries = {v.value: v.target for v in plans[sex].values if v.status == "entry"}
    [unknown] = [v for v, target in sexes.items() if target is None]
    assert entries == {v: t for v, t in sexes.items() if t is not None}
    assert dict(s.missing)[unknown] == sum(1 for i in range(ROWS) if i % 3 == 2)
    assert not s.todo_values and not s.unplaced, (s.todo_values, s.unplaced)

    # the draft, as written, validates every row (nothing to fill in for this export)
    result = run_ctdc(tmp_path, "mapping", "init", "--org", f"org-{lang}", export.name)
    assert result.exit_code == 0, result.output
    result = run_ctdc(tmp_path, "validate", "--org", f"org-{lang}", export.name, "--json")
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    assert (summary["rows_read"], summary["staged"], summary["quarantined"]) == (ROWS, ROWS, 0)


def test_m_is_resolved_by_the_column_s_other_values(tmp_path: Path, schema: Schema) -> None:
    """M is Masculino beside F, Mujer (or Mulher) beside H, and a TODO beside neither."""
    cases = {("F", "M"): {"F": "Female", "M": "Male"},
             ("H", "M"): {"H": "Male", "M": "Female"},
             ("M", "X"): {}}  # fmt: skip
    for values, expected in cases.items():
        path = tmp_path / "m.csv"
        rows = [f"C{i},2023-01-0{1 + i},{values[i % 2]}" for i in range(4)]
        path.write_text("case_id,registration_date,sexo\n" + "\n".join(rows) + "\n", "utf-8")
        s = build_scaffold(path, "m-org", schema)
        [plan] = [c for c in s.columns if c.column == "sexo"]
        assert {v.value: v.target for v in plan.values if v.status == "entry"} == expected
        if not expected:
            [m] = [v for v in plan.values if v.value == "M"]
            assert m.status == "todo" and "Male" in m.why and "Female" in m.why
            assert "      # M: TODO" in s.text  # never a guessed entry
