"""Pure functions over what fs/ read: processes, namespaces, containers, the cgroup tree."""
