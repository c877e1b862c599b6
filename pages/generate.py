"""Generate: a validated form that launches one train-and-generate job (or, from a run chosen under "Start from
run", a generate-only job), its live progress, and cancel (pages/generate_job.py draws the job and the table;
pages/generate_budget.py says what the budget takes here).

The job runs in the worker (`ganaug worker`, started by `ganaug app`), never in this process. The submit key is a
hash of the form's values and a per-form nonce, so a double click — or a second click before the first rerun
finishes — finds the job already made instead of making another. "Prepare another run" draws a new nonce.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Optional

import streamlit as st

from db import run_views, views
from db.engine import session_scope
from db.jobs import queue_rows, runs_with_checkpoint, submit_job
from ganaug.abandoned_runs import resume_points
from ganaug.disk import human, tree_bytes
from ganaug_core.imbalance import DEFAULT_MINORITY_FRACTION
from ganaug_core.training.config import DEFAULT_STEPS
from pages.generate_budget import after_training, budget_estimate, measured_pace, pace_layout
from pages.generate_job import JOB_KINDS, apply_next, job_panel, queue_columns, queue_table
from pages.jobs import newest_to_follow
from pages.run_curves import folded_curves
from pages.tables import MISSING, text_cells
from pages.ui import NO_DATASET, acting_user, decision_errors, home, plain, require_user

JOB_KIND = "train_generate"
MAX_PER_CLASS = 1000
MAX_STEPS = 1_000_000
MAX_MINUTES = 24 * 60
BUDGET_DEFAULTS = {"steps": float(DEFAULT_STEPS), "minutes": 2.0}  # steps: `ganaug train`'s too

require_user()
st.title("Generate")
st.write("Train a class-conditional generator on a dataset and generate a first batch of each chosen class. "
         "Batches appear on the Review page with their scores once the job finishes.")


@st.cache_data(ttl=10, show_spinner=False)
def load_choices() -> dict:
    with session_scope() as session:
        names = views.dataset_names(session)
        counts = views.train_class_counts(session)
        datasets = {n: views.dataset_summary(session, n) for n in names}
        for n, d in datasets.items():  # the rare classes are what a user most likely wants to generate
            biggest = max(counts[n] or [0])
            # A class with no training image was never learned: it cannot be generated (ganaug.batches.generate_batch).
            d["learnable"] = [c for c, k in enumerate(counts[n]) if k > 0]
            d["minority"] = [c for c in d["learnable"] if counts[n][c] < DEFAULT_MINORITY_FRACTION * biggest]
        runs = run_views.runs_table(session, limit=200)
        checkpointed = runs_with_checkpoint(session, [r["run"] for r in runs])
        # The runs a job can start from: those with a checkpoint, whatever their end (a cancelled run, or one whose
        # process died, resumes from its last checkpoint), but not one still training.
        startable = [r for r in runs if r["run"] in checkpointed and r["status"] != "running"]
        points = resume_points(r["run"] for r in startable)
        for r in startable:  # what the run holds on disk (`ganaug runs prune` takes back what it no longer needs)
            r["size_bytes"] = tree_bytes(Path(home()) / r["run_dir"])
            # A resume goes on from the recorded checkpoint, which a run whose process died reported steps past.
            point = points.get(r["run"]) or {}
            r["resume_step"] = point.get("step") if point.get("step") is not None else r["step"] or 0
            r["unrecorded"] = point.get("unrecorded")
        return dict(datasets=datasets, runs=runs, startable=startable)


def field_error(name: str) -> None:
    """A place right below a field for its error, filled once every field has been read (see `show_errors`)."""
    error_slots[name] = st.empty()


def show_errors(errors: dict) -> None:
    for name, slot in error_slots.items():
        if name in errors:
            slot.error(plain(errors[name]), icon=":material/error:")


def validate(v: dict, dataset: dict | None, runs: list[dict]) -> dict[str, str]:
    """Field name → message; an empty dict means the form can be submitted."""
    from ganaug_core.errors import GanaugError

    errors: dict[str, str] = {}
    if dataset is None:
        return {"dataset": "Choose a dataset (ingest one with `ganaug data ingest` first)."}
    if not v["classes"]:
        errors["classes"] = "Choose at least one class to generate."
    elif unlearnable := [c for c in v["classes"] if c not in dataset["learnable"]]:
        errors["classes"] = f"Class(es) {', '.join(map(str, unlearnable))} have no training images to learn from."
    if not 1 <= v["per_class"] <= MAX_PER_CLASS:
        errors["per_class"] = f"Samples per class must be between 1 and {MAX_PER_CLASS}."
    if v["only"]:
        pass  # no training: the budget is not used
    elif v["budget_kind"] == "steps" and not 1 <= v["budget"] <= MAX_STEPS:
        errors["budget"] = f"Steps must be a whole number between 1 and {MAX_STEPS:,}."
    elif v["budget_kind"] == "steps" and v["budget"] != int(v["budget"]):
        errors["budget"] = "Steps must be a whole number."
    if not v["only"] and v["budget_kind"] == "minutes" and not 0 < v["budget"] <= MAX_MINUTES:
        errors["budget"] = f"Minutes must be above 0 and at most {MAX_MINUTES}."
    if not 0 <= v["seed"] < 2**31:
        errors["seed"] = "The seed must be between 0 and 2³¹−1."
    if v["resume_run"] is not None:
        run = next((r for r in runs if r["run"] == v["resume_run"]), None)
        if run is None or run["dataset"] != dataset["name"]:
            errors["resume_run"] = f"Run {v['resume_run']} is not a run of {dataset['name']}."
        elif run["status"] == "running":
            errors["resume_run"] = f"Run {v['resume_run']} is still running; wait for it or cancel it first."
        elif not v["only"] and v["budget_kind"] == "steps" and resume_step(run) >= v["budget"]:
            at = (f"is already at step {resume_step(run):,}" if resume_step(run) == (run["step"] or 0)
                  else f"resumes from step {resume_step(run):,}, its last recorded checkpoint")
            errors["budget"] = (f"Run {run['run']} {at}: ask for more steps than that to train it further, or tick "
                                "“Only generate from it”.")
    if not errors and not v["only"]:
        try:
            train_config(v, dataset).validate()
        except GanaugError as e:
            errors["config"] = str(e)
    return errors


def resume_step(run: dict) -> int:
    """The step a resume of `run` trains from: its recorded checkpoint's (`load_choices`), not the last it reported."""
    return run.get("resume_step", run["step"] or 0)


