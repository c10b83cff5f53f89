"""The only code that opens kernel files for reading: /proc, the cgroup mounts, runtime state files.

One module per concept: files (opening, OS errors as ProcessGone/AccessDenied, bytes decoded with
surrogateescape), parse (ASCII numbers, key-value lines, limits, CPU lists: InvalidFormat naming the file
and line), hostroot and mounts (where the host and its cgroup hierarchies are), mounttable (the one
mountinfo parser), procfs (stat, cmdline, cgroup, ns links), status (/proc/PID/status and threads),
security (privileges, id maps, LSM labels), users (/etc/passwd), cgroupfs (membership, walking),
cgroup_cpu, cgroup_memory, cgroup_io, cgroup_pids, pressure (a cgroup's counters), system (host-wide
/proc files), controlfiles (what the control layer reads), overlay (union filesystem layers) and
runtime_state (the runtimes' state files).
"""
