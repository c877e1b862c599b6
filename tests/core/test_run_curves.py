"""A run's training curves read from its stats.jsonl (`ganaug_core.run_curves`): a real tiny run's file, a line the
trainer is still appending, a run of 100,000 steps thinned, an older run's lines without today's keys, and the
classes a chart draws by default."""

from __future__ import annotations

import json

import numpy as np

from ganaug_core.imbalance import minority_classes
from ganaug_core.run_curves import classes_to_draw, read_curves
from ganaug_core.runstats import last_diversity


def write_stats(folder, lines: list[dict], tail: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + tail)


def test_a_real_tiny_runs_stats_give_its_curves(tmp_path):
    from ganaug_core.training import TrainConfig, TrainData, Trainer

    cfg = TrainConfig(resolution=8, channels=1, num_classes=3, width=4, z_dim=8, batch_size=8, steps=3, grid_every=3,
                      ckpt_every=3, stats_every=1, diversity_every=2, diversity_threshold=0.3).validate()
    labels = np.array([0] * 30 + [1] * 7 + [2] * 3)
    images = np.random.default_rng(0).integers(0, 256, (len(labels), 1, 8, 8), dtype=np.uint8)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict()))
    Trainer(cfg, TrainData(images, labels, ["a", "b", "c"], "tiny", "0" * 64), run_dir).run()

    curves = read_curves(run_dir)
    assert curves.state == "ok" and curves.steps == [1, 2, 3] and not curves.thinned
    assert all(isinstance(v, float) for v in curves.loss_d + curves.loss_g + curves.p)
    assert curves.diversity_steps == [2, 3] and sorted(curves.diversity) == [0, 1, 2]  # and at the end
    assert curves.threshold == 0.3  # the run's own --diversity-threshold, from its config.json
    assert curves.latest["step"] == 3 and curves.reading["step"] == 3


def test_a_torn_last_line_a_missing_file_and_an_empty_one(tmp_path):
    assert read_curves(tmp_path / "never-trained").state == "missing"
    write_stats(tmp_path / "empty", [])
    assert read_curves(tmp_path / "empty").state == "empty"
    write_stats(tmp_path / "torn-only", [], tail='{"step": 2')
    assert read_curves(tmp_path / "torn-only").state == "empty"

    # A run still training: its last line is half written; the lines before it are the curves.
    write_stats(tmp_path / "running", [{"step": 25, "loss_d": 1.5, "loss_g": 0.7, "p": 0.01},
                                       {"step": 50, "loss_d": 1.4, "loss_g": 0.8, "p": 0.02,
                                        "diversity": {"0": 0.9, "1": 0.4}, "collapsed": [1]}],
                tail='{"step": 75, "loss_d": 1.')
    curves = read_curves(tmp_path / "running")
    assert (curves.state, curves.steps, curves.loss_d, curves.p) == ("ok", [25, 50], [1.5, 1.4], [0.01, 0.02])
    assert curves.lines == 3 and curves.latest["step"] == 50
    assert curves.diversity == {0: [0.9], 1: [0.4]} and curves.flagged() == [1]
    assert curves.threshold == 0.5  # no config.json: the default


def test_an_older_runs_lines_without_todays_keys(tmp_path):
    # The first runs wrote no vs_other_classes and no budget_fraction; a line may lack p, or hold a NaN loss, and a
    # class may be missing from a reading.
    write_stats(tmp_path / "old", [{"step": 25, "loss_d": 1.0, "loss_g": float("nan")},
                                   {"step": 50, "loss_d": 0.9, "loss_g": 0.5, "p": 0.1,
                                    "diversity": {"0": 0.8}, "collapsed": []},
                                   {"step": 75, "p": "?"},
                                   {"step": 100, "loss_d": 0.8, "loss_g": 0.4, "diversity": {"0": 0.7, "1": 0.2}},
                                   ["not", "a", "line"], {"no_step": 1}])
    (tmp_path / "old" / "config.json").write_text(json.dumps({"arch": "dcgan"}))  # no diversity_threshold
    # And a line nested past the JSON decoder's depth, which raised a RecursionError where other bad lines are skipped.
    stats = tmp_path / "old" / "stats.jsonl"
    stats.write_text("[" * 100_000 + "]" * 100_000 + "\n" + stats.read_text())
    curves = read_curves(tmp_path / "old")
    assert last_diversity(tmp_path / "old")["step"] == 100  # `runs show` reads the same file
    assert curves.steps == [25, 50, 75, 100]
    assert curves.loss_g == [None, 0.5, None, 0.4] and curves.p == [None, 0.1, None, None]
    assert curves.diversity == {0: [0.8, 0.7], 1: [None, 0.2]}
    assert curves.flagged() == [] and curves.reading["vs_other_classes"] == [] and curves.threshold == 0.5


