"""Embeddings (box, lasso and point selection, coverage), audit (log, verify, provenance, export), evaluate pages."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Batch, Event, Job, RealImage, Sample
from tests.app.conftest import app_test, button, disable, embed_reals, image_captions, make_batch, worker_beating


def _two_batches(digits):
    n_real = embed_reals(digits)
    b7 = make_batch(digits, 7, 5, seed=1)
    b9 = make_batch(digits, 9, 5, seed=2)
    with session_scope() as session:
        s7 = session.execute(select(Sample.id, Sample.emb_x, Sample.emb_y).where(Sample.batch_id == b7)
                             .order_by(Sample.id)).all()
        s9 = session.execute(select(Sample.id, Sample.emb_x, Sample.emb_y).where(Sample.batch_id == b9)
                             .order_by(Sample.id)).all()
        real = session.execute(select(RealImage.id, RealImage.emb_x, RealImage.emb_y)
                               .where(RealImage.emb_x.is_not(None)).order_by(RealImage.id).limit(1)).one()
    return n_real, s7, s9, real


def _selected_captions(at) -> list[str]:
    return [c for c in image_captions(at) if c.startswith(("#", "real #"))]


def _tile(sample_id: int) -> str:
    """A selected sample's caption: its id, class, batch and the batch's status (digits' class names are their
    indices)."""
    with session_scope() as session:
        s, status = session.execute(select(Sample, Batch.status).join(Batch, Sample.batch_id == Batch.id)
                                    .where(Sample.id == sample_id)).one()
        return f"#{s.id} · {s.class_index} · batch {s.batch_id} {status}"


def _real_tile(real_id: int) -> str:
    with session_scope() as session:
        return f"real #{real_id} · {session.get(RealImage, real_id).class_index}"


def test_embedding_box_and_lasso_select_the_points_inside(users, digits):
    from db.review import reject_sample
    from db.users import get_user

    n_real, s7, s9, real = _two_batches(digits)
    at = app_test(users["rita"], "embeddings.py")
    assert not at.exception
    assert any(f"{n_real:,} real training images and 10 synthetic samples" in c.value for c in at.caption)
    assert not at.toggle(key="emb_each_point").value  # the map is one image: plotly reports shapes, not points
    e = 1e-6
    (i7, x7, y7), (i9, x9, y9), (ir, xr, yr) = s7[0], s9[2], real
    # What Streamlit hands over for shapes drawn on the image: data coordinates, a box's corners in either order.
    at.session_state["emb_selection"] = {"points": [], "box": [{"xref": "x", "yref": "y", "x": [x7 + e, x7 - e],
                                                                "y": [y7 - e, y7 + e]}],
                                         "lasso": [{"xref": "x", "yref": "y", "x": [x - e, x + e, x],
                                                    "y": [y - e, y - e, y + e]} for x, y in ((x9, y9), (xr, yr))]}
    at.run()
    assert not at.exception
    assert at.header[0].value == "Selected: 2 synthetic, 1 real"
    assert _selected_captions(at) == [_tile(i7), _tile(i9), _real_tile(ir)]
    with session_scope(immediate=True) as session:  # a sample rejected in a pending batch: both are named
        reject_sample(session, i7, get_user(session, "rita"), "smeared")
    at.run()
    assert _selected_captions(at)[0] == _tile(i7) + " · sample rejected"  # it read '#… · pending · rejected'


def test_embedding_webgl_selection_resolves_sample_ids_across_traces(users, digits):
    _, s7, s9, _ = _two_batches(digits)
    at = app_test(users["rita"], "embeddings.py")
    at.toggle(key="emb_each_point").set_value(True).run()
    assert not at.exception
    # Points from two colour traces share point_index 0; only custom_data tells them apart. The custom data went
    # to the browser as a typed array, and chromium sends each point's row back as an object keyed by position.
    at.session_state["emb_selection"] = {"points": [
        {"curve_number": 1, "point_index": 0, "customdata": {"0": s7[0].id, "1": 0}},
        {"curve_number": 3, "point_index": 0, "customdata": {"0": s9[2].id, "1": 0}},
        {"curve_number": 0, "point_index": 0, "customdata": {"0": 1, "1": 1}},
    ], "box": [], "lasso": []}
    at.run()
    assert not at.exception
    assert at.header[0].value == "Selected: 2 synthetic, 1 real"
    assert _selected_captions(at) == [_tile(s7[0].id), _tile(s9[2].id), _real_tile(1)]


def test_a_large_selection_is_paged_through(users, digits):
    n_real, s7, s9, _ = _two_batches(digits)
    with session_scope() as session:
        reals = list(session.scalars(select(RealImage.id).where(RealImage.emb_x.is_not(None)).order_by(RealImage.id)))
    everything = {"points": [], "lasso": [], "box": [{"xref": "x", "yref": "y", "x": [-1e3, 1e3], "y": [-1e3, 1e3]}]}
    at = app_test(users["rita"], "embeddings.py")
    at.session_state["emb_selection"] = everything
    at.run()
    n = n_real + 10
    pages = -(-n // 48)
    assert at.header[0].value == f"Selected: 10 synthetic, {n_real} real" and pages >= 3
    synth = [_tile(i) for i, _, _ in s7 + s9]
    assert _selected_captions(at) == synth + [_real_tile(i) for i in reals[:38]]
    assert len(at.get("image")) == 1  # the 48 tiles are one image list: a page is one element, not 48 columns
    assert any(f"showing 1–48 of {n:,} selected · page 1 of {pages}" in c.value for c in at.caption)
    assert button(at, "Previous").disabled

    button(at, "Next").click().run()
    assert _selected_captions(at) == [_real_tile(i) for i in reals[38:86]]
    assert any(f"showing 49–96 of {n:,} selected · page 2 of {pages}" in c.value for c in at.caption)
    for _ in range(pages - 2):
        button(at, "Next").click().run()
    assert _selected_captions(at) == [_real_tile(i) for i in reals[(pages - 1) * 48 - 10:]]  # the last, partial page
    assert button(at, "Next").disabled and not at.exception
    button(at, "Previous").click().run()
    assert any(f"page {pages - 1} of {pages}" in c.value for c in at.caption)

    e = 1e-6  # another selection starts on its first page, and one page needs no paging
    (_, x7, y7) = s7[0]
    at.session_state["emb_selection"] = {"points": [], "lasso": [],
                                         "box": [{"xref": "x", "yref": "y", "x": [x7 - e, x7 + e], "y": [y7 - e, y7 + e]}]}
    at.run()
    assert _selected_captions(at) == [_tile(s7[0].id)]
    assert not [b for b in at.button if b.label in ("Previous", "Next")]


def test_embedding_colour_by_decision_and_coverage_figure(users, digits):
    embed_reals(digits)
    make_batch(digits, 9, 4)
    at = app_test(users["rita"], "embeddings.py")
    at.radio(key="emb_colour").set_value("decision").run()
    assert not at.exception
    assert any(s.value == "Coverage per class" for s in at.header)


def test_embedding_page_without_coordinates_explains(users, digits):
    at = app_test(users["rita"], "embeddings.py")
    assert any("No embedding yet" in i.value for i in at.info)


def test_audit_verify_provenance_and_export(users, digits):
    from db.engine import home
    from db.review import approve_batch, tag_sample
    from db.users import get_user

    batch = make_batch(digits, 8, 3)
    with session_scope(immediate=True) as session:
        rita = get_user(session, "rita")
        first = session.scalar(select(func.min(Sample.id)).where(Sample.batch_id == batch))
        tag_sample(session, first, "blur", rita)
    with session_scope(immediate=True) as session:
        approve_batch(session, batch, get_user(session, "rita"), "looks right")
    at = app_test(users["rita"], "audit.py")
    actions = list(at.dataframe[0].value["action"])
    assert actions[:2] == ["approve", "tag"]
    at.selectbox(key="audit_action").set_value("approve").run()
    assert list(at.dataframe[0].value["action"]) == ["approve"]
    assert "reject sample" in at.selectbox(key="audit_action").options  # in words, not the log's 'reject_sample'
    at.selectbox(key="audit_action").set_value("add_user").run()
    assert list(at.dataframe[0].value["action"]) == ["add user", "add user"]  # ada (bootstrap) and rita

    button(at, "Verify the chain").click().run()
    assert at.success[0].value.startswith("all ") and "the chain is intact" in at.success[0].value

    assert not at.exception
    prov = at.dataframe[1].value
    fields = dict(zip(prov["field"], prov["value"]))
    assert fields["Checkpoint sha256"] == "k" * 64 and fields["Code version"] == "test"

    at.text_input(key="export_name").set_value("gated-1").run()
    button(at, "Export the gated training set").click().run()
    assert not at.exception
    out = home() / "exports" / "gated-1"
    manifest_sha = (out / "manifest.sha256").read_text().split()[0]
    # In the reviewer's words; the server path and the hash in the technical details' expander.
    assert any(s.value.startswith("Exported ") and "“gated-1”" in s.value for s in at.success)
    assert any(str(out) in m.value and f"manifest.csv sha256: `{manifest_sha}`" in m.value
               for m in at.expander[-1].markdown)
    # What it admitted, per class in the dataset's names, and the log head it rests on (no raw JSON to unfold).
    table = at.dataframe[-2].value
    assert list(table.columns) == ["class_name", "real_images", "synthetic_images"]
    assert table["class_name"].iloc[0] == "0"
    rows = (out / "manifest.csv").read_text().splitlines()[1:]
    assert table["real_images"].sum() == sum(",real," in r for r in rows)
    assert table["synthetic_images"].sum() == sum(",synthetic," in r for r in rows)
    assert any("Gated on the decision log's first" in c.value for c in at.caption)
    real, total = table["real_images"], table["real_images"] + table["synthetic_images"]  # the CLI said it; not the page
    assert [m.value for m in at.markdown if m.value.startswith("**Imbalance:**")][0].startswith(
        f"**Imbalance:** the largest class has {round(real.max() / real.min(), 2):g} times as many real training "
        f"images as the smallest; in this set, real and synthetic together, {round(total.max() / total.min(), 2):g} "
        "times as many.")
    # Recorded in the log under the reviewer's name, and listed below, with its folder checked against the record.
    with session_scope() as session:
        event = session.scalars(select(Event).where(Event.action == "export")).one()
    assert (event.actor, event.target_type, event.details["folder"]) == ("rita", "dataset", str(out))
    assert any(f"recorded as event {event.id} of the decision log" in s.value for s in at.success)
    records = at.dataframe[-1].value
    assert records.to_dict("records") == [dict(
        id=event.id, ts=records["ts"].iloc[0], actor="rita", dataset="digits", images=len(rows),
        synthetic=table["synthetic_images"].sum(), ratio=1.0, manifest_sha256=manifest_sha,
        log_head=(out / "log_head.txt").read_text().split()[1], folder=str(out), folder_check="matches")]
    # The same folder again: a clear message, not a crash, and no record.
    button(at, "Export the gated training set").click().run()
    assert any(f"holds an earlier export (event {event.id} by rita at" in e.value for e in at.error)
    assert len(at.dataframe[-1].value) == 1


def test_audit_shows_a_broken_chain(users, home):
    from db.engine import get_engine

    engine = get_engine()
    with engine.begin() as conn:  # tamper below the app: drop the trigger, edit a row's reason
        conn.exec_driver_sql("DROP TRIGGER events_no_update")
        conn.exec_driver_sql("UPDATE events SET meaning = 'forged' WHERE id = 1")
    at = app_test(users["ada"], "audit.py")
    button(at, "Verify the chain").click().run()
    assert at.error and at.error[0].value.startswith("Chain broken at event 1")


def test_audit_shows_review_state_that_disagrees_with_the_log(users, digits):
    from db.engine import get_engine
    from db.review import approve_batch
    from db.users import get_user

    batch = make_batch(digits, 8, 2)
    with session_scope(immediate=True) as session:
        approve_batch(session, batch, get_user(session, "rita"))
    with get_engine().begin() as conn:  # a state row, which no hash covers
        conn.exec_driver_sql("UPDATE batches SET status = 'rejected' WHERE id = ?", (batch,))
    at = app_test(users["rita"], "audit.py")
    button(at, "Verify the chain").click().run()
    assert not at.exception and not at.success
    assert f"batch {batch} is 'rejected' in the batches table but 'approved' in the log" in at.warning[0].value


def test_export_takes_only_a_folder_name_under_exports(users, digits, tmp_path):
    at = app_test(users["rita"], "audit.py")
    for name in ("../escaped", str(tmp_path / "anywhere"), "a/b", "..", "a..b", ".hidden", ""):
        at.text_input(key="export_name").set_value(name).run()
        button(at, "Export the gated training set").click().run()
        assert not at.exception
        assert any("is not a folder name" in e.value for e in at.error), name
    assert not (tmp_path / "anywhere").exists() and not (tmp_path / "home" / "escaped").exists()


def test_export_is_refused_while_the_chain_is_broken(users, home):
    from db.engine import get_engine

    with get_engine().begin() as conn:  # tamper below the app: drop the trigger, edit a row
        conn.exec_driver_sql("DROP TRIGGER events_no_update")
        conn.exec_driver_sql("UPDATE events SET meaning = 'forged' WHERE id = 1")
    at = app_test(users["rita"], "audit.py")
    at.text_input(key="export_name").set_value("gated-1").run()
    button(at, "Export the gated training set").click().run()
    assert not at.exception
    assert any("chain broken at event 1" in e.value and "nothing was exported" in e.value for e in at.error)
    assert not (home / "exports").exists()


def test_a_disabled_account_cannot_benchmark_or_export(users, digits, home):
    evaluate, audit = app_test(users["rita"], "evaluate.py"), app_test(users["rita"], "audit.py")
    audit.text_input(key="export_name").set_value("gated-1")
    disable("rita")
    signed_out = ["account 'rita' is disabled; ask an admin. You have been signed out."]
    button(evaluate, "Run the benchmark").click().run()
    assert [e.value for e in evaluate.error] == signed_out
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    button(audit, "Export the gated training set").click().run()
    assert [e.value for e in audit.error] == signed_out
    assert not (home / "exports").exists()


def test_evaluate_submits_one_benchmark_job(users, digits):
    at = app_test(users["rita"], "evaluate.py")
    at.multiselect(key="eval_arms").set_value(["real", "oversample"])
    button(at, "Run the benchmark").click().run()
    button(at, "Run the benchmark").click().run()
    assert not at.exception
    with session_scope() as session:
        job = session.scalars(select(Job)).one()
    assert job.kind == "benchmark" and job.params["arms"] == ["real", "oversample"] and job.params["quick"] is True
    assert any("No benchmark report" in c.value for c in at.caption)

    button(at, "Cancel").click().run()  # a benchmark can be cancelled from the page; still queued: at once
    with session_scope() as session:
        assert session.get(Job, job.id).status == "cancelled"
    at.run()
    assert not at.exception
    assert at.session_state[f"eval_job_ended_{job.id}"] is True  # the page redrew once, for Results to catch up
    assert not [b for b in at.button if b.label == "Cancel"]


def test_evaluate_form_shows_the_seeds_that_will_run(users, digits):
    at = app_test(users["rita"], "evaluate.py")
    assert at.toggle(key="eval_quick").value is True  # quick by default: its seeds capped, and shown capped
    quick_seeds = at.number_input(key="eval_seeds_quick")
    assert (quick_seeds.value, quick_seeds.max) == (2, 2)
    at.toggle(key="eval_quick").set_value(False).run()
    assert at.number_input(key="eval_seeds").value == 5  # a full benchmark's default, as on the command line
    at.number_input(key="eval_seeds").set_value(4).run()
    button(at, "Run the benchmark").click().run()
    assert not at.exception
    with session_scope() as session:
        job = session.scalars(select(Job)).one()
    assert (job.params["seeds"], job.params["quick"]) == (4, False)


def test_evaluate_shows_a_recorded_report(users, digits):
    import json

    from db.engine import home
    from db.models import Dataset, Report
    from ganaug_core.imageio import save_png
    import numpy as np

    folder = home() / "reports" / "bench-1"
    folder.mkdir(parents=True)
    ci = lambda m: {"mean": m, "low": m - 0.01, "high": m + 0.01, "n": 3}  # noqa: E731
    report = {"arms": {"real": {"n_train": 800, "n_synthetic": 0, "clean": {"balanced_accuracy": ci(0.81)}},
                       "gan_approved": {"n_train": 800, "n_synthetic": 60, "clean": {"balanced_accuracy": ci(0.86)}}},
              "comparison": {"best_baseline": {"balanced_accuracy": "real"}},
              "sweep": {"arm": "gan", "points": [{"multiplier": 1.0, "n_synthetic": 30, "balanced_accuracy": ci(0.84)}]},
              "meta": {"arms": ["real", "gan", "gan_approved"],
                       "provenance": {"generator": {"run_id": 4, "step": 1200}}}}
    (folder / "report.json").write_text(json.dumps(report))
    save_png(np.zeros((3, 8, 8), np.uint8), folder / "balanced_accuracy.png")
    with session_scope() as session:
        ds = session.scalars(select(Dataset)).one()
        session.add(Report(dataset_id=ds.id, kind="benchmark", path="reports/bench-1", sha256="r" * 64,
                           summary={}, manifest_sha256="m" * 64))
    at = app_test(users["rita"], "evaluate.py")
    assert not at.exception
    arms = at.dataframe[0].value
    assert list(arms["arm"]) == ["Real images only", "GAN samples approved by reviewers"]  # words, not arm ids
    assert arms["balanced_accuracy"][1] == "0.860 [0.850, 0.870]"
    assert list(at.dataframe[2].value["multiplier"]) == [1.0]  # after the arms' every measure, in its expander
    # metrics in words, as report.md names them (it read "balanced_accuracy: real")
    assert ("Best baseline (the baseline arm with the highest mean on the test split, per metric: the highest bar a "
            "GAN arm can be set, so the one choice the test split makes favours the alternatives, never the GAN): "
            "balanced accuracy: Real images only") in [c.value for c in at.caption]
    assert any("balanced accuracy" == c for c in image_captions(at))
    assert ("Generator: run 4 at step 1200, sampled by “GAN samples”; “GAN samples approved by reviewers” takes the "
            "approved samples, whatever run made them.") in [c.value for c in at.caption]  # the newest run by default, not necessarily the reviewed one


def test_coverage_lists_the_classes_in_their_order(users, digits):
    import json

    embed_reals(digits)
    make_batch(digits, 9, 4)
    at = app_test(users["rita"], "embeddings.py")
    [chart] = [c for c in at.get("plotly_chart") if "emb_coverage" in c.proto.id]
    bars = json.loads(chart.proto.spec)["data"][0]["y"]
    assert bars == [str(c) for c in range(10)], bars  # the map's point order had shuffled them


def test_evaluate_shows_the_batch_metrics_beside_held_out_real_images(users, digits):
    """`ganaug evaluate batch` recorded FID, precision... for a batch; the page showed only benchmarks, so a reviewer
    never saw them. They are listed per batch, each distribution metric beside the held-out real images' value."""
    from ganaug import evaluation

    batch_id = make_batch(digits, 9, 6, scored=False)
    evaluation.ensure_feature_extractor(digits, steps=10)
    m = evaluation.batch_metrics(batch_id)
    at = app_test(users["rita"], "evaluate.py")
    assert not at.exception
    # No benchmark report yet: the batch tables are still shown, the main measures and (in an expander) all of them.
    main, table = (d.value for d in at.dataframe)
    assert main["fid"].tolist() == table["fid"].tolist()
    row = table.iloc[0]
    assert row["batch"] == batch_id and row["class_name"] == "9" and row["samples"] == 6
    assert row["fid"] == round(m["overall"]["fid"], 2) and row["fid_held_out"] == round(m["reference"]["fid"], 2)
    assert row["recall"] == round(m["overall"]["prdc"]["recall"], 3)
    assert row["recall_held_out"] == round(m["reference"]["prdc"]["recall"], 3)
    assert any("held-out real images" in c.value and "test split: numbers to read, which neither the gate nor the "
               "benchmark uses" in c.value for c in at.caption)  # the demo has no val split
    assert any("only 4 real training images" in w.value for w in at.warning)  # the rare class's caution
    assert any("No benchmark report" in c.value for c in at.caption)


