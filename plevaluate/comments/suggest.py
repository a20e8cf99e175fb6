"""Candidate themes in open-ended comments, for a person to read and name: suggestions, never codes.

Comments are weighted words (TF-IDF of single words and two-word phrases, English stop words left out) and a
non-negative matrix factorization finds ``k`` groups of words that tend to occur together. Each group comes with
its strongest words and the comments that lean on it most, so that an evaluator can read them, decide whether it
is a theme, name it and write its codebook rules (`plevaluate.comments.codebook`). Nothing here codes a comment.
Redaction placeholders (``[name]``, ``[email]``, ...) are removed before the words are counted, so they are
never offered as a theme's words.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

__all__ = ["PLACEHOLDER", "suggest_themes"]

#: A redaction placeholder: a word or two in square brackets, e.g. ``[name]``, ``[email]``, ``[phone number]``.
PLACEHOLDER = re.compile(r"\[\s*[A-Za-z][\w -]{0,30}\]")


def suggest_themes(
    comments: pd.DataFrame,
    *,
    k: int = 6,
    seed: int = 0,
    top_terms: int = 8,
    examples: int = 3,
    text: str = "text",
    id_column: str = "comment_id",
) -> pd.DataFrame:
    """Suggest ``k`` candidate themes in comments: their strongest words and the comments that show them best.

    Parameters
    ----------
    comments : DataFrame
        One row per comment, with its id and its (redacted) text.
    k : int, default 6
        How many candidates to suggest (components of the factorization).
    seed : int, default 0
        Seeds the factorization's initialization: the same comments and seed give the same suggestions.
    top_terms : int, default 8
        Words or two-word phrases listed per candidate.
    examples : int, default 3
        Comment ids listed per candidate.
    text, id_column : str
        The columns holding the comment's text and its id.

    Returns
    -------
    DataFrame
        One row per candidate, the most common first:

        - ``candidate``: 1 to ``k``.
        - ``top_terms``: its strongest words and phrases, strongest first, joined by ``"; "``.
        - ``weight``: the share of the comments with words whose strongest candidate it is.
        - ``n``: how many comments that is.
        - ``example_ids``: the ids of the comments that weigh most on it, joined by ``"; "``.
        - ``label``: ``"suggestion <candidate>: not a theme until a person names it"``.

    Raises
    ------
    ValueError
        When a column is missing, when ``k`` is below 1, when fewer than ``k`` comments have words (the message
        says how many there are), or when the comments have fewer than ``k`` distinct words between them.

    Notes
    -----
    Not a Guskey level: an aid to writing the codebook of the levels that collect comments. Placeholders matching
    `PLACEHOLDER` are removed first. Words are weighted by scikit-learn's `TfidfVectorizer` (English stop words,
    single words and pairs, kept when in 2 comments or more unless that leaves fewer than ``k`` words, then kept
    all); the factorization is scikit-learn's `NMF` with ``init="nndsvda"`` (Boutsidis & Gallopoulos 2008).
    The weights of comments on candidates are not codes: a candidate's comments are examples to read.

    References
    ----------
    Lee, D. D., & Seung, H. S. (1999). Learning the parts of objects by non-negative matrix factorization.
    Nature, 401, 788-791.
    Boutsidis, C., & Gallopoulos, E. (2008). SVD based initialization: A head start for nonnegative matrix
    factorization. Pattern Recognition, 41(4), 1350-1362.

    Examples
    --------
    >>> notes = pd.DataFrame({"comment_id": [f"c{i}" for i in range(1, 9)], "text": [
    ...     "No planning time with my team", "We need planning time together", "Planning time was cut again",
    ...     "More planning time please, ask [name]", "My coach modeled the lesson", "The coach visits helped",
    ...     "Coach feedback was useful", "Coach observed and gave feedback"]})
    >>> out = suggest_themes(notes, k=2, top_terms=2)
    >>> out[["candidate", "top_terms", "weight", "example_ids"]]
       candidate                top_terms  weight example_ids
    0          1  planning; planning time     0.5  c1; c2; c3
    1          2          coach; feedback     0.5  c5; c6; c7
    >>> out.loc[0, "label"]
    'suggestion 1: not a theme until a person names it'
    """
    missing = [c for c in (id_column, text) if c not in comments.columns]
    if missing:
        raise ValueError(
            f"comments have no column {', '.join(map(repr, missing))} (columns: {', '.join(map(str, comments.columns))}); "
            f"name the id and text columns with id_column= and text="
        )
    if k < 1:
        raise ValueError(f"k={k}: suggest at least one candidate theme")
    cleaned = comments[text].fillna("").astype(str).str.replace(PLACEHOLDER, " ", regex=True).str.strip()
    keep = cleaned.str.contains(r"\w", regex=True).to_numpy()
    texts, ids = cleaned[keep].tolist(), comments.loc[keep, id_column].tolist()
    if len(texts) < k:
        blank = len(comments) - len(texts)
        raise ValueError(
            f"{len(texts)} comments have words ({len(comments)} comments, {blank} blank or only redaction "
            f"placeholders): fewer than the k={k} candidate themes asked for; ask for fewer (k={max(len(texts), 1)}) "
            "or collect more comments"
        )
    from sklearn.decomposition import NMF  # scikit-learn (a third of a second to import) only when themes are asked
    from sklearn.exceptions import ConvergenceWarning

    matrix, terms = _weighted_words(texts, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=1000)
        loadings = model.fit_transform(matrix)
    strongest = np.where(loadings.max(axis=1) > 0, loadings.argmax(axis=1), -1)
    counts = np.array([(strongest == j).sum() for j in range(k)])
    rows = []
    for j in range(k):
        words = model.components_[j]
        best = [i for i in _ranked(words)[:top_terms] if words[i] > 0]
        near = [i for i in _ranked(loadings[:, j])[:examples] if loadings[i, j] > 0]
        rows.append(
            {
                "top_terms": "; ".join(terms[i] for i in best),
                "weight": counts[j] / len(texts),
                "n": int(counts[j]),
                "example_ids": "; ".join(str(ids[i]) for i in near),
            }
        )
    out = pd.DataFrame(rows).iloc[np.argsort(-counts, kind="stable")].reset_index(drop=True)
    out.insert(0, "candidate", np.arange(1, k + 1))
    return out.assign(label=[f"suggestion {c}: not a theme until a person names it" for c in out["candidate"]])


def _ranked(weights: np.ndarray) -> np.ndarray:
    """Positions from the heaviest weight down; weights equal to 9 significant digits keep their order (the first
    comment or term first). Comments with the same words get weights that differ in the last bit, and which bit
    differs changes with the BLAS library: ranking the raw weights gave different examples on different machines.

    >>> _ranked(np.array([0.4831026189365137, 0.48310261893651374, 0.2])).tolist()
    [0, 1, 2]
    """
    top = float(np.max(weights)) if len(weights) else 0.0
    scaled = weights / top if top > 0 else weights
    return np.argsort(-np.round(scaled, 9), kind="stable")


def _weighted_words(texts: list[str], k: int) -> tuple[object, list[str]]:
    """TF-IDF of ``texts`` (English stop words out, words and pairs), keeping terms of 2 comments or more when
    that leaves at least ``k`` of them, else every term; a ValueError when there are fewer than ``k`` terms."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    found = 0
    for min_df in (2, 1):
        vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=min_df)
        try:
            matrix = vectorizer.fit_transform(texts)
        except ValueError:  # an empty vocabulary: only stop words, or no term in two comments
            continue
        terms = vectorizer.get_feature_names_out().tolist()
        found = max(found, len(terms))
        if len(terms) >= k:
            return matrix, terms
    raise ValueError(
        f"the {len(texts)} comments have {found} distinct words or phrases between them once common English words "
        f"are left out: fewer than the k={k} candidate themes asked for; ask for fewer or collect more comments"
    )
