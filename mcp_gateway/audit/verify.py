"""`audit verify`: walk the whole chain, then hold it against the signed checkpoints.

The first problem found is reported with where it is (file, line, seq): a line that does not
verify (changed, removed, inserted, moved), a gap or repeat in the sequence, a checkpoint whose
signature fails or whose MAC differs from the record it names, or a log that ends before its
last checkpoint (truncated).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mcp_gateway.audit.chain import GENESIS, BadLine, open_line, seq_of
from mcp_gateway.audit.checkpoints import read_checkpoints
from mcp_gateway.audit.segments import segments


@dataclass(slots=True)
class Problem:
    reason: str
    file: str | None = None
    line: int | None = None
    seq: int | None = None


@dataclass(slots=True)
class Report:
    records: int = 0
    files: int = 0
    checkpoints: int = 0
    last_seq: int = 0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def verify(directory: Path, chain_key: bytes, checkpoint_dir: Path | None, public_key: str | None) -> Report:
    report = Report()
    points = read_checkpoints(checkpoint_dir, public_key) if checkpoint_dir is not None else []
    wanted = {point.seq: point for point, _ in points}
    seen: dict[int, str] = {}
    mac, expected = GENESIS, 1
    for path in segments(directory):
        report.files += 1
        with path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    seq = seq_of(line)
                    if seq != expected:
                        raise BadLine(f"expected seq {expected}, found {seq} (a record was removed, added or moved)")
                    mac = open_line(line, mac, chain_key)
                except BadLine as exc:
                    report.problem = Problem(str(exc), path.name, number, expected)
                    return report
                if seq in wanted:
                    seen[seq] = mac.hex()
                report.records += 1
                report.last_seq, expected = seq, seq + 1
    report.problem = _check_points(points, seen, report.last_seq)
    report.checkpoints = len(points)
    if checkpoint_dir is None:
        report.notes.append("no checkpoint directory: a truncated tail cannot be detected")
    return report


def _check_points(points: list[Any], seen: dict[int, str], last_seq: int) -> Problem | None:
    for point, problem in points:
        if problem is not None:
            return Problem(problem, seq=point.seq or None)
        if point.seq > last_seq:
            return Problem(
                f"the log ends at seq {last_seq} but a signed checkpoint vouches for seq {point.seq}: it was truncated",
                point.segment,
                seq=last_seq + 1,
            )
        if seen.get(point.seq) != point.mac:
            return Problem("the record differs from its signed checkpoint (rewritten)", point.segment, seq=point.seq)
    return None
