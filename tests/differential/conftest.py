# Pytest set-up for tests/differential: puts this folder on sys.path (diff_*.py,
# duckclient.py) and keeps the sanitizer binary to the queries marked asan (about
# 100), so the whole run stays near two minutes per binary. The server fixtures come
# from tests/conftest.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vigil_harness as vh  # noqa: E402


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        cs = getattr(item, "callspec", None)
        case = cs.params.get("case") if cs else None
        binary = cs.params.get("vigil_bin") if cs else None
        if case is not None and binary is not None and vh.bin_id(binary) == "asan" and not case.asan:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