def resume_said(run: dict) -> Optional[str]:
    """Where a resume of `run` starts, when that is not the step it shows: a checkpoint written but never recorded
    (not used), or steps reported past its last checkpoint by a process that died."""
    if run.get("unrecorded"):
        return run["unrecorded"][0].upper() + run["unrecorded"][1:] + "."
    if resume_step(run) < (run["step"] or 0):
        return (f"Run {run['run']} resumes from step {resume_step(run):,}, its last recorded checkpoint: the "
                f"{run['step'] - resume_step(run):,} steps it reported after it were never saved (its process "
                "stopped first).")
    return None


def train_config(v: dict, dataset: dict):
    from ganaug_core.training.config import TrainConfig, default_resolution

    return TrainConfig(
        resolution=default_resolution(dataset["resolution"]), channels=dataset["channels"],
        num_classes=len(dataset["class_names"]),
        arch=v["arch"], edge_convs=v["edge_convs"] or v["arch"] != "dcgan", augment=v["augment"], seed=v["seed"],
        steps=int(v["budget"]) if v["budget_kind"] == "steps" else None,
        minutes=float(v["budget"]) if v["budget_kind"] == "minutes" else None,
    )


def switch_budget_unit() -> None:
    """Each unit keeps its own budget: switching shows the new unit's last value (or its default)."""
    unit = st.session_state["gen_budget_kind"]
    other = "minutes" if unit == "steps" else "steps"
    kept = st.session_state.setdefault("gen_budget_by_unit", {})
    kept[other] = st.session_state.get("gen_budget", BUDGET_DEFAULTS[other])
    st.session_state["gen_budget"] = kept.get(unit, BUDGET_DEFAULTS[unit])


def job_kind(v: dict) -> str:
    return "generate" if v["only"] else JOB_KIND


def job_params(v: dict, dataset: dict) -> dict:
    common = dict(dataset=dataset["name"], classes=sorted(v["classes"]), per_class=int(v["per_class"]),
                  seed=int(v["seed"]))
    if v["only"]:
        return dict(common, run_id=v["resume_run"])
    return dict(common, resume_run=v["resume_run"], config=train_config(v, dataset).to_dict())


