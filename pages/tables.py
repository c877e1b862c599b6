"""Every table's headers in the reviewer's words, with units and help where a number needs them.

Pages pass `column_config=table_columns(df)` and `placeholder=MISSING` to st.dataframe, so no raw field name and no
"None" reaches the screen (a value that is not there is a null, not "" or "—": tests/app/test_table_headers.py checks
every table); decision-log rows go through `event_table` first.
"""

from __future__ import annotations

import streamlit as st

MISSING = "–"  # a measure that could not be computed, as a table shows it (st.dataframe's `placeholder`), not "None"
CLASS_NAME_PX = 300  # ~7 px a character; Evaluate's quality table still fits a 1366-px screen
_INTERVAL = "Mean and [95 % interval] over seeds, on the locked real test split; from 0 to 1."
TABLE_COLUMNS = {
    "id": st.column_config.NumberColumn("Event", format="%d", help="The event's number in the decision log"),
    "batch": st.column_config.NumberColumn("Batch", format="%d"),
    "run": st.column_config.NumberColumn("Run", format="%d"),
    "job": st.column_config.NumberColumn("Job", format="%d"),
    "dataset": st.column_config.TextColumn("Dataset"),
    # Wide enough for a class name of ~40 characters: sized by Streamlit, a long name was cut after 38 characters at
    # 1366 px and 45 at 1920 px (Overview's pending batches, Evaluate's quality).
    "class_name": st.column_config.TextColumn("Class", width=CLASS_NAME_PX),
    "count": st.column_config.NumberColumn("Samples", format="%d", help="Samples generated in the batch"),
    "memorized": st.column_config.NumberColumn(
        "Memorized", format="%d", help="Near-copies of a training image not rejected yet; they block approval"),
    "scored": st.column_config.CheckboxColumn(
        "Scored", help="Class confidence, realism, novelty and the memorization check are computed"),
    "created": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "ts": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss"),  # see `event_table`
    "status": st.column_config.TextColumn("Status"),
    "step": st.column_config.NumberColumn("Step", format="%d", help="Training steps done"),
    "budget": st.column_config.TextColumn("Budget", help="The training steps or minutes the run was given"),
    "resolution": st.column_config.NumberColumn("Side", format="%d px", help="The image side the run trained at"),
    "arch": st.column_config.TextColumn("Architecture"),
    "actor": st.column_config.TextColumn("By"),
    "role": st.column_config.TextColumn("Role"),
    "action": st.column_config.TextColumn("Action"),
    "target": st.column_config.TextColumn("On"),
    "meaning": st.column_config.TextColumn("Meaning", help="What the decision means, as signed into the log"),
    "reason": st.column_config.TextColumn("Reason", width="medium"),  # whole, not cut at its header's width
    "hash": st.column_config.TextColumn(
        "Hash", help="The first 12 hex digits of the event's sha256 in the chain (`ganaug audit verify` checks it)"),
    "field": st.column_config.TextColumn("Field"),
    "value": st.column_config.TextColumn("Value"),
    "name": st.column_config.TextColumn("Name"),
    "active": st.column_config.CheckboxColumn("Active"),
    "blocking": st.column_config.CheckboxColumn("Blocking", help="A sample with this tag stays out of training"),
    "description": st.column_config.TextColumn("What it means"),
    "kind": st.column_config.TextColumn("Kind"),
    "progress": st.column_config.ProgressColumn("Progress", min_value=0.0, max_value=1.0, format="percent"),
    "message": st.column_config.TextColumn("Last message"),
    "error": st.column_config.TextColumn("Error"),
    # An export (the Audit page): what it admitted per class.
    "real_images": st.column_config.NumberColumn(
        "Real images", format="%d", help="Real training images admitted: their files still match their sha256"),
    "synthetic_images": st.column_config.NumberColumn(
        "Synthetic samples", format="%d", help="Approved samples admitted, at most the ratio × the class's real images"),
    "over_ratio": st.column_config.NumberColumn(
        "Approved, over the ratio", format="%d", help="Approved samples the ratio leaves out of this export; a higher "
                                                    "ratio admits them"),
    # A recorded export (the Audit page): what left the system, gated on which log head, and where it went.
    "images": st.column_config.NumberColumn("Images", format="%d", help="Real and synthetic images exported"),
    "synthetic": st.column_config.NumberColumn("Synthetic", format="%d", help="Of them, approved synthetic samples"),
    "ratio": st.column_config.NumberColumn(
        "Ratio", format="%g", help="At most this many synthetic samples per real training image, per class"),
    "manifest_sha256": st.column_config.TextColumn(
        "Manifest hash", help="sha256 of the folder's manifest.csv (its manifest.sha256 file): the set's identity"),
    "log_head": st.column_config.TextColumn(
        "Log head", help="The decision-log head the set was gated on (its log_head.txt; `ganaug audit verify --head`)"),
    "folder": st.column_config.TextColumn("Folder", help="Where the export was written, on the app's server"),
    "folder_check": st.column_config.TextColumn(
        "Folder now", help="matches: the folder is here and its manifest.csv still has the recorded sha256 (“· N "
                           "withdrawn”: but the review has since withdrawn N of its synthetic images, named below); "
                           "changed: its manifest.csv differs; not found: no such folder (or manifest.csv) here"),
    # A measured batch (the Evaluate page): each distribution metric, and beside it what held-out real images of
    # the class score against its training images, i.e. what a generator as good as the real data scores.
    "samples": st.column_config.NumberColumn("Samples", format="%d"),
    "n_real": st.column_config.NumberColumn(
        "Real training images", format="%d", help="The class's real training images the batch is measured against"),
    # ↓ lower is better, ↑ higher is better (the caption above the table says so): a reader saw "FID 4.17" with no
    # direction unless they hovered its header. The held-out columns are references to compare with, so no arrow.
    "fid": st.column_config.NumberColumn(
        "FID ↓", format="%.2f", help="Lower is better. Fréchet distance to the real training images on this dataset's "
                                    "own feature extractor, not Inception-v3: lower is closer to them, 0 the same. "
                                    "Compare within this dataset only, never with published FIDs"),
    "fid_held_out": st.column_config.NumberColumn(
        "FID, held-out real", format="%.2f", help="What unseen real images of the class score. A batch well below "
                                                  "it sits nearer the training images than new real images do"),
    "kid": st.column_config.TextColumn(
        "KID ↓", help="Lower is better. Kernel distance on the same features (not Inception's: never compare with "
                      "published KIDs), unbiased: ≈ 0 or below means no measurable gap; ± its spread over subsets"),
    "kid_held_out": st.column_config.TextColumn("KID, held-out real"),
    "precision": st.column_config.NumberColumn(
        "Precision ↑", format="%.3f",
        help="Share of samples that look like real images (fidelity); higher is better"),
    "precision_held_out": st.column_config.NumberColumn("Precision, held-out real", format="%.3f"),
    "recall": st.column_config.NumberColumn(
        "Recall ↑", format="%.3f", help="Share of real images some sample resembles (diversity); higher is better"),
    "recall_held_out": st.column_config.NumberColumn("Recall, held-out real", format="%.3f"),
    "coverage": st.column_config.NumberColumn(
        "Coverage ↑", format="%.3f", help="Share of real images with a sample nearby; higher is better"),
    "coverage_held_out": st.column_config.NumberColumn("Coverage, held-out real", format="%.3f"),
    "class_consistency": st.column_config.NumberColumn(
        "Class consistency ↑", format="%.3f",
        help="Share of samples the real-data classifier assigns to their class; higher is better"),
    "authenticity": st.column_config.NumberColumn(
        "Authenticity ↑", format="%.3f", help="Share of samples farther from their nearest training image than real "
                                              "images are from theirs; higher is better"),
    "closer_to_train": st.column_config.NumberColumn(
        "DCR: closer to train", format="%.3f", help="Share of samples nearer a training image than a held-out one "
                                                    "(equal-size sets): ≈ 0.5 generalises, near 1 tracks the training "
                                                    "images"),
    "copies": st.column_config.NumberColumn(
        "Copies ↓", format="%d", help="Samples that copy a training image: 0 is what you want"),
    "arm": st.column_config.TextColumn(
        "Arm", help="How the training set was built: real images only, a baseline (oversampling, SMOTE, classic "
                    "augmentation) or GAN samples (approved by reviewers: the gated set)"),
    "n_train": st.column_config.NumberColumn(
        "Training images", format="%d", help="Real and added images the classifier trained on"),
    "n_synthetic": st.column_config.NumberColumn(
        "Synthetic images", format="%d", help="Of them, new images: the GAN's samples or SMOTE's interpolations "
                                              "(oversample and classic repeat real images, so they add none)"),
    "multiplier": st.column_config.NumberColumn(
        "Synthetic multiplier", format="×%g", help="Synthetic images per class = multiplier × the class's gap to the "
                                                   "majority class"),
    "balanced_accuracy": st.column_config.TextColumn(
        "Balanced accuracy", help="Recall averaged over classes; higher is better. " + _INTERVAL),
    "minority_recall": st.column_config.TextColumn(
        "Rare-class recall", help="Recall averaged over the rare classes; higher is better. " + _INTERVAL),
    "macro_f1": st.column_config.TextColumn("Macro F1", help="F1 averaged over classes; higher is better. " + _INTERVAL),
    "macro_gmean": st.column_config.TextColumn(
        "Macro G-mean", help="√(recall × specificity) averaged over classes; higher is better. " + _INTERVAL),
    "minority_pr_auc": st.column_config.TextColumn(
        "Rare-class PR-AUC", help="Area under each rare class's precision-recall curve (average precision, "
                                  "scikit-learn's step-wise area), averaged; higher is better. "
                                  + _INTERVAL),
    "ece": st.column_config.TextColumn(
        "Calibration error (ECE)", help="Expected calibration error: the gap between confidence and accuracy over 15 "
                                        "bins; lower is better. " + _INTERVAL),
}


