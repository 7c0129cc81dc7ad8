"""The sample's tokens for "not recorded", for the scaffold's ``missing:`` list.

``missing:`` applies to every column and matches the trimmed text exactly, so
it gets each spelling found, with its rows. Two kinds of token:

- codes (``N/D``, ``-99``, ``?``), looked for in every column, as ever;
- words for unknown (``Não informado``, ``Desconocido``, ``Inconnu``), case
  and accents aside, looked for in the columns that are not identifiers. They
  go to ``missing:`` rather than to one column's ``values:``, because an
  export that writes one in its gender column writes it in its nationality
  column too, and it means "not recorded" in both. Except where a
  multi-value column (or a column not placed yet, which may become one) holds
  the word: there it may be a label with a meaning of its own (``Desconocido``
  in a recruiter column is the flag ``recruiter_unknown``), and a ``missing:``
  token would turn it into "not recorded" (the mapping loader refuses the
  pair). Such a word stays out of ``missing:``; the single-value columns that
  hold it get a ``null`` entry instead (:mod:`ctdc.onboard.values`).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from ctdc.mapping.spec import normalize
from ctdc.onboard.plan import ColumnPlan
from ctdc.onboard.vocabulary import vocabulary

#: columns whose values may be labels with a meaning, not "not recorded"
_LABELS = ("multi", "unplaced")
#: columns whose values are never looked at for words
_IDENTIFYING = ("drop", "birth_date")


def missing_tokens(
    frame: pd.DataFrame, plans: dict[str, ColumnPlan]
) -> tuple[Counter[str], dict[str, str]]:
    """(token -> rows, token -> why when it is a word) of the tokens found in ``frame``,
    given where each column was placed by its name."""
    vocab = vocabulary()
    found: Counter[str] = Counter()
    words: Counter[str] = Counter()
    held: set[str] = set()  # normalized words that a label column holds
    for c in frame.columns:
        distinct = frame[c].fillna("").astype(str).str.strip().value_counts()
        hits = distinct[distinct.index.isin(vocab.missing_tokens)]
        found.update({str(k): int(v) for k, v in hits.items()})
        if plans[str(c)].kind in _IDENTIFYING:
            continue
        keys = distinct.index.map(normalize)
        unknown = distinct[keys.isin(list(vocab.unknown_words))]
        if plans[str(c)].kind in _LABELS:
            held |= {normalize(v) for v in unknown.index}
        else:
            words.update({str(k): int(v) for k, v in unknown.items()})
    kept = {w: n for w, n in words.items() if normalize(w) not in held}
    found.update(kept)
    return found, dict.fromkeys(kept, "a word for unknown")
