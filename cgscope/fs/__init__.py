"""The only code that opens kernel files for reading: /proc, the cgroup mounts, runtime state files."""
