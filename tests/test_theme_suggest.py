"""plevaluate.comments.suggest: candidate themes recover themes planted in synthetic comments, deterministically,
never offer a redaction placeholder as a word, and say how many comments there are when there are too few."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from plevaluate.comments.suggest import PLACEHOLDER, suggest_themes

#: Each planted theme's own words; every comment also has filler words every theme shares.
VOCABULARY = {
    "time": ["planning", "schedule", "release", "minutes", "calendar", "prep"],
    "coaching": ["coach", "feedback", "modeled", "observed", "debrief", "visits"],
    "materials": ["curriculum", "handouts", "slides", "binder", "resources", "pacing"],
    "technology": ["laptop", "software", "login", "chromebook", "platform", "wifi"],
}
FILLER = ["session", "really", "teachers", "school", "year", "helpful", "need", "better", "day", "training"]
PLACEHOLDERS = ["[name]", "[email]", "[phone]", "[url]", "[term]"]


def planted(rng: np.random.Generator, n: int = 200, placeholder: float = 0.6) -> pd.DataFrame:
    """``n`` comments, each from one planted theme: 3 of its words, 3 filler words and, with probability
    ``placeholder``, a redaction placeholder, shuffled."""
    rows = []
    for i in range(n):
        theme = list(VOCABULARY)[rng.integers(len(VOCABULARY))]
        words = [*rng.choice(VOCABULARY[theme], 3, replace=False), *rng.choice(FILLER, 3)]
        if rng.random() < placeholder:
            words.append(str(rng.choice(PLACEHOLDERS)))
        rng.shuffle(words)
        rows.append((f"r{i:03d}", " ".join(words), theme))
    return pd.DataFrame(rows, columns=["comment_id", "text", "planted"])


def words_of(top_terms: str) -> set[str]:
    return {word for term in top_terms.split("; ") for word in term.split()}


@pytest.mark.parametrize("k", [4, 6])
def test_each_planted_theme_is_found(rng, k):
    comments = planted(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = suggest_themes(comments, k=k, seed=0)
    assert list(out.columns) == ["candidate", "top_terms", "weight", "n", "example_ids", "label"]
    assert out["candidate"].tolist() == list(range(1, k + 1))
    assert out["weight"].is_monotonic_decreasing and out["weight"].sum() <= 1 + 1e-12
    assert out["n"].sum() == len(comments)
    truth = comments.set_index("comment_id")["planted"]
    found = {}
    for theme, vocabulary in VOCABULARY.items():
        # some candidate's top terms hold at least four of the theme's six words, and its examples are the theme's
        best = max(out.itertuples(), key=lambda row: len(words_of(row.top_terms) & set(vocabulary)))
        assert len(words_of(best.top_terms) & set(vocabulary)) >= 4, (theme, out["top_terms"].tolist())
        assert set(truth[best.example_ids.split("; ")]) == {theme}
        found[theme] = best.candidate
    assert len(set(found.values())) == len(VOCABULARY)  # four themes, four different candidates


def test_same_seed_same_suggestions(rng):
    comments = planted(rng)
    pd.testing.assert_frame_equal(suggest_themes(comments, seed=3), suggest_themes(comments, seed=3))
    before = comments.copy()
    suggest_themes(comments)
    pd.testing.assert_frame_equal(comments, before)  # the comments are not modified
    # the order of the comments does not change the candidates
    shuffled = comments.sample(frac=1, random_state=1)
    pd.testing.assert_frame_equal(
        suggest_themes(shuffled, k=4)[["top_terms", "n"]], suggest_themes(comments, k=4)[["top_terms", "n"]]
    )


def test_placeholders_are_never_top_terms(rng):
    # coaching comments all name a person, technology comments a link, a phone and an email: counted as words,
    # "url", "phone" and "email" would be among the technology candidate's strongest words ("name" is one of
    # scikit-learn's English stop words anyway)
    comments = planted(rng, placeholder=0)
    comments.loc[comments["planted"] == "coaching", "text"] += " ask [name] [name]"
    comments.loc[comments["planted"] == "technology", "text"] += " see [url] or call [phone] [ Email ]"
    out = suggest_themes(comments, k=4, top_terms=15)
    words = set().union(*out["top_terms"].map(words_of))
    assert words.isdisjoint({"name", "url", "phone", "email", "term"}), words
    assert not any(PLACEHOLDER.search(ids) for ids in out["example_ids"])
    assert PLACEHOLDER.sub("", "ask [name] or [phone number] at [URL]") == "ask  or  at "


def test_too_few_comments_say_how_many_there_are():
    comments = pd.DataFrame(
        {"comment_id": ["a", "b", "c", "d", "e"], "text": ["More coach visits", "Coach feedback", "", None, "[name]"]}
    )
    with pytest.raises(ValueError, match=r"^2 comments have words \(5 comments, 3 blank or only redaction "
                       r"placeholders\): fewer than the k=6 candidate themes asked for; ask for fewer \(k=2\)"):  # fmt: skip
        suggest_themes(comments)
    only_stop_words = pd.DataFrame({"comment_id": range(8), "text": ["it was the one we had"] * 8})
    with pytest.raises(ValueError, match=r"^the 8 comments have 0 distinct words or phrases between them"):
        suggest_themes(only_stop_words, k=2)


def test_other_column_names_and_missing_columns():
    comments = pd.DataFrame({"id": range(6), "answer": ["coach visits helped", "coach feedback", "planning time"] * 2})
    out = suggest_themes(comments, k=2, text="answer", id_column="id")
    assert out["example_ids"].str.split("; ").explode().isin([str(i) for i in range(6)]).all()
    with pytest.raises(ValueError, match=r"comments have no column 'comment_id', 'text' \(columns: id, answer\)"):
        suggest_themes(comments, k=2)
