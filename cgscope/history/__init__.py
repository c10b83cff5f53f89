"""History: frames and events recorded on disk (`cgscope record`), read back by `report` and `replay`.

Headless like the exporter: no UI library here (docs/history.md).
"""
