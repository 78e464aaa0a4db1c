"""
The fleet report's render time at 500 and 5,000 hosts (bench.py part ``report``).

The synthetic fleets of the browser tests (tests/support/synthetic_fleet.py)
go through the runner's own code: ``summarize`` and all five renderers. The
floor is a part of what Salt itself does with the same returns on the master
before any report exists: msgpack-decode each host's return
(``salt.payload``). Medians of alternating pairs, as everywhere in bench/.
"""

import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "_utils"))

import idlelock_report  # noqa: E402
import salt.payload  # noqa: E402

from tests.support import synthetic_fleet  # noqa: E402


def render_times(pairs, paired):
    """``{report_<hosts>_ms, report_<hosts>_decode_ratio, report_<hosts>_html_kb}``."""
    figures = {}
    for scale in (1, 10):
        hosts = 500 * scale
        returns, expected, envs, last_seen = synthetic_fleet.fleet(scale)
        history = synthetic_fleet.history(total=hosts)
        packed = [salt.payload.dumps({"id": host, "return": ret}) for host, ret in returns.items()]
        pages = {}

        def render():
            started = time.perf_counter()
            data = idlelock_report.summarize(
                synthetic_fleet.PROFILE, returns, expected, envs,
                generated=synthetic_fleet.GENERATED, last_seen=last_seen, history=history)
            pages.update((name, fn(data)) for name, fn in idlelock_report.RENDERERS.items())
            return time.perf_counter() - started

        def decode():
            started = time.perf_counter()
            for item in packed:
                salt.payload.loads(item)
            return time.perf_counter() - started

        figures[f"report_{hosts}_decode_ratio"] = paired(decode, render, pairs)[0]
        figures[f"report_{hosts}_ms"] = statistics.median(render() for _ in range(pairs)) * 1000
        figures[f"report_{hosts}_html_kb"] = len(pages["html"].encode()) / 1024
    return figures
