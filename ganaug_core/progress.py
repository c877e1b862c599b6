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


# Where stderr is no terminal (a log file, a CI job, `2>&1 | tee`), a bar is drawn as a line of its own at most this
# often: redrawn in place up to 10 times a second, a training wrote a drawing per step, '\r'-separated, on one line.
LOG_EVERY_S = 5.0


class _LogLines:
    """tqdm's output as a log wants it: each drawing a line of its own ending in '\n', with no '\r', no padding, and
    none whose count is the line before's (a bar's close draws its last state again, its rate a little lower)."""

    def __init__(self, stream) -> None:
        self.stream, self.last = stream, None

    def write(self, text: str) -> None:
        for part in text.replace("\r", "\n").split("\n"):
            line = part.rstrip()
            count = line.split(" [")[0]  # 'train:  50%|#####     | 10/20', before the times, rate and stats
            if line and count != self.last:
                self.stream.write(line + "\n")
                self.last = count

    def flush(self) -> None:
        self.stream.flush()


def _on_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # None (no stderr at all) or closed
        return False


def _bar_type():
    from tqdm import tqdm

    class Bar(tqdm):
        """tqdm, less the garbage collector's 'Exception ignored … no attribute pos' traceback on stderr when Ctrl-C
        or SIGTERM (`terminate_as_interrupt`) lands inside the constructor: the half-made bar has nothing to close."""

        def close(self) -> None:
            if hasattr(self, "pos"):
                super().close()

    return Bar


@contextmanager
def tqdm_progress(enabled: bool = True) -> Iterator[ProgressCallback]:
    """A callback that drives one tqdm bar per stage, on stderr so `--json` stdout stays clean; where stderr is no
    terminal, a plain line per LOG_EVERY_S at most (and each stage's first and last)."""
    import sys

    bar_type = _bar_type()
    bars: dict[str, object] = {}
    terminal = _on_terminal(sys.stderr)
    look = (dict(dynamic_ncols=True) if terminal else
            # miniters=1: a line only when the count moved (tqdm's own would redraw a slow stage's same count)
            dict(file=_LogLines(sys.stderr), mininterval=LOG_EVERY_S, miniters=1, ascii=True, ncols=None))

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
            bar = bars[p.stage] = bar_type(total=p.total or None, desc=p.stage, unit="it", leave=True, initial=p.done,
                                       **look)
        if p.stats:
            bar.set_postfix({k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in p.stats.items()}, refresh=False)
        if new:
            if p.stats and terminal:  # the constructor drew the bar without them (a log's next line has them)
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