def _benchmark_job(digits, user_id, status="queued") -> int:
    """A benchmark job of `user_id` on the digits set, queued or (claimed by a worker) running."""
    from db.jobs import claim_job, submit_job

    with session_scope(immediate=True) as session:
        job = submit_job(session, "benchmark", {"dataset": digits, "arms": ["real", "gan"], "seeds": 2, "quick": True,
                                                "run_id": None}, None, requested_by=user_id).id
        if status == "running":
            claim_job(session, job, 1)
    return job


def test_a_new_session_follows_a_queued_benchmark_and_says_what_it_waits_for(users, digits, home):
    # A reload or another tab lost the job: no bar, no Cancel; and a queued job said only "queued".
    import datetime as dt

    ahead = _benchmark_job(digits, users["ada"]["id"], "running")  # a worker is alive, and busy with it
    mine = _benchmark_job(digits, users["rita"]["id"])
    with worker_beating(ahead):
        at = app_test(users["rita"], "evaluate.py")
    assert not at.exception
    assert any(s.value == f"Benchmark job {mine}: queued" for s in at.header)  # the newest one in progress
    assert any(c.value.startswith(f"Queued behind job {ahead}: the worker runs one job at a time") for c in at.caption)
    assert any(c.value.startswith("Launched by rita at") and "Real images only, GAN samples; 2 seed(s), quick" in c.value
               for c in at.caption)
    with session_scope(immediate=True) as session:  # its worker stopped beating half a minute ago
        session.get(Job, ahead).heartbeat_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)
    at.run()
    assert any("No job worker is running" in w.value for w in at.warning)


