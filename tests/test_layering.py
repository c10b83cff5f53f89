"""The layering of docs/design: one-shot commands and the headless core never load the UI libraries."""

import json
import subprocess
import sys

PROBE = """
import io, json, sys
from cgscope.cli import main
main({argv!r}, out=io.StringIO())
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))))
"""


def loaded_ui_modules(argv: list[str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True
    )
    modules: list[str] = json.loads(result.stdout.splitlines()[-1])
    return modules


def test_one_shot_commands_do_not_import_textual() -> None:
    for argv in (["containers", "--json"], ["ps", "--json"], ["ns", "--json"], ["tree", "--json"]):
        assert loaded_ui_modules(argv) == [], argv


def test_headless_core_imports_no_ui() -> None:
    probe = (
        "import sys, cgscope.fs.hostroot, cgscope.model.collect, cgscope.model.containers, "
        "cgscope.model.namespaces, cgscope.model.tree, cgscope.render.views\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
