"""Evaluate: launch the downstream benchmark on the current gated set as a job; show results, plots, ratio sweep;
and the quality metrics recorded for each measured batch (`ganaug.evaluation.measure_batch`: the app's scoring,
the demo or `ganaug evaluate batch`), beside held-out real images' values. A report's Results are drawn by
`pages/evaluate_report.py`."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd
import streamlit as st

from db import run_views, views
from db.engine import session_scope
from db.jobs import ACTIVE, queue_rows, submit_job
from ganaug.benchmarking import expected_line
from ganaug_core.benchmark.answer import SAMPLING_ARMS, arm_label
from ganaug_core.benchmark.arms import ARM_DESCRIPTIONS, smote_cannot_run
from ganaug_core.benchmark.seeds import DEFAULT_SEEDS, FEW_SEEDS, QUICK_MAX_SEEDS
from pages.evaluate_report import benchmark_results, measured
from pages.jobs import (cancel_or_wait, failure, load_job, newest_to_follow, progress_bar, redraw_once_ended,
                        who_and_when)
from pages.tables import MISSING, class_sized, table_columns, text_cells
from pages.ui import (NO_DATASET, RETRIED, acting_user, database_checked, decision_errors, home, plain,
                      require_user, train_counts)

JOB_KIND = "benchmark"
ARMS = ["real", "oversample", "smote", "classic", "gan", "gan_classic", "gan_filtered", "gan_approved"]
# Main "Batch quality" columns: what each batch is and the measures a reviewer reads first, within the 562 px a
# 1024-px screen leaves beside the sidebar (Class as wide as the names shown); the whole table (samples, coverage,
# KID, held-out values of every measure, DCR) is in the expander below it. With Samples, Coverage and Class at 300
# px it was 927 px wide and scrolled sideways there; recall already says how diverse a batch is.
QUALITY_COLUMNS = ["batch", "class_name", "fid", "fid_held_out", "recall", "class_consistency", "copies"]
# FID and KID in plain words, below the table: a clinician does not hover a column's header for its help.
DISTANCES_SAID = (
    "**FID ↓** says how far the batch's samples, taken together, lie from the class's real training images: lower is "
    "better, 0 the same. **KID ↓** measures the same gap in a way that holds with few images: about 0 (or below) "
    "means no gap it can measure. Both compare the images' features in the model ganaug trained on this dataset, "
    "not Inception-v3, so compare them within this dataset only (never with published FIDs), and with the "
    "\"held-out real\" value beside each: what unseen real images of the class score, the level of a generator as "
    "good as the real data.")


def arms_help() -> str:
    return "By default, every arm this dataset can run now.\n\n" + "\n".join(
        f"- **{arm_label(a)}**: {ARM_DESCRIPTIONS[a]}" for a in ARMS if a in ARM_DESCRIPTIONS)


def arms_that_cannot_run(dataset: str, has_run: bool, approved: int, train_counts: Sequence[int] = (),
                         class_names: Sequence[str] = ()) -> dict[str, str]:
    """The arms whose input this dataset lacks, with what to do about it (ganaug.benchmarking refuses them)."""
    cannot = {}
    # SMOTE with a class of one training image: the job failed once the arms before it had trained
    if smote := smote_cannot_run(train_counts, [plain(n) for n in class_names]):
        cannot["smote"] = smote
    if not has_run:
        cannot.update({a: f"no finished generator run for {plain(dataset)}: train one on the Generate page"
                       for a in SAMPLING_ARMS})
    if not approved:
        cannot["gan_approved"] = (f"no reviewer-approved samples for {plain(dataset)} yet: approve a batch on the "
                                  "Review page")
    return cannot


require_user()
st.title("Evaluate")
st.write("Does the classifier get better on the rare classes? The benchmark trains the same classifier on the "
         "real data alone and with each kind of augmentation, over several seeds, and tests on the locked test split.")

with session_scope() as session:
    names = views.dataset_names(session)
if not names:
    st.info(NO_DATASET, icon=":material/upload_file:")
    st.stop()

if "eval_job" not in st.session_state and not st.session_state.get("eval_followed"):
    # A new session (a reload, another tab) follows the newest benchmark still in progress, or else the signed-in
    # user's newest one, with what came of it; once per session, so that "Prepare another benchmark" lets it go.
    st.session_state["eval_followed"] = True
    with session_scope() as session:
        recent = queue_rows(session, (JOB_KIND,), limit=20)
    if follow := newest_to_follow(recent, require_user()["name"]):
        st.session_state["eval_job"] = follow
        shown = next(j["params"].get("dataset") for j in recent if j["job"] == follow)
        if shown in names and "eval_dataset" not in st.session_state:
            st.session_state["eval_dataset"] = shown  # its Results below are that dataset's

nonce = st.session_state.setdefault("eval_nonce", secrets.token_hex(8))
c1, c2, c3 = st.columns([1.6, 1, 1.4])  # "Quick (fewer steps)" whole at 1024 px with the sidebar open
dataset = c1.selectbox("Dataset", names, key="eval_dataset")
quick = c3.toggle("Quick (fewer steps)", value=True, key="eval_quick",
                  help=f"A smoke test: fewer classifier steps and at most {QUICK_MAX_SEEDS} seeds, whose wide "
                       "intervals show only large differences")
if quick:  # its own widget: a quick benchmark's seeds are capped, and the form shows the count that runs
    seeds = c2.number_input("Seeds", 1, QUICK_MAX_SEEDS, QUICK_MAX_SEEDS, key="eval_seeds_quick",
                            help=f"A quick benchmark runs at most {QUICK_MAX_SEEDS} seeds")
else:
    seeds = c2.number_input("Seeds", 1, 20, DEFAULT_SEEDS, key="eval_seeds",
                            help=f"Classifier trainings per arm; below {FEW_SEEDS} the intervals show only large "
                                 "differences")
with session_scope() as session:
    runs = [r for r in run_views.runs_table(session, limit=200, dataset=dataset) if r["status"] == "done"]
steps = {r["run"]: r["step"] or 0 for r in runs}  # newest first; a short trial run makes noise, and says so here
run = st.selectbox("Generator for the GAN arms", [None] + list(steps), key="eval_run",
                   format_func=lambda r: (f"run {r} ({steps[r]:,} steps)" if r is not None else
                                          f"latest finished run (run {runs[0]['run']}, {runs[0]['step'] or 0:,} steps)"
                                          if runs else "latest finished run"))
with session_scope() as session:
    approved = sum(views.approved_class_counts(session).get(dataset) or [])
    class_names = (views.dataset_summary(session, dataset) or {}).get("class_names") or []
cannot = arms_that_cannot_run(dataset, bool(runs), approved, train_counts(home(), dataset), class_names)
# Another dataset starts from its own runnable arms: the choice made for the last one kept arms this one cannot run
# selected, each flagged and Run disabled.
if st.session_state.get("eval_arms_dataset") != dataset or "eval_arms" not in st.session_state:
    st.session_state["eval_arms"] = [a for a in ARMS if a not in cannot]
    st.session_state["eval_arms_dataset"] = dataset
arms = st.multiselect("Arms", ARMS, key="eval_arms", format_func=arm_label, help=arms_help())
if not arms:
    st.error("Choose at least one arm to compare.")
for arm in arms:
    if arm in cannot:  # the job would fail within seconds, saying the same
        st.error(f"Arm “{arm_label(arm)}” cannot run: {cannot[arm]}.")
refused = not arms or any(a in cannot for a in arms)
if not refused and (line := expected_line(dataset, [a for a in ARMS if a in arms], int(seeds), bool(quick))):
    st.caption(line)  # what `ganaug benchmark` says as it starts

if st.button("Run the benchmark", type="primary", key="eval_submit", disabled=refused, icon=":material/play_arrow:"):
    params = dict(dataset=dataset, arms=arms, seeds=int(seeds), quick=bool(quick), run_id=run)
    key = hashlib.sha256((nonce + json.dumps(params, sort_keys=True)).encode()).hexdigest()
    try:
        with acting_user(outcome="no benchmark was launched") as (session, me):
            st.session_state["eval_job"] = submit_job(session, JOB_KIND, params, key, requested_by=me.id).id
    except decision_errors() as e:
        st.error(plain(e), icon=":material/block:")


def show_report(dataset: str) -> None:
    """"Show it under Results": the finished benchmark's dataset, and its newest report (the one it wrote)."""
    st.session_state["eval_dataset"] = dataset
    st.session_state.pop("eval_report", None)