def test_a_failed_benchmark_shows_one_line_and_its_details_folded(users, digits):
    from db.jobs import fail_job

    job = _benchmark_job(digits, users["rita"]["id"], "running")
    with session_scope(immediate=True) as session:
        fail_job(session, job, "no finished run for dataset 'digits'\n\nTraceback (most recent call last):\n  File \"x\"")
    at = app_test(users["rita"], "evaluate.py")  # a new session: it follows rita's newest benchmark
    assert not at.exception
    assert [e.value for e in at.error] == ["The benchmark failed: no finished run for dataset 'digits'"]
    assert at.expander[0].label == "Details (for a bug report)"


def test_a_benchmark_whose_worker_died_is_marked_failed_by_the_page(users, digits):
    import datetime as dt

    job = _benchmark_job(digits, users["rita"]["id"], "running")
    with session_scope(immediate=True) as session:
        session.get(Job, job).heartbeat_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    at = app_test(users["rita"], "evaluate.py")  # its bar stayed frozen on "running" for good
    assert any(s.value == f"Benchmark job {job}: failed" for s in at.header)
    assert any("stopped sending heartbeats" in e.value for e in at.error)
    with session_scope() as session:
        assert session.get(Job, job).status == "failed"


def test_a_finished_benchmark_says_its_answer_and_where_its_report_is(users, digits):
    from db.jobs import finish_job

    job = _benchmark_job(digits, users["rita"]["id"], "running")
    answer = {"verdict": "yes", "lines": ["Yes: the approved samples raise minority recall."]}
    with session_scope(immediate=True) as session:
        finish_job(session, job, {"report": {"id": 7, "path": "reports/x"}, "comparison": {"answer": answer}})
    at = app_test(users["rita"], "evaluate.py")
    assert not at.exception
    assert [s.value for s in at.success] == ["Benchmark finished: report 7."]
    assert "Yes: the approved samples raise minority recall." in [m.value for m in at.markdown]
    assert "Its tables and plots are under Results below." in [c.value for c in at.caption]
    assert any(c.value.startswith("Launched by rita at") and "took" in c.value for c in at.caption)


