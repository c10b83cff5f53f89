"""The fixture host scenarios, built in one place: FakeHost trees laid out as real hosts lay them out.

- inventory: v2, v1, hybrid and OCI-state hosts with every runtime cgscope knows (containers, ps, ns, tree);
- dashboard: the dashboard's fixed host (a Docker, a Podman and a bare container) with usage counters;
- counters: a Docker container with every usage counter of cgroup v2 and hybrid (top, procview, export);
- docker_detail: a Docker container on overlay2 with what inspect and diff read (layers, privileges);
- members: a process's own usage files (stat times, smaps_rollup, statm, io), for a container measured
  by its processes.
"""
