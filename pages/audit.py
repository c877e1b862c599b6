"""Audit: the decision log with filters, chain verification, each batch's provenance, and the gated-set export.

The export writes only to a folder under GANAUG_HOME/exports/ (the app runs on a server: a reviewer names the
folder, not a server path), and only while the decision log verifies: a broken chain means the approvals that
select the synthetic images cannot be trusted. Each export is recorded in the log under the reviewer's name; the
export tab lists the recorded exports, each with whether its folder still holds the manifest it was recorded with,
how many of its images the review has withdrawn since (a revoked batch leaves the folder as it was: it matched,
and read as safe to train on), and, for the one a reviewer chooses, which decisions withdrew them. An export says
what changed since the dataset's previous one. Both in the words of `ganaug export` and `ganaug audit folder`
(ganaug/export_changes.py), without their commands. The list of recorded exports and the withdrawn check are in
pages/recorded_exports.py; a team with a browser only takes a recorded export away as a .zip
(pages/export_download.py); the rare classes an export leaves without synthetic images are named, with why,
before the click (pages/export_gains.py). The decision log's table, and the event clicked in it, are pages/event_log.py.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from db import audit, views
from db.audit import count_events, list_events, verify_chain
from db.engine import session_scope
from db.models import Batch, Dataset, Event
from db.replay import LogState, state_mismatches
from pages.event_log import event_log
from pages.export_gains import RATIO_HELP, gains_warning, imbalance_words, ratio_words
from pages.recorded_exports import past_exports
from pages.tables import MISSING, table_columns, text_cells
from pages.ui import NO_DATASET, decision_errors, home, plain, require_user, signed_in_row

ACTIONS = ["any", *audit.ACTIONS]  # what db/review.py, db/users.py and db/exports.py record
TARGETS = ["any", *audit.TARGET_TYPES]
EXPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SHELL_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a name a shell and a code span show as it is
PROVENANCE_FIELDS = {  # views.batch_provenance's keys, in the reviewer's words
    "batch": "Batch", "status": "Status", "dataset": "Dataset", "class_name": "Class", "class_index": "Class index",
    "count": "Samples", "batch_seed": "Batch seed",
    "folder": "Folder (under GANAUG_HOME)", "run": "Run", "resumed_from": "Run resumed from",
    "checkpoint_path": "Checkpoint", "checkpoint_sha256": "Checkpoint sha256", "config_sha256": "Config sha256",
    "code_version": "Code version", "created": "Created (UTC)",
}
FILTER_WIDTHS = [0.9, 1.2, 0.8, 1.5, 1.05]  # actor, action, target, since, how many
HISTORY_ROWS = 500  # a batch's decisions shown on its record (a 10,000-sample batch may have as many)


def export_folder(name: str) -> Path:
    """GANAUG_HOME/exports/<name>, for a plain folder name (no path separators, no `..`); ValueError otherwise."""
    name = name.strip()
    if not EXPORT_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"{name!r} is not a folder name: use 1 to 100 letters, digits, '.', '_' or '-', starting "
                         "with a letter or digit (no path separators, no '..')")
    return Path(home()) / "exports" / name


def export_gated(dataset: str, name: str, ratio: float) -> dict:
    """Export the gated set into exports/<name> after re-checking the account and the decision log's chain."""
    from ganaug.export import export_gated_set

    out = export_folder(name)
    with session_scope() as session:
        me = signed_in_row(session, outcome="nothing was exported")
        report = verify_chain(session)
    if not report.ok:
        raise ValueError(f"the decision log does not verify (chain broken at event {report.first_broken_id}: "
                         f"{report.message}); nothing was exported. Run `ganaug audit verify` and restore the "
                         "database before exporting.")
    return export_gated_set(dataset, out, synthetic_ratio=ratio, exporter=me)


@st.cache_data(ttl=60, show_spinner="Working out what the gate admits…", max_entries=32)
def export_preview(home_dir: str, dataset: str, ratio: float, log_version: int) -> dict:
    """What an export at `ratio` would admit now, per class, without writing anything: the gate's own answer
    (`ganaug.export.gated_set`). `log_version` (the newest event's id) keys it: a decision changes it; a sample
    file changed on disk shows within the minute (the gate re-hashes only files whose fingerprint changed)."""
    from ganaug.export import gated_set

    gated = gated_set(dataset, ratio)
    return dict(counts=gated.counts, excluded=gated.excluded, over_cap=gated.over_cap, real_images=gated.real_images)


