"""The Generate page draws a run's training curves from its stats.jsonl: the losses of D and G, p, and each class's
diversity with the threshold and the flagged classes named; under a running job (its last line still being written),
under a job that ended, and for the run chosen under "Start from run"."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.engine import session_scope
from db.models import Dataset, Job, Run
from tests.app.conftest import app_test

# digits: 7, 8 and 9 are its rare classes. Class 9 fell below the threshold, and so did class 3.
RATIOS = {**{str(c): round(0.9 - c * 0.02, 2) for c in range(10)}, "3": 0.45, "9": 0.31}


def stats_lines(last_step: int) -> list[dict]:
    """Lines as the training loop writes them, every 25 steps, with a diversity reading every 250."""
    lines = []
    for step in range(25, last_step + 1, 25):
        line = {"step": step, "loss_d": 1.5 - step / 1000, "loss_g": 0.5 + step / 1000, "d_real": 0.3, "d_fake": -0.2,
                "p": step / 5000, "ada_rt": 0.6, "images_per_s": 400.0, "elapsed_s": step / 5}
        if step % 250 == 0:
            line.update(diversity=RATIOS, collapsed=[3, 9])
        lines.append(line)
    return lines


def a_run(home, dataset: str, status: str, step: int, tail: str = "") -> int:
    with session_scope(immediate=True) as s:
        run = Run(dataset_id=s.scalar(select(Dataset.id).where(Dataset.name == dataset)), status=status,
                  run_dir="runs/curves", config={"arch": "dcgan", "resolution": 16}, config_sha256="c" * 64,
                  code_version="test", step=step, total_steps=1000,
                  checkpoint_path=f"runs/curves/checkpoints/checkpoint-{step:07d}.pt", checkpoint_sha256="k" * 64)
        s.add(run)
        s.flush()
        run_id = run.id
    folder = home / "runs" / "curves"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / f"checkpoint-{step:07d}.pt").write_bytes(b"pt")
    (folder / "stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in stats_lines(step)) + tail)
    return run_id


def a_job(users, dataset: str, run_id: int, finished: bool) -> int:
    from db.jobs import claim_job, finish_job, submit_job

    with session_scope(immediate=True) as s:
        job_id = submit_job(s, "train_generate", {"dataset": dataset, "classes": [9], "config": {"steps": 1000}},
                            None, requested_by=users["rita"]["id"]).id
        claim_job(s, job_id, 1)
        job = s.get(Job, job_id)
        job.run_id, job.stats = run_id, {"stage": "train", "run_id": run_id, "step": 500, "elapsed_s": 100.0}
        if finished:
            finish_job(s, job_id, {"run_id": run_id, "batch_ids": [], "collapsed_classes": ["3", "9"]}, run_id=run_id)
    return job_id


def charts(at, key: str) -> dict[str, tuple[dict, str]]:
    """The page's plotly charts whose key starts with `key`: name → (spec, alt)."""
    found = {}
    for c in at.get("plotly_chart"):
        for name in ("losses", "p", "diversity"):
            if f"{key}_{name}" in c.proto.id:
                found[name] = (json.loads(c.proto.spec), c.proto.alt)
    return found


def test_a_running_jobs_panel_draws_its_curves_skipping_the_line_being_written(users, digits, home):
    run_id = a_run(home, digits, "running", 500, tail='{"step": 525, "loss_d": 1.')
    job = a_job(users, digits, run_id, finished=False)
    at = app_test(users["rita"], "generate.py")
    assert not at.exception
    drawn = charts(at, f"gen_curves_{job}")
    assert set(drawn) == {"losses", "p", "diversity"}
    losses, alt = drawn["losses"]
    assert [t["name"] for t in losses["data"]] == ["D loss", "G loss"]
    assert losses["data"][0]["x"][-1] == 500 and len(losses["data"][0]["x"]) == 20  # not the torn line at 525
    assert alt == "Line chart: the losses of D and G over steps 25 to 500; latest D 1.000, G 1.000"
    assert drawn["p"][1] == "Line chart: the augmentation probability p over steps 25 to 500; latest 0.10"

    diversity, alt = drawn["diversity"]
    # Ten classes: the flagged ones (lowest first), the rare ones, then the lowest of the rest: eight at most.
    assert [t["name"] for t in diversity["data"]] == ["9 (rare)", "3", "7 (rare)", "8 (rare)", "6", "5", "4", "2"]
    assert at.multiselect(key=f"gen_curves_{job}_classes").value == [9, 3, 7, 8, 6, 5, 4, 2]
    assert diversity["layout"]["shapes"][0]["y0"] == 0.5  # the threshold, as a line
    assert "flagged: 3, 9" in diversity["layout"]["title"]["text"]
    assert alt.startswith("Line chart: each class's diversity against its real images over steps 250 to 500, "
                          "threshold 0.5; latest: class 9 (rare) 0.31, flagged; class 3 0.45, flagged; class 7 (rare)")
    assert "Below the threshold 0.5 at step 500: 3 (0.45), 9 (0.31)." in [c.value for c in at.caption]

    # The job trains on (the torn line finished): class 0 is flagged at the next reading, and joins the chart while
    # nobody chose classes.
    with open(home / "runs" / "curves" / "stats.jsonl", "a") as f:
        f.write('25, "loss_g": 1.0}\n' + json.dumps({"step": 750, "loss_d": 1.0, "diversity": {**RATIOS, "0": 0.1}, "collapsed": [0, 3, 9]})
                + "\n")
    at.run()
    assert at.multiselect(key=f"gen_curves_{job}_classes").value == [0, 9, 3, 7, 8, 6, 5, 4]
    at.multiselect(key=f"gen_curves_{job}_classes").set_value([1, 9]).run()  # chosen by the user: kept
    with open(home / "runs" / "curves" / "stats.jsonl", "a") as f:
        f.write(json.dumps({"step": 1000, "loss_d": 1.0, "diversity": RATIOS, "collapsed": [3, 9]}) + "\n")
    at.run()
    assert [t["name"] for t in charts(at, f"gen_curves_{job}")["diversity"][0]["data"]] == ["1", "9 (rare)"]


