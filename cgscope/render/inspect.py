"""`cgscope inspect` and `cgscope diff` as JSON-ready dicts and as titled tables, shared by the CLI and the
dashboard's "Isolation / Filesystem" part. Schemas: docs/inspect.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from cgscope.fs.security import IdMap
from cgscope.model.diff import Change
from cgscope.model.inspection import Inspection, Subject
from cgscope.model.isolation import ALL_CAPABILITIES, SECCOMP_MODES, Isolation, Note, cap_names
from cgscope.model.layers import RootFs
from cgscope.model.lifecycle import Lifecycle, ProcRef
from cgscope.model.target import short_id
from cgscope.render.columns import UNKNOWN, table
from cgscope.render.columns.namespaces import ISOLATION
from cgscope.render.table import Column, Table, print_table, visible
from cgscope.render.views import container_ref
from cgscope.units import size

LISTED = 10  # rows of a long list (zombies, outsiders) shown as text; JSON has them all


@dataclass
class Section:
    """A titled part of the text output: a table, then lines (notes, warnings)."""

    title: str
    table: Table | None = None
    lines: list[str] = field(default_factory=list)


# -- JSON ----------------------------------------------------------------------------------------


def subject_json(subject: Subject) -> dict[str, Any]:
    c, p = subject.container, subject.process
    return {
        "container": container_ref(c) if c is not None else None,
        "pid": p.pid,
        "command": p.command,
    }


def inspection_json(ins: Inspection) -> dict[str, Any]:
    return {
        **subject_json(ins.subject),
        "isolation": isolation_json(ins.isolation),
        "rootfs": rootfs_json(ins.rootfs),
        "lifecycle": lifecycle_json(ins.lifecycle) if ins.lifecycle is not None else None,
    }


def _notes(notes: tuple[Note, ...]) -> list[dict[str, str]]:
    return [{"id": n.id, "text": n.text} for n in notes]


def _map(id_map: IdMap | None) -> list[list[int]] | None:
    return [list(line) for line in id_map] if id_map is not None else None


def isolation_json(i: Isolation) -> dict[str, Any]:
    sec = i.security
    lsm: Any = False if i.lsm_known else None
    if i.lsm is not None:
        lsm = {"name": i.lsm.name, "label": i.lsm.label}
    return {
        "namespaces": {n.type: {"inode": n.inode, "host": n.host, "shared": n.shared} for n in i.namespaces},
        "user": {
            "uid_map": _map(i.uid_map),
            "gid_map": _map(i.gid_map),
            "root_outside": i.root_outside,
            "euid": sec.euid if sec is not None else None,
        },
        "capabilities": {
            "effective": list(cap_names(sec.cap_effective)),
            "permitted": list(cap_names(sec.cap_permitted)),
            "bounding": list(cap_names(sec.cap_bounding)),
            "ambient": list(cap_names(sec.cap_ambient)) if sec.cap_ambient is not None else None,
        }
        if sec is not None
        else None,
        "seccomp": {
            "mode": SECCOMP_MODES.get(sec.seccomp) if sec is not None and sec.seccomp is not None else None,
            "filters": sec.seccomp_filters if sec is not None else None,
        },
        "no_new_privs": sec.no_new_privs if sec is not None else None,
        "lsm": lsm,
        "rootfs_readonly": i.rootfs_readonly,
        "masked_paths": list(i.masked_paths),
        "readonly_paths": list(i.readonly_paths),
        "notes": _notes(i.notes),
    }


def rootfs_json(r: RootFs) -> dict[str, Any]:
    m = r.mount
    return {
        "root": f"/proc/{r.pid}/root",
        "root_link": r.root_link,
        "mount": {"fstype": m.fstype, "source": m.source, "options": list(m.options), "readonly": m.readonly}
        if m is not None
        else None,
        "driver": r.driver,
        "layers": [
            {
                "role": x.role,
                "path": x.path,
                "resolved": x.resolved,
                "size": x.size,
                "files": x.files,
                "problem": x.problem,
            }
            for x in r.layers
        ],
        "workdir": r.workdir,
        "file_mounts": [
            {
                "target": f.target,
                "source": f.source,
                "fs_path": f.fs_path,
                "fstype": f.fstype,
                "readonly": f.readonly,
            }
            for f in r.file_mounts
        ],
    }


def _proc(p: ProcRef) -> dict[str, Any]:
    return {"pid": p.pid, "nspid": p.nspid, "ppid": p.ppid, "state": p.state, "command": p.command}


def lifecycle_json(lc: Lifecycle) -> dict[str, Any]:
    return {
        "init": _proc(lc.init),
        "program": lc.program,
        "kind": lc.kind,
        "script": lc.script,
        "reaps": lc.reaps,
        "children": [_proc(p) for p in lc.children],
        "zombies": [_proc(p) for p in lc.zombies],
        "unreaped": [p.pid for p in lc.unreaped],
        "app_exited": lc.app_exited,
        "cgroup": lc.cgroup,
        "outsiders": [
            {"pid": o.pid, "command": o.command, "namespaces": list(o.namespaces)} for o in lc.outsiders
        ],
        "warnings": _notes(lc.warnings),
    }


def change_json(ch: Change) -> dict[str, Any]:
    return {"kind": ch.kind, "path": ch.path, "type": ch.type, "replaced": ch.replaced}


def diff_json(subject: Subject, rootfs: RootFs, changes: list[Change]) -> dict[str, Any]:
    upper = rootfs.upper
    return {
        **subject_json(subject),
        "driver": rootfs.driver,
        "upper": upper.path if upper is not None else None,
        "changes": [change_json(ch) for ch in changes],
    }


# -- text ----------------------------------------------------------------------------------------


def heading(subject: Subject) -> str:
    c, p = subject.container, subject.process
    if c is None:  # a host process, or one whose namespaces we may not read
        return f"process {p.pid}, in no container cgscope can see: {p.command}"
    ident = short_id(c, subject.among)
    return f"{c.name} ({c.runtime} container {ident}), its init is host pid {p.pid}: {p.command}"


def _yes(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def _caps(mask: int) -> str:
    if mask & ALL_CAPABILITIES == ALL_CAPABILITIES:
        return f"all {len(cap_names(ALL_CAPABILITIES))}"
    names = [n.removeprefix("CAP_") for n in cap_names(mask)]
    return f"{len(names)}: {' '.join(names)}" if names else "none"


def _id_map(id_map: IdMap | None) -> str:
    if id_map is None:
        return "?"
    return ", ".join(f"{inside}->{outside} ({count})" for inside, outside, count in id_map) or "empty"


def namespaces_table(i: Isolation) -> Table:
    return table(ISOLATION, i.namespaces)


def privileges_table(i: Isolation) -> Table:
    table = Table([Column("WHAT"), Column("VALUE", wrap=True)])
    sec = i.security
    root = i.root_outside
    table.add("uid map", _id_map(i.uid_map))
    table.add("gid map", _id_map(i.gid_map))
    outside = f"host uid {root}" if root is not None else ("?" if i.uid_map is None else "unmapped")
    table.add("root inside is", outside)
    if sec is not None:
        table.add("capabilities", _caps(sec.cap_effective))
        bounding = "same as effective" if sec.cap_bounding == sec.cap_effective else _caps(sec.cap_bounding)
        table.add("bounding set", bounding)
        mode = SECCOMP_MODES.get(sec.seccomp, "?") if sec.seccomp is not None else "?"
        filters = f", {sec.seccomp_filters} filter(s)" if sec.seccomp_filters else ""
        table.add("seccomp", mode + filters)
        table.add("no_new_privs", _yes(sec.no_new_privs))
    else:
        table.add("capabilities", "?")
    lsm = "?" if not i.lsm_known else "none"
    if i.lsm is not None:
        lsm = f"{i.lsm.name or 'LSM'}: {i.lsm.label}"
    table.add("LSM label", lsm)
    table.add(
        "rootfs", "?" if i.rootfs_readonly is None else ("read-only" if i.rootfs_readonly else "read-write")
    )
    table.add("masked", " ".join(i.masked_paths) or "none")
    table.add("read-only", " ".join(i.readonly_paths) or "none")
    return table


def layers_table(r: RootFs) -> Table:
    table = Table(
        [Column("ROLE"), Column("SIZE", "right"), Column("FILES", "right"), Column("PATH", wrap=True)]
    )
    for x in r.layers:
        path = f"{x.path} -> {x.resolved}" if x.resolved else x.path
        shown = UNKNOWN if x.size is None else size(x.size)
        table.add(x.role, shown, UNKNOWN if x.files is None else x.files, path)
    return table


def file_mounts_table(r: RootFs) -> Table:
    table = Table([Column("TARGET"), Column("SOURCE", wrap=True), Column("FSTYPE"), Column("RO")])
    for f in r.file_mounts:
        table.add(f.target, f.source or f"(not mounted on the host) {f.fs_path}", f.fstype, _yes(f.readonly))
    return table


def _procs_table(procs: tuple[ProcRef, ...]) -> Table:
    table = Table(
        [
            Column("PID", "right"),
            Column("NSPID", "right"),
            Column("PPID", "right"),
            Column("S"),
            Column("COMMAND", wrap=True),
        ]
    )
    for p in procs[:LISTED]:
        table.add(p.pid, p.nspid, p.ppid, p.state, p.command)
    return table


def _more(items: tuple[object, ...]) -> list[str]:
    return [f"... and {len(items) - LISTED} more (see --json)"] if len(items) > LISTED else []


def lifecycle_sections(lc: Lifecycle) -> list[Section]:
    script = " running a script" if lc.script else ""
    kind = {
        "init": f"an init ({lc.program}) that reaps orphans",
        "shell": f"a shell ({lc.program}{script}), which reaps only when it waits",
        "app": f"the app itself ({lc.program}), which does not reap orphans it did not start",
    }[lc.kind]
    summary = [f"{lc.who} is {kind}; {len(lc.children)} live child(ren)"]
    summary += [f"! {w.id}: {w.text}" for w in lc.warnings]
    sections = [Section("Lifecycle", None, summary)]
    if lc.zombies:
        sections.append(Section("Zombies", _procs_table(lc.zombies), _more(lc.zombies)))
    if lc.outsiders:
        table = Table([Column("PID", "right"), Column("ELSEWHERE IN"), Column("COMMAND", wrap=True)])
        for o in lc.outsiders[:LISTED]:
            table.add(o.pid, ",".join(o.namespaces), o.command)
        sections.append(Section(f"In cgroup {lc.cgroup}, outside the namespaces", table, _more(lc.outsiders)))
    return sections


def inspection_sections(ins: Inspection) -> list[Section]:
    i, r = ins.isolation, ins.rootfs
    sections = [
        Section("Namespaces", namespaces_table(i)),
        Section("Privileges", privileges_table(i), [f"! {n.id}: {n.text}" for n in i.notes]),
    ]
    where = f"/proc/{r.pid}/root" + (f" -> {r.root_link}" if r.root_link else "")
    if r.mount is None:
        sections.append(
            Section("Rootfs", None, [f"{where}: its mount is not visible in /proc/{r.pid}/mountinfo"])
        )
    else:
        about = f"{where}: {r.mount.fstype} ({r.mount.source})"
        lines = [f"workdir {r.workdir}"] if r.workdir else []
        lines += [f"! {x.problem}" for x in r.layers if x.problem]
        sections.append(Section(f"Rootfs {about}", layers_table(r) if r.layers else None, lines))
    if r.file_mounts:
        sections.append(Section("Files mounted over the rootfs", file_mounts_table(r)))
    if ins.lifecycle is not None:
        sections += lifecycle_sections(ins.lifecycle)
    return sections


def diff_lines(changes: list[Change], *, replaced: bool = False) -> list[str]:
    """`docker diff`'s lines ("A /path"), byte for byte; with `replaced`, a directory deleted and made
    anew is marked so. Control characters are made visible."""
    table = Table([Column("KIND"), Column("PATH")])
    for ch in changes:
        table.add(ch.kind, ch.path + ("  (replaced)" if replaced and ch.replaced else ""))
    return [" ".join(row) for row in table.rows]


def write_inspection(ins: Inspection, out: TextIO, terminal: bool) -> None:
    """The report `cgscope inspect` prints: a heading, then each section's table and notes, the host's
    strings in them made visible (render/table.visible; tables do it for their cells)."""
    out.write(visible(heading(ins.subject)) + "\n")
    for section in inspection_sections(ins):
        out.write(f"\n{visible(section.title)}\n")
        if section.table is not None:
            print_table(section.table, out, terminal)
        for line in section.lines:
            out.write(visible(line) + "\n")