def benchmark_done(job: dict) -> None:
    """A finished benchmark: its report, its answer in one line (a "no" is no failure of the job), and where to read
    the rest."""
    report = (job["result"].get("report") or {}).get("id")
    said = ((job["result"].get("comparison") or {}).get("answer") or {}).get("lines") or []
    st.success(f"Benchmark finished: report {report}.", icon=":material/check_circle:")
    if said:
        st.markdown(plain(said[0]))
    dataset = job["params"].get("dataset")
    picked = st.session_state.get("eval_report")
    if st.session_state.get("eval_dataset") == dataset and (not picked or picked.get("id") == report):
        st.caption("Its tables and plots are under Results below.")
    else:
        st.button(f"Show report {report} under Results", key=f"eval_show_{job['job']}", icon=":material/table_view:",
                  on_click=show_report, args=(dataset,))


def what_it_compares(params: dict) -> str:
    arms = params.get("arms") or ARMS
    return (f"{plain(params.get('dataset'))}: {', '.join(map(arm_label, arms))}; {params.get('seeds')} seed(s)"
            + (", quick" if params.get("quick") else "")
            + (f"; generator run {params['run_id']}" if params.get("run_id") else "; generator: latest finished run"))


@st.fragment(run_every=2)
@database_checked(RETRIED)
def job_panel(job_id: int) -> None:
    """The benchmark the page follows, redrawn every 2 s; once it ends, the page is redrawn for Results."""
    job, ahead = load_job(job_id)
    if job is None:
        return
    st.header(f"Benchmark job {job_id}: {job['status']}")
    st.caption(f"{who_and_when(job)} {what_it_compares(job['params'])}.")
    if job["status"] in ACTIVE:
        progress_bar(job, pace=True)
        cancel_or_wait(job, ahead, f"eval_cancel_{job_id}",
                       stops="the worker stops at the classifier's next training step and writes no report")
    elif job["status"] == "done":
        benchmark_done(job)
    elif job["status"] == "failed":
        failure(job, "The benchmark failed")
    elif job["status"] == "cancelled":
        st.warning(plain(job["message"] or "Cancelled."), icon=":material/stop_circle:")
    redraw_once_ended(job, f"eval_job_ended_{job_id}")


