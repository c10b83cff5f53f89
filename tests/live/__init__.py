"""Live tests: need root and the real kernel; they create namespaces and cgroups and remove them."""