def not_covered_warning(dataset: str, real_images: dict) -> None:
    """What `ganaug export` warns of, said on the page too: a dataset ingested before ingests were recorded (an
    upgraded home's) exports its real images as its table lists them, which the decision log does not cover. The
    page said nothing, so a team that exports from the app never learnt that a seal was due."""
    from db.ingests import NOT_COVERED

    if real_images.get("standing") != NOT_COVERED:  # "differs" is said with what it left out (the gate's reasons)
        return
    # A code span shows `plain`'s backslashes: a name with other characters is given beside the command instead.
    command = (f"`ganaug data seal {dataset} --user ADMIN`" if SHELL_WORD.fullmatch(dataset)
               else f"`ganaug data seal NAME --user ADMIN`, NAME being {plain(dataset)} quoted for the shell")
    st.warning(f"The real training images of dataset {plain(dataset)} are not covered by the decision log: it was "
               "ingested before ingests were recorded (2026-12-07), so a row added to its real_images table would be "
               "exported as a real image. An admin who has compared `ganaug data report` with the source records "
               f"them as they are now: {command}.", icon=":material/gpp_maybe:")


def export_preview_table(dataset: str, ratio: float) -> None:
    """Per class, how many real and approved synthetic images the export button would write, before the click."""
    with session_scope() as session:
        version = session.scalar(select(func.max(Event.id))) or 0
        names = (views.dataset_summary(session, dataset) or {}).get("class_names") or []
    try:
        preview = export_preview(home(), dataset, float(ratio), version)
    except decision_errors() as e:
        st.warning(f"Nothing can be exported now: {plain(e)}", icon=":material/block:")
        return
    over = preview["over_cap"]
    rows = [{"class_name": names[c] if c < len(names) else str(c), "real_images": n["real"],
             "synthetic_images": n["synthetic"], "over_ratio": over.get(c, 0)}
            for c, n in sorted(preview["counts"].items())]
    # The classes with approved samples first: among a catalogue's 40 classes in their order, the few that get
    # synthetic images were below the box's first ten rows.
    rows.sort(key=lambda r: not (r["synthetic_images"] or r["over_ratio"]))
    approved = bool(rows) and bool(rows[0]["synthetic_images"] or rows[0]["over_ratio"])
    first = " (the classes with approved samples first)" if approved else ""
    st.markdown(f"**What this export would hold** at a ratio of {ratio:g}: {sum(r['real_images'] for r in rows):,} real "
                f"and {sum(r['synthetic_images'] for r in rows):,} approved synthetic images{first}")
    st.dataframe(text_cells(pd.DataFrame(rows)), hide_index=True,
                 column_config=table_columns(rows), placeholder=MISSING,
                 key="export_preview")
    if preview["excluded"]:
        st.caption("Left out: "
                   + "; ".join(f"{n:,} {why}" for why, n in sorted(preview["excluded"].items())))
    not_covered_warning(dataset, preview["real_images"])


def older_scores_info(dataset: str, ratio: float) -> None:
    """What `ganaug export` notes too (`ganaug.older_scores`), said before the click: the approved batches whose
    memorized flags an older copy check set, which the gate trusts. The page said nothing, so a team exporting from
    the app never learnt that a rescore was due. Its batches are the dataset's approved ones, from the review table
    (the gate itself reads every approved sample's file, and this runs with every rerun of the page)."""
    from ganaug.older_scores import older_scores_note

    if ratio <= 0:  # the real images alone: the set holds no batch
        return
    with session_scope() as session:
        approved = session.scalars(select(Batch.id).join(Dataset, Dataset.id == Batch.dataset_id)
                                   .where(Dataset.name == dataset, Batch.status == "approved")).all()
    if note := older_scores_note(approved):
        # Batch ids, versions and fixed words, no user text: not `plain`ed, so the command shows as code.
        st.info(f"**Before you export:** {note}.", icon=":material/history:")


def changes_since_previous(since: dict | None, names: list) -> None:
    """What `ganaug export` says too: what this export holds otherwise than the dataset's previous recorded one, batch
    by batch and class by class. The page said nothing, so a team told two exports apart by their sha256 alone."""
    from ganaug.export_changes import NOTHING_CHANGED, changes_head, changes_lines

    if since is None:
        st.markdown("**Since the previous export:** none was recorded for this dataset; this is its first.")
        return
    head = changes_head(since)
    head = f"**{plain(head[0].upper() + head[1:])}:**"
    if since["same"]:
        st.markdown(f"{head} {plain(NOTHING_CHANGED)}")
        return
    # Its folder still here (compared image by image), it is among the exports checked below; else the log has them.
    hint = (f"(choose export {since['event']} under the recorded exports below: it names the decisions that withdrew "
            "them)" if since["added"] is not None else "(the Decision log tab names the decisions that withdrew them)")
    st.markdown(f"{head}\n\n" + "\n".join(f"- {plain(line)}" for line in changes_lines(since, names, hint)))


