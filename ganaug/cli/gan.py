"""`ganaug train` and `ganaug generate`: train a class-conditional GAN on a dataset, generate a batch for review."""

from __future__ import annotations

import functools
import math
from typing import Callable, Optional

import typer

from ganaug.busy_machine import busy_machine_note
from ganaug.cli.common import JSON, UserError, cli_errors, dataset_class_names, echo, emit
from ganaug.cli.exits import interrupted_exit, terminate_as_interrupt
from ganaug.cli.line_width import wrapped_note
from ganaug.cli.runs import runs_app
from ganaug.errors import RunInterrupted
from ganaug.shown_text import class_label, one_line
from ganaug_core import paths, runstats
from ganaug_core.imbalance import NAMED_AT_MOST, some_names
from ganaug_core.training.config import DEFAULT_STEPS

BAR_STATS = ("loss_d", "loss_g", "p", "images_per_s", "collapsed")
# Collapsed classes the bar names; early in a 100-class run most classes are flagged, and all their names made the
# bar thousands of characters wide (a terminal cuts it off, a log keeps every line). The warning names the worst.
BAR_NAMES = 3
# What the bar's numbers say, for a team with no ML background (`ganaug train --help`).
TRAIN_HELP = (
    "Train a class-conditional GAN; the run, its config and checkpoints are recorded.\n\n"
    "The progress bar shows loss_d and loss_g, the losses of the discriminator (which tells real images from "
    "generated ones) and of the generator: they see-saw as the two compete and are not meant to reach 0 (a loss_d "
    "near 0 for long means the discriminator has won: look at the grids); p, how often the images the "
    "discriminator sees are augmented (0 to 1, raised when it starts to memorise the real ones; the rarest classes "
    "get more); images_per_s, the speed; left, what a --minutes budget has left; collapsed, the classes whose "
    "samples vary too little so far (named again at the end).")


def train_bar(progress, class_names: Callable[[], list[str]]):
    """The training bar of `ganaug train` and `ganaug demo`: a few numbers; the full stats (diversity per class, grid
    path) go to stats.jsonl. Collapsed classes are named as the warning after training names them; a name is a
    folder's, so tqdm must not print its control characters or line breaks raw. `class_names` is read at the first
    collapsed class: the demo's dataset does not exist until the demo has ingested it. The demo's other stages
    (ingest, generate, score) pass as they are."""
    from ganaug_core.progress import Progress

    class_names = functools.cache(class_names)

    def report(p: Progress) -> None:
        if p.stage != "train":
            progress(p)
            return
        stats = {k: p.stats[k] for k in BAR_STATS if k in p.stats}
        left = budget_left(p)
        if left is not None:  # a minute budget: the bar has no total, so it said nothing of when it ends
            stats = {"left": left, **stats}
        if "collapsed" in stats:
            names = [one_line(class_names()[int(c)]) for c in stats["collapsed"]]
            more = f" +{len(names) - BAR_NAMES} more" if len(names) > BAR_NAMES else ""
            stats["collapsed"] = "[" + ", ".join(names[:BAR_NAMES]) + more + "]"
        progress(Progress(p.stage, p.done, p.total, stats))

    return report


def budget_left(p) -> Optional[str]:
    """'2:26': the training time a minute budget has left ('m:ss'), from the loop's clock; None for a step budget."""
    elapsed, fraction = p.stats.get("elapsed_s"), p.stats.get("budget_fraction")
    if p.total or not elapsed or not fraction:
        return None
    seconds = max(0, round(elapsed * (1 - fraction) / fraction)) if fraction < 1 else 0
    return f"{seconds // 60}:{seconds % 60:02d}"


