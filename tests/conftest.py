# Pytest fixtures shared by tests/integration and tests/crash: every server fixture is
# parametrized over the binaries in VIGIL_BINS (normal and ASan+UBSan builds), so each
# test runs once per binary. The helpers live in vigil_harness.py next to this file.
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vigil_harness as vh  # noqa: E402


@pytest.fixture(scope="session", params=vh.vigil_bins(), ids=vh.bin_id)
def vigil_bin(request):
    path = request.param
    if not os.path.exists(path):
        pytest.fail("%s does not exist: run `make %s` first" % (path, os.path.relpath(path, vh.REPO)))
    return path


class _Factory:
    def __init__(self, binary, tmp_factory):
        self.binary = binary
        self.tmp_factory = tmp_factory
        self.servers = []

    def __call__(self, extra_args=(), node_id="test", start=True, data_dir=None):
        d = data_dir or str(self.tmp_factory.mktemp("vigil-data"))
        s = vh.Server(self.binary, d, node_id=node_id, extra_args=extra_args,
                      stderr_dir=str(self.tmp_factory.mktemp("vigil-logs")))
        self.servers.append(s)
        if start:
            s.start()
        return s

    def stop_all(self):
        errors = []
        for s in self.servers:
            try:
                s.stop()
            except AssertionError as e:
                errors.append(str(e))
            try:
                s.check_stderr()
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n\n".join(errors)


@pytest.fixture
def server_factory(vigil_bin, tmp_path_factory):
    """Starts servers on demand: server_factory(extra_args=[...]). All of them are
    stopped with SIGTERM at teardown (exit status 0, no sanitizer report)."""
    f = _Factory(vigil_bin, tmp_path_factory)
    yield f
    f.stop_all()


@pytest.fixture
def server(server_factory):
    """A fresh server with default flags, for this test only."""
    return server_factory()


@pytest.fixture(scope="module")
def shared_server(vigil_bin, tmp_path_factory):
    """One server per test module and binary; tests using it pick unique names."""
    f = _Factory(vigil_bin, tmp_path_factory)
    s = f()
    yield s
    f.stop_all()


_counter = [0]


@pytest.fixture
def dbname(request):
    """A database name unique within the session."""
    _counter[0] += 1
    return "db%d" % _counter[0]