if "eval_job" in st.session_state:
    job_panel(st.session_state["eval_job"])
    if st.button("Prepare another benchmark", key="eval_new"):
        st.session_state["eval_nonce"] = secrets.token_hex(8)
        st.session_state.pop("eval_job")
        st.rerun()

def _rounded(value, digits: int):
    return None if value is None else round(float(value), digits)


def _kid_text(k) -> str:
    if not isinstance(k, dict) or not measured(k.get("mean")):
        return MISSING
    return f"{k['mean']:.4f}" + (f" ± {k['std']:.4f}" if measured(k.get("std")) else "")


def batch_metrics_row(metrics: dict, class_names: list[str]) -> dict:
    """One batch's recorded metrics.json as a table row: each distribution metric beside its held-out value."""
    o, ref = metrics.get("overall") or {}, metrics.get("reference") or {}
    prdc, ref_prdc = o.get("prdc") or {}, ref.get("prdc") or {}
    c = metrics.get("class_index")
    row = {"batch": metrics.get("batch"),
           "class_name": class_names[c] if isinstance(c, int) and 0 <= c < len(class_names) else str(c),
           "samples": (metrics.get("counts") or {}).get("synthetic"), "n_real": (metrics.get("counts") or {}).get("real"),
           "fid": _rounded(o.get("fid"), 2), "fid_held_out": _rounded(ref.get("fid"), 2),
           "kid": _kid_text(o.get("kid")), "kid_held_out": _kid_text(ref.get("kid"))}
    for name in ("precision", "recall", "coverage"):
        row[name], row[f"{name}_held_out"] = _rounded(prdc.get(name), 3), _rounded(ref_prdc.get(name), 3)
    row.update(class_consistency=_rounded((o.get("consistency") or {}).get("class_consistency"), 3),
               authenticity=_rounded((o.get("authenticity") or {}).get("authenticity"), 3),
               closer_to_train=_rounded((o.get("dcr") or {}).get("closer_to_train"), 3),
               copies=(o.get("pixel_copies") or {}).get("copies"))
    return row