@cli_errors
def train_cmd(
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Name of an ingested dataset (with --resume: the run's)"),
    steps: Optional[int] = typer.Option(
        None, "--steps",
        help=f"Total training steps (default {DEFAULT_STEPS:,} if no --minutes; with --resume, the run's own total)"),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Wall-clock budget in minutes"),
    resolution: Optional[int] = typer.Option(
        None, "--resolution", help="Power of two ≤ the dataset's resolution and ≤ 128 (default: the largest such). A "
                                   "step at 64² costs 2.5–3× one at 32², at 128² ≈ 4× one at 64²: ≈ 1.2 s and 1.3 GB "
                                   "of memory on 2 busy cores, so the default "
                                   f"{DEFAULT_STEPS:,} steps take ≈ {round(DEFAULT_STEPS * 1.2 / 60)} min there"),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seeds weights, batches, latents and augmentations (default 0)"),
    resume: Optional[int] = typer.Option(None, "--resume", help="Continue this run from its latest checkpoint"),
    arch: Optional[str] = typer.Option(None, "--arch", help="dcgan (default) or resnet"),
    loss: Optional[str] = typer.Option(None, "--loss", help="hinge (default) or nonsat"),
    augment: Optional[str] = typer.Option(None, "--augment", help="ada (default), diffaugment or none"),
    r1_gamma: Optional[float] = typer.Option(None, "--r1-gamma", help="R1 penalty weight (default 1; 0: off)"),
    ada_class_floor: Optional[bool] = typer.Option(
        None, "--ada-class-floor/--no-ada-class-floor", metavar="",
        help="ADA: augment each class at least in proportion to how far it falls short of the median class size "
             "(default on; against copying the rarest images)"),
    edge_convs: Optional[bool] = typer.Option(
        None, "--edge-convs/--no-edge-convs", metavar="",
        help="dcgan: 3×3 convs at full resolution into and out of the image (default on); off is DCGAN's own "
             "layout: at 32² ≈ 1.4× the training steps/s and ≈ 1.6× the images/s when generating, but one of its 6 "
             "two-minute digits runs with the class head collapsed to one image per class (BENCHMARKS.md)"),
    ac_weight: Optional[float] = typer.Option(
        None, "--ac-weight",
        help="Weight of D's auxiliary class head (AC-GAN on reals; default 0.25, 0: off): G's fakes must be named "
             "as their class, which kept the rarest classes recognisable; higher weights cost them diversity "
             "(BENCHMARKS.md)"),
    diversity_threshold: Optional[float] = typer.Option(
        None, "--diversity-threshold",
        help="Flag a class as possibly collapsed when its samples' diversity falls below this fraction of its real "
             "images' (default 0.5; 0: never)"),
    batch_size: Optional[int] = typer.Option(
        None, "--batch-size",
        help="Images per step (default 32). D's minibatch-stddev feature compares groups of 4 images of one class, 3 "
             "or 2 where 4 does not divide the size; at a prime size above 3 it is off"),
    width: Optional[int] = typer.Option(
        None, "--width", help="Network width: channels at full resolution, doubling per halving (default 16)"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print one JSON object (progress stays on stderr)"),
) -> None:
    """Train a class-conditional GAN; the run, its config and checkpoints are recorded."""
    from ganaug.abandoned_runs import unrecorded_checkpoints_said
    from ganaug.runs import default_config, run_dataset, train_run
    from ganaug_core.progress import tqdm_progress

    if steps is not None and minutes is not None:
        raise UserError("give either --steps or --minutes, not both")
    if steps is not None and steps <= 0:
        raise UserError(f"--steps must be > 0, got {steps}")
    if minutes is not None and not 0 < minutes < math.inf:
        raise UserError(f"--minutes must be a finite number > 0, got {minutes}")
    chosen = dict(arch=arch, loss=loss, augment=augment, r1_gamma=r1_gamma, ada_class_floor=ada_class_floor,
                  edge_convs=edge_convs, ac_weight=ac_weight, diversity_threshold=diversity_threshold,
                  batch_size=batch_size, width=width, resolution=resolution, seed=seed)
    chosen = {k: v for k, v in chosen.items() if v is not None}
    if resume is not None and chosen:
        raise UserError(f"--resume continues the run's own config; drop --{next(iter(chosen)).replace('_', '-')}")
    if dataset is None:
        if resume is None:
            raise UserError("give --dataset NAME (an ingested dataset), or --resume RUN")
        dataset = run_dataset(resume)
    # Resuming without a budget continues to the run's own (ganaug.runs._prepare).
    default_budget = dict(steps=None, minutes=None) if resume is not None else dict(steps=DEFAULT_STEPS, minutes=None)
    budget = dict(steps=steps, minutes=None) if steps is not None else (
        dict(steps=None, minutes=minutes) if minutes is not None else default_budget)
    config = default_config(dataset, device=device, **budget, **chosen)
    if resume is None:  # bad options are one line: the busy machine's note came first, 4 lines above the error
        config.validate()
    note = busy_machine_note(device)
    if note:  # wrapped: it was 285 columns (the worker's log keeps it one line, an entry of its own)
        echo(wrapped_note(note), err=True)
    ignored = unrecorded_checkpoints_said(resume) if resume is not None else None
    if ignored:
        echo(f"note: {one_line(ignored)}", err=True)

    try:
        with terminate_as_interrupt(), tqdm_progress() as progress:
            run_id = train_run(dataset, config, progress=train_bar(progress, lambda: dataset_class_names(dataset)),
                               resume_run=resume)
    except RunInterrupted as e:  # the run is kept: from which checkpoint it goes on
        echo(wrapped_note(str(e)), err=True)
        raise interrupted_exit(said=True)
    except KeyboardInterrupt:  # before its run was created: nothing kept
        echo("interrupted before a checkpoint could be written", err=True)
        raise interrupted_exit(said=True)
    _say_how_it_ended(run_id, device, as_json)


def _say_how_it_ended(run_id: int, device: str, as_json: bool) -> None:
    """`train`'s last words: the run and its checkpoint (or its JSON), too few steps, a possible mode collapse, and
    how to continue an interrupted run (exit status 130 after Ctrl-C, 143 after SIGTERM)."""
    from db.engine import session_scope
    from db.models import Run
    from ganaug.runs import diversity_in_words, final_diversity

    with session_scope() as s:
        run = s.get(Run, run_id)
        info = dict(run_id=run.id, status=run.status, step=run.step, run_dir=run.run_dir,
                    checkpoint=run.checkpoint_path, checkpoint_sha256=run.checkpoint_sha256,
                    config_sha256=run.config_sha256, resumed_from=run.resumed_from)
    info["diversity"], info["collapsed_classes"] = final_diversity(run_id)
    resumed = f" (resumed from run {info['resumed_from']})" if info["resumed_from"] is not None else ""
    # What continues this run: a resume trains on --device, not on the run's own device.
    resume_cmd = f"ganaug train --resume {run_id}" + (f" --device {device}" if device != "cpu" else "")
    # A script reading --json is told too, as `too_few_steps`.
    info["too_few_steps"] = info["status"] == "done" and (info["step"] or 0) < runstats.FEW_STEPS
    # The stored paths are relative to GANAUG_HOME; the one printed opens from wherever the command ran.
    checkpoint = one_line(paths.resolve(info["checkpoint"])) if info["checkpoint"] else "no checkpoint"
    emit(info, as_json, f"run {run_id}{resumed} {info['status']} at step {info['step']}: {checkpoint}")
    if info["too_few_steps"]:
        # A note, on stderr as `generate`'s is (it followed the run's line on stdout, without 'note:'). Wrapped (it
        # was 219 columns), each command whole: one broken over two lines could not be copied.
        echo(wrapped_note(f"note: only {info['step']} training steps: likely too few for realistic samples (the demo "
                          f"digits needed about 1,000); train this run further with `{resume_cmd} --minutes M` (M "
                          "more minutes) or `--steps N` (up to N steps in all)"), err=True)
    if info["collapsed_classes"]:
        worst_first = sorted(info["collapsed_classes"], key=lambda c: info["diversity"][c])
        said = diversity_in_words(run_id)
        flagged = some_names([f"{one_line(c)} ({said[c]})" for c in worst_first])
        if len(worst_first) > NAMED_AT_MOST:
            flagged += " (`--json` names them all)"
        grids = one_line(paths.resolve(info["run_dir"]) / "grids")
        # Both wrapped, the grids' folder and the commands whole: the note was 376 columns with two classes.
        # Every class of a generator this young looks alike: no collapse to warn of yet, whether the run finished
        # there or was stopped there (Ctrl-C at step 125 was warned of "possible mode collapse").
        if runstats.too_young_to_tell(info["step"]):
            echo(wrapped_note(f"note: samples still vary too little in class {flagged}; look at the grids in {grids}: "
                              f"after only {info['step']} steps that is expected, before the generator has learned "
                              f"the classes, and no collapse yet; train this run further (`{resume_cmd} --minutes M` "
                              "or `--steps N`)", whole=(f"{grids}:",)), err=True)
        else:
            when = f" at step {info['step']}, where training was interrupted" if info["status"] == "cancelled" else ""
            echo(wrapped_note(f"warning: possible mode collapse{when}, samples vary too little in class {flagged}; "
                              f"look at the grids in {grids} and, if they repeat, train longer: `{resume_cmd} --steps "
                              "N` (up to N steps in all)", whole=(grids,)), err=True)
    if info["status"] == "cancelled":
        echo(f"interrupted: checkpoint saved; continue with `{resume_cmd}`", err=True)
        raise interrupted_exit(said=True)


@cli_errors
def generate_cmd(
    run: int = typer.Option(..., "--run", help="Run id whose latest checkpoint generates"),
    class_: str = typer.Option(..., "--class", help="Class name or index (a name wins where a name is also an index)"),
    n: int = typer.Option(..., "--n", help="Number of samples"),
    seed: int = typer.Option(0, "--seed", help="Batch seed; each sample's own seed is derived from it"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda (a sample reproduces on the same kind of device)"),
    as_json: bool = JSON,
) -> None:
    """Generate a batch of one class for expert review (status pending), recorded with every sample's seed."""
    from ganaug.batches import generate_batch, resolve_class
    from ganaug.runs import collapse_note
    from ganaug_core.progress import tqdm_progress

    class_index = resolve_class(run, class_)
    with terminate_as_interrupt(), tqdm_progress() as progress:
        batch_id = generate_batch(run, class_index, n, seed, progress, device=device)

    from db.engine import session_scope
    from db.models import Batch, Dataset, Run

    with session_scope() as s:
        b = s.get(Batch, batch_id)
        info = dict(batch_id=b.id, run_id=b.run_id, class_index=b.class_index, count=b.count, seed=b.seed,
                    status=b.status, folder=b.folder, checkpoint_sha256=b.checkpoint_sha256,
                    config_sha256=b.config_sha256)
        names = list(s.get(Dataset, b.dataset_id).class_names)
        trained = s.get(Run, run)
        young = trained.status != "running" and (trained.step or 0) < runstats.FEW_STEPS
        run_step = trained.step or 0
    emit(info, as_json, f"batch {batch_id}: {n} samples of class {class_label(class_index, names)} in "
                        f"{one_line(paths.resolve(info['folder']))} (pending review)")
    if young:  # reviewers would otherwise be handed a batch of noise without a word
        # Wrapped, its command whole (the note was 173 columns)
        echo(wrapped_note(f"note: run {run} trained only {run_step} steps, likely too few for realistic samples; "
                          f"train it further (`ganaug train --resume {run} --minutes M`) and generate from the run "
                          "that continues it"), err=True)
    elif note := collapse_note(run, class_index):
        echo(wrapped_note(note), err=True)


def register(app: typer.Typer) -> None:
    app.command("train", help=TRAIN_HELP)(train_cmd)
    app.command("generate")(generate_cmd)
    app.add_typer(runs_app, name="runs",
                  help="List training runs, show one with its curves, their disk use, and prune what they no longer "
                       "need.")