def export_summary(result: dict) -> None:
    """What an export admitted, per class, how imbalanced the set still is, what it left out and why, and the log
    head it rests on."""
    from ganaug.export import empty_classes_warning

    event = result.get("event")
    # In the reviewer's words: where it is, and that it can be taken away; the hashes and commands in the expander.
    counts = result["counts"].values()
    synthetic = sum(n["synthetic"] for n in counts)
    st.success(f"Exported {result['entries']:,} images ({result['entries'] - synthetic:,} real, {synthetic:,} approved "
               f"synthetic) as “{plain(Path(result['out']).name)}”, on the server"
               + (f"; recorded as event {event['id']} of the decision log under your name. Download it as a .zip "
                  "under **Take an export away** below." if event else "."), icon=":material/task_alt:")
    with session_scope() as session:
        names = (views.dataset_summary(session, result["dataset"]) or {}).get("class_names") or []
    rows = [{"class_name": names[int(c)] if int(c) < len(names) else c, "real_images": n["real"],
             "synthetic_images": n["synthetic"]} for c, n in result["counts"].items()]
    st.dataframe(text_cells(pd.DataFrame(rows)), hide_index=True,
                 column_config=table_columns(rows), placeholder=MISSING)
    changes_since_previous(result.get("since_previous"), names)
    ratios = result.get("imbalance") or {}
    if ratios.get("before") is not None:  # what the CLI says: how imbalanced the set still is; and why, if no better
        st.markdown(imbalance_words(result["dataset"], result["synthetic_ratio"], result["counts"], ratios))
    if warning := empty_classes_warning(result.get("empty_classes") or []):
        st.warning(plain(warning[0].upper() + warning[1:] + "."), icon=":material/folder_off:")
    if result["excluded"]:
        st.caption("Left out: " + "; ".join(f"{n:,} {why}" for why, n in sorted(result["excluded"].items())))
    not_covered_warning(result["dataset"], result.get("real_images") or {})
    head = result["log_head"]
    with st.expander("Technical details (for an engineer or an auditor)"):
        st.markdown(f"Folder on the server: `{result['out']}`  \nmanifest.csv sha256: `{result['manifest_sha256']}`")
        st.caption(f"Gated on the decision log's first {head['events']:,} events (head `{head['hash'][:16]}…`, in "
                   "the folder's log_head.txt: `ganaug audit verify --head` checks the log still holds it; `ganaug audit "
                   "folder` checks the folder).")
        st.json(result, expanded=False)


def open_batch_by_id() -> None:
    """The id box's callback: the provenance tab shows the batch it names."""
    if (asked := st.session_state.get("audit_batch_id")) is not None:
        st.session_state["audit_batch"] = int(asked)


require_user()
st.title("Audit")

log_tab, provenance_tab, export_tab = st.tabs(["Decision log", "Batch provenance", "Export gated set"])

with log_tab:
    # "Since" wider than the rest: in five equal columns its date showed "yyyy / mr" at 1024 px.
    f1, f2, f3, f4, f5 = st.columns(FILTER_WIDTHS)
    actor = f1.text_input("Actor", key="audit_actor")
    action = f2.selectbox("Action", ACTIONS, key="audit_action", format_func=lambda a: a.replace("_", " "))
    target = f3.selectbox("Target", TARGETS, key="audit_target")
    since = f4.date_input("Since", value=None, key="audit_since")
    limit = f5.number_input("Show at most", 10, 5000, 200, step=50, key="audit_limit")
    chosen = dict(actor=actor.strip() or None, action=None if action == "any" else action,
                  target_type=None if target == "any" else target,
                  since=dt.datetime.combine(since, dt.time(), dt.timezone.utc) if since else None)
    with session_scope() as session:
        rows = [views.event_dict(e) for e in list_events(session, **chosen, limit=int(limit))]
        # Counted only when the table is full: a year's log holds 60,000 events, and "200 rows" did not say of how many.
        matching = count_events(session, **chosen) if len(rows) == int(limit) else len(rows)
    if rows:
        event_log(rows, key="audit_log")
        if matching > len(rows):
            st.caption(f"{len(rows):,} of {matching:,} matching events shown, the newest: narrow them with the filters "
                       "above, or raise “Show at most” (`ganaug audit log --limit N` lists any number).")
    else:
        st.write("No events match.")

    if st.button("Verify the chain", key="audit_verify", icon=":material/verified:"):
        with session_scope(snapshot=True) as session:  # the log and the tables of one moment (as the CLI's)
            log = LogState()  # the review state replayed as the chain is walked: one read of the log, not two
            report = verify_chain(session, visit=log.apply)
            mismatches = state_mismatches(session, log) if report.ok else []
        st.session_state["audit_report"] = dict(ok=report.ok, message=report.message, checked=report.checked,
                                                first_broken_id=report.first_broken_id, head=report.head_hash,
                                                mismatches=mismatches)
    report = st.session_state.get("audit_report")
    if report:
        if not report["ok"]:
            st.error(f"Chain broken at event {report['first_broken_id']}: {report['message']}")
        elif report["mismatches"]:
            st.warning(f"{report['message']}, but the review tables disagree with it (where they differ, the gate leaves "
                       "the samples out):\n\n" + "\n".join(f"- {line}" for line in report["mismatches"]))
        else:
            st.success(f"{report['message']}; the review state matches it (head hash {report['head'][:16]}…)")

