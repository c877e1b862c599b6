"""`ganaug runs show RUN`: one run told whole, from its row and its folder (config, steps, status, latest stats, each
class's latest diversity, where its grids and checkpoints are), and its curves drawn into a PNG with `--plot`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ganaug.errors import UserError

STATS_SHOWN = ("loss_d", "loss_g", "d_real", "d_fake", "ac_d", "ac_g", "p", "ada_rt", "images_per_s", "elapsed_s",
               "budget_fraction")


def run_shown(run_id: int) -> dict:
    """The run as `--json` gives it; an unknown id is bad input."""
    from db import run_views, views
    from db.engine import session_scope
    from ganaug.abandoned_runs import fail_abandoned_runs
    from ganaug.disk import grid_steps
    from ganaug_core import paths
    from ganaug_core.imbalance import minority_classes
    from ganaug_core.run_curves import read_curves
    from ganaug_core.runstats import STATS_FILE, checkpoints

    fail_abandoned_runs([run_id])  # a run whose process was killed is not "running" (as in `runs list`)
    with session_scope() as s:
        row = run_views.run_summary(s, run_id)
        if row is None:
            raise UserError(f"unknown run {run_id}: `ganaug runs list` lists the runs")
        counts = views.train_class_counts(s).get(row["dataset"]) or []
    folder = paths.resolve(row["run_dir"])
    curves = read_curves(folder)
    names, rare, latest = row.pop("class_names"), minority_classes(counts), curves.latest
    ratios = curves.reading.get("diversity", {})
    classes = [dict(class_index=c, class_name=str(names[c]) if c < len(names) else str(c),
                    diversity=ratios.get(str(c)), flagged=c in curves.flagged(), rare=c in rare,
                    vs_other_classes=c in curves.reading.get("vs_other_classes", []))
               for c in range(len(names)) if str(c) in ratios]
    grids = grid_steps(folder)
    ckpts = checkpoints(folder)
    newest_grid = max(grids) if grids else None
    return dict(
        **{k: row[k] for k in ("run", "dataset", "status", "step", "total_steps", "budget", "resumed_from")},
        created=_iso(row["created"]), finished=_iso(row["finished"]), error=row["error"], config=row["config"],
        folder=str(folder), folder_missing=not folder.is_dir(),
        stats=dict(file=str(folder / STATS_FILE), state=curves.state, lines=curves.lines,
                   latest={k: latest[k] for k in ("step", *STATS_SHOWN) if k in latest}),
        diversity=dict(step=curves.reading.get("step"), threshold=curves.threshold, classes=classes),
        grids=dict(folder=str(folder / "grids"), steps=len(grids),
                   latest=str(folder / "grids" / f"step{newest_grid:07d}.png") if newest_grid is not None else None),
        checkpoints=dict(folder=str(folder / "checkpoints"), count=len(ckpts),
                         latest=str(ckpts[max(ckpts)]) if ckpts else None,
                         recorded=str(paths.resolve(row["checkpoint_path"])) if row["checkpoint_path"] else None),
        plot=None, class_names=[str(n) for n in names], rare=rare,
    )


def _iso(t) -> Optional[str]:
    return t.isoformat(timespec="seconds") if t is not None else None


def shown_text(shown: dict) -> str:
    """The run for people: a few lines, then a table of the classes' diversity."""
    from ganaug.cli.line_width import wrapped
    from ganaug.shown_text import one_line
    from ganaug_core.imbalance import LINE_COLUMNS
    from ganaug_core.runstats import too_young_to_tell
    from ganaug_core.shown_text import utc_time

    cfg = shown["config"]
    of = f" of {shown['total_steps']:,}" if shown["total_steps"] else f" ({shown['budget']} budget)"
    resumed = f", resumed from run {shown['resumed_from']}" if shown["resumed_from"] else ""
    lines = [f"run {shown['run']}: {one_line(shown['dataset'])}, {shown['status']}, step {shown['step'] or 0:,}{of}"
             f"{resumed}"]
    setting = [f"{cfg['resolution']}²" if cfg.get("resolution") else None, cfg.get("arch"),
               f"augmentation {cfg['augment']}" if cfg.get("augment") else None,
               f"batch {cfg['batch_size']}" if cfg.get("batch_size") else None,
               f"seed {cfg['seed']}" if cfg.get("seed") is not None else None]
    # Each line fits 80 columns, wrapped between words (`ganaug.cli.line_width`): the settings with both times were
    # 116 columns, the latest stats 103. The times on a line of their own, as every human line says them: beside the
    # settings, '…T22:04:18 UTC' was split over two lines.
    lines.append(wrapped(", ".join(x for x in setting if x), "  ", "  "))
    times = [f"{k} {utc_time(shown[k])}" for k in ("created", "finished") if shown[k]]
    if times:
        lines.append(wrapped(", ".join(times), "  ", "  ", whole=tuple(times)))
    if shown["status"] == "failed" and shown["error"]:
        lines.append(wrapped(one_line(shown["error"].splitlines()[0]), "  ", "  "))
    lines += [wrapped(line, whole=(shown["stats"]["file"],)) for line in _stats_lines(shown)]  # "no stats yet: PATH …"
    div = shown["diversity"]
    if div["classes"]:
        rule = f"below {div['threshold']:g} is flagged" if div["threshold"] > 0 else "no threshold: none is flagged"
        at = f"at step {div['step']:,}" if isinstance(div["step"], int) else "last measured"
        lines.append(wrapped(f"diversity {at} (its samples' spread against its real images'; {rule}):"))
        if too_young_to_tell(div["step"]):
            lines.append(wrapped(f"after only {div['step']} steps every class still looks alike: train further "
                                 "before reading a flag as collapse", "  ", "  "))
        labels = [_class_label(c, shown["class_names"]) for c in div["classes"]]
        width = max(len("class"), *map(len, labels))
        lines.append(f"  {'class':<{width}}  diversity")
        for c, label in zip(div["classes"], labels):
            ratio = "–" if c["diversity"] is None else f"{c['diversity']:.2f}"
            row = f"  {label:<{width}}  {ratio:>9}" + ("  flagged" if c["flagged"] else "")
            other = "(against the other classes' spread: one real image)" if c["vs_other_classes"] else ""
            lines.append(row if not other else f"{row}  {other}" if len(row) + 2 + len(other) <= LINE_COLUMNS else
                         f"{row}\n    {other}")
    elif shown["stats"]["state"] == "ok":
        lines.append("diversity: no reading yet (the monitor measures every 250 steps and at the end)")
    lines += _where_lines(shown)
    return "\n".join(lines)


