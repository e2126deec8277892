"""Results store: one Parquet file per finished chunk, a DuckDB catalogue over them.

Layout of a store directory::

    members/<chunk>.parquet        one row per member (config, seed, final metrics, flags)
    trajectories/<chunk>.parquet   one row per (member, probe, recorded step)
    catalog.duckdb                 views ``members`` and ``trajectories`` over those files
    spec.json                      the resolved spec of the run

A chunk is written trajectories first, members last, each to a temporary name
and then renamed, so a chunk counts as done exactly when its members file
exists. The ``trajectories`` view keeps only rows of chunks that are done, so
a run killed between the two renames leaves nothing visible twice. DuckDB
allows one writer at a time (duckdb#1119): workers only write Parquet files,
and the catalogue holds views, so readers never block on writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

MEMBERS = "members"
TRAJECTORIES = "trajectories"


class StoreError(RuntimeError):
    """A store that cannot be used as it is, as one line meant for the user."""


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.db_path = self.root / "catalog.duckdb"

    def _dir(self, name: str) -> Path:
        return self.root / name

    def _files(self, name: str) -> list[Path]:
        d = self._dir(name)
        return sorted(d.glob("*.parquet")) if d.exists() else []

    def exists(self) -> bool:
        return bool(self._files(MEMBERS))

    def write_chunk(self, chunk: str, members: pa.Table, trajectories: pa.Table | None) -> None:
        """Write one finished chunk; it becomes visible only once its members file is in place."""
        for name in (MEMBERS, TRAJECTORIES):
            self._dir(name).mkdir(parents=True, exist_ok=True)
        if trajectories is not None and trajectories.num_rows:
            _write_atomic(trajectories, self._dir(TRAJECTORIES) / f"{chunk}.parquet")
        _write_atomic(members, self._dir(MEMBERS) / f"{chunk}.parquet")

    @contextlib.contextmanager
    def writer(self):
        """Hold the store's writer lock (``.writer.lock``, an flock) while training into it.

        A second process that tries to write the same store gets a StoreError
        at once. The kernel drops the lock when its holder exits, even by
        ``kill -9``, so a crashed run never leaves the store locked.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".writer.lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise StoreError(f"{self.root} is being written by {holder}; wait for it to finish "
                                 "(a store takes one writer at a time)") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            self._remove_stale_temporaries()
            try:
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _remove_stale_temporaries(self) -> None:
        # half-written files of a writer that died; only the lock holder may remove them
        for directory in (self.root, self._dir(MEMBERS), self._dir(TRAJECTORIES)):
            for tmp in directory.glob(".*.tmp") if directory.exists() else []:
                tmp.unlink(missing_ok=True)

    def unreadable_chunks(self) -> list[Path]:
        """Members or trajectories files whose Parquet footer cannot be read (truncated or overwritten)."""
        bad = []
        for path in self._files(MEMBERS) + self._files(TRAJECTORIES):
            try:
                pq.read_metadata(path)
            except (OSError, pa.ArrowException):
                bad.append(path)
        return bad

    def check_readable(self) -> None:
        """Raise StoreError naming the first unreadable file (readers call it before querying)."""
        bad = self.unreadable_chunks()
        if bad:
            raise StoreError(f"{bad[0]} is not a readable Parquet file ({len(bad)} such file(s)); "
                             "rerunning the spec moves them aside and retrains their members")

    def quarantine_unreadable(self) -> list[str]:
        """Move unreadable chunk files (and their partner file) aside as ``*.corrupt``; return the chunk names.

        Their members are then missing from the store, so the next plan trains
        them again; nothing readable is touched.
        """
        chunks = sorted({p.stem for p in self.unreadable_chunks()})
        for chunk in chunks:
            for name in (MEMBERS, TRAJECTORIES):
                path = self._dir(name) / f"{chunk}.parquet"
                if path.exists():
                    os.replace(path, path.with_name(f"{path.name}.corrupt"))
        return chunks

    def write_spec(self, spec: dict) -> None:
        """``spec.json``: the resolved spec of the run (rewritten by every run of it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".spec.json.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps(spec, indent=2, sort_keys=True))
        os.replace(tmp, self.root / "spec.json")

    def read_spec(self) -> dict | None:
        """The ``spec.json`` of an earlier run (None if there is none)."""
        path = self.root / "spec.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def member_ids(self) -> set[str]:
        """Ids of every member already stored (read from the Parquet files, no catalogue needed)."""
        ids: set[str] = set()
        for f in self._files(MEMBERS):
            ids.update(pq.read_table(f, columns=["member_id"]).column("member_id").to_pylist())
        return ids

    def _view_sql(self) -> list[str]:
        sql = []
        members_glob = str(self._dir(MEMBERS) / "*.parquet")
        traj_glob = str(self._dir(TRAJECTORIES) / "*.parquet")
        if self._files(MEMBERS):
            sql.append(f"CREATE OR REPLACE VIEW members AS SELECT * FROM read_parquet('{members_glob}', union_by_name=true)")
        if self._files(TRAJECTORIES) and self._files(MEMBERS):
            sql.append(
                "CREATE OR REPLACE VIEW trajectories AS SELECT * FROM "
                f"read_parquet('{traj_glob}', union_by_name=true) "
                "WHERE chunk IN (SELECT DISTINCT chunk FROM members)"
            )
        return sql

    def register(self) -> None:
        """(Re)create the catalogue views; called by the single writer process after chunks land."""
        self.root.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(self.db_path)) as con:
            for stmt in self._view_sql():
                con.execute(stmt)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory connection with ``members`` and ``trajectories`` views over the files.

        It never opens ``catalog.duckdb``, so any number of readers can query
        while a sweep is writing; the views are built from the files present now.
        """
        con = duckdb.connect()
        for stmt in self._view_sql():
            con.execute(stmt.replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW"))
        return con

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        with self.connect() as con:
            cur = con.execute(sql)
            cols = [d[0] for d in cur.description] if cur.description else []
            return cols, cur.fetchall()
