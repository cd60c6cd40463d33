"""Shared test set-up: figures draw off-screen and are closed after every test; the
notebook tests get their own scheduling unit and a summary of how each notebook ran."""
import os
import sys

import pytest

# Draw without a display (the Makefile sets this too; this covers a bare `pytest`).
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_addoption(parser):
    parser.addoption("--fresh-notebooks", action="store_true", default=False,
                     help="execute every notebook again instead of serving identical "
                          "executions from the cache (_build/.cache)")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened, so hundreds of tests do not pile them up."""
    yield
    plt = sys.modules.get("matplotlib.pyplot")   # only if the test used matplotlib
    if plt is not None:
        plt.close("all")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With --dist loadscope (the Makefile's), each notebook test is a unit of its own,
    so the notebooks spread over the workers instead of all landing on one; every other
    module still stays on one worker with its module-scoped fixtures."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class NotebooksApart(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            if "test_notebooks.py::test_notebook_runs" in nodeid:
                return nodeid
            return super()._split_scope(nodeid)

    return NotebooksApart(config, log)


def pytest_terminal_summary(terminalreporter):
    """Which notebooks were executed and which were served from the cache."""
    lines = [value for reports in terminalreporter.stats.values() for report in reports
             if getattr(report, "when", None) == "call"
             for name, value in getattr(report, "user_properties", []) if name == "notebook"]
    if lines:
        terminalreporter.section("notebooks")
        executed = sum(line.startswith("executed") for line in lines)
        cached = sum(line.startswith("cached") for line in lines)
        for line in sorted(lines, key=lambda line: line.split()[1]):
            terminalreporter.line(line)
        terminalreporter.line(f"{executed} executed now, {cached} served from the cache "
                              "(identical executions that had succeeded, checked again)")