def _class_label(c: dict, names: list[str]) -> str:
    from ganaug.shown_text import class_label

    # Cut as `data report` cuts it: a 50-character plant disease pushed its "flagged" past an 80-column terminal.
    return class_label(c["class_index"], names, cut=True) + (" rare" if c["rare"] else "")


def _stats_lines(shown: dict) -> list[str]:
    stats = shown["stats"]
    if shown["folder_missing"]:
        return []  # said below, with what to do
    if stats["state"] == "missing":
        return [f"no stats yet: {stats['file']} does not exist"]
    if stats["state"] == "empty":
        return [f"no stats yet: {stats['file']} holds no complete line"]
    from ganaug_core.runstats import stats_said

    latest = stats["latest"]
    parts = stats_said(latest)
    if latest.get("elapsed_s") is not None:
        parts.append(f"{latest['elapsed_s']:,.0f} s of training")
    at = f"step {latest['step']:,}" if isinstance(latest.get("step"), int) else "no step recorded"
    return [f"latest stats ({at}): " + (" · ".join(parts) or "no losses recorded")]


def _where_lines(shown: dict) -> list[str]:
    from ganaug.cli.line_width import wrapped
    from ganaug.shown_text import one_line

    if shown["folder_missing"]:  # wrapped at 80 columns, as the lines below: a path is kept whole on a line
        where = one_line(shown["folder"])
        return [wrapped(f"its folder {where} is gone: `ganaug runs du` says what to restore", whole=(where,))]
    grids, ckpts = shown["grids"], shown["checkpoints"]
    newest_grid = f"; newest {Path(grids['latest']).name}" if grids["latest"] else ""
    newest_ckpt = f"; newest {Path(ckpts['latest']).name}" if ckpts["latest"] else ""
    lines = [f"grids:       {one_line(grids['folder'])} ({grids['steps']} step{'s' * (grids['steps'] != 1)}"
             f"{newest_grid})",
             f"checkpoints: {one_line(ckpts['folder'])} ({ckpts['count']}{newest_ckpt})",
             f"stats:       {one_line(shown['stats']['file'])} ({shown['stats']['lines']:,} lines)"]
    if shown["plot"]:
        lines.append(f"curves:      {one_line(shown['plot'])}")
    # A path whole on its line even where it holds a space (a home under '/home/ana/My Data').
    whole = tuple(one_line(p) for p in (grids["folder"], ckpts["folder"], shown["stats"]["file"], shown["plot"]) if p)
    return [wrapped(line, " " * len("checkpoints: "), whole=whole) for line in lines]


def write_plot(shown: dict, path: Path) -> Path:
    """The run's curves drawn into `path` (a PNG in an existing folder); bad input when there is nothing to draw."""
    from ganaug_core.run_curves import read_curves
    from ganaug_core.run_curves_plot import write_curves_png

    path = Path(path).expanduser()
    if path.suffix.lower() != ".png":
        raise UserError(f"--plot {path}: give a file name ending in .png")
    if not path.parent.is_dir():
        raise UserError(f"--plot {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise UserError(f"--plot {path}: that is a folder; give a file name ending in .png")
    curves = read_curves(Path(shown["folder"]))
    if curves.state != "ok":
        raise UserError(f"run {shown['run']} has no stats to plot yet ({shown['stats']['file']})")
    title = f"run {shown['run']} ({shown['dataset']}): {shown['status']}, step {shown['step'] or 0:,}"
    try:
        write_curves_png(curves, shown["class_names"], shown["rare"], title, path)
    except OSError as e:  # a read-only folder, a full disk: said of the file asked for, not of its temporary one
        raise UserError(f"--plot {path}: cannot write it ({e.strerror or e})") from e
    return path.resolve()