def test_100000_steps_are_thinned_not_drawn_point_by_point(tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    with open(folder / "stats.jsonl", "w") as f:
        for step in range(1, 100_001):
            line = {"step": step, "loss_d": 1.0, "loss_g": 0.5, "p": step / 100_000}
            if step % 50 == 0:  # 2,000 readings: thinned too
                last = step == 100_000
                line.update(diversity={"0": 0.9, "1": 0.3 if last else 0.6}, collapsed=[1] * last)
            f.write(json.dumps(line) + "\n")
        f.write('{"step": 100001, "lo')  # and still training
    curves = read_curves(folder, max_points=1000)
    assert curves.thinned and curves.lines == 100_001
    assert 900 <= len(curves.steps) <= 1001 and curves.steps[-1] == 100_000  # the newest step always kept
    assert 900 <= len(curves.diversity_steps) <= 1001 and curves.diversity_steps[-1] == 100_000
    assert curves.diversity[1][-1] == 0.3 and curves.flagged() == [1]  # the last reading, whole
    assert curves.steps == sorted(curves.steps)


def test_the_classes_drawn_are_the_flagged_then_the_rare_then_the_lowest(tmp_path, monkeypatch):
    ratios = {str(c): 0.9 - c / 100 for c in range(40)}  # class 39 lowest
    ratios.update({"5": 0.2, "6": 0.3})
    write_stats(tmp_path / "many", [{"step": 250, "loss_d": 1.0, "diversity": ratios, "collapsed": [6, 5]}])
    curves = read_curves(tmp_path / "many")
    assert classes_to_draw(curves, rare=[30, 31], most=6) == [5, 6, 30, 31, 39, 38]
    assert minority_classes([100, 90, 10, 0, 19]) == [2, 4]  # under a fifth of the largest; none at all is not learned

    # Drawn by `runs show --plot`: class names are a dataset giver's folder names, and matplotlib read "$\\x$" in one as
    # math, which stopped the command at savefig.
    import io

    import matplotlib

    from ganaug_core.run_curves_plot import curves_figure

    monkeypatch.setitem(matplotlib.rcParams, "text.parse_math", True)  # matplotlib's default
    names = [f"c{c}" for c in range(40)]
    names[5] = "$\\x$"
    fig = curves_figure(curves, names, [30, 31], "run 1 (costs in $ or $$)")
    fig.savefig(io.BytesIO(), format="png")
    assert fig.axes[2].get_legend().get_texts()[0].get_text() == "$\\x$: 0.20"
    matplotlib.pyplot.close(fig)


def test_the_legend_shows_class_names_as_the_command_line_prints_them(tmp_path):
    # A class folder 'x\u202egpj.exe' reversed the text after it in `runs show --plot`'s legend ("4.85" read
    # "x58.4 :exe.jpg"), 'a\nb' split its entry over two lines, ESC drew a box.
    import matplotlib

    from ganaug_core.run_curves_plot import curves_figure

    write_stats(tmp_path / "run", [{"step": 10, "loss_d": 1.0, "diversity": {"0": 0.485, "1": 0.6, "2": 0.7},
                                    "collapsed": [0]}])
    names = ["x\u202egpj.exe", "a\nb", "e\x1b[2Jsc"]
    fig = curves_figure(read_curves(tmp_path / "run"), names, [], "run 1 (da\u202eta): done, step 10")
    legend = [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    titles = [fig.get_suptitle(), fig.axes[2].get_title()]
    matplotlib.pyplot.close(fig)
    assert legend == ["x\\u202egpj.exe: 0.48", "a\\nb: 0.60", "e\\x1b[2Jsc: 0.70", "threshold 0.5"]
    assert titles == ["run 1 (da\\u202eta): done, step 10", "Diversity against real images; flagged: x\\u202egpj.exe"]
