"""The sampling core: one Frame per refresh, each kernel file read at most once, what does not change
read once and kept. Headless: the dashboard, `top` and the exporter stand on it."""

from cgscope.sampling.frame import Detail, Frame, Need
from cgscope.sampling.sampler import Sampler

__all__ = ["Detail", "Frame", "Need", "Sampler"]
