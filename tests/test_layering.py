"""The layering of docs/design: one-shot commands and the headless core never load the UI libraries."""

import subprocess
import sys

from helpers import loaded_ui_modules


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
