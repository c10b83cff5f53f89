"""The exposition is byte for byte what prometheus_client writes for the same families, in both formats,
host strings with quotes, backslashes and newlines included; and each format parses back with
prometheus_client's own parsers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from exporthosts import HOSTS
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.registry import Collector, CollectorRegistry

from cgscope.export import metrics
from cgscope.export.exposition import Cost, Renderer
from cgscope.export.source import Labels, Reading, Source
from cgscope.fs.hostroot import HostRoot

HOSTILE = Labels('/a"b\\c\nd', name='we"b\\\n', image="x:1", container="c", pod="p", namespace="n")


class Oracle(Collector):
    """The same families built as prometheus_client's metric objects."""

    def __init__(self, reading: Reading, cost: Cost) -> None:
        self.reading, self.cost = reading, cost

    def collect(self) -> Iterator[Metric]:
        r = self.reading
        rows = [(Labels("/"), r.host), *r.cgroups]
        singles = {
            "machine_cpu_cores": r.cpu_cores,
            "machine_memory_bytes": r.memory_bytes,
            "cgscope_scrape_duration_seconds": r.seconds,
            "cgscope_scrape_cpu_seconds_total": self.cost.cpu_seconds,
            "cgscope_samples_total": self.cost.samples,
        }
        for f in metrics.ALL_FAMILIES:
            base = f.name.removesuffix("_total") if f.kind == "counter" else f.name
            family = Metric(base.removesuffix("_info") if f.kind == "info" else base, f.help, f.kind)
            if f.name in singles:
                family.add_sample(f.name, {}, singles[f.name])
            elif f is metrics.CONTAINER_INFO:
                for i in r.containers:
                    own = {"container_id": i.container_id, "runtime": i.runtime, "init_pid": str(i.init_pid),
                           "shared_namespaces": i.shared_namespaces,
                           "shared_cgroup": str(i.shared_cgroup).lower()}  # fmt: skip
                    family.add_sample(f.name, {k: v for k, v in {**_dict(i.labels), **own}.items() if v}, 1)
            else:
                for labels, figures in rows:
                    for extra, value in f.values(figures):
                        family.add_sample(f.name, {**_dict(labels), **dict(extra)}, value)
            if family.samples:
                yield family


def _dict(labels: Labels) -> dict[str, str]:
    pairs = {"id": labels.id, "name": labels.name, "image": labels.image, "container": labels.container,
             "pod": labels.pod, "namespace": labels.namespace}  # fmt: skip
    return {k: v for k, v in pairs.items() if v}


@pytest.fixture(params=sorted(HOSTS))
def reading(request: pytest.FixtureRequest, tmp_path: Path) -> Reading:
    r = Source(HostRoot.at(HOSTS[request.param](tmp_path).root)).read()
    hostile = (HOSTILE, r.cgroups[0][1])
    infos = (*r.containers, replace(r.containers[0], labels=HOSTILE, container_id="x"))
    return replace(r, cgroups=(*r.cgroups, hostile), containers=infos)


@pytest.mark.parametrize("openmetrics", [False, True], ids=["text", "openmetrics"])
def test_same_bytes_as_prometheus_client(reading: Reading, openmetrics: bool) -> None:
    cost = Cost(7, 0.25)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Oracle(reading, cost))
    expected = om.generate_latest(registry) if openmetrics else generate_latest(registry)  # type: ignore[no-untyped-call]
    renderer = Renderer()
    assert renderer.render(reading, cost, openmetrics=openmetrics) == expected
    assert renderer.render(reading, cost, openmetrics=openmetrics) == expected  # label sets as cached


def test_both_formats_parse_back(reading: Reading) -> None:
    renderer = Renderer()
    text = renderer.render(reading, Cost(1, 0.0), openmetrics=False).decode()
    names = {f.name for f in parse_text(text)}
    om_text = renderer.render(reading, Cost(1, 0.0), openmetrics=True).decode()
    families = list(parse_openmetrics(om_text))  # type: ignore[no-untyped-call]
    assert {f.name for f in families} <= {n.removesuffix("_total") for n in names} | {"cgscope_container"}
    hostile = [s for f in families for s in f.samples if s.labels.get("pod") == "p"]
    assert hostile and all(s.labels["name"] == 'we"b\\\n' for s in hostile)


def test_help_texts_need_no_escaping() -> None:
    for f in metrics.ALL_FAMILIES:
        assert not set(f.help) & {"\\", "\n", '"'}, f.name


def test_lines_remembered_across_scrapes_follow_the_values(reading: Reading) -> None:
    """A renderer kept across scrapes serves each reading as prometheus_client would: a changed value,
    a sample that appears or goes, a cgroup that goes and one that comes."""
    (labels, figures), *rest = reading.cgroups
    changed = replace(
        figures,
        cpu_seconds=(figures.cpu_seconds or 0) + 1.5,
        memory_usage=None,
        threads=7_000_000,
        memory_events={**figures.memory_events, "oom_kill": 99},
    )
    newcomer = (replace(labels, id="/new"), figures)
    later = replace(reading, cgroups=((labels, changed), *rest[1:], newcomer))
    renderer = Renderer()
    for r in (reading, later, reading):
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Oracle(r, Cost(1, 0.5)))
        expected = om.generate_latest(registry)  # type: ignore[no-untyped-call]
        assert renderer.render(r, Cost(1, 0.5), openmetrics=True) == expected
