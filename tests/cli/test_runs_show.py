"""`ganaug runs show RUN`: a run's config summary, steps of its total, status and the run it resumed; its latest stats;
each class's latest diversity and whether the monitor flagged it; where its grids and checkpoints are; `--json` as one
object, `--plot` as a PNG; an unknown run or a bad plot path in one line, exit status 2, nothing written."""

from __future__ import annotations

import json
import re

from db.engine import session_scope
from db.models import Run
from tests.cli.helpers import ok_json, refused, run
from tests.db.helpers import make_dataset

CONFIG = {"resolution": 8, "arch": "dcgan", "augment": "ada", "batch_size": 16, "seed": 3, "steps": 500,
          "diversity_threshold": 0.4}


def stats_line(step: int, diversity: dict | None = None, collapsed=()) -> dict:
    """A line as the training loop writes it (ganaug_core/training/loop.py)."""
    line = {"step": step, "loss_d": 1.25, "loss_g": 0.75, "d_real": 0.3, "d_fake": -0.2, "p": 0.05, "ada_rt": 0.61,
            "images_per_s": 420.0, "elapsed_s": step / 10}
    if diversity is not None:
        line.update(diversity=diversity, collapsed=list(collapsed))
    return line


def a_run(home, status="done", step=500, lines=(), tail="", resumed_from=None, files=True) -> int:
    """A run of the dataset 'toy' (class c2 rare: 3 training images against 20) with `lines` in its stats file."""
    from sqlalchemy import select

    from db.models import Dataset

    with session_scope() as s:
        dataset_id = s.scalar(select(Dataset.id)) or make_dataset(s, home, train=(20, 20, 3)).id
        r = Run(dataset_id=dataset_id, status=status, run_dir="runs/x", config=CONFIG, config_sha256="c" * 64,
                code_version="test", step=step, total_steps=500, resumed_from=resumed_from)
        s.add(r)
        s.flush()
        r.run_dir = f"runs/{r.id:06d}"
        r.checkpoint_path = f"{r.run_dir}/checkpoints/checkpoint-{step:07d}.pt"
        run_id, folder = r.id, home / r.run_dir
    if files:
        (folder / "checkpoints").mkdir(parents=True)
        (folder / "grids" / f"step{step:07d}").mkdir(parents=True)
        (folder / "grids" / f"step{step:07d}.png").write_bytes(b"png")
        (folder / "checkpoints" / f"checkpoint-{step:07d}.pt").write_bytes(b"pt")
        (folder / "config.json").write_text(json.dumps(CONFIG))
        (folder / "stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + tail)
    return run_id


FINISHED = [stats_line(250, {"0": 0.9, "1": 0.7, "2": 0.35}, [2]), stats_line(475),
            stats_line(500, {"0": 0.92, "1": 0.38, "2": 0.31}, [1, 2])]


def test_runs_show_tells_a_finished_run(home):
    first = a_run(home, lines=FINISHED)
    run_id = a_run(home, lines=FINISHED, resumed_from=first)
    result = run("runs", "show", run_id)
    assert result.exit_code == 0, result.output
    # Wrapped at 80 columns (the settings with both times were 116, the stats 103), a paragraph's next lines under
    # an indent, a path kept whole: read with the line breaks taken out, it says what it said.
    lines, said = result.stdout.splitlines(), " ".join(result.stdout.split())
    assert max(map(len, lines[:6])) <= 80, result.stdout
    assert lines[0] == f"run {run_id}: toy, done, step 500 of 500, resumed from run {first}"
    assert lines[1] == "  8², dcgan, augmentation ada, batch 16, seed 3"
    assert re.fullmatch(r"  created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", lines[2]), lines[2]  # a line of its own
    assert ("latest stats (step 500): loss D 1.250, G 0.750 · augmentation p 0.05 · 420 images/s · 50 s of "
            "training diversity at step 500 (its samples' spread against its real images'; below 0.4 is flagged): "
            "class diversity 0 (c0) 0.92 1 (c1) 0.38 flagged 2 (c2) rare 0.31 flagged") in said
    folder = home / "runs" / f"{run_id:06d}"
    assert said.endswith(f"grids: {folder / 'grids'} (1 step; newest step0000500.png) "
                         f"checkpoints: {folder / 'checkpoints'} (1; newest checkpoint-0000500.pt) "
                         f"stats: {folder / 'stats.jsonl'} (3 lines)")


def test_a_long_class_name_is_cut_so_its_row_fits_80_columns(home):
    """A 38-class plant catalogue: "8 (Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot) rare  0.49  flagged"
    was 81 columns, and a 255-character folder name pushed every diversity off the screen. The name is cut as
    `data report` cuts it (40 columns); `--json` keeps it whole."""
    from sqlalchemy import select

    from db.models import Dataset

    run_id = a_run(home, lines=FINISHED)
    long = "Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot"
    with session_scope() as s:
        s.scalars(select(Dataset)).one().class_names = ["c0", "c1", long]
    lines = run("runs", "show", run_id).stdout.splitlines()
    assert "  2 (Corn_(maize)___Cercospora_leaf_spot Gra…) rare       0.31  flagged" in lines
    assert max(len(line) for line in lines if str(home) not in line) <= 80  # a path is kept whole
    assert ok_json("runs", "show", run_id)["diversity"]["classes"][2]["class_name"] == long


def test_runs_show_json_is_one_object_and_plot_draws_the_curves(home, tmp_path):
    run_id = a_run(home, lines=FINISHED)
    shown = ok_json("runs", "show", run_id, "--plot", tmp_path / "curves.png")
    assert (shown["run"], shown["dataset"], shown["status"], shown["step"], shown["total_steps"]) == (
        run_id, "toy", "done", 500, 500)
    assert shown["config"]["resolution"] == 8 and shown["stats"]["latest"]["loss_d"] == 1.25
    assert shown["diversity"]["threshold"] == 0.4 and shown["diversity"]["step"] == 500
    assert [(c["class_index"], c["class_name"], c["diversity"], c["flagged"], c["rare"])
            for c in shown["diversity"]["classes"]] == [(0, "c0", 0.92, False, False), (1, "c1", 0.38, True, False),
                                                        (2, "c2", 0.31, True, True)]
    assert shown["checkpoints"]["count"] == 1 and shown["checkpoints"]["latest"].endswith("checkpoint-0000500.pt")
    assert shown["grids"]["steps"] == 1 and shown["plot"] == str((tmp_path / "curves.png").resolve())
    from PIL import Image

    with Image.open(tmp_path / "curves.png") as im:
        assert im.format == "PNG" and im.size[0] > 600 and im.size[1] > 600


def test_a_running_run_with_a_torn_line_and_a_run_without_stats(home, tmp_path):
    from ganaug.held_folders import HeldFolder

    running = a_run(home, status="running", step=50, lines=[stats_line(25), stats_line(50)],
                    tail='{"step": 75, "loss')
    with HeldFolder.hold(home / "runs" / f"{running:06d}"):  # as its training process holds it: still running
        result = run("runs", "show", running)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"run {running}: toy, running, step 50 of 500\n")
    assert "latest stats (step 50): loss D 1.250" in result.stdout
    assert "diversity: no reading yet" in result.stdout

    bare = a_run(home, step=0, files=False)
    result = run("runs", "show", bare)  # its folder is gone: said once, with what to do (not "no stats yet")
    assert result.exit_code == 0, result.output
    assert " ".join(" ".join(result.stdout.splitlines()[3:]).split()) == (  # wrapped at 80 columns, the path whole
        f"its folder {home / 'runs' / f'{bare:06d}'} is gone: `ganaug runs du` says what to restore")
    (home / "runs" / f"{bare:06d}").mkdir(parents=True)  # a run just created: config.json alone
    (home / "runs" / f"{bare:06d}" / "config.json").write_text(json.dumps(CONFIG))
    result = run("runs", "show", bare)
    assert result.exit_code == 0, result.output
    assert f"no stats yet: {home / 'runs' / f'{bare:06d}' / 'stats.jsonl'} does not exist" in " ".join(
        result.stdout.split())  # wrapped at 80 columns
    assert refused("runs", "show", bare, "--plot", tmp_path / "none.png") == (
        f"error: run {bare} has no stats to plot yet ({home / 'runs' / f'{bare:06d}' / 'stats.jsonl'})")
    assert not (tmp_path / "none.png").exists()


