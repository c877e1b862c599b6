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
    terminal, a plain line per LOG_EVERY_S at most (and each stage's first and last). A stage that starts over (another
    phase, another total, a count gone back) gets a new bar; one that comes back after another's goes on with its
    count and clock."""
    import sys

    bar_type = _bar_type()
    bars: dict[str, object] = {}
    # A stage's bar closed while another stage's came between, by stage: (its phase, total, count, initial, clock).
    # The benchmark's bar gave way to each class's scoring and came back at 00:00, its rate counted from there.
    paused: dict[str, tuple] = {}
    terminal = _on_terminal(sys.stderr)
    look = (dict(dynamic_ncols=True) if terminal else
            # miniters=1: a line only when the count moved (tqdm's own would redraw a slow stage's same count)
            dict(file=_LogLines(sys.stderr), mininterval=LOG_EVERY_S, miniters=1, ascii=True, ncols=None))

    def close_all() -> None:
        for stage, done in bars.items():
            paused[stage] = (done.phase, done.total, done.n, done.initial, done.start_t)
            done.close()
        bars.clear()

    def open_bar(p: Progress, phase) -> tuple[object, bool]:
        """The stage's bar, and whether it goes on from a bar closed before (not drawn yet: its count and clock are
        set after tqdm's constructor, which draws a new bar at once)."""
        # Stages follow one another: the last one's bar is closed (left drawn) before this one opens. Two open bars
        # make tqdm move the cursor between their lines, which a log or a pipe records as escape codes.
        close_all()
        was = paused.pop(p.stage, None)
        goes_on = (was is not None and was[:2] == (phase, p.total or None) and was[2] <= p.done
                   and (was[1] is None or was[2] < was[1]))
        if goes_on:
            # The same stretch, back after another stage's bar: its count and its clock go on (one clock for the
            # whole benchmark, its rate over all of it). delay > 0: tqdm's constructor leaves it undrawn.
            bar = bar_type(total=p.total or None, desc=p.stage, unit="it", leave=True, initial=was[3], delay=1e-9,
                           **look)
            bar.n = bar.last_print_n = p.done  # its next update's rate: the steps since, not all of them
            bar.start_t = was[4]
        else:
            # A stage may start part-way (a resumed run): the rate counts from there.
            bar = bar_type(total=p.total or None, desc=p.stage, unit="it", leave=True, initial=p.done, **look)
        bar.phase = phase
        bars[p.stage] = bar
        return bar, goes_on

    def report(p: Progress) -> None:
        if not enabled:
            return
        phase = (p.stats or {}).get("phase")
        bar, goes_on = bars.get(p.stage), False
        # A stage again from the start, for another phase or with another total (gan_filtered scores each class's
        # candidates as stage "score"): a bar of its own, at 0 with its own clock. Reused, class 8's bar read
        # "0/711 [00:46<…]", class 7's total and time, and ended at 585/711.
        new = bar is None or bar.phase != phase or bar.total != (p.total or None) or p.done < bar.n
        if new:
            bar, goes_on = open_bar(p, phase)
        if p.stats:
            bar.set_postfix({k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in p.stats.items()}, refresh=False)
        if new:
            if goes_on or (p.stats and terminal):  # the constructor drew a new one without them (a log's next line
                bar.refresh()  # has them)
        else:
            # Through update: tqdm's rate then follows the work, and it redraws at most every 0.1 s (close() draws
            # the last state once).
            bar.update(p.done - bar.n)

    try:
        yield report
    finally:
        close_all()


def throttled(callback: Optional[ProgressCallback], every: int) -> ProgressCallback:
    """Forward every `every`-th report (and the last one) — database rows need not follow every step."""
    if callback is None:
        return no_progress

    def report(p: Progress) -> None:
        if p.done % every == 0 or (p.total and p.done >= p.total):
            callback(p)

    return report