def run_label(r: Optional[int], startable: dict[int, dict]) -> str:
    """'run 2 · cancelled at step 114 of 3,000 · 12.6 MB on disk': what a run left, so the user knows which one to
    start from."""
    if r is None:
        return "no, train a new generator"
    run = startable.get(r)
    if run is None:
        return f"run {r}"
    size = f" · {human(run['size_bytes'])} on disk" if "size_bytes" in run else ""
    if run["status"] == "done":
        return f"run {r} · done, {run['step'] or 0:,} steps{size}"
    of = f" of {run['total_steps']:,}" if run["total_steps"] else ""
    resumes = f" · resumes from step {resume_step(run):,}" if resume_step(run) < (run["step"] or 0) else ""
    return f"run {r} · {run['status']} at step {run['step'] or 0:,}{of}{resumes}{size}"


if "gen_next" in st.session_state:  # a button under a job that just ended: its run must be offered
    load_choices.clear()
choices = load_choices()
if not choices["datasets"]:
    st.info(NO_DATASET, icon=":material/upload_file:")
    st.stop()

apply_next()  # a button under the job asked for a resume or for more samples: fill the form before drawing it
nonce = st.session_state.setdefault("generate_nonce", secrets.token_hex(8))
names = list(choices["datasets"])
values: dict = {}
error_slots: dict = {}


def dataset_changed() -> None:
    """Another dataset: its own minority classes preselected (the old choice names classes of the old dataset)."""
    chosen = choices["datasets"].get(st.session_state["gen_dataset"])
    st.session_state["gen_classes"] = list(chosen["minority"]) if chosen else []


values["dataset"] = st.selectbox("Dataset", names, key="gen_dataset", on_change=dataset_changed)
dataset = choices["datasets"].get(values["dataset"])
class_names = dataset["class_names"] if dataset else []

left, right = st.columns(2)
with left:
    values["classes"] = st.multiselect("Classes to generate", dataset["learnable"] if dataset else [],
                                       default=dataset["minority"] if dataset else None,
                                       format_func=lambda c: f"{c}: {class_names[c]}", key="gen_classes",
                                       # In a column the chips would stay on one line that scrolls sideways: five
                                       # rare classes of a 40-class catalogue showed as one long name and a fade.
                                       wrap=True,
                                       help="Preselected: the minority classes of the dataset. A class with no "
                                            "training images is not offered: the generator cannot learn it.")
    field_error("classes")
    values["per_class"] = st.number_input("Samples per class", min_value=0, max_value=100_000, value=48, step=8,
                                          key="gen_per_class")
    field_error("per_class")
    if len(values["classes"]) > 1 and values["per_class"]:
        # The picker's box shows five or so chips and scrolls: of a 38-class catalogue's 26 preselected minority
        # classes, 21 were out of sight, and nothing said the job would make 1,248 samples to review.
        st.caption(f"{len(values['classes'])} classes chosen: {len(values['classes'])} batches of "
                   f"{values['per_class']:,} samples, {len(values['classes']) * values['per_class']:,} to review.")
    values["budget_kind"] = st.radio("Training budget in", ["steps", "minutes"], horizontal=True, key="gen_budget_kind",
                                     on_change=switch_budget_unit)
    # The value lives in session state (no `value=` here) so that switching the unit can replace it.
    st.session_state.setdefault("gen_budget", BUDGET_DEFAULTS[values["budget_kind"]])
    in_steps = values["budget_kind"] == "steps"
    values["budget"] = st.number_input(f"Budget ({values['budget_kind']})", min_value=0.0, step=100.0 if in_steps else 1.0,
                                       format="%.0f" if in_steps else "%.1f", key="gen_budget")
    pace_slot = st.empty()  # what the budget takes here, once the layout below is read
    field_error("budget")
