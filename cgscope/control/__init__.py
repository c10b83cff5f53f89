"""The only code that changes the system: writes to cgroup files (limits, moves, freezing) and setns().

A change is planned first (`limits.plan_limit`, `move.plan_move`, `freeze.plan_freeze`): a `plan.Plan`
lists the exact file writes and the processes they affect, for a dry run or a confirmation. `apply.apply`
then checks and performs it through `writer.Writer` (all or nothing: a failure rolls back what was
written) and records it in the `journal.Journal`, from which `undo.undo` restores it.
"""
