"""`ganaug train` / `ganaug generate` end to end on the 16×16 demo digits, recorded in a real SQLite file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Batch, Run, Sample
from ganaug_core import paths
from ganaug_core.imageio import read_png, sha256_file
from ganaug_core.sampling import GeneratorPipeline
from ganaug_core.rescale import upsample_images
from tests.cli.helpers import app, assert_bad_input, ctrl_c_heard, ganaug, runner


TINY = ["--resolution", "8", "--width", "4", "--batch-size", "8"]


def train_tiny(dataset="digits", steps=2, *extra):
    result = ganaug("train", "--dataset", dataset, "--steps", steps, *TINY, *extra, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_count() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Run))


def run_folders(home) -> list[str]:
    root = home / "runs"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_train_then_generate(digits, home):
    info = train_tiny()
    with session_scope() as s:
        run = s.get(Run, info["run_id"])
        assert run.status == "done" and run.step == 2 and run.total_steps == 2
        ckpt = paths.resolve(run.checkpoint_path)
        assert sha256_file(ckpt) == run.checkpoint_sha256
        run_dir = paths.resolve(run.run_dir)
        assert sha256_file(run_dir / "config.json") == run.config_sha256
        assert json.loads((run_dir / "config.json").read_text())["resolution"] == 8
    assert len((run_dir / "stats.jsonl").read_text().splitlines()) >= 1
    assert len(list((run_dir / "grids").glob("step*/class*.png"))) == 10

    result = ganaug("generate", "--run", info["run_id"], "--class", "9", "--n", 5, "--seed", 3, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    with session_scope() as s:
        batch = s.get(Batch, out["batch_id"])
        samples = s.scalars(select(Sample).where(Sample.batch_id == batch.id).order_by(Sample.id)).all()
        assert (batch.status, batch.count, batch.class_index, batch.seed) == ("pending", 5, 9, 3)
        assert batch.checkpoint_sha256 == run.checkpoint_sha256 and batch.config_sha256 == run.config_sha256
        assert len(samples) == 5
        for smp in samples:
            assert sha256_file(paths.resolve(smp.path)) == smp.sha256
    # every stored sample is reproduced from (checkpoint, class, its own seed): the 8×8 run's image, stored at the
    # dataset's 16×16
    pipe = GeneratorPipeline.from_checkpoint(ckpt)
    again = upsample_images(pipe.from_seeds([9] * 5, [smp.seed for smp in samples]).images, 16)
    for img, smp in zip(again, samples):
        assert np.array_equal(img, read_png(paths.resolve(smp.path)))


def test_resume_continues_to_the_same_weights(digits, home):
    straight = train_tiny("digits", 4, "--seed", 5)
    first = train_tiny("digits", 2, "--seed", 5)
    result = ganaug("train", "--dataset", "digits", "--steps", 4, "--resume", first["run_id"], "--json")
    assert result.exit_code == 0, result.output
    resumed = json.loads(result.stdout)
    assert resumed["resumed_from"] == first["run_id"] and resumed["step"] == 4
    a = torch.load(paths.resolve(straight["checkpoint"]), weights_only=True)
    b = torch.load(paths.resolve(resumed["checkpoint"]), weights_only=True)
    for key in ("G", "D", "G_ema"):
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)


def test_resume_without_a_budget_continues_to_the_runs_own_total(digits, home):
    from ganaug.runs import default_config, train_run

    steps_seen: list = []
    cfg = default_config("digits", resolution=8, width=4, batch_size=8, steps=4, stats_every=1)
    first = train_run("digits", cfg, progress=steps_seen.append, should_stop=lambda: len(steps_seen) >= 3)  # 0, 1, 2
    result = ganaug("train", "--resume", first, "--json")  # no --dataset, no --steps: the run knows both
    assert result.exit_code == 0, result.output
    resumed = json.loads(result.stdout)
    assert (resumed["resumed_from"], resumed["status"], resumed["step"]) == (first, "done", 4)
    assert_bad_input(ganaug("train", "--resume", resumed["run_id"]), f"run {resumed['run_id']} is already at step 4")
    assert_bad_input(ganaug("train", "--steps", 4), "give --dataset NAME")
    assert_bad_input(ganaug("train", "--resume", first, "--steps", 6, "--seed", 3), "drop --seed")  # not ignored
    listed = ganaug("runs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(r["run"], r["status"], r["step"], r["total_steps"], r["resumed_from"])
            for r in json.loads(listed.stdout)["runs"]] == [(resumed["run_id"], "done", 4, 4, first), (first, "cancelled", 2, 4, None)]
    assert f"resumed from run {first}" in ganaug("runs", "list").stdout


def test_train_without_a_budget_trains_the_steps_the_generate_form_starts_at(digits, home, monkeypatch):
    # `ganaug train` trained 2,000 steps where the Generate form (tests/app/test_generate.py) starts at 1,500.
    from ganaug_core.training.config import DEFAULT_STEPS

    asked: list = []

    def stop_before_training(dataset, config, **kwargs):  # only the budget it was given matters here
        asked.append(config.steps)
        raise KeyboardInterrupt

    monkeypatch.setattr("ganaug.runs.train_run", stop_before_training)
    ganaug("train", "--dataset", "digits")
    assert asked == [DEFAULT_STEPS] == [1500]
    assert "(default 1,500 if no --minutes" in " ".join(ganaug("train", "--help").stdout.replace("│", " ").split())


def test_runs_list_names_a_time_budget(digits, home):
    from db.datasets import get_dataset

    with session_scope() as s:
        s.add(Run(dataset_id=get_dataset(s, digits).id, status="running", run_dir="runs/000001", code_version="t",
                  config={"minutes": 1.5}, config_sha256="c" * 64, step=3))
    listed = ganaug("runs", "list")
    assert listed.exit_code == 0 and "running step 3 of 1.5 min" in listed.stdout, listed.output  # was 'step 3/-'
    assert json.loads(ganaug("runs", "list", "--json").stdout)["runs"][0]["budget"] == "1.5 min"


def test_runs_list_keeps_its_columns_in_line_whatever_each_run_says_of_its_progress(digits, home):
    from db.datasets import get_dataset
    from db.models import Dataset

    with session_scope() as s:
        ds = get_dataset(s, digits).id
        for resumed, minutes, steps in ((None, None, 400), (None, 3.0, None), (1, None, 75)):
            s.add(Run(dataset_id=ds, status="done", run_dir="runs/x", code_version="t", config={"minutes": minutes},
                      config_sha256="c" * 64, step=75, total_steps=steps, resumed_from=resumed))
    (home / "runs" / "x").mkdir(parents=True)  # a folder that is gone is said on a line of its own
    header, *lines = ganaug("runs", "list").stdout.splitlines()
    assert "step 75/75 " in lines[0] and "step 75 of 3 min " in lines[2]
    assert lines[1] == "       resumed from run 1"  # on a line of its own: beside the progress it made 96 columns
    rows = [lines[0], lines[2], lines[3]]
    # The date and the size start where the header says, on every row: a resumed run's row pushed them out of line.
    column = header.index("created (UTC)")
    assert [line.index("20") for line in rows] == [column] * 3, "\n".join([header, *lines])
    assert len({len(line) for line in [header, *rows]}) == 1

    # A long dataset name and a failed run's long error: 100 columns at 80 (COLUMNS is not read: the same in a pipe).
    with session_scope() as s:
        s.get(Dataset, ds).name = "plantvillage_leaf_diseases"
        s.add(Run(dataset_id=ds, status="failed", run_dir="runs/x", code_version="t", config={"minutes": 90.0},
                  config_sha256="c" * 64, step=12345, resumed_from=3, error="run 4 stopped without finishing (its "
                  "process was killed): `ganaug train --resume 4 --minutes M` trains it on from its last checkpoint"))
    result = runner.invoke(app, ["runs", "list"], env={"COLUMNS": "80"})
    header, first, *_ = text = result.stdout.splitlines()
    assert max(map(len, text)) <= 80, result.stdout
    assert first.startswith("    4  plantvillage_… failed step 12345 of 90 min  20"), first
    assert text[2:5] == ["       resumed from run 3",
                         "       run 4 stopped without finishing (its process was killed): `ganaug train",
                         "       --resume 4 --minutes M` trains it on from its last checkpoint"]
    assert json.loads(ganaug("runs", "list", "--json").stdout)["runs"][0]["dataset"] == "plantvillage_leaf_diseases"


def test_cancellation_saves_checkpoint_and_marks_cancelled(digits, home):
    from ganaug.runs import default_config, train_run
    from ganaug_core.progress import Progress

    seen: list[Progress] = []
    cfg = default_config("digits", resolution=8, width=4, batch_size=8, steps=50, stats_every=1)
    run_id = train_run("digits", cfg, progress=seen.append, should_stop=lambda: len(seen) >= 4)  # steps 0 to 3
    with session_scope() as s:
        run = s.get(Run, run_id)
        assert run.status == "cancelled" and run.step == 3 and run.finished_at is not None
        assert paths.resolve(run.checkpoint_path).exists()
    assert {"loss_d", "loss_g", "p", "images_per_s", "run_id"} <= set(seen[-1].stats)


def test_a_run_trains_on_through_a_database_outage_and_records_its_checkpoint_once_it_answers(digits, home, capsys,
                                                                                               monkeypatch):
    """A PostgreSQL restart during training failed the run at its next report (every 25 steps), and a checkpoint
    saved while the server was down went unrecorded (a resume could not find it)."""
    import db.engine
    from ganaug.runs import default_config, train_run
    from tests.db.helpers import database_gone

    outage = database_gone(db.engine.database_url())
    steps: list[int] = []

    def progress(p):
        steps.append(p.done)
        if p.done == 1:
            outage.__enter__()  # the server goes away after step 1's report: steps 2 and 3 report to nowhere

    def server_back(seconds):  # the first wait to record something (the checkpoint at step 4) sees it come back
        outage.__exit__(None, None, None)

    monkeypatch.setattr(db.engine, "sleep", server_back)
    cfg = default_config("digits", resolution=8, width=4, batch_size=8, steps=6, stats_every=1, ckpt_every=4)
    run_id = train_run("digits", cfg, progress=progress)
    assert steps == [0, 1, 2, 3, 4, 5, 6]  # the reports the database missed still reached the bar
    with session_scope() as s:
        run = s.get(Run, run_id)
        assert (run.status, run.step, run.progress) == ("done", 6, 1.0)
        assert run.checkpoint_path.endswith("checkpoint-0000006.pt")
    err = capsys.readouterr().err
    assert f"run {run_id}: checkpoint 4 saved; recorded once the database answers again: the database " in err
    assert err.count("recorded once the database answers again") == 1


def test_training_reports_its_start_before_the_first_step(digits, home):
    """The loop reports every `stats_every` steps (25): the bar must not wait for them. At 64² on 2 busy cores the
    first report came 53 s after the start, with nothing on the terminal until then."""
    from ganaug.runs import default_config, train_run

    seen: list = []
    cfg = default_config("digits", resolution=8, width=4, batch_size=8, steps=2, stats_every=25)
    run_id = train_run("digits", cfg, progress=seen.append)
    assert [(p.stage, p.done, p.total) for p in seen] == [("train", 0, 2), ("train", 2, 2)]
    assert seen[0].stats == {"run_id": run_id}


@pytest.mark.parametrize("args,needles", [
    (["--dataset", "nope", "--steps", 2], ["unknown dataset 'nope'"]),
    (["--dataset", "digits", "--steps", 2, "--resolution", 12], ["--resolution", "power of two between 8 and"]),
    (["--dataset", "digits", "--steps", 2, "--resolution", 4], ["--resolution", "power of two between 8 and"]),
    (["--dataset", "digits", "--steps", 2, "--resolution", 32], ["--resolution 32 is above the resolution of dataset 'digits', 16"]),
    (["--dataset", "digits", "--steps", 0], ["--steps must be > 0"]),
    (["--dataset", "digits", "--steps", 2, "--seed", str(10**23)], ["--seed must be between"]),  # torch's range
    (["--dataset", "digits", "--minutes", -1], ["--minutes must be a finite number > 0"]),
    (["--dataset", "digits", "--minutes", "inf"], ["--minutes must be a finite number > 0, got inf"]),
    (["--dataset", "digits", "--steps", 2, "--resume", 99], ["unknown run 99"]),
    (["--dataset", "digits", "--steps", 2, "--arch", "vit"], ["--arch"]),
    (["--dataset", "digits", "--steps", 2, "--arch", "resnet", "--no-edge-convs"], ["--no-edge-convs", "dcgan"]),
    (["--dataset", "digits", "--steps", 2, "--ac-weight", -0.5], ["--ac-weight must be a finite number ≥ 0"]),
    # NaN passes `x < 0`: it had switched R1 off silently (the loop's `r1_gamma > 0`) and written NaN to config.json
    (["--dataset", "digits", "--steps", 2, "--r1-gamma", "nan"], ["--r1-gamma must be a finite number ≥ 0, got nan"]),
    (["--dataset", "digits", "--steps", 2, "--r1-gamma", "inf"], ["--r1-gamma must be a finite number ≥ 0, got inf"]),
    (["--dataset", "digits", "--steps", 2, "--ac-weight", "nan"], ["--ac-weight must be a finite number ≥ 0, got nan"]),
    (["--dataset", "digits", "--steps", 2, "--diversity-threshold", 1.5], ["--diversity-threshold must be in [0, 1]"]),
])
def test_train_bad_input_leaves_nothing(digits, home, args, needles):
    assert_bad_input(ganaug("train", *args), *needles)
    assert run_count() == 0 and run_folders(home) == []


def test_resume_refuses_corrupt_and_other_dataset_checkpoints(digits, home):
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    info = train_tiny()
    ingest_dataset("demo:digits", "digits3", IngestOptions(resolution=16, channels=3))
    before = run_folders(home)
    assert_bad_input(ganaug("train", "--dataset", "digits3", "--steps", 4, "--resume", info["run_id"]),
                     "trained on dataset 'digits'")
    ckpt = paths.resolve(info["checkpoint"])
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    assert_bad_input(ganaug("train", "--dataset", "digits", "--steps", 4, "--resume", info["run_id"]),
                     "does not match its recorded sha256")
    with session_scope(immediate=True) as s:  # a corrupt file that is the very one the run recorded
        s.get(Run, info["run_id"]).checkpoint_sha256 = sha256_file(ckpt)
    assert_bad_input(ganaug("train", "--dataset", "digits", "--steps", 4, "--resume", info["run_id"]), "corrupt")
    assert run_count() == 1 and run_folders(home) == before


def test_a_checkpoint_that_differs_from_its_recorded_sha256_is_never_loaded(digits, home):
    info = train_tiny()
    ckpt = paths.resolve(info["checkpoint"])
    state = torch.load(ckpt, weights_only=True)
    name = next(k for k, v in state["G_ema"].items() if v.is_floating_point())
    state["G_ema"][name] = state["G_ema"][name] + 1  # a checkpoint that loads fine, but not the one recorded
    torch.save(state, ckpt)
    run = info["run_id"]
    for args in (("train", "--dataset", "digits", "--steps", 4, "--resume", run),
                 ("benchmark", "--dataset", "digits", "--arms", "gan", "--run", run, "--quick", "--seeds", 1),
                 ("generate", "--run", run, "--class", 9, "--n", 2, "--seed", 1)):
        assert_bad_input(ganaug(*args), f"run {run}'s checkpoint", "does not match its recorded sha256")
    assert run_count() == 1


def test_train_takes_a_batch_size_that_is_not_a_multiple_of_8(digits, home):
    """--batch-size was refused unless a multiple of 8, the sizes whose minibatch-stddev groups of 4 stayed within one
    class; the engine now lays out any size in groups that divide it (tests/core/test_gan_against_papers.py)."""
    result = ganaug("train", "--dataset", "digits", "--steps", 2, "--resolution", 8, "--width", 4, "--batch-size", 10,
                    "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["status"] == "done" and info["step"] == 2
    assert json.loads((paths.resolve(info["run_dir"]) / "config.json").read_text())["batch_size"] == 10


def test_ada_class_floor_flag_is_recorded_in_the_run(digits, home):
    for flag, expected in (("--no-ada-class-floor", False), ("--ada-class-floor", True)):
        info = train_tiny("digits", 1, flag)
        ckpt = torch.load(paths.resolve(info["checkpoint"]), weights_only=True)
        assert ckpt["config"]["ada_class_floor"] is expected
        assert json.loads((paths.resolve(info["run_dir"]) / "config.json").read_text())["ada_class_floor"] is expected


def test_ac_weight_is_recorded_and_zero_drops_the_head(digits, home):
    for value, has_head in (("0", False), ("0.25", True)):
        info = train_tiny("digits", 1, "--ac-weight", value)
        ckpt = torch.load(paths.resolve(info["checkpoint"]), weights_only=True)
        assert ckpt["config"]["ac_weight"] == float(value)
        assert ("classify.weight" in ckpt["D"]) is has_head


def test_no_edge_convs_trains_and_generates(digits, home):
    info = train_tiny("digits", 2, "--no-edge-convs")
    pipe = GeneratorPipeline.from_checkpoint(paths.resolve(info["checkpoint"]))
    assert pipe.config.edge_convs is False and pipe.generator.to_img is None
    result = ganaug("generate", "--run", info["run_id"], "--class", "2", "--n", 3, "--seed", 1, "--json")
    assert result.exit_code == 0, result.output
    with session_scope() as s:
        files = s.scalars(select(Sample.path).where(Sample.batch_id == json.loads(result.stdout)["batch_id"])
                          .order_by(Sample.id)).all()
    # the recorded samples are the pipeline's images for those seeds, stored at the dataset's 16×16
    assert np.array_equal(np.stack([read_png(paths.resolve(f)) for f in files]),
                          upsample_images(pipe(2, 3, seed=1).images, 16))


def test_train_reports_the_diversity_monitors_last_reading(digits, home, monkeypatch):
    # Two steps from initialisation the classes vary 0.55–0.94 as much as their real images: 0.8 flags some.
    monkeypatch.setattr("ganaug_core.runstats.FEW_STEPS", 2)  # a run of enough steps: warned (few steps: a note)
    result = ganaug("train", "--dataset", "digits", "--steps", 2, *TINY, "--diversity-threshold", 0.8, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    with session_scope() as s:
        stats_file = paths.resolve(s.get(Run, info["run_id"]).run_dir) / "stats.jsonl"
    last = [json.loads(line) for line in stats_file.read_text().splitlines()][-1]
    names = [str(c) for c in range(10)]  # the digits' class names are their digits
    assert info["diversity"] == {names[int(c)]: v for c, v in last["diversity"].items()}
    assert info["collapsed_classes"] == [names[c] for c in last["collapsed"]]
    assert last["collapsed"] == [c for c, v in enumerate(last["diversity"].values()) if v < 0.8] != []
    lines = result.stderr.strip().splitlines()
    at = max(i for i, line in enumerate(lines) if line.startswith("warning: possible mode collapse"))
    assert max(len(line) for line in lines[at:] if "/grids" not in line) <= 80, lines[at:]  # a path: whole
    warning = " ".join(" ".join(lines[at:]).split())
    assert "--resume" in warning
    for c in info["collapsed_classes"]:
        assert f"{c} ({info['diversity'][c]:.2f} of real)" in warning


@pytest.mark.parametrize("args,needles", [
    (["--class", "x"], ["class 'x' is not in the dataset"]),
    (["--class", "10"], ["class 10 is not in the dataset"]),
    (["--class", "1", "--n", "0"], ["--n must be between"]),
    (["--class", "1", "--seed", str(2**63)], ["--seed must be between 0 and 2**63 - 1"]),  # seeds are stored in 64 bits
    (["--class", "1", "--device", "tpu"], ["--device must be cpu or cuda"]),
])
def test_generate_bad_input(digits, home, args, needles):
    info = train_tiny()
    extra = [] if "--n" in args else ["--n", "3"]
    assert_bad_input(ganaug("generate", "--run", info["run_id"], *args, *extra), *needles)
    assert_bad_input(ganaug("generate", "--run", 42, "--class", "1", "--n", 3), "unknown run 42")
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 0
    assert not (home / "batches").exists() or list((home / "batches").iterdir()) == []


def test_generate_from_a_run_still_training_without_a_checkpoint_says_so(digits, home):
    from db.datasets import get_dataset

    with session_scope() as s:
        run = Run(dataset_id=get_dataset(s, digits).id, status="running", run_dir="runs/000001", config={},
                  config_sha256="c" * 64, code_version="t", step=125, total_steps=3000)
        s.add(run)
        s.flush()
        run_id = run.id
    assert_bad_input(ganaug("generate", "--run", run_id, "--class", "1", "--n", 2),
                     f"run {run_id} has no checkpoint yet: it is still training, at step 125")


def test_a_class_named_in_another_unicode_form_is_found(home, tmp_path):
    import unicodedata

    from tests.core.test_datasets import make_image_folder

    decomposed = unicodedata.normalize("NFD", "crème")  # as a folder from macOS may spell it
    src = make_image_folder(tmp_path / "src", classes=(decomposed, "ok"), per_class=(4, 4))
    assert ganaug("data", "ingest", str(src), "--name", "pastry", "--resolution", "8").exit_code == 0
    info = train_tiny("pastry", 1)
    result = ganaug("generate", "--run", info["run_id"], "--class", "crème", "--n", 2, "--json")  # as typed: composed
    assert result.exit_code == 0, result.output  # it had said: class 'crème' is not in the dataset (classes: crème, ok)
    assert json.loads(result.stdout)["class_index"] == 0


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])  # Ctrl-C; kill, timeout, docker stop
def test_ctrl_c_or_sigterm_saves_a_checkpoint_and_exits_cleanly(digits, home, signum):
    import os
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "ganaug", "train", "--dataset", "digits", "--steps", "100000", *TINY, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "GANAUG_HOME": str(home)},
        preexec_fn=ctrl_c_heard,
    )
    stats = home / "runs" / "000001" / "stats.jsonl"
    deadline = time.monotonic() + 600  # a guard against a hang, not a speed limit
    while not (stats.exists() and stats.read_text().strip()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(getattr(signal, signum))
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == (130 if signum == "SIGINT" else 143), err  # a shell's status for each signal
    assert "Traceback" not in err and "--resume 1" in err
    info = json.loads(out)
    with session_scope() as s:
        run = s.get(Run, info["run_id"])
        assert run.status == "cancelled" and run.step > 0
        assert sha256_file(paths.resolve(run.checkpoint_path)) == run.checkpoint_sha256


@pytest.mark.parametrize("error", [RuntimeError("out of memory"), KeyboardInterrupt()])
def test_a_start_that_fails_or_is_interrupted_leaves_no_run(digits, home, monkeypatch, error):
    from ganaug import runs

    def broken(*args, **kwargs):  # building the networks fails, or Ctrl-C lands before the loop's own handler
        raise error

    monkeypatch.setattr(runs, "Trainer", broken)
    with pytest.raises(type(error)):
        runs.train_run("digits", runs.default_config("digits", resolution=8, width=4, batch_size=8, steps=5))
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 0
    assert not (home / "runs").exists() or list((home / "runs").iterdir()) == []


def test_failure_during_training_marks_the_run_failed(digits, home):
    from ganaug.runs import default_config, train_run

    def boom() -> bool:
        raise RuntimeError("disk on fire")

    cfg = default_config("digits", resolution=8, width=4, batch_size=8, steps=5)
    with pytest.raises(RuntimeError, match="disk on fire"):
        train_run("digits", cfg, should_stop=boom)
    with session_scope() as s:
        run = s.scalars(select(Run)).one()
        assert run.status == "failed" and "disk on fire" in run.error
        assert (paths.resolve(run.run_dir) / "config.json").exists()  # kept for inspection


def test_a_class_with_no_training_images_cannot_be_generated(home, tmp_path):
    from ganaug.datasets import ingest_dataset
    from ganaug.runs import default_config, train_run
    from ganaug_core.datasets import IngestOptions

    rng = np.random.default_rng(0)
    # MedMNIST layout: its own test split, where class 2 alone lives; the generator never sees a class-2 image.
    np.savez(tmp_path / "d.npz", train_images=rng.integers(0, 255, (12, 8, 8), dtype=np.uint8),
             train_labels=np.array([0, 1] * 6), test_images=rng.integers(0, 255, (6, 8, 8), dtype=np.uint8),
             test_labels=np.array([0, 1, 2] * 2))
    ingest_dataset(str(tmp_path / "d.npz"), "gap", IngestOptions(resolution=8))
    run = train_run("gap", default_config("gap", width=4, z_dim=8, batch_size=4, steps=2))
    assert_bad_input(ganaug("generate", "--run", run, "--class", "2", "--n", "2"),
                     "class 2 has no training images in dataset 'gap'")
    assert ganaug("generate", "--run", run, "--class", "1", "--n", "2").exit_code == 0
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 1


def test_generating_reports_writing_the_pngs_after_sampling_them(digits, home):
    from ganaug.batches import generate_batch

    run = train_tiny()["run_id"]
    events = []
    generate_batch(run, 1, 3, 0, progress=events.append)
    stages = [(p.stage, p.done, p.total) for p in events]
    assert stages[-1] == ("write", 3, 3)  # the bar ends when the batch is on disk, not when it is sampled
    assert max(i for i, s in enumerate(stages) if s[0] == "generate") < stages.index(("write", 3, 3))


def test_the_bar_names_collapsed_classes_as_the_warning_does():
    from ganaug.cli.gan import train_bar
    from ganaug_core.progress import Progress

    seen: list = []
    report = train_bar(seen.append, lambda: ["crack", "sc\x1b]0;pwned\x07ratch", "ok"])  # the user's folder names
    report(Progress("train", 25, 100, {"loss_d": 1.5, "collapsed": [0, 1], "grid": "g.png", "run_id": 3}))
    # It had shown the indices, 'collapsed=[0, 1]', while the warning below the bar named the classes.
    assert seen[0].stats == {"loss_d": 1.5, "collapsed": "[crack, sc\\x1b]0;pwned\\x07ratch]"}
    report(Progress("train", 50, 100, {"loss_d": 1.5, "collapsed": []}))
    assert seen[1].stats["collapsed"] == "[]"


def test_the_bar_of_a_real_run_shows_class_names(home, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("crack", "ok"):
        (tmp_path / "src" / name).mkdir(parents=True)
        for i in range(4):  # pure noise: a generator two steps from initialisation varies less
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "src" / name / f"{i}.png")
    assert ganaug("data", "ingest", str(tmp_path / "src"), "--name", "parts", "--resolution", "8").exit_code == 0
    result = ganaug("train", "--dataset", "parts", "--steps", 2, *TINY, "--diversity-threshold", 1, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["collapsed_classes"] == ["crack", "ok"]
    assert "collapsed=[crack, ok]" in result.stderr, result.stderr


def test_a_finished_run_of_few_steps_says_so_and_how_to_continue(digits, home, monkeypatch):
    result = ganaug("train", "--dataset", "digits", "--steps", 2, *TINY)
    assert result.exit_code == 0, result.output
    # it had said only 'run 1 done at step 2: ...', of a noise generator
    [first] = result.stdout.splitlines()  # the note is no result: on stderr, as `generate`'s is (it was on stdout)
    run_id = int(first.split()[1])
    hint = result.stderr[result.stderr.index("note: only 2"):].splitlines()
    assert max(map(len, hint)) <= 80, hint  # wrapped: it was one line of 219 columns
    assert any(f"`ganaug train --resume {run_id} --minutes M`" in line for line in hint), hint  # whole, to copy
    assert " ".join(" ".join(hint).split()) == (
        f"note: only 2 training steps: likely too few for realistic samples (the demo digits needed about 1,000); "
        f"train this run further with `ganaug train --resume {run_id} --minutes M` (M more minutes) or `--steps N` "
        "(up to N steps in all)")
    as_json = ganaug("train", "--dataset", "digits", "--steps", 2, *TINY, "--json")
    assert json.loads(as_json.stdout)["too_few_steps"] is True and "note: only 2 training steps" in as_json.stderr
    # What it suggests works: the run goes on from its checkpoint for M more minutes.
    resumed = ganaug("train", "--resume", run_id, "--minutes", 0.02, "--json")
    assert resumed.exit_code == 0, resumed.output
    info = json.loads(resumed.stdout)
    assert (info["resumed_from"], info["status"]) == (run_id, "done") and info["step"] > 2
    assert info["too_few_steps"] is True  # a script is told as a reader is
    monkeypatch.setattr("ganaug_core.runstats.FEW_STEPS", 2)
    enough_json = ganaug("train", "--dataset", "digits", "--steps", 2, "--json", *TINY)
    assert json.loads(enough_json.stdout)["too_few_steps"] is False
    enough = ganaug("train", "--dataset", "digits", "--steps", 2, *TINY)
    assert enough.exit_code == 0 and len(enough.stdout.splitlines()) == 1, enough.output


def test_the_bar_names_a_few_collapsed_classes_and_counts_the_rest():
    from ganaug.cli.gan import train_bar
    from ganaug_core.progress import Progress

    seen: list = []
    names = [f"pitting corrosion — sous-type {c:03d}" for c in range(100)]
    train_bar(seen.append, lambda: names)(Progress("train", 250, 2000, {"loss_d": 1.5, "collapsed": list(range(79))}))
    # All 79 names made the bar ~2,800 characters wide: a terminal cut it off, a log kept every such line.
    assert seen[0].stats["collapsed"] == f"[{names[0]}, {names[1]}, {names[2]} +76 more]"


def test_many_collapsed_classes_are_named_worst_first_and_counted(home, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(60):  # pure noise: a generator two steps from initialisation varies less
        folder = tmp_path / "src" / f"naevus atypique — sous-type {c:03d}"
        folder.mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    assert ganaug("data", "ingest", str(tmp_path / "src"), "--name", "many", "--resolution", "8").exit_code == 0
    result = ganaug("train", "--dataset", "many", "--steps", 2, *TINY, "--diversity-threshold", 1, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert len(info["collapsed_classes"]) == 60
    said = result.stderr  # the note of a young run, read across its lines (wrapped at 80 columns)
    warning = " ".join(said[max(said.rfind("note: samples still vary"), said.rfind("warning: possible")):].split())
    worst = sorted(info["collapsed_classes"], key=lambda c: info["diversity"][c])
    named = ", ".join(f"{c} ({info['diversity'][c]:.2f} of real)" for c in worst[:10])
    assert f"in class {named} and 50 more (`--json` names them all); look at the grids" in warning
    assert len(warning) < 1000
    # A class that is not there: the closest names and where the 60 are listed, not every name.
    typo = ganaug("generate", "--run", info["run_id"], "--class", "naevus atypique sous-type 007", "--n", 2)
    assert_bad_input(typo, "class 'naevus atypique sous-type 007' is not in the dataset (its 60 classes: "
                     "`ganaug data report many`); did you mean 'naevus atypique — sous-type 007'")
    assert len(typo.stderr) < 400
    assert_bad_input(ganaug("generate", "--run", info["run_id"], "--class", "60", "--n", 2),
                     "class 60 is not in the dataset (indices 0..59; its 60 classes: `ganaug data report many`)")


def test_train_and_generate_print_paths_that_open_from_anywhere_and_a_minute_budget_shows_its_time_left(
        digits, home, tmp_path, monkeypatch):
    import re
    from pathlib import Path

    from ganaug.cli.gan import budget_left
    from ganaug_core.progress import Progress

    monkeypatch.chdir(tmp_path)  # not GANAUG_HOME: 'runs/000001/…' and 'batches/1' opened nothing from here
    result = ganaug("train", "--dataset", "digits", "--minutes", 0.02, *TINY)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    checkpoint = Path(first.split(": ", 1)[1])
    assert checkpoint.is_absolute() and checkpoint.is_file(), first
    # A minute budget's bar has no total: it counted steps with no word of when training ends.
    assert re.search(r"left=\d+:\d\d", result.stderr), result.stderr
    run_id = int(first.split()[1])
    generated = ganaug("generate", "--run", run_id, "--class", 9, "--n", 2)
    assert generated.exit_code == 0, generated.output
    folder = Path(generated.stdout.split(" in ", 1)[1].removesuffix(" (pending review)\n"))
    assert folder.is_absolute() and len(list(folder.glob("*.png"))) == 2, generated.stdout
    assert budget_left(Progress("train", 100, 0, {"elapsed_s": 30.0, "budget_fraction": 0.25})) == "1:30"
    assert budget_left(Progress("train", 100, 400, {"elapsed_s": 30.0})) is None  # a step budget has its own bar