def test_a_finished_run_shows_its_curves_under_its_job_and_when_chosen_to_start_from(users, digits, home):
    from sqlalchemy import update

    with session_scope() as s:  # a class folder named with HTML, which Plotly would draw as a live link
        s.execute(update(Dataset).where(Dataset.name == digits).values(
            class_names=[*map(str, range(9)), '<a href="https://evil.example">9</a>']))
    run_id = a_run(home, digits, "done", 500)
    job = a_job(users, digits, run_id, finished=True)
    at = app_test(users["rita"], "generate.py")
    assert not at.exception
    assert f"Training curves of run {run_id}" in [e.label for e in at.expander]  # folded below the outcome
    drawn = charts(at, f"gen_curves_{job}")
    assert set(drawn) == {"losses", "p", "diversity"}
    spec = json.dumps(drawn["diversity"][0])
    assert "evil.example" in spec and "<a href" not in spec and "&lt;a href=" in spec  # the name, as text

    at.selectbox(key="gen_resume").set_value(run_id).run()
    assert not at.exception
    assert set(charts(at, "gen_run_curves")) == {"losses", "p", "diversity"}


def test_a_run_without_stats_says_so(users, digits, home):
    run_id = a_run(home, digits, "done", 500)
    (home / "runs" / "curves" / "stats.jsonl").unlink()
    at = app_test(users["rita"], "generate.py")
    at.selectbox(key="gen_resume").set_value(run_id).run()
    assert not at.exception and not charts(at, "gen_run_curves")
    assert "No training curves yet: the run has written no stats file (stats.jsonl)." in [c.value for c in at.caption]


def test_many_long_flagged_names_are_counted_in_the_title_and_the_legend_has_room(tmp_path):
    """38 plant diseases, 6 flagged: the title named them all and ran off the chart's right edge mid-name, and the
    legend's 8 rows squeezed the plot of a fixed 300 px to a strip 60 px high that scrolled. The title counts them
    (the caption below names each, with its ratio) and the chart grows a row per class drawn."""
    from ganaug_core.run_curves import read_curves
    from pages.run_curves import flagged_said, diversity_figure

    names = [f"Tomato___Target_Spot_{c}" for c in range(10)]
    (tmp_path / "stats.jsonl").write_text("".join(json.dumps(line) + "\n" for line in stats_lines(500)))
    curves = read_curves(tmp_path)
    fig, _ = diversity_figure(curves, [9, 3, 7, 8, 6, 5, 4, 2], names, rare=[7, 8, 9])
    assert fig.layout.title.text == "Diversity against real images · flagged: 2 classes (named below)"
    assert fig.layout.height == 300 + 8 * 20
    assert flagged_said(curves, names).endswith("Spot\\_3 (0.45), Tomato\\_\\_\\_Target\\_Spot\\_9 (0.31).")  # as markdown
    short, _ = diversity_figure(curves, [9, 3], [str(c) for c in range(10)], rare=[9])
    assert short.layout.title.text == "Diversity against real images · flagged: 3, 9"
    assert short.layout.height == 300 + 2 * 20


def test_the_chart_names_classes_as_the_command_line_prints_them(tmp_path):
    # A class folder 'x\u202egpj.exe' reversed the legend's text after it, 'a\nb' split its entry over two lines:
    # drawn as `runs show --plot` draws them (`one_line`).
    from ganaug_core.run_curves import read_curves
    from pages.run_curves import diversity_figure

    names = ["x\u202egpj.exe", "a\nb"] + [f"c{c}" for c in range(2, 10)]
    (tmp_path / "stats.jsonl").write_text("".join(json.dumps(line) + "\n" for line in stats_lines(500)))
    fig, alt = diversity_figure(read_curves(tmp_path), [0, 1], names, rare=[1])
    assert [t.name for t in fig.data] == ["x\\u202egpj.exe", "a\\nb (rare)"]
    assert "class x\\u202egpj.exe " in alt and "class a\\nb (rare) " in alt
