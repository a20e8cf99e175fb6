"""Level organization's report sections: the district report's and each school's (the report toolkit,
`plevaluate.report.toolkit`, draws them; `plevaluate.report.level_sections` finds them through the registry)."""

from __future__ import annotations

import pandas as pd

from ... import figures
from ...evaluate import Evaluation
from ...report import comments
from ...report import toolkit as tk
from ...vocabulary import RATING_WORDS


def _school(ev: Evaluation, school_id: str) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(3, question=True))
    missing = tk.no_evidence(ev, 3)
    if missing:
        return out.paragraph(missing, note=True)
    ratings = ev.table(3, "ratings")
    if ratings is not None:
        mine = ratings[ratings["school_id"] == school_id]
        wide = mine.pivot_table(index=["structure", "indicator_id"], columns="term", values="rating").reset_index()
        order = mine.drop_duplicates("term").sort_values("term_order")["term"].tolist()
        wide["structure"] = wide["structure"].str.replace("_", " ")
        wide["indicator_id"] = wide["indicator_id"].str.replace("_", " ")
        columns = {"structure": "Structure", "indicator_id": "Indicator", **{t: t for t in order}}
        out = out.show_html(tk.html_table(wide, columns, numeric=order))
        out = out.paragraph("Ratings: 1 not yet, 2 emerging, 3 developing, 4 deepening.", note=True)
    principals = ev.table(3, "principals")
    if principals is not None and school_id in set(principals["school_id"]):
        row = principals.set_index("school_id").loc[school_id]
        out = out.paragraph(
            f"The principal attended {int(row['sessions_attended'])} of {int(row['n'])} PL sessions "
            f"({row['estimate']:.0%})."
        )
    staff = ev.table(3, "staff_survey")
    if staff is not None:
        rated = ratings is not None and school_id in set(ratings["school_id"])
        if not rated:  # the staff survey is this school's level-3 evidence: say what it shows, in words
            out = _staff_sentence(out, ev, school_id)
        rows = tk.school_vs_district(staff, school_id, "school_id")
        rows = tk.rows_with_display(rows[rows["measure"] == "mean"], "rating", ev.min_n, n="n_people")
        rows = tk.constructs(rows)
        out = out.show_html(
            tk.html_table(
                rows,
                {
                    "where": "",
                    "construct_shown": "Staff survey",
                    "shown_estimate": "Mean (1-5)",
                    "shown_interval": f"{tk.ci_words(ev)} interval",
                    "shown_n": "Respondents",
                },
                numeric=("shown_estimate", "shown_n"),
            )
        )
    return out


def _agree(ev: Evaluation) -> str:
    """The staff survey's "agree" threshold in words, from its table: ``4 (agree)``."""
    staff = ev.table(3, "staff_survey")
    threshold = staff["threshold"].dropna() if staff is not None and "threshold" in staff else pd.Series(dtype=float)
    at = float(threshold.iloc[0]) if len(threshold) else 4.0
    return f"{at:g} (agree)" if at == 4 else f"{at:g}"


def _staff_sentence(out: tk.Section, ev: Evaluation, scope: str) -> tk.Section:
    """Level 3 without conditions ratings: what the staff survey says (the chain's row for ``scope``), and why it
    is not judged against the plan's target."""
    row = ev.chain[(ev.chain["scope"] == scope) & (ev.chain["level"] == 3)]
    if row.empty or row.iloc[0]["status"] != "reported":
        return out
    where = "the district" if scope == "district" else "this school"
    detail = str(row.iloc[0]["status_detail"])
    out = out.paragraph(
        f"No conditions ratings were collected for {where}, so level 3 rests on the staff survey: {detail}. A member "
        f"of staff agrees when the mean of their answers on the support items is {_agree(ev)} or higher. The plan's "
        "level-3 target is a share of schools at a conditions rating, so the staff survey is reported without a "
        "target."
    )
    return out


def _district(ev: Evaluation) -> tk.Section:
    out = tk.Section()
    out = out.heading(tk.level_heading(3))
    missing = tk.no_evidence(ev, 3)
    if missing:
        return out.paragraph(missing, note=True)
    matrix = ev.table(3, "matrix")
    if matrix is not None:
        names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
        out = out.figure(
            figures.conditions_heatmap(matrix[matrix["group"] == "participant"], ev.table(3, "change"), names=names)
        )
    flags = ev.table(3, "flags")
    if flags is not None and flags["flagged"].any():
        flagged = flags[flags["flagged"]].assign(name=lambda f: f["school_id"].map(ev.school_name))
        columns = {"name": "School needing support", "reason": "Why"}
        if len(flagged) <= figures.MANY:
            out = out.show_html(tk.html_table(flagged, columns))
        else:  # many schools: the weakest conditions first, with every flagged school folded below
            weakest = flagged.sort_values(["latest_mean", "name"]).head(figures.MANY)
            out = out.paragraph(
                f"{len(flagged):,} schools need support; the {figures.MANY} with the weakest conditions:"
            )
            out = out.show_html(tk.html_table(weakest, columns))
            out = out.fold(f"Every school needing support ({len(flagged):,} schools)", tk.html_table(flagged, columns))
    if matrix is None and ev.table(3, "staff_survey") is not None:
        out = _district_staff_survey(out, ev)
    principals = ev.table(3, "principals")
    if principals is not None:
        program = set(ev.schools.loc[ev.schools["group"] == "participant", "school_id"])
        p = principals[principals["school_id"].isin(program)]  # comparison schools are offered no sessions
        p = p.assign(name=p["school_id"].map(ev.school_name), shown=[f"{v:.0%}" for v in p["estimate"]])
        columns = {"name": "School", "shown": "Principal's share of PL sessions attended"}
        table = tk.html_table(p, columns, numeric=("shown",))
        if len(p) <= figures.MANY:
            out = out.show_html(table)
            return out
        # many schools: the principals to reach first, with every school's row folded below
        low = p[p["estimate"] < 0.5].sort_values(["estimate", "name"])
        out = out.paragraph(
            f"Principals of the {len(p):,} program schools attended a median {p['estimate'].median():.0%} of the "
            f"PL sessions (from {p['estimate'].min():.0%} to {p['estimate'].max():.0%}); "
            + (
                f"{len(low):,} attended fewer than half, the lowest first:"
                if len(low)
                else "none attended fewer than half."
            )
        )
        if len(low):
            out = out.show_html(tk.html_table(low.head(figures.MANY), columns, numeric=("shown",)))
        out = out.fold(f"Every program school's principal participation ({len(p):,} schools)", table)
    return out


