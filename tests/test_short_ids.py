"""A container's short id, for all containers at once (the dashboard's rows), is the one `short_id` gives
each: 12 characters, more where another id starts the same, other ids in full."""

from __future__ import annotations

from cgscope.model.containers import Container
from cgscope.model.target import short_id, short_ids


def container(id: str) -> Container:
    return Container(id, id[:8], "docker", 1, (1,), {}, {}, ())


def test_short_ids_are_short_id_for_each() -> None:
    hexes = [
        "4f3c2a1b9d8e" + "0" * 52,
        "4f3c2a1b9d8e7" + "1" * 51,  # shares 12 characters with the first: both need 13
        "4f3c2a1b9d8e7" + "2" * 51,  # and 13 with the second: 14
        "aa" * 32,
        "aa" * 32,  # the same id twice: not "another" container's
        "pid-4026532181",
        "runc-name",
    ]
    among = [container(i) for i in hexes]
    assert short_ids(among) == {c.id: short_id(c, among) for c in among}
    assert short_ids(among)[hexes[0]] == hexes[0][:13]
    assert short_ids(among)[hexes[1]] == hexes[1][:14]
    assert short_ids(among)["aa" * 32] == "aa" * 6
    assert short_ids(among)["pid-4026532181"] == "pid-4026532181"
