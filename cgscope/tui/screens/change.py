"""The forms of the change keys: `l` limits, `m` move, `f` freeze/thaw, `u` undo, and the signal form
(KillScreen). Each validates as one types (the CLI's parsers and messages), previews the exact writes
(the plan `--dry-run` prints) and hands its choice back only when the user presses Apply; the app carries
it out through the control layer.

The fields are read on the UI thread and passed to the worker that plans: a worker never touches a widget
(it posts its result back with call_from_thread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from cgscope.control.kill import SIGNALS, WHAT, number
from cgscope.control.plan import Plan
from cgscope.control.values import parse_cgroup_path
from cgscope.errors import CgscopeError
from cgscope.render.control import plan_lines, undone_lines
from cgscope.render.table import visible
from cgscope.tui.actions import LIMIT_FIELDS, Controls, Selection, kill_command, limit_command, limit_request

F = TypeVar("F")  # what the fields hold, read on the UI thread
R = TypeVar("R")  # what Apply hands back


@dataclass(frozen=True)
class Proposal:
    """A plan the user saw and confirmed, with the command line the journal records for it."""

    plan: Plan
    command: tuple[str, ...]


@dataclass(frozen=True)
class UndoChoice:
    """The change whose undo the user saw and confirmed."""

    change_id: int


@dataclass(frozen=True)
class Preview(Generic[R]):
    lines: list[str]  # what the form shows
    choice: R | None  # what Apply hands back; None: nothing to apply


class ChangeScreen(ModalScreen[R | None], Generic[F, R]):
    """Fields (if any), the current error, the preview, and Preview / Apply / Cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "Input, Select, Button"
    TITLE_TEXT = ""
    AUTO_PREVIEW = False  # preview on opening and on every change, with no Preview button

    def __init__(self, controls: Controls, selection: Selection | None) -> None:
        super().__init__()
        self.controls = controls
        self.selection = selection
        self.choice: R | None = None  # the preview shown, while the fields still say what it does
        self.asked = 0  # counts the changes of the fields: a preview is shown only for the latest

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="change"):
            yield from self.compose_fields()
            yield Label("", id="error", markup=False)
            yield Static("", id="plan")
            with Horizontal(id="buttons"):
                preview = Button("Preview", id="preview")
                preview.display = not self.AUTO_PREVIEW
                yield preview
                yield Button("Apply", id="apply", variant="warning", disabled=True)
                yield Button("Cancel", id="cancel")

    def compose_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        label = f" {visible(self.selection.label)}" if self.selection is not None else ""
        self.query_one("#change").border_title = Text(f"{self.TITLE_TEXT}{label} (Esc cancels)")  # not markup
        if self.AUTO_PREVIEW:  # once every field is mounted (a Select mounts its parts later)
            self.call_after_refresh(self.preview)

    # -- what a subclass says ----------------------------------------------------------------------

    def fields(self) -> F:
        """What the fields hold now (UI thread)."""
        raise NotImplementedError

    def check(self, fields: F) -> None:
        """Raise the CLI's error for the fields (cheap: no file is read)."""

    def make_preview(self, fields: F) -> Preview[R]:
        """Plan from the fields (a worker thread: read the host, never a widget)."""
        raise NotImplementedError

    # -- the flow ----------------------------------------------------------------------------------

    def _error(self, message: str) -> None:
        self.query_one("#error", Label).update(visible(message))
        self.set_class(bool(message), "-invalid")

    def _forget_plan(self) -> None:
        self.choice = None
        self.asked += 1  # a preview still being made for the fields as they were is dropped
        self.query_one("#plan", Static).update("")
        self.query_one("#apply", Button).disabled = True

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate(self.fields())

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._validate(self.fields())

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if self.AUTO_PREVIEW:
            self.preview()
        else:
            self._validate(self.fields())

    def _validate(self, fields: F) -> bool:
        """False after showing the CLI's error for the fields."""
        self._forget_plan()
        try:
            self.check(fields)
        except CgscopeError as exc:
            self._error(str(exc))
            return False
        self._error("")
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.preview()

    def preview(self) -> None:
        """Plan in a worker (planning reads the target's processes and cgroups) and show what it would
        do; Apply is enabled when there is something to do."""
        fields = self.fields()
        if not self._validate(fields):
            return
        self.query_one("#plan", Static).update("planning…")
        self._plan(self.asked, fields)

    @work(thread=True, exclusive=True, group="plan")
    def _plan(self, asked: int, fields: F) -> None:
        try:
            preview = self.make_preview(fields)
        except CgscopeError as exc:
            self.app.call_from_thread(self._planned, asked, None, str(exc))
            return
        self.app.call_from_thread(self._planned, asked, preview, "")

    def _planned(self, asked: int, preview: Preview[R] | None, error: str) -> None:
        if asked != self.asked or not self.is_mounted:
            return  # the fields changed meanwhile, or the form was closed
        self.query_one("#plan", Static).update("")
        self._error(error)
        if preview is None:
            return
        self.choice = preview.choice
        self.query_one("#plan", Static).update(Text("\n".join(preview.lines)))
        apply = self.query_one("#apply", Button)
        apply.disabled = self.choice is None
        if self.choice is not None:
            apply.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "preview":
            self.preview()
        elif event.button.id == "apply" and self.choice is not None:
            self.dismiss(self.choice)
        elif event.button.id == "cancel":
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PlanScreen(ChangeScreen[F, Proposal]):
    """A form whose choice is a plan of the control layer."""

    def plan(self, fields: F) -> tuple[Plan, list[str]]:
        """The plan and the command line the journal records (a worker thread)."""
        raise NotImplementedError

    def make_preview(self, fields: F) -> Preview[Proposal]:
        plan, command = self.plan(fields)
        host = self.controls.host
        if not plan.steps:
            return Preview(plan_lines(plan, host, f"nothing to change for {plan.target}"), None)
        lines = plan_lines(plan, host, f"cgscope will {plan.action} {plan.target}")
        return Preview(lines, Proposal(plan, tuple(command)))