def test_an_unknown_run_or_a_bad_plot_path_is_one_line_and_writes_nothing(home, tmp_path):
    run_id = a_run(home, lines=FINISHED)
    assert refused("runs", "show", 99) == "error: unknown run 99: `ganaug runs list` lists the runs"
    assert run("runs", "show", 99, "--json").stdout == ""  # a script reading the object gets nothing, not half
    assert refused("runs", "show", run_id, "--plot", tmp_path / "curves.jpg") == (
        f"error: --plot {tmp_path / 'curves.jpg'}: give a file name ending in .png")
    assert refused("runs", "show", run_id, "--plot", tmp_path / "no" / "curves.png") == (
        f"error: --plot {tmp_path / 'no' / 'curves.png'}: the folder {tmp_path / 'no'} does not exist")
    assert not list(tmp_path.rglob("curves.*"))


def test_a_diverged_loss_still_gives_json_a_reader_takes(home):
    # json.dumps wrote a NaN loss as `NaN`, which jq and JSON.parse refuse: the whole object was unreadable.
    diverged = {**stats_line(500), "loss_d": float("nan"), "loss_g": float("inf")}
    run_id = a_run(home, lines=[stats_line(250), diverged])
    result = run("runs", "show", run_id, "--json")
    assert result.exit_code == 0, result.output

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    shown = json.loads(result.stdout, parse_constant=refuse)
    assert (shown["stats"]["latest"]["loss_d"], shown["stats"]["latest"]["loss_g"]) == (None, None)


def test_a_path_with_a_space_is_kept_whole_on_its_line():
    # A home such as '/home/ana/My Data' (a path wrapped at 80 columns was split at its space: copied, half of it).
    from ganaug.run_show import _where_lines

    run_dir = "/home/ana/My Data/" + "d" * 30 + "/runs/000001"
    shown = dict(folder=run_dir, folder_missing=False, plot=None,
                 grids=dict(folder=f"{run_dir}/grids", steps=1, latest=f"{run_dir}/grids/step0000500.png"),
                 checkpoints=dict(folder=f"{run_dir}/checkpoints", count=1, latest=None),
                 stats=dict(file=f"{run_dir}/stats.jsonl", lines=3))
    text = "\n".join(_where_lines(shown))
    for path in (f"{run_dir}/grids", f"{run_dir}/checkpoints", f"{run_dir}/stats.jsonl"):
        assert any(path in line for line in text.splitlines()), text
    gone = "\n".join(_where_lines({**shown, "folder_missing": True}))
    assert any(run_dir in line for line in gone.splitlines()), gone
    assert " ".join(gone.split()) == f"its folder {run_dir} is gone: `ganaug runs du` says what to restore"
