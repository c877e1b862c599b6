"""One progress callback for every long operation.

The CLI turns it into a tqdm bar (`tqdm_progress`), the job worker into database rows. Core code calls
`report(Progress(...))` and never knows which.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional


@dataclass
class Progress:
    stage: str  # what is happening, in the user's words ("ingest", "train", "generate", ...)
    done: int  # units finished so far
    total: int  # units in all (0 when unknown)
    stats: dict = field(default_factory=dict)  # latest numbers worth showing (losses, p, images/s)


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    pass


def stop_if(should_stop: Optional[Callable[[], bool]], error: InterruptedError) -> None:
    """A long operation's safe point: raise `error` (saying what was finished) when `should_stop()` says so."""
    if should_stop is not None and should_stop():
        raise error


def stopping_at_reports(progress: ProgressCallback, should_stop: Optional[Callable[[], bool]],
                        error: InterruptedError) -> ProgressCallback:
    """`progress` that also stops a long stage at its next report (`stop_if`): a stage that writes nothing until
    its end (a feature extractor's training, a batch's PNGs in their staging folder)."""
    if should_stop is None:
        return progress

    def report(p: Progress) -> None:
        progress(p)
        stop_if(should_stop, error)

    return report


@contextmanager
def tqdm_progress(enabled: bool = True) -> Iterator[ProgressCallback]:
    """A callback that drives one tqdm bar per stage, on stderr so `--json` stdout stays clean."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def report(p: Progress) -> None:
        if not enabled:
            return
        bar = bars.get(p.stage)
        new = bar is None
        if new:
            # Stages follow one another: the last one's bar is closed (left drawn) before this one opens. Two open
            # bars make tqdm move the cursor between their lines, which a log or a pipe records as escape codes.
            for done in bars.values():
                done.close()
            bars.clear()
            # A stage may start part-way (a resumed run): the rate counts from there.
            bar = bars[p.stage] = tqdm(total=p.total or None, desc=p.stage, unit="it", leave=True, dynamic_ncols=True,
                                       initial=p.done)
        if p.stats:
            bar.set_postfix({k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in p.stats.items()}, refresh=False)
        if new:
            if p.stats:  # the constructor drew the bar without them
                bar.refresh()
        elif p.done >= bar.n:
            # Through update: tqdm's rate then follows the work, and it redraws at most every 0.1 s (close() draws
            # the last state once).
            bar.update(p.done - bar.n)
        else:
            bar.n = p.done
            bar.refresh()

    try:
        yield report
    finally:
        for bar in bars.values():
            bar.close()


def throttled(callback: Optional[ProgressCallback], every: int) -> ProgressCallback:
    """Forward every `every`-th report (and the last one) — database rows need not follow every step."""
    if callback is None:
        return no_progress

    def report(p: Progress) -> None:
        if p.done % every == 0 or (p.total and p.done >= p.total):
            callback(p)

    return report
