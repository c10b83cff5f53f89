"""`kill PID [-s SIG]`: a signal to one process, planned, journaled and sent like every change — except
that it cannot be undone. The writer sends it only to the process the plan names: the same pid and start
time, checked through a pidfd right before the signal (pids are reused)."""

from __future__ import annotations

import signal

from cgscope.control.errors import InvalidRequest
from cgscope.control.plan import Affected, Plan, Step
from cgscope.control.target import acted_on
from cgscope.fs.hostroot import HostRoot
from cgscope.model.collect import Collector
from cgscope.model.target import resolve_process

SIGNALS = ("TERM", "KILL", "HUP", "INT", "STOP", "CONT")  # what the dashboard's picker offers too
WHAT = {
    "TERM": "asks it to end",
    "KILL": "ends it at once: it cannot clean up",
    "HUP": "hangs up: many daemons reload",
    "INT": "interrupts, as ^C does",
    "STOP": "stops it until CONT",
    "CONT": "resumes a stopped process",
}


def number(name: str) -> int:
    """A signal's number on this machine: TERM -> 15."""
    return int(signal.Signals[f"SIG{name}"])


def parse_signal(text: str) -> str:
    """A signal by name (TERM, SIGTERM, term) or number (15); returns its name, one of SIGNALS."""
    name = text.upper().removeprefix("SIG") if text.isascii() else ""
    if text.isascii() and text.isdigit():
        name = next((n for n in SIGNALS if len(text) <= 3 and number(n) == int(text)), "")
    if name not in SIGNALS:
        listed = ", ".join(f"{n} ({number(n)})" for n in SIGNALS)
        raise InvalidRequest(f"-s {text!r}: cgscope sends {listed}: give one by name or number")
    return name


def plan_kill(host: HostRoot, ref: str, name: str) -> Plan:
    """Send signal `name` (one of SIGNALS) to the process `ref` names: never pid 1, a kernel thread, a
    zombie or cgscope itself."""
    proc = acted_on(resolve_process(ref, Collector(host).process), "signals", "signals")
    pid = proc.pid
    step = Step("signal", "", "", host.proc / str(pid), name, pid=pid, start_ticks=proc.start_ticks)
    notes = [f"sends SIG{name} ({number(name)}) to process {pid}: {WHAT[name]}; a signal cannot be undone"]
    if name == "STOP":
        notes.append(f"'cgscope kill {pid} -s CONT' resumes it")
    return Plan(
        action="kill",
        target=f"process {pid} ({proc.comm})",
        target_pids=(pid,),
        steps=(step,),
        affected=(Affected(pid, proc.command, True),),
        notes=tuple(notes),
    )