with provenance_tab:
    with session_scope() as session:
        listed = views.PICKER_BATCHES
        batches = views.batches_table(session, status=None, limit=listed)
        total = sum(views.batch_counts(session).values()) if len(batches) == listed else len(batches)
        asked = st.session_state.get("audit_batch")
        if asked is not None and asked not in {b["batch"] for b in batches}:  # opened by its id, below
            batches += views.batches_table(session, status=None, ids=[asked])
    if not batches:
        st.write("No batches yet.")
    else:
        labels = {b["batch"]: f"batch {b['batch']} · {b['dataset']} · class {b['class_name']} · {b['status']}"
                  for b in batches}
        if asked is not None and asked not in labels:
            st.error(f"There is no batch {asked}.")
            del st.session_state["audit_batch"]
        if total > listed:  # a year's home: 1,500 batches, and the picker reached back to the newest 500 only
            st.number_input("Open batch by id", min_value=1, value=None, step=1, key="audit_batch_id",
                            on_change=open_batch_by_id, placeholder="batch id", width=170,
                            help=f"The picker below lists the newest {listed:,} of the {total:,} batches.")
        batch_id = st.selectbox("Batch", list(labels), format_func=labels.get, key="audit_batch")
        with session_scope() as session:
            prov = views.batch_provenance(session, batch_id)
            history = [views.event_dict(e) for e in views.batch_events(session, batch_id, limit=HISTORY_ROWS)]
        seeds = prov.pop("sample_seeds")
        config = prov.pop("config")
        if prov.get("created"):  # "2026-12-07 09:43:58.123456+00:00" showed its microseconds: seconds, as elsewhere
            prov["created"] = str(prov["created"])[:19].replace("T", " ")
        st.dataframe(text_cells(pd.DataFrame({"field": [PROVENANCE_FIELDS.get(k, k) for k in prov],
                                              "value": [None if v is None else str(v) for v in prov.values()]})),
                     hide_index=True, column_config=table_columns(["field", "value"]), placeholder=MISSING,
                     height="content")  # every field in sight: it scrolled inside itself past ten rows
        st.caption(f"{len(seeds)} per-sample seeds: {', '.join(map(str, seeds[:20]))}" + (" …" if len(seeds) > 20 else "")
                   + f". `ganaug audit reproduce {batch_id}` regenerates the samples from the checkpoint and these seeds "
                   "and checks each against its recorded sha256.")
        with st.expander("Training configuration of the run"):
            st.json(config)
        st.markdown("**Decisions on this batch and its samples**")
        if history:  # a statement, not a one-line conditional expression: Streamlit would draw its value too
            event_log(history, key="audit_history")
            if len(history) == HISTORY_ROWS:
                st.caption(f"The newest {HISTORY_ROWS}; the Decision log tab filters all of them.")
        else:
            st.write("None yet.")

with export_tab:
    with session_scope() as session:
        names = views.dataset_names(session)
    if not names:
        st.info(NO_DATASET, icon=":material/upload_file:")
    else:
        e1, e2, e3 = st.columns([2, 1, 3])
        dataset = e1.selectbox("Dataset", names, key="export_dataset")
        ratio = e2.number_input("Synthetic : real ratio", 0.0, 100.0, 1.0, 0.25, key="export_ratio", help=RATIO_HELP)
        name = e3.text_input("Export folder name",
                             value=f"{dataset}-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}", key="export_name",
                             help="The export is written on the server, in its exports folder (not on your "
                                  "computer); once written, download it as a .zip under Take an export away.")
        st.caption(ratio_words(ratio))
        # On request: the gate reads every approved sample's file (2–3 s with 100,000 samples), and the tabs below
        # all run with the page.
        if st.toggle("Show what this export would hold, per class", key="export_preview_on"):
            export_preview_table(dataset, ratio)
        gains_warning(dataset, ratio)
        older_scores_info(dataset, ratio)
        # Not the download icon: this writes the folder on the server; the zip is taken under Take an export away.
        if st.button("Export the gated training set", key="export_go", type="primary",
                     icon=":material/create_new_folder:"):
            try:
                result = export_gated(dataset, name, ratio)
            except decision_errors() + (FileExistsError, OSError) as e:
                st.session_state["export_result"] = dict(error=str(e))
            else:
                st.session_state["export_result"] = result
        result = st.session_state.get("export_result")
        if result and "error" in result:
            st.error(plain(result["error"]))
        elif result:
            export_summary(result)
        past_exports()
