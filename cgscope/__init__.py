"""cgscope: see and steer how Linux isolates (namespaces) and limits (cgroups) processes."""

__version__ = "0.1.0"
