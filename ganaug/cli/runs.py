"""`ganaug runs`: the training runs, one run told whole with its curves, what they hold on disk, and pruning what
they no longer need."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ganaug.cli.common import Commands, JSON, UserError, check_limit, cli_errors, emit, left_out
from ganaug.cli.line_width import pad, wrapped, wrapped_items
from ganaug.shown_text import one_line
from ganaug_core.imbalance import LINE_COLUMNS, text_columns

runs_app = typer.Typer(cls=Commands, no_args_is_help=True)

INDENT = " " * 7  # a run's second line, under its dataset

RUN_IDS = typer.Option(None, "--run", metavar="N", help="Only this run (repeat for more)")


@runs_app.command("list")
@cli_errors
def runs_list_cmd(
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Only this dataset's runs"),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first"),
    as_json: bool = JSON,
) -> None:
    """Training runs, newest first: status, step of the total, the run each resumed, size; a killed run is failed."""
    from db import run_views
    from db.datasets import get_dataset
    from db.engine import session_scope
    from ganaug.abandoned_runs import fail_abandoned_runs
    from ganaug.disk import human, tree_bytes
    from ganaug_core import paths

    check_limit(limit)
    fail_abandoned_runs()  # a run whose process was killed is not "running" (its error says how to go on)
    with session_scope() as s:
        if dataset is not None:
            get_dataset(s, dataset)  # an unknown name is bad input, as for every other command
        rows = run_views.runs_table(s, limit=limit, dataset=dataset)
        total = run_views.runs_count(s, dataset) if len(rows) == limit else len(rows)
    for r in rows:
        r["size_bytes"] = tree_bytes(paths.resolve(r["run_dir"]))
        # A database restored beside older files: the run showed at 0 B, as if pruned to nothing.
        r["folder_missing"] = not paths.resolve(r["run_dir"]).is_dir()
    for r in rows:
        r["created"] = r["created"].isoformat(timespec="seconds") if r["created"] else None
    # Fitted to 80 columns (`ganaug.cli.line_width`): a time budget's "step 3 of a 1.5 min budget" and a resumed
    # run's ", resumed from run 1" made rows of 91–100 columns beside a 16-column dataset, each wrapped in two.
    # The resumed run and a failed run's error go on lines of their own; a long dataset name is cut (`--json`: whole).
    progress = [f"step {r['step'] or 0}" + (f"/{r['total_steps']}" if r["total_steps"] else f" of {r['budget']}")
                for r in rows]
    # Padded to the longest: a time budget's longer text pushed its row's date and size out of line.
    width = max([len("progress"), *map(len, progress)])
    status = max([len("status"), *(len(r["status"]) for r in rows)])
    names = [one_line(r["dataset"]) for r in rows]
    room = LINE_COLUMNS - (5 + 2 + 1 + status + 1 + width + 2 + 19 + 2 + 8)
    named = max(len("dataset"), min(16, room, max(map(text_columns, names), default=0)))
    # The time under "created (UTC)" as the app's tables show it ('2026-12-07 22:04:18'); `--json` keeps the 'T'.
    lines = [f"{r['run']:>5}  {pad(name, named)} {r['status']:<{status}} {p:<{width}}  "
             f"{(r['created'] or '').replace('T', ' '):<19}  "
             f"{human(r['size_bytes']):>8}"
             + (f"\n       resumed from run {r['resumed_from']}" if r["resumed_from"] else "")
             # a failed run says why below its line (a killed one: how to resume it), and so does one cancelled
             # while it saved; before 2026-12-07 such a run's error was "KeyboardInterrupt: ", which says nothing
             + ("\n" + wrapped(one_line(r["error"].splitlines()[0]), INDENT, INDENT)
                if r["error"] and (r["status"] == "failed" or r["status"] == "cancelled"
                                   and not r["error"].startswith("KeyboardInterrupt")) else "")
             + (_folder_gone(r["run_dir"]) if r["folder_missing"] else "")
             for r, name, p in zip(rows, names, progress)]
    header = (f"{'run':>5}  {'dataset':<{named}} {'status':<{status}} {'progress':<{width}}  {'created (UTC)':<19}  "
              f"{'on disk':>8}")
    if total > len(rows):  # a year's runs: say that older ones exist, and how to see them
        lines.append(left_out(len(rows), total, "runs", "" if dataset else ", --dataset NAME one dataset's"))
    emit({"runs": rows, "total": total}, as_json, "\n".join([header, *lines]) if lines else
         "no runs yet: `ganaug train --dataset NAME --minutes 2`")


def _folder_gone(run_dir: str) -> str:
    """A run's line under `runs list` whose folder is gone, the folder named where it was, as `runs show` names it
    (it said 'runs/000001', from the home, where `runs show` said '/srv/ganaug/home/runs/000001')."""
    from ganaug_core import paths

    folder = one_line(paths.resolve(run_dir))
    return "\n" + wrapped(f"its folder {folder} is gone: `ganaug runs du` says what to restore", INDENT, INDENT,
                          whole=(folder,))


@runs_app.command("show")
@cli_errors
def runs_show_cmd(
    run: int = typer.Argument(..., help="Run id (`ganaug runs list`)"),
    plot: Optional[Path] = typer.Option(None, "--plot", metavar="PATH.png",
                                        help="Also draw the training curves (losses, p, diversity) into this PNG"),
    as_json: bool = JSON,
) -> None:
    """One run: dataset, side, steps of its total, status, the run it resumed; its latest stats; each class's latest
    diversity against its real images and whether the collapse monitor flagged it; where its grids and checkpoints
    are.

    Example: ganaug runs show 3 --plot run3.png"""
    from ganaug.run_show import run_shown, shown_text, write_plot

    shown = run_shown(run)
    if plot is not None:
        shown["plot"] = str(write_plot(shown, plot))
    emit(shown, as_json, shown_text(shown))


@runs_app.command("du")
@cli_errors
def runs_du_cmd(run: Optional[list[int]] = RUN_IDS, as_json: bool = JSON) -> None:
    """What the runs hold on disk (checkpoints, grids, the rest), then the whole home by part: runs, batches,
    datasets, models, reports, the database; the temporary files that saves killed outright left in models; and the
    runs and batches whose folders are gone, or that no row names (a database and files restored from two different
    backups)."""
    from ganaug.disk import (home_usage, human, leftovers_listed, models_leftovers, records_and_folders,
                             records_and_folders_said, runs_usage)

    rows = runs_usage(run)
    if run:
        missing = sorted(set(run) - {r["run"] for r in rows})
        if missing:
            raise UserError(f"unknown run {missing[0]}")
    home = home_usage()
    # Columns as wide as their widest cell, the dataset's name cut to what is left of 80 (`--json`: whole): with
    # fixed widths every row was 98 columns, 108 beside a long name.
    cells = [(f"{r['step']:,}", f"{r['checkpoints']} × {human(r['checkpoint_bytes'])}",
              f"{r['grid_steps']} × {human(r['grid_bytes'])}", human(r["other_bytes"]), human(r["total_bytes"]))
             for r in rows]
    wide = [max([len(title), *(len(c[i]) for c in cells)])
            for i, title in enumerate(("step", "checkpoints", "grids", "other", "total"))]
    status = max([len("status"), *(len(r["status"]) for r in rows)])
    names = [one_line(r["dataset"]) for r in rows]
    room = LINE_COLUMNS - (5 + 2 + 1 + status + 1 + sum(wide) + 2 * len(wide))
    named = max(len("dataset"), min(16, room, max(map(text_columns, names), default=0)))
    header = f"{'run':>5}  {'dataset':<{named}} {'status':<{status}}" + "".join(
        f"  {title:>{w}}" for title, w in zip(("step", "checkpoints", "grids", "other", "total"), wide))
    lines = [f"{r['run']:>5}  {pad(name, named)} {r['status']:<{status}}" + "".join(
        f"  {cell:>{w}}" for cell, w in zip(c, wide)) for r, name, c in zip(rows, names, cells)]
    parts = [f"{k} {human(home[f'{k}_bytes'])}" for k in ("runs", "batches", "datasets", "models", "reports")]
    database = ("database on its server" if home["database_bytes"] is None
                else f"database {human(home['database_bytes'])}")
    # The home's path whole on its line; its parts wrapped at 80 below it (they made a line of 141).
    summary = (f"home {one_line(home['home'])}: {human(home['total_bytes'])}\n"
               + wrapped_items([f"({parts[0]}", *parts[1:], database, f"other {human(home['other_bytes'])})"], "  ",
                               "  ")
               + "\n`ganaug runs prune --all --dry-run` shows what pruning the runs would free")
    text = "\n".join([header, *lines, summary]) if rows else summary
    left = leftovers_listed(models_leftovers())  # counted in models above, and in nothing that prunes runs
    if left["files"]:
        many = left["files"] > 1
        text += "\n" + wrapped(f"models holds {left['files']} temporary file{'s' * many} of saves killed outright "
                                f"({human(left['bytes'])}): `ganaug runs prune --all` removes "
                                f"{'them' if many else 'it'}, as does the next scoring of the dataset")
    records = records_and_folders()  # a database and files restored from two different backups
    text = "\n".join([text, *records_and_folders_said(records)])
    emit({"runs": rows, "home": home, "records": records, "models_leftovers": left}, as_json, text)


@runs_app.command("prune")
@cli_errors
def runs_prune_cmd(
    run: Optional[list[int]] = RUN_IDS,
    all_runs: bool = typer.Option(False, "--all", metavar="", help="Every run"),
    keep_last: int = typer.Option(1, "--keep-last", metavar="K",
                                  help="Also keep each run's K newest checkpoints and grid steps"),
    dry_run: bool = typer.Option(False, "--dry-run", metavar="", help="Say what would be deleted; delete nothing"),
    as_json: bool = JSON,
) -> None:
    """Delete finished runs' intermediate checkpoints and old grids, and the temporary files that saves killed
    outright left in models. Kept: each run's latest checkpoint (resume, generate), every checkpoint a batch was
    generated from (`audit reproduce`), the K newest checkpoints and grid steps, and everything of a run still
    training. Records nothing in the decision log.

    Example: ganaug runs prune --all --dry-run (then without --dry-run)"""
    from ganaug.disk import human, leftovers_listed, models_leftovers, plan_prune, prune

    if bool(run) == all_runs:
        raise UserError("give --run N (repeatable) or --all" if not run else "give either --run or --all, not both")
    plans = (plan_prune if dry_run else prune)(None if all_runs else run, keep_last)
    # No run's, whichever runs were named: what saves killed outright left beside a dataset's models.
    left = leftovers_listed(models_leftovers(remove=not dry_run))
    freed = sum(p.freed_bytes for p in plans) + left["bytes"]
    verb = "would delete" if dry_run else "deleted"
    lines = []
    # A year's runs, most of them pruned already: one line for those with nothing to delete, not one each.
    idle = [p.run for p in plans if not p.skipped and not p.delete] if len(plans) > 1 else []
    for p in plans:
        if p.skipped:
            lines.append(f"run {p.run}: {p.skipped}, left alone")
            continue
        if p.run in idle:
            continue
        what = [f"{p.checkpoints} checkpoint{'s' * (p.checkpoints != 1)}",
                f"{p.grid_steps} grid step{'s' * (p.grid_steps != 1)}"]
        if p.leftovers:
            what.append(f"{p.leftovers} leftover{'s' * (p.leftovers != 1)} of killed writes")
        kept = ", ".join(f"{name} ({why})" for name, why in sorted(p.kept.items()))
        lines.append(f"run {p.run}: {verb} {', '.join(what)} ({human(p.freed_bytes)}); kept {kept or 'no checkpoint'}"
                     if p.delete else f"run {p.run}: nothing to delete; kept {kept or 'no checkpoint'}")
    if idle:
        lines.append(f"{len(idle)} run{'s' * (len(idle) != 1)} with nothing to delete: {_ranges(idle)} "
                     "(`ganaug runs prune --run N --dry-run` names what each keeps)")
    if left["files"]:
        lines.append(f"models: {verb} {left['files']} temporary file{'s' * (left['files'] != 1)} of saves killed "
                     f"outright ({human(left['bytes'])})")
    lines.append(f"dry run: pruning would free {human(freed)}; nothing was deleted" if dry_run
                 else f"freed {human(freed)}")
    emit({"dry_run": dry_run, "keep_last": keep_last, "freed_bytes": freed, "runs": [p.to_dict() for p in plans],
          "models_leftovers": left}, as_json, "\n".join(lines))


def _ranges(ids: list[int]) -> str:
    """'1–4, 6, 9–12': run ids, consecutive ones as a range."""
    spans: list[list[int]] = []
    for i in sorted(ids):
        if spans and i == spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)
