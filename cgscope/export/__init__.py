"""`cgscope export`: the host's containers as Prometheus metrics, read-only by construction (nothing here
imports cgscope.control: pyproject.toml's import contracts say so)."""