def test_a_finished_benchmark_brings_its_report_back_under_results(users, digits):
    # Another report picked under Results: the button "Show report N under Results" puts the job's report back.
    from db.jobs import finish_job
    from db.models import Dataset, Report

    with session_scope() as session:
        ds = session.scalars(select(Dataset)).one()
        older, newer = (Report(dataset_id=ds.id, kind="benchmark", path=f"reports/bench-{i}", sha256=f"{i}" * 64,
                               summary={}) for i in (1, 2))
        session.add_all([older, newer])
        session.flush()
        older_id, newer_id = older.id, newer.id
    job = _benchmark_job(digits, users["rita"]["id"], "running")
    with session_scope(immediate=True) as session:
        finish_job(session, job, {"report": {"id": newer_id, "path": "reports/bench-2"}})
    at = app_test(users["rita"], "evaluate.py")
    assert at.selectbox(key="eval_report").value["id"] == newer_id  # the newest report, the job's
    assert "Its tables and plots are under Results below." in [c.value for c in at.caption]
    assert at.selectbox(key="eval_report").options[1].startswith(f"report {older_id} ")
    at.selectbox(key="eval_report").select_index(1).run()
    assert at.selectbox(key="eval_report").value["id"] == older_id
    assert "Its tables and plots are under Results below." not in [c.value for c in at.caption]
    at.button(key=f"eval_show_{job}").click().run()
    assert not at.exception
    assert at.selectbox(key="eval_report").value["id"] == newer_id
    assert "Its tables and plots are under Results below." in [c.value for c in at.caption]


