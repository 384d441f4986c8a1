"""The JSON-lines file channel: one line per alert (or per digest), appended and flushed to disk.

A crash between the write and recording the delivery can repeat a line on the next pass; every line carries
the alert id (the idempotency key), so a reader can drop repeats.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notify.digest import Digest, DigestSchedule
from notify.errors import PermanentDeliveryError, TransientDeliveryError
from notify.model import Alert
from notify.render import story_payload


@dataclass(kw_only=True)
class JsonlFileChannel:
    name: str
    path: Path
    digest: bool = False
    digest_schedule: DigestSchedule | None = None  # a scheduled digest: notify.digest

    def send(self, alerts: Sequence[Alert]) -> None:
        written_at = datetime.now(UTC).isoformat()
        records: list[dict[str, Any]]
        if self.digest:
            records = [{"type": "digest", "written_at": written_at, "alerts": [a.to_payload() for a in alerts]}]
        else:
            records = [{**story_payload(alerts), "written_at": written_at}]  # one story, every watch it matched
        self._append(records)

    def send_digest(self, digest: Digest) -> Digest:
        """One JSON line listing the whole digest."""
        self._append([{**digest.to_payload(), "written_at": datetime.now(UTC).isoformat()}])
        return digest

    def _append(self, records: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # one write() on an O_APPEND descriptor: concurrent writers never interleave inside a line
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                view = memoryview(data)
                while view:  # os.write may write less than asked (signals, big payloads)
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except (PermissionError, IsADirectoryError, NotADirectoryError) as exc:
            raise PermanentDeliveryError(f"file {self.name!r}: cannot write {self.path}: {exc.strerror}") from exc
        except OSError as exc:  # disk full, I/O error: may pass
            raise TransientDeliveryError(f"file {self.name!r}: write failed: {exc.strerror}") from exc

    def close(self) -> None:
        """Nothing to release: every send opens and closes the file."""