@st.cache_data(show_spinner=False, max_entries=1024)
def recorded_metrics(home_dir: str, folder: str, sha256: str) -> Optional[dict]:
    """A batch's metrics.json, read once per content (`sha256`, from its Report row: a re-measured batch gets a new
    one), not once per page run; None when it is gone or unreadable."""
    try:
        data = json.loads((Path(home_dir) / folder / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def batch_quality(dataset: str) -> None:
    st.header("Batch quality")
    with session_scope() as session:
        reports = views.reports_for(session, dataset, "batch_metrics", limit=200)
        class_names = (views.dataset_summary(session, dataset) or {}).get("class_names") or []
    recorded = [m for m in (recorded_metrics(home(), r["path"], r["sha256"]) for r in reports) if m is not None]
    if not recorded:
        st.caption("No batch measured yet. A batch is measured (FID, KID, precision, recall, coverage, memorization) "
                   "when it is scored: by a run launched on the Generate page, by the Review page's \"Compute scores\", "
                   "or by `ganaug evaluate batch ID`.")
        return
    recorded.sort(key=lambda m: m.get("batch") or 0, reverse=True)
    table = pd.DataFrame([batch_metrics_row(m, class_names) for m in recorded])
    splits = sorted({m.get("holdout_split") for m in recorded if m.get("holdout_split")})
    st.caption("Each batch against its class's real training images, on the dataset's domain features; each "
               "\"held-out real\" column is what held-out real images of the class score against the same training "
               "images, i.e. the level of a generator as good as the real data. The held-out images are the "
               f"dataset's {' and '.join(splits) or 'held-out'} split: numbers to read, which neither the gate nor "
               "the benchmark uses. ↓ lower is better, ↑ higher is better.")
    main = table[QUALITY_COLUMNS]
    st.dataframe(text_cells(main), hide_index=True,
                 column_config=class_sized(table_columns(main), main["class_name"]), placeholder=MISSING,  # "–"
                 key="eval_quality")
    with st.expander("What FID and KID measure"):  # in a header's help, only a reader who hovered it learned
        st.markdown(DISTANCES_SAID)
    with st.expander("Every measure, each beside its held-out real value (samples, coverage, KID, precision, "
                     "authenticity, DCR …)"):
        st.dataframe(text_cells(table), hide_index=True, column_config=table_columns(table), placeholder=MISSING,
                     key="eval_quality_all")
    if lines := caution_lines(recorded, class_names):
        st.warning("  \n".join(lines), icon=":material/warning:")


def caution_lines(recorded: list[dict], class_names: list[str]) -> list[str]:
    """One line per caution, naming the batches (and their classes) it applies to: a rare class's batches share
    one. All batches in front of all cautions left a reader of eight rare classes to guess which caution was whose."""
    by_caution: dict[str, list[str]] = {}
    for m in recorded:
        if m.get("caution"):
            c = m.get("class_index")
            name = class_names[c] if isinstance(c, int) and 0 <= c < len(class_names) else str(c)
            by_caution.setdefault(str(m["caution"]), []).append(f"{m.get('batch')} ({plain(name)})")
    return [f"Batch{'es' * (len(batches) > 1)} {', '.join(batches)}: {plain(caution)}"
            for caution, batches in by_caution.items()]


benchmark_results(dataset)
batch_quality(dataset)