def test_the_form_offers_only_the_arms_the_dataset_can_run(users, digits):
    # Every arm was chosen by default: with nothing approved yet, the job failed two seconds after the click.
    at = app_test(users["rita"], "evaluate.py")
    assert at.multiselect(key="eval_arms").value == ["real", "oversample", "smote", "classic"]  # no run, no approval
    at.multiselect(key="eval_arms").set_value(["real", "gan_approved"]).run()
    assert [e.value for e in at.error] == [
        "Arm “GAN samples approved by reviewers” cannot run: no reviewer-approved samples for digits yet: approve a batch on the Review page."]
    assert button(at, "Run the benchmark").disabled
    make_batch(digits, 9, 2)  # a finished run (and a pending batch: still nothing approved)
    assert app_test(users["rita"], "evaluate.py").multiselect(key="eval_arms").value == [
        "real", "oversample", "smote", "classic", "gan", "gan_classic", "gan_filtered"]


def test_a_running_benchmark_says_the_time_left_at_its_pace(users, digits, monkeypatch):
    # Its bar said "benchmark 8/16" and nothing of how long the rest takes; then each tab estimated it from what it
    # had seen of the bar itself, so a new tab said nothing and two tabs said different things.
    import datetime as dt

    import pages.jobs

    job = _benchmark_job(digits, users["rita"]["id"], "running")
    started = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(pages.jobs, "now", lambda: started + dt.timedelta(seconds=40))

    def moved_to(done: int) -> None:  # the stage started 40 s ago at 4/16, as the worker records it
        with session_scope(immediate=True) as session:
            row = session.get(Job, job)
            row.progress, row.message = done / 16, f"benchmark {done}/16"
            row.stats = {"stage": "benchmark", "stage_started": started.isoformat(), "stage_from": 4 / 16}

    moved_to(4)
    at = app_test(users["rita"], "evaluate.py")
    assert [p.proto.text for p in at.get("progress")] == ["benchmark 4/16"]  # it has not moved yet
    moved_to(8)  # a quarter of the bar in 40 s: the half left takes 80 s
    at.run()
    assert [p.proto.text for p in at.get("progress")] == ["benchmark 8/16 · ≈ 80 s left at this pace"]
    other_tab = app_test(users["rita"], "evaluate.py")
    assert [p.proto.text for p in other_tab.get("progress")] == ["benchmark 8/16 · ≈ 80 s left at this pace"]