def text_cells(table):
    """`table` (a DataFrame or a list of row dicts) with each text cell that a spreadsheet would run as a formula
    written after a "'", as the export's images.csv writes it (`ganaug.export.spreadsheet_text`).

    Streamlit's own "Download as CSV" and its copy to the clipboard hand a table's cells over as they are: a class
    folder, a tag or a reason named `=HYPERLINK("http://…"&A2, "open")` became a live link in the spreadsheet of
    whoever opened the download. Hiding the download would also take the copy of a cell (a hash, a seed) from every
    table; this changes only the rare cell that starts with = + - @ (a number such as "-0.5" is left as it is), and
    the table shows what the download holds."""
    import pandas as pd

    from ganaug.export import spreadsheet_text

    def cell(value):
        if not isinstance(value, str) or not value:
            return value
        try:
            float(value)
            return value  # "-3", "+1e-4": a spreadsheet reads a number, runs nothing
        except ValueError:
            return spreadsheet_text(value)

    if hasattr(table, "columns"):
        table = table.copy()
        for name in table.columns:
            if table[name].dtype == object or pd.api.types.is_string_dtype(table[name].dtype):
                table[name] = table[name].map(cell)
        return table
    return [{k: cell(v) for k, v in row.items()} for row in table]


def table_columns(table) -> dict:
    """st.dataframe's column_config for the columns of `table`: a DataFrame, a list of row dicts or of names."""
    if hasattr(table, "columns"):
        names = list(table.columns)
    else:
        names = list(table[0]) if table and isinstance(table[0], dict) else list(table)
    return {name: TABLE_COLUMNS[name] for name in names if name in TABLE_COLUMNS}