def _district_staff_survey(out: tk.Section, ev: Evaluation) -> tk.Section:
    """The staff survey on support, district and by school: the share of staff who agree and their mean answer."""
    out = _staff_sentence(out, ev, "district")
    staff = ev.table(3, "staff_survey")
    program = set(ev.schools.loc[ev.schools["group"] == "participant", "school_id"])
    staff = staff[(staff["breakdown"] == "district") | staff["school_id"].isin(program)]
    keys = ["breakdown", "school_id", "construct"]
    share = tk.rows_with_display(staff[staff["measure"] == "share_at_least"], "share", ev.min_n, n="n_people")
    mean = tk.rows_with_display(staff[staff["measure"] == "mean"], "rating", ev.min_n)
    mean = mean[keys + ["shown_estimate", "shown_interval"]].rename(
        columns={"shown_estimate": "mean_shown", "shown_interval": "mean_interval"}
    )
    rows = tk.constructs(share.merge(mean, on=keys, how="left"))
    rows["where"] = [
        "District" if b == "district" else ev.school_name(s) for b, s in zip(rows["breakdown"], rows["school_id"])
    ]
    columns = {
        "where": "",
        "construct_shown": "Staff survey",
        "shown_estimate": f"Agree (mean {_agree(ev).split()[0]} or higher)",
        "shown_interval": f"{tk.ci_words(ev)} interval",
        "mean_shown": "Mean answer (1-5)",
        "mean_interval": f"{tk.ci_words(ev)} interval of the mean",
        "shown_n": "Respondents",
    }
    numeric = ("shown_estimate", "mean_shown", "shown_n")
    schools = rows["breakdown"] != "district"
    if schools.sum() <= figures.MANY:
        out = out.show_html(tk.html_table(rows, columns, numeric=numeric))
    else:  # many schools: the district, with every school's row folded below
        out = out.show_html(tk.html_table(rows[~schools], columns, numeric=numeric))
        out = out.fold(
            f"Every program school's staff survey ({int(schools.sum()):,} schools)",
            tk.html_table(rows[schools], columns, numeric=numeric),
        )
    out = out.coded_note(rows, ev.min_n)
    return out


def next_steps(ev: Evaluation, school_id: str) -> list[str]:
    """What this school should do next about level 3: its lowest-rated conditions indicators (at most two) and
    its principal's participation when under three quarters of the sessions (the school report's first section)."""
    steps = []
    change = ev.table(3, "change")
    if change is not None:
        mine = change[change["school_id"] == school_id].sort_values(["latest_rating", "change"])
        for row in mine.head(2).itertuples():
            if row.latest_rating < 4:
                label = RATING_WORDS.get(int(row.latest_rating), "")
                steps.append(
                    f"Strengthen {str(row.indicator_id).replace('_', ' ')} ({str(row.structure).replace('_', ' ')}): "
                    f"rated {row.latest_rating:g} ({label}) in {row.latest_term}, "
                    f"{'up' if row.change > 0 else 'down' if row.change < 0 else 'no change'} from {row.first_term}."
                )
    principals = ev.table(3, "principals")
    if principals is not None and school_id in set(principals["school_id"]):
        share = principals.set_index("school_id").loc[school_id, "estimate"]
        if share < 0.75:
            steps.append(
                f"The principal attended {share:.0%} of the PL sessions: research on professional learning finds "
                "principals' participation and support among its strongest levers."
            )
    return steps


def board(ev: Evaluation) -> tk.Section:
    """The board summary's slide about level 3: each program school's conditions over the terms."""
    out = tk.Section()
    names = dict(zip(ev.schools["school_id"], ev.schools["school_name"]))
    out = out.heading("Conditions for using it, school by school")
    if ev.table(3, "matrix") is not None:
        matrix = ev.table(3, "matrix")
        participants = matrix[matrix["group"] == "participant"]
        out = out.figure(
            figures.conditions_heatmap(participants, ev.table(3, "change"), names=names, elsewhere=tk.EVERY_SCHOOL)
        )
    line = comments.board_line(ev)
    if line:
        out = out.paragraph(line)
    return out


def school(ev: Evaluation, school_id: str) -> tk.Section:
    """The level's school section, then what its open-ended answers say (`plevaluate.report.comments`)."""
    return _school(ev, school_id).add(comments.school(ev, 3, school_id))


def district(ev: Evaluation) -> tk.Section:
    """The level's district section, then what its open-ended answers say (`plevaluate.report.comments`)."""
    return _district(ev).add(comments.district(ev, 3))


def technical(ev: Evaluation) -> tk.Section:
    """The level's technical section: how its open-ended answers were coded (the rest of level 3's method is in
    the appendix's general sections)."""
    return comments.technical(ev, 3)