def test_selected_64px_colour_images_are_drawn_at_twice_their_side(users, digits, tmp_path):
    # Drawn 96 px wide by nearest neighbour (1.5×), a 64² image had every other pixel row and column doubled.
    import base64
    import io

    import numpy as np
    from PIL import Image

    from tests.app.test_review import _colour_dataset

    dataset = _colour_dataset(tmp_path, 64)
    embed_reals(dataset)
    make_batch(dataset, 0, 2)
    at = app_test(users["rita"], "embeddings.py")
    at.selectbox(key="emb_dataset").set_value(dataset).run()
    at.session_state["emb_selection"] = {"points": [], "lasso": [],
                                         "box": [{"xref": "x", "yref": "y", "x": [-1e3, 1e3], "y": [-1e3, 1e3]}]}
    at.run()
    assert not at.exception
    shown = [np.asarray(Image.open(io.BytesIO(base64.b64decode(img.url.split(",", 1)[1]))))
             for element in at.get("image") for img in element.proto.imgs if img.caption.startswith(("#", "real #"))]
    assert len(shown) == 6 and {im.shape[:2] for im in shown} == {(128, 128)}  # 2 samples, 4 training images
    assert sum(im.ndim == 3 for im in shown) == 4  # the training images in colour (make_batch's samples are grey)
    assert all((im[::2, ::2] == im[1::2, 1::2]).all() for im in shown)  # each pixel a whole 2×2 block


def test_the_generator_picker_says_how_long_each_run_trained(users, digits):
    # The default generator is the newest finished run: the picker says which, and how long each trained.
    batches = [make_batch(digits, 7, 1, seed=seed) for seed in (0, 1)]  # a run each
    with session_scope() as session:
        first, newest = (session.get(Batch, b).run_id for b in batches)
    at = app_test(users["rita"], "evaluate.py")
    assert at.selectbox(key="eval_run").options == [
        f"latest finished run (run {newest}, 10 steps)", f"run {newest} (10 steps)", f"run {first} (10 steps)"]
