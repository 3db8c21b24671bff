import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "boot"))

# Figures a test measured (counts, not timings), printed after the run.
FIGURES = []


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
    # What the KV's fault tests measured (tests/cluster/kvcluster.py).
    kv = sys.modules.get("kvcluster")
    if kv is not None and getattr(kv, "MEASURED", None):
        terminalreporter.section("kv: measured")
        for line in kv.MEASURED:
            terminalreporter.write_line(line)