class LimitScreen(PlanScreen[dict[str, str]]):
    """`l`: the limits of `cgscope limit`, one field per option; empty fields are left as they are."""

    TITLE_TEXT = "Limit"

    def compose_fields(self) -> ComposeResult:
        for option in LIMIT_FIELDS:
            with Horizontal(classes="field"):
                yield Label(option.flag, classes="option")
                yield Input(placeholder=option.example, id=option.dest)

    def fields(self) -> dict[str, str]:
        return {option.dest: self.query_one(f"#{option.dest}", Input).value for option in LIMIT_FIELDS}

    def check(self, fields: dict[str, str]) -> None:
        limit_request(fields)

    def plan(self, fields: dict[str, str]) -> tuple[Plan, list[str]]:
        assert self.selection is not None
        return self.controls.plan_limit(self.selection, fields), limit_command(self.selection, fields)


class MoveScreen(PlanScreen[tuple[str, bool]]):
    """`m`: move one process (with its threads) into a cgroup of every hierarchy, as `cgscope move`."""

    TITLE_TEXT = "Move"

    def compose_fields(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("CGROUP", classes="option")
            yield Input(placeholder="/a/b, as /proc/PID/cgroup shows it", id="cgroup")
        yield Checkbox("--create: make the cgroup where it is missing", id="create")

    def fields(self) -> tuple[str, bool]:
        return self.query_one("#cgroup", Input).value, self.query_one("#create", Checkbox).value

    def check(self, fields: tuple[str, bool]) -> None:
        parse_cgroup_path(fields[0])

    def plan(self, fields: tuple[str, bool]) -> tuple[Plan, list[str]]:
        assert self.selection is not None
        path, create = fields
        plan = self.controls.plan_move(self.selection, path, create=create)
        return plan, ["move", str(self.selection.pid), path] + ["--create"] * create


class FreezeScreen(PlanScreen[None]):
    """`f`: freeze the container, or thaw it if it is frozen; the plan shows which."""

    TITLE_TEXT = "Freeze or thaw"
    AUTO_PREVIEW = True

    def fields(self) -> None:
        return None

    def plan(self, fields: None) -> tuple[Plan, list[str]]:
        assert self.selection is not None
        plan = self.controls.plan_freeze_toggle(self.selection)
        return plan, [plan.action, self.selection.ref]


class KillScreen(PlanScreen[str]):
    """A signal to the selected process (a container's init), picked from those `cgscope kill` sends;
    journaled, and it cannot be undone."""

    TITLE_TEXT = "Signal"
    AUTO_PREVIEW = True

    def compose_fields(self) -> ComposeResult:
        choices = [(f"{name} ({number(name)}): {WHAT[name]}", name) for name in SIGNALS]
        with Horizontal(classes="field"):
            yield Label("-s SIGNAL", classes="option")
            yield Select(choices, value=SIGNALS[0], allow_blank=False, id="signal")

    def fields(self) -> str:
        return str(self.query_one("#signal", Select).value)

    def plan(self, fields: str) -> tuple[Plan, list[str]]:
        assert self.selection is not None
        return self.controls.plan_kill(self.selection, fields), kill_command(self.selection, fields)


class UndoScreen(ChangeScreen[None, UndoChoice]):
    """`u`: what undoing the last change in effect would restore (the dry run of `cgscope undo`), and
    Apply to undo exactly that change."""

    TITLE_TEXT = "Undo the last change"
    AUTO_PREVIEW = True

    def fields(self) -> None:
        return None

    def make_preview(self, fields: None) -> Preview[UndoChoice]:
        [undone] = self.controls.preview_undo()
        return Preview(undone_lines([undone], dry_run=True), UndoChoice(undone.change.id))