def class_sized(columns: dict, names) -> dict:
    """`columns` (`table_columns`) with Class as wide as the longest of `names` (≈ 7 px a character), at least 64 px
    and at most CLASS_NAME_PX: at 300 px a one-digit name pushed a table's last columns out of the 562 px a 1024-px
    screen leaves beside the sidebar. A name of ~40 characters still shows whole, the table then scrolling."""
    longest = max((len(str(name)) for name in names), default=0)
    return {**columns, "class_name": {**columns["class_name"], "width": min(CLASS_NAME_PX, max(64, 7 * longest + 24))}}


def event_table(rows: list[dict], columns: list[str]):
    """Decision-log rows (views.event_dict) as a DataFrame of `columns`, their time a UTC datetime (the log stores
    it as ISO text with microseconds and an offset, which a reviewer has no use for) and their action in words."""
    import pandas as pd

    df = pd.DataFrame(rows)[columns]
    if "ts" in df:
        df["ts"] = pd.to_datetime(df["ts"], utc=True, format="ISO8601")
    if "action" in df:  # 'reject sample', not the log's 'reject_sample'
        df["action"] = df["action"].str.replace("_", " ")
    if "reason" in df:  # none given: the placeholder, not an empty cell (the log stores "")
        df["reason"] = df["reason"].where(df["reason"] != "", None)
    return df