with right:
    # The network's settings are the measured defaults (BENCHMARKS.md): out of the way of a reviewer's first run.
    with st.expander("Advanced: network and augmentation"):
        values["arch"] = st.selectbox("Architecture", ["dcgan", "resnet"], key="gen_arch")
        values["edge_convs"] = st.checkbox(
            "Full-resolution edge convs", value=True, key="gen_edge_convs", disabled=values["arch"] != "dcgan",
            help="dcgan: a 3×3 conv into and out of the image at full resolution (default). Off is DCGAN's own "
                 "layout: ≈ 1.4× the training steps per second and ≈ 1.6× the images per second when generating at "
                 "32², but one of its 6 two-minute digits runs collapsed to one image per class (BENCHMARKS.md).")
        values["augment"] = st.selectbox("Augmentation", ["ada", "diffaugment", "none"], key="gen_augment",
                                         help="Both keep the discriminator from memorising a few rare images. ADA "
                                              "(default) tunes how often images are augmented, and augments rare "
                                              "classes more; DiffAugment augments every image.")
    values["seed"] = st.number_input("Seed", min_value=-1, max_value=2**31, value=0, step=1, key="gen_seed")
    field_error("seed")
    startable = {r["run"]: r for r in choices["startable"] if dataset and r["dataset"] == dataset["name"]}
    if st.session_state.get("gen_resume") not in (None, *startable):  # a run of another dataset
        st.session_state["gen_resume"] = None
    # The browser draws a None value as the placeholder, not as its label: after a run it read "Choose an option".
    values["resume_run"] = st.selectbox("Start from run (optional)", [None, *startable], key="gen_resume",
                                        format_func=lambda r: run_label(r, startable), placeholder=run_label(None, {}))
    field_error("resume_run")
    values["only"] = values["resume_run"] is not None and st.checkbox(
        "Only generate from it (no more training)", key="gen_only",
        help="Generate the chosen classes from the run's last checkpoint as it is: more samples, another class or "
             "another seed. Unticked, the run trains further, up to the budget, and then generates.")
    if values["resume_run"] is not None and not values["only"]:
        st.info("A resumed run keeps its checkpoint's network settings (architecture, edge convs, augmentation, "
                "training seed): the choices above apply only to a fresh run.", icon=":material/info:")
        if said := resume_said(startable[values["resume_run"]]):
            st.warning(plain(said), icon=":material/history:")
if values["resume_run"] is not None:  # how the chosen run trained: its losses, p, each class's diversity
    folded_curves(values["resume_run"], startable[values["resume_run"]]["run_dir"], dataset["name"], class_names,
                  "gen_run_curves")
if dataset:
    layout = pace_layout(train_config(values, dataset).to_dict())
    from_step = resume_step(startable[values["resume_run"]]) if values["resume_run"] is not None else 0
    pace_slot.caption(budget_estimate(values, measured_pace(home(), dataset["name"], layout),
                                      after_training(dataset["name"]), from_step, layout[2]))
field_error("config")
field_error("dataset")
# Once a launch was refused the fields are checked on every change, so an error goes as soon as its field is
# fixed (and a new one shows at once) instead of staying until the next click.
errors_now = validate(values, dataset, choices["runs"]) if st.session_state.get("generate_checked") else {}
show_errors(errors_now)

if st.button("Launch run", type="primary", key="gen_submit", icon=":material/rocket_launch:"):
    errors = validate(values, dataset, choices["runs"])
    st.session_state["generate_checked"] = bool(errors)
    if not errors:
        params = job_params(values, dataset)
        key = hashlib.sha256((nonce + job_kind(values) + json.dumps(params, sort_keys=True)).encode()).hexdigest()
        try:
            with acting_user(outcome="no run was launched") as (session, me):
                job = submit_job(session, job_kind(values), params, submit_key=key, requested_by=me.id)
                st.session_state["generate_job"] = job.id
        except decision_errors() as e:
            st.session_state["generate_refused"] = str(e)
    st.rerun()
if errors_now:
    st.error("The run was not launched: fix the fields marked above.")
if refused := st.session_state.pop("generate_refused", None):
    st.error(plain(refused), icon=":material/block:")


with session_scope() as session:
    recent = queue_rows(session, JOB_KINDS, limit=10)
if "generate_job" not in st.session_state and not st.session_state.get("gen_followed"):
    # A new session (a reload, another tab) follows the newest job still in progress, with its live bar, grid and
    # Cancel, or else the signed-in user's newest job, with what came of it (its batches to review, the run to
    # resume): the table below is a still picture. Once per session, so that "Prepare another run" lets it go.
    st.session_state["gen_followed"] = True
    if follow := newest_to_follow(recent, require_user()["name"]):
        st.session_state["generate_job"] = follow

if "generate_job" in st.session_state:
    job_panel(st.session_state["generate_job"], {n: d["class_names"] for n, d in choices["datasets"].items()},
              {r["run"]: r for r in choices["startable"]}, on_end=load_choices.clear)
    if st.button("Prepare another run", key="gen_new"):
        st.session_state["generate_nonce"] = secrets.token_hex(8)
        st.session_state.pop("generate_job", None)
        st.session_state.pop("generate_checked", None)
        st.rerun()

st.header("Recent runs")
if recent:
    rows = queue_table(recent)
    st.dataframe(text_cells(rows), hide_index=True, column_config=queue_columns(), placeholder=MISSING)
else:
    st.caption("No runs launched from the app yet (the Overview page lists every run, from the command line too).")
