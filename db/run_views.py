"""Read-only queries about training runs: the runs table (the Overview, the Generate and Evaluate pages, `ganaug runs
list`), the runs whose stats time a budget on the Generate page, a run's folder, one run whole (`ganaug runs show`).

As in db/views.py, each function takes a Session first and returns plain data, never ORM objects.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Dataset, Run


def runs_table(session: Session, limit: int = 50, dataset: Optional[str] = None) -> list[dict]:
    q = select(Run, Dataset.name).join(Dataset, Run.dataset_id == Dataset.id)
    if dataset:
        q = q.where(Dataset.name == dataset)
    rows = session.execute(q.order_by(Run.id.desc()).limit(limit))
    return [
        dict(run=r.id, dataset=name, status=r.status, step=r.step, total_steps=r.total_steps,
             budget=run_budget(r.config or {}, r.total_steps), progress=round(r.progress or 0.0, 3),
             arch=(r.config or {}).get("arch"), resolution=(r.config or {}).get("resolution"),
             created=r.created_at, error=r.error, resumed_from=r.resumed_from, run_dir=r.run_dir)
        for r, name in rows
    ]


def runs_count(session: Session, dataset: Optional[str] = None) -> int:
    """How many runs `runs_table` would list with no limit: a listing cut at its limit says how many it left out."""
    q = select(func.count()).select_from(Run)
    if dataset:
        q = q.join(Dataset, Run.dataset_id == Dataset.id).where(Dataset.name == dataset)
    return session.scalar(q) or 0


def trained_runs(session: Session, dataset: str, limit: int = 20) -> list[dict]:
    """The dataset's runs that trained at least one step, newest first, with the settings that set their pace."""
    rows = session.execute(
        select(Run.id, Run.run_dir, Run.config).join(Dataset, Run.dataset_id == Dataset.id)
        .where(Dataset.name == dataset, Run.step > 0).order_by(Run.id.desc()).limit(limit))
    return [dict(run=i, run_dir=d, arch=(c or {}).get("arch"), edge_convs=(c or {}).get("edge_convs", True),
                 resolution=(c or {}).get("resolution"), width=(c or {}).get("width"),
                 batch_size=(c or {}).get("batch_size"))
            for i, d, c in rows]


def run_budget(config: dict, total_steps: Optional[int]) -> str:
    """What a run was given, in the user's terms: '2,000 steps' or '2 min' (a time budget has no step total)."""
    if total_steps:
        return f"{total_steps:,} steps"
    return f"{config['minutes']:g} min" if config.get("minutes") else "—"


def run_dir(session: Session, run_id: int) -> Optional[str]:
    return session.scalar(select(Run.run_dir).where(Run.id == run_id))


def run_summary(session: Session, run_id: int) -> Optional[dict]:
    """One run as `ganaug runs show` tells it: `runs_table`'s row with its config, its dataset's class names, its
    recorded checkpoint and when it finished; None for an unknown id."""
    found = session.execute(select(Run, Dataset.name, Dataset.class_names)
                            .join(Dataset, Run.dataset_id == Dataset.id).where(Run.id == run_id)).first()
    if found is None:
        return None
    r, name, class_names = found
    return dict(run=r.id, dataset=name, class_names=list(class_names or []), status=r.status, step=r.step,
                total_steps=r.total_steps, budget=run_budget(r.config or {}, r.total_steps),
                config=dict(r.config or {}), resumed_from=r.resumed_from, run_dir=r.run_dir,
                checkpoint_path=r.checkpoint_path, created=r.created_at, finished=r.finished_at, error=r.error)
