"""A training run's `stats.jsonl`, read without the engine (no torch), so the app can read it as cheaply as the CLI."""

from __future__ import annotations

import json
from pathlib import Path


def last_diversity(stats_file: Path) -> dict:
    """The mode-collapse monitor's last reading: {"diversity": {class index (str): generated / real ratio},
    "collapsed": [flagged class indices]}; {} when the file is missing or holds no reading yet. A line that does
    not parse (the one a running trainer is still appending) is skipped."""
    last: dict = {}
    if Path(stats_file).is_file():
        for line in Path(stats_file).read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "diversity" in entry:
                last = {"diversity": entry["diversity"], "collapsed": entry.get("collapsed", [])}
    return last
