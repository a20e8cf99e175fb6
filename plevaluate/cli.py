"""The ``plevaluate`` command.

``plevaluate validate DIR``  check a district's data folder and print a per-table summary.
``plevaluate sample OUT``    write the synthetic sample district to OUT.
``plevaluate design DIR``    before the program starts: can the planned evidence detect each level's target?
``plevaluate themes DIR [--suggest]``  the open-ended answers' themes and coders' agreement; candidate themes.
``plevaluate portfolio DIR --out OUT``  a leadership report across the programs in DIR (one data folder each).
``plevaluate init DIR``      write a starter data folder (plan, empty tables, item bank, walkthrough form).
``plevaluate logic-model DATA --out DIR``  the program's logic model alone (HTML and PDF); plan.yml alone is enough.
``plevaluate import SOURCE FILE --into DIR``  append a survey export or spreadsheet to a data folder.
``plevaluate report DATA --out DIR [--schools S01,S02] [--workers N] [--format html,pdf,slides,ipynb,xlsx,pptx,docx] [--pptx-template FILE] [--docx-template FILE]
[--scheduler ADDRESS|local]``  validate, evaluate once, render every report (district, board, appendix, schools),
                             here or on a Dask cluster.

Bad data never ends in a Python traceback: the command prints every problem and exits with 1.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from collections.abc import Sequence

import pandas as pd

from . import __version__, registry
from ._outputs import neutralize
from .audit import audit
from .comments.agreement import disagreements
from .comments.codebook import CODEBOOK
from .comments.suggest import suggest_themes
from .contract import load
from .design import check_design
from .errors import ContractError, ContractWarning, OutputError
from .gates import Inputs, check_target_file, fresh_folder, os_problem, write_file
from .intake import HELP, SOURCES, import_export, import_history, read_secret, undo_import
from .render import render, render_logic_model, render_portfolio
from .sample import write_sample
from .sample_years import write_sample_years
from .starter import write_starter
from .years import evaluate_for_reports

__all__ = ["main"]


def _summary_text(district) -> str:
    table = district.summary()
    lines = [
        f"{district.plan.program} ({district.plan.school_year}): {len(district.schools)} schools "
        f"({int(district.schools['group'].eq('participant').sum())} participant, "
        f"{int(district.schools['group'].eq('comparison').sum())} comparison), {len(district.educators)} educators; "
        f"min_n {district.plan.min_n}.",
        "",
    ]
    shown = pd.DataFrame(
        {
            "table": table["table"],
            "level": table["level"],
            "rows": table["rows"].map("{:,}".format),
            "schools": table["schools"].map(lambda n: f"{n}" if n else ""),
            "dates": [
                f"{a:%Y-%m-%d} to {b:%Y-%m-%d}" if pd.notna(a) else ""
                for a, b in zip(table["first_date"], table["last_date"])
            ],
            "warnings": table["warnings"].map(lambda n: f"{n}" if n else ""),
            "status": table["status"],
        }
    )
    lines.append(shown.to_string(index=False))
    if district.notes:
        lines += ["", f"{len(district.notes)} warning(s):"] + [f"  - {note}" for note in district.notes]
    return "\n".join(lines)


def _validate(args: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)  # they are printed in the summary instead
        district = load(args.data)
    print(_summary_text(district))
    print(f"\nOK: {args.data} meets the data contract.")
    return 0


def _data_and_csv(args: argparse.Namespace):
    """The data folder, loaded, and the --csv file it may write, refused before any work when it points into, over
    or through an input (the write gate); None without --csv."""
    target = None
    if args.csv is not None:
        target = check_target_file(args.csv, Inputs.of(args.data), flag="--csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)
        district = load(args.data)
    return district, target


def _write_csv(target, frame: pd.DataFrame) -> None:
    """A table a command was asked for, as CSV, its text neutralized against formulas (as the results' CSVs)."""
    write_file(target, neutralize(frame).to_csv(index=False, lineterminator="\n"))
    print(f"\nWrote {target}")


def _design(args: argparse.Namespace) -> int:
    district, target = _data_and_csv(args)
    check = check_design(district, registry.levels())
    print(check.to_text())
    if target is not None:
        _write_csv(target, check.levels)
    return 0


def _themes(args: argparse.Namespace) -> int:
    """The comments' themes as the reports publish them (suppressed below min_n), the coders' agreement and what
    they disagreed on; with --suggest, candidate themes for a person to name (never written into the codebook)."""
    if args.suggest and args.k < 1:
        raise ValueError(f"--k {args.k}: ask for at least one candidate theme (e.g. --k 6)")
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: give a whole number from 0")
    district, target = _data_and_csv(args)
    comments = district.tables.get("comments")
    if comments is None or comments.empty:
        raise ValueError(f"{args.data} has no comments.csv: import a survey export with open-ended questions first")
    levels = sorted({int(v) for v in comments["level"].astype(str)})
    written = None
    if args.suggest:  # level by level: a session's comments and a staff survey's answer different questions
        found = []
        for level in levels:
            mine = comments[comments["level"].astype(str) == str(level)]
            try:
                candidates = suggest_themes(mine, k=args.k, seed=args.seed).assign(level=level)
            except ValueError as error:
                print(f"Level {level}: {error}")
                continue
            print(f"Level {level}: candidate themes in {len(mine):,} comments (suggestions for a person to name; "
                  f"{CODEBOOK} is not changed):")  # fmt: skip
            for row in candidates.itertuples():
                print(f"  {row.candidate}. {row.top_terms}  ({row.weight:.0%} of comments; e.g. {row.example_ids})")
            found.append(candidates)
        if not found:
            raise ValueError(f"no level has enough comments for {args.k} candidate themes; ask for fewer with --k")
        written = pd.concat(found, ignore_index=True)
    else:
        if district.codebook is None:
            raise ValueError(f"{args.data} has no {CODEBOOK}: write one (see the docs), or run with --suggest first")
        with warnings.catch_warnings():  # the published evaluation: what the reports show, suppressed below min_n
            warnings.simplefilter("ignore")
            ev = evaluate_for_reports(district)
        out = []
        for level in levels:
            result = ev.levels.get(level)
            themes = result.tables.get("themes") if result is not None else None
            if themes is None or themes.empty:
                continue
            whole = themes[themes["breakdown"] == "district"]
            if whole["estimate"].isna().all():
                print(f"Level {level}: fewer than {ev.min_n} people commented: not shown")
                continue
            print(f"Level {level}: {int(whole['n'].iloc[0]):,} comments from {int(whole['n_people'].iloc[0]):,} people")
            for row in whole.sort_values("estimate", ascending=False, kind="stable").itertuples():
                print(f"  {row.theme_name}: {row.estimate:.0%} of commenters ({row.ci_low:.0%} to {row.ci_high:.0%})")
            agreement = result.tables.get("coding_agreement")
            if agreement is not None and agreement["estimate"].notna().any():
                overall = agreement[agreement["theme"] == "all themes"].iloc[0]
                coders = sorted(set(district.comment_codes["coder"].astype(str)))
                print(f"  coders {', '.join(coders)}: Krippendorff's alpha {overall.estimate:.2f} "
                      f"({overall.ci_low:.2f} to {overall.ci_high:.2f}) on {int(overall.n):,} comments")  # fmt: skip
            out.append(themes)
        codes = district.tables.get("comment_codes")
        if codes is not None and codes["coder"].nunique() >= 2:
            differ = disagreements(codes, district.codebook.ids)  # comment IDs and themes: what to reconcile
            print(
                f"{len(differ):,} disagreements to reconcile (comment, theme)"
                + (" (written with --csv)" if target else "")
            )
            written = differ
        elif out:
            written = pd.concat(out, ignore_index=True)
    if target is not None and written is not None:
        _write_csv(target, written)
    return 0


def _sample(args: argparse.Namespace) -> int:
    if args.years < 1:
        raise ValueError(f"--years {args.years}: a sample covers at least 1 school year")
    if args.schools is not None and args.schools < 1:
        raise ValueError(f"--schools {args.schools}: a sample needs schools; give a number such as 12")
    if args.cohorts != 1 and args.years < 2:
        raise ValueError("--cohorts needs --years 2 or more: in one school year every school starts together")
    fresh_folder(args.out, flag="sample")  # like init: never over a user's own files
    if args.years > 1:
        schools = args.schools or 18
        out = write_sample_years(args.out, n_schools=schools, seed=args.seed, years=args.years, cohorts=args.cohorts)
        print(
            f"Wrote a synthetic district of {schools} schools followed for {args.years} school years, joining in "
            f"{args.cohorts} cohort(s) (seed {args.seed}), to {out}."
        )
        return 0

    schools = args.schools or 12
    out = write_sample(args.out, n_schools=schools, seed=args.seed)
    print(f"Wrote a synthetic district of {schools} schools (seed {args.seed}) to {out}.")
    return 0


def _count(text: str) -> int:
    """``--workers``: a whole number of 1 or more (0 and -1 were quietly run as 1: a hostile review)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of workers, 1 or more, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1 worker, not {value}")
    return value


def _formats(text: str) -> list[str]:
    formats = [f.strip() for f in text.split(",") if f.strip()]
    if not formats:
        raise ValueError(
            f"--format {text!r} names no format: give one or more of html, pdf, slides, ipynb, xlsx, pptx, docx"
        )
    return formats


def _report(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    formats = _formats(args.format)
    schools = [s.strip() for s in args.schools.split(",") if s.strip()] if args.schools else None
    bar = tqdm(desc="reports", unit="report", file=sys.stderr, disable=args.quiet)

    def total(n: int) -> None:
        bar.total = n
        bar.refresh()

    try:
        with _above(bar, dask=args.scheduler is not None):
            summary = render(
                args.data,
                args.out,
                schools=schools,
                workers=args.workers,
                formats=formats,
                progress=bar.update,
                total=total,
                notebooks=args.notebooks or None,
                scheduler=args.scheduler,  # given empty ('$UNSET'): refused, not quietly a run here (a review)
                pptx_template=args.pptx_template or None,
                docx_template=args.docx_template or None,
            )
    finally:
        bar.close()
    for note in summary.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    print(f"{len(summary.written)} files in {summary.out} ({summary.seconds:.1f} s); open {summary.out / 'index.html'}")
    if summary.failures:
        print(f"{len(summary.failures)} report(s) failed and were not published:", file=sys.stderr)
        for failure in summary.failures:
            print(f"  - {failure}", file=sys.stderr)
    if summary.findings:
        print(
            f"privacy audit: {len(summary.findings)} finding(s) in {summary.out}; do not share these outputs:",
            file=sys.stderr,
        )
        for finding in summary.findings:
            print(f"  - {finding}", file=sys.stderr)
    return 1 if summary.failures or summary.findings else 0


def _above(bar, *, dask: bool):
    """While the progress ``bar`` is drawn, log records (Dask's own: "Failed to reconnect to scheduler", written into
    the bar's line by a hostile review's frozen scheduler) are written above it, as tqdm writes, not through it."""
    if bar.disable:
        return contextlib.nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    loggers = [logging.root]
    if dask:
        try:  # its handlers are set up as it is imported: redirected once they exist
            import distributed  # noqa: F401
        except ImportError:  # refused, with the fix, as the run connects
            pass
        else:
            loggers.append(logging.getLogger("distributed"))
    return logging_redirect_tqdm(loggers=loggers, tqdm_class=type(bar))


def _portfolio(args: argparse.Namespace) -> int:

    formats = _formats(args.format)
    summary = render_portfolio(args.dir, args.out, workers=args.workers, formats=formats)
    for note in summary.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    print(f"{len(summary.written)} files in {summary.out} ({summary.seconds:.1f} s); open {summary.out / 'index.html'}")
    for failure in summary.failures:
        print(f"  - failed: {failure}", file=sys.stderr)
    for finding in summary.findings:
        print(f"  - privacy audit: {finding}", file=sys.stderr)
    return 1 if summary.failures or summary.findings else 0


def _logic_model(args: argparse.Namespace) -> int:

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    summary = render_logic_model(args.data, args.out, formats=formats)
    for note in summary.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    for failure in summary.failures:
        print(f"  - failed: {failure}", file=sys.stderr)
    for finding in summary.findings:
        print(f"  - privacy audit: {finding}", file=sys.stderr)
    if summary.written:
        print(f"Wrote {', '.join(p.name for p in summary.written)} to {summary.out} ({summary.seconds:.1f} s)")
    return 1 if summary.failures or summary.findings else 0


def _import(args: argparse.Namespace) -> int:

    if args.help_mapping:
        print(HELP)
        return 0
    if args.into is None:
        print("plevaluate import: give the data folder: --into DATA_DIR", file=sys.stderr)
        return 2
    if args.list or args.undo is not None:
        if args.source is not None:
            print("plevaluate import: --list and --undo take no export, only --into DATA_DIR", file=sys.stderr)
            return 2
        print(import_history(args.into) if args.list else undo_import(args.into, args.undo))
        return 0
    if args.source not in SOURCES or args.file is None:
        print(
            f"plevaluate import: give the export's source ({', '.join(SOURCES)}) and file, e.g. "
            "plevaluate import google responses.csv --into DATA_DIR --session S01",
            file=sys.stderr,
        )
        return 2
    secret = read_secret(args.secret_file, args.into) if args.secret_file else None
    summary = import_export(
        args.source,
        args.file,
        args.into,
        session=args.session,
        mapping=args.mapping,
        secret=secret,
        anonymous=args.anonymous,
        staff_survey=args.staff_survey,
        date=args.date,
        dry_run=args.dry_run,
    )
    print(summary)
    return 0


def _init(args: argparse.Namespace) -> int:

    fresh_folder(args.dir, flag="init")
    written = write_starter(args.dir)
    print(f"Wrote a starter data folder to {args.dir} ({len(written)} files). Next: fill in schools.csv and ")
    print("educators.csv, set the plan in plan.yml, then check it with: plevaluate validate " + str(args.dir))
    return 0


def _audit(args: argparse.Namespace) -> int:

    findings = audit(args.out, args.data, min_n=args.min_n, workers=max(1, args.workers))
    for finding in findings:
        print(f"  - {finding}", file=sys.stderr)
    if findings:
        print(f"privacy audit: {len(findings)} finding(s) in {args.out}; do not share these outputs", file=sys.stderr)
        return 1
    print(f"privacy audit: nothing found in {args.out} (IDs, names, e-mail addresses, counts below min_n)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plevaluate", description="Evaluate professional learning with Guskey's five levels."
    )
    parser.add_argument("--version", action="version", version=f"plevaluate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a data folder against the data contract")
    validate.add_argument("data", help="folder with the CSV tables and plan.yml")
    validate.set_defaults(run=_validate)
    design = commands.add_parser(
        "design", help="before the program starts: can the planned evidence detect each level's target?"
    )
    design.add_argument("data", help="folder with plan.yml and the rosters (schools, educators, students)")
    design.add_argument("--csv", default=None, help="also write the check, one row per level, to this CSV file")
    design.set_defaults(run=_design)
    themes = commands.add_parser(
        "themes", help="the themes of the open-ended answers, coders' agreement, or --suggest candidate themes"
    )
    themes.add_argument("data", help="folder with comments.csv, codebook.yml and plan.yml (read only)")
    themes.add_argument("--suggest", action="store_true", help="propose candidate themes (TF-IDF and NMF) to name")
    themes.add_argument("--k", type=int, default=6, help="how many candidate themes --suggest proposes (default 6)")
    themes.add_argument("--seed", type=int, default=0, help="seed of --suggest's factorisation (default 0)")
    themes.add_argument(
        "--csv", default=None, help="also write the suggestions, the disagreements or the themes to this CSV file"
    )
    themes.set_defaults(run=_themes)
    sample = commands.add_parser("sample", help="write the synthetic sample district")
    sample.add_argument("out", help="folder to write")
    sample.add_argument(
        "--schools", type=int, default=None, help="number of schools (default 12; 18 for a multi-year sample)"
    )
    sample.add_argument(
        "--years", type=int, default=1, help="school years the program has run, ending in 2025-26 (default 1)"
    )
    sample.add_argument(
        "--cohorts", type=int, default=1, help="waves in which participant schools join, one a year (default 1)"
    )
    sample.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    sample.set_defaults(run=_sample)
    report = commands.add_parser("report", help="render every report (district, board, appendix, each school)")
    report.add_argument("data", help="folder with the CSV tables and plan.yml (never written to)")
    report.add_argument("--out", required=True, help="folder for the reports (created; outputs replaced atomically)")
    report.add_argument("--schools", default="", help="comma-separated school_ids (default: every school)")
    report.add_argument(
        "--workers",
        type=_count,
        default=2,
        help="parallel notebook kernels (default 2); a program over several school years also evaluates its years "
        "in this many processes, and the privacy audit reads the PDFs in this many",
    )
    report.add_argument(
        "--format",
        default="html,pdf,slides,ipynb",
        help="comma-separated: html, pdf (needs Chromium), slides (board summary), ipynb, xlsx (the results "
        "workbook), pptx (the board summary as a PowerPoint deck), docx (the board memo and the appendix in Word)",
    )
    report.add_argument(
        "--docx-template",
        default="",
        help="with --format docx: build the memo and the appendix on this Word file's styles (the district's letterhead)",
    )
    report.add_argument(
        "--pptx-template",
        default="",
        help="with --format pptx: build the deck on this PowerPoint file's masters and layouts (the district's "
        "template; it needs layouts named 'Title Slide' and 'Title Only')",
    )
    report.add_argument(
        "--notebooks",
        default="",
        help="folder of your own report notebooks (default: the ones shipped in the package, plevaluate/notebooks)",
    )
    report.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="load, evaluate and render on a Dask cluster (the large tables parsed in blocks, each school year and "
        "each report a task): a scheduler "
        "address (tcp://host:8786), or 'local' to start a LocalCluster of --workers processes (needs pip install "
        "'plevaluate[dask]')",
    )
    report.add_argument("--quiet", action="store_true", help="no progress bar")

    portfolio = commands.add_parser(
        "portfolio", help="render a leadership report across programs, each program's reports linked from its index"
    )
    portfolio.add_argument("dir", help="folder holding one data folder (CSV tables and plan.yml) per program")
    portfolio.add_argument("--out", required=True, help="folder for the reports (one subfolder per program)")
    portfolio.add_argument("--workers", type=_count, default=2, help="parallel notebook kernels (default 2)")
    portfolio.add_argument("--format", default="html,pdf,slides,ipynb", help="as for 'report'")
    portfolio.set_defaults(run=_portfolio)

    logic = commands.add_parser(
        "logic-model", help="the program's logic model alone, from plan.yml (and the data, when there are any)"
    )
    logic.add_argument("data", help="a data folder; plan.yml alone is enough (never written to)")
    logic.add_argument("--out", required=True, help="folder for logic-model.html and .pdf (created)")
    logic.add_argument("--format", default="html,pdf", help="comma-separated: html, pdf (needs Chromium)")
    logic.set_defaults(run=_logic_model)

    intake = commands.add_parser(
        "import", help="append a survey-tool export or a spreadsheet to a data folder (personal columns dropped)"
    )
    intake.add_argument("source", nargs="?", help="google, msforms, qualtrics, surveymonkey or sheet")
    intake.add_argument("file", nargs="?", help="the export as downloaded: .csv, .tsv, .xlsx or .sav")
    intake.add_argument("--into", help="the data folder to append to (validated before and after)")
    intake.add_argument("--session", default=None, help="session_id the survey was about (survey sources)")
    intake.add_argument("--mapping", default=None, help="YAML mapping of questions to items, scales, or a sheet")
    intake.add_argument(
        "--secret-file",
        default=None,
        help="district-held secret for pseudonymous respondent keys, kept outside the data folder "
        "(or set PLEVALUATE_SECRET)",
    )
    intake.add_argument("--anonymous", action="store_true", help="drop respondents' identities instead of keying them")
    intake.add_argument(
        "--staff-survey", action="store_true", help="a level-3 staff survey on support: no session, answers dated"
    )
    intake.add_argument("--date", default=None, help="a staff survey's date (YYYY-MM-DD) when the export has none")
    intake.add_argument(
        "--dry-run", action="store_true", help="show the codebook and what would be written; write nothing"
    )
    intake.add_argument("--list", action="store_true", help="list the imports recorded in --into")
    intake.add_argument("--undo", type=int, default=None, metavar="ID", help="remove exactly the rows of import ID")
    intake.add_argument("--help-mapping", action="store_true", help="print every key of the mapping file")
    intake.set_defaults(run=_import)
    init = commands.add_parser("init", help="write a starter data folder: plan, table templates, item bank, forms")
    init.add_argument("dir", help="folder to create (must not exist or be empty)")
    init.set_defaults(run=_init)

    check = commands.add_parser("audit", help="scan a report folder for IDs, names, e-mails and small counts")
    check.add_argument("out", help="a folder written by 'plevaluate report'")
    check.add_argument("--data", required=True, help="the data folder it was made from (read only)")
    check.add_argument("--min-n", type=int, default=None, help="reporting minimum (default: the plan's)")
    check.add_argument("--workers", type=_count, default=2, help="processes reading the PDFs' text (default 2)")
    check.set_defaults(run=_audit)
    report.set_defaults(run=_report)
    return parser


#: Arguments that name a file or folder: an empty one is refused (it would quietly mean the current folder).
_PATHS = ("data", "out", "dir", "file", "into", "csv", "mapping", "secret_file", "notebooks")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    empty = [name.replace("_", "-") for name in _PATHS if name != "notebooks" and getattr(args, name, None) == ""]
    if empty:  # (--notebooks '' is the default: the shipped notebooks)
        print(f"plevaluate: an empty path given for {', '.join(empty)}; give the file or folder", file=sys.stderr)
        return 2
    shown_as = warnings.formatwarning
    warnings.formatwarning = _warning_line
    try:
        return args.run(args)
    except OutputError as exc:  # the write gate refused the arguments before any work
        print(str(exc), file=sys.stderr)
        return 2
    except ContractError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a folder that cannot be written, a file that vanished
        print(f"plevaluate: {os_problem(exc, doing='read or write')}", file=sys.stderr)
        return 1
    except ValueError as exc:  # bad arguments, e.g. too few schools for a sample
        print(f"plevaluate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM, SIGHUP: temporary files and child processes are gone already
        published = getattr(stop, "published", [])  # a portfolio's programs published before the stop, each whole
        if published:
            print(
                f"plevaluate: stopped; these programs' reports were published before it, each complete: "
                f"{', '.join(published)}; nothing else was, and the rest of the previous output is unchanged",
                file=sys.stderr,
            )
        else:
            print("plevaluate: stopped; nothing was published, the previous output is unchanged", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = shown_as


def _warning_line(message, category, filename, lineno, line=None) -> str:
    """A warning as the command prints it: its kind and its words, not the file, line and source code that raised it
    (a hostile review: "years.py:465: LostProcessWarning: ..." and a line of plevaluate's code after it)."""
    return f"plevaluate: {category.__name__}: {message}\n"


if __name__ == "__main__":
    sys.exit(main())
