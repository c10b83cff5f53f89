"""The forms of the change keys: `l` limits, `m` move, `f` freeze/thaw. Each validates as one types
(the CLI's parsers and messages), previews the exact writes (the plan `--dry-run` prints) and hands the
plan back only when the user presses Apply; the app applies it through the control layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from cgscope.control.paths import parse_cgroup_path
from cgscope.control.plan import Plan
from cgscope.errors import CgscopeError
from cgscope.render.control import plan_lines
from cgscope.tui.actions import LIMIT_FIELDS, Controls, Selection, limit_command, limit_request


@dataclass(frozen=True)
class Proposal:
    """A plan the user saw and confirmed, with the command line the journal records for it."""

    plan: Plan
    command: tuple[str, ...]


class ChangeScreen(ModalScreen[Proposal | None]):
    """Fields (if any), the current error, the plan's writes, and Preview / Apply / Cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "Input, Button"
    TITLE_TEXT = ""

    def __init__(self, controls: Controls, selection: Selection) -> None:
        super().__init__()
        self.controls = controls
        self.selection = selection
        self.proposal: Proposal | None = None  # the plan shown, while the fields still say what it does
        self.asked = 0  # counts the changes of the fields: a plan is shown only for the latest

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="change"):
            yield from self.compose_fields()
            yield Label("", id="error", markup=False)
            yield Static("", id="plan")
            with Horizontal(id="buttons"):
                yield Button("Preview", id="preview")
                yield Button("Apply", id="apply", variant="warning", disabled=True)
                yield Button("Cancel", id="cancel")

    def compose_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#change").border_title = f"{self.TITLE_TEXT} {self.selection.label} (Esc cancels)"

    # -- what a subclass says ----------------------------------------------------------------------

    def check(self) -> None:
        """Raise the CLI's error for what the fields hold now (cheap: no file is read)."""

    def make_plan(self) -> tuple[Plan, list[str]]:
        raise NotImplementedError

    # -- the flow ----------------------------------------------------------------------------------

    def _error(self, message: str) -> None:
        self.query_one("#error", Label).update(message)
        self.set_class(bool(message), "-invalid")

    def _forget_plan(self) -> None:
        self.proposal = None
        self.asked += 1  # a plan still being made for the fields as they were is dropped
        self.query_one("#plan", Static).update("")
        self.query_one("#apply", Button).disabled = True

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._validate()

    def _validate(self) -> bool:
        self._forget_plan()
        try:
            self.check()
        except CgscopeError as exc:
            self._error(str(exc))
            return False
        self._error("")
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.preview()

    def preview(self) -> None:
        """Plan the change in a worker (planning reads the target's processes and cgroups) and show its
        writes; Apply is enabled when there is something to write."""
        if not self._validate():
            return
        self.query_one("#plan", Static).update("planning…")
        self._plan(self.asked)

    @work(thread=True, exclusive=True, group="plan")
    def _plan(self, asked: int) -> None:
        try:
            plan, command = self.make_plan()
        except CgscopeError as exc:
            self.app.call_from_thread(self._planned, asked, None, [], str(exc))
            return
        self.app.call_from_thread(self._planned, asked, plan, command, "")

    def _planned(self, asked: int, plan: Plan | None, command: list[str], error: str) -> None:
        if asked != self.asked or not self.is_mounted:
            return  # the fields changed meanwhile, or the form was closed
        self.query_one("#plan", Static).update("")
        self._error(error)
        if plan is None:
            return
        host = self.controls.host
        if not plan.steps:
            lines = plan_lines(plan, host, f"nothing to change for {plan.target}")
        else:
            lines = plan_lines(plan, host, f"cgscope will {plan.action} {plan.target}")
            self.proposal = Proposal(plan, tuple(command))
        self.query_one("#plan", Static).update(Text("\n".join(lines)))
        apply = self.query_one("#apply", Button)
        apply.disabled = self.proposal is None
        if self.proposal is not None:
            apply.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "preview":
            self.preview()
        elif event.button.id == "apply" and self.proposal is not None:
            self.dismiss(self.proposal)
        elif event.button.id == "cancel":
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LimitScreen(ChangeScreen):
    """`l`: the limits of `cgscope limit`, one field per option; empty fields are left as they are."""

    TITLE_TEXT = "Limit"

    def compose_fields(self) -> ComposeResult:
        for name, option, example in LIMIT_FIELDS:
            with Horizontal(classes="field"):
                yield Label(option, classes="option")
                yield Input(placeholder=example, id=name)

    def values(self) -> dict[str, str]:
        return {name: self.query_one(f"#{name}", Input).value for name, _, _ in LIMIT_FIELDS}

    def check(self) -> None:
        limit_request(self.values())

    def make_plan(self) -> tuple[Plan, list[str]]:
        values = self.values()
        return self.controls.plan_limit(self.selection, values), limit_command(self.selection, values)


class MoveScreen(ChangeScreen):
    """`m`: move one process (with its threads) into a cgroup of every hierarchy, as `cgscope move`."""

    TITLE_TEXT = "Move"

    def compose_fields(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("CGROUP", classes="option")
            yield Input(placeholder="/a/b, as /proc/PID/cgroup shows it", id="cgroup")
        yield Checkbox("--create: make the cgroup where it is missing", id="create")

    def check(self) -> None:
        parse_cgroup_path(self.query_one("#cgroup", Input).value)

    def make_plan(self) -> tuple[Plan, list[str]]:
        path = self.query_one("#cgroup", Input).value
        create = self.query_one("#create", Checkbox).value
        plan = self.controls.plan_move(self.selection, path, create=create)
        return plan, ["move", str(self.selection.pid), path] + ["--create"] * create


class FreezeScreen(ChangeScreen):
    """`f`: freeze the container, or thaw it if it is frozen; the plan shows which."""

    TITLE_TEXT = "Freeze or thaw"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#preview", Button).display = False
        self.preview()

    def make_plan(self) -> tuple[Plan, list[str]]:
        plan = self.controls.plan_freeze_toggle(self.selection)
        return plan, [plan.action, self.selection.ref]
