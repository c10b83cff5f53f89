"""The only code that changes the system: writes to cgroup files (limits, moves, freezing) and setns().

A change is planned first (`limits.plan_limit`, `move.plan_move`, `freeze.plan_freeze`, `kill.plan_kill`):
a `plan.Plan` lists the exact file writes (or the signal) and the processes they affect, for a dry run
or a confirmation. `apply.apply` then checks and performs it through `writer.Writer` (all or nothing: a
failure rolls back what was written, `revert.py`), every system call in `files.CgroupFiles`, and records
it step by step in the `journal.Journal`, from which `undo.undo` restores it. What users type is parsed
by `request.py` (limit's options table) and `values.py`.
"""
