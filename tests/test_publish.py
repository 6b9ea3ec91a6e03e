"""Publishing a FOCUS partition (pipelines/storage.py): its several files and its record swapped
in at once behind a link, nothing of the old version left behind, and readers (DuckDB's glob, as
the warehouse views use it) seeing the old files or the new, never a mix."""
from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from focus_rows import published_files
from pipelines.storage import DataRoot


def staged(root: DataRoot, rows_per_file: list[int], tag: str) -> Path:
    """A staging folder of Parquet files as a normalize leaves them: part-0.parquet, part-1..."""
    folder = root.staging()
    con = duckdb.connect()
    for i, n in enumerate(rows_per_file):
        con.execute(f"COPY (SELECT '{tag}' AS v, range AS x FROM range({n})) "
                    f"TO '{folder / f'part-{i}.parquet'}' (FORMAT parquet)")
    return folder


def seen(root: DataRoot, con=None) -> list[tuple]:
    return (con or duckdb.connect()).execute(
        f"SELECT v, count(*), count(DISTINCT filename) FROM read_parquet('{root.focus_glob()}', filename = true) "
        f"GROUP BY v ORDER BY v").fetchall()


def versions(root: DataRoot) -> list[str]:
    """The month's version folders (the lock file aside)."""
    folder = root.root / ".focus-versions" / "provider=aws" / "billing_period=2026-10"
    return sorted(p.name for p in folder.iterdir() if p.name != ".lock")


def test_a_publish_swaps_every_file_and_the_record_at_once(tmp_path):
    root = DataRoot(tmp_path)
    root.publish("AWS", "2026-10", staged(root, [5, 7, 9], "v1"), {"delivery": "a"})
    link = root.partition("AWS", "2026-10")
    first = link.resolve()
    assert link.is_symlink() and seen(root) == [("v1", 21, 3)]
    assert root.published("AWS", "2026-10") == {"delivery": "a"}
    root.publish("AWS", "2026-10", staged(root, [4, 4], "v2"), {"delivery": "b"})
    assert seen(root) == [("v2", 8, 2)] and root.published("AWS", "2026-10") == {"delivery": "b"}
    assert not first.exists() and versions(root) == [link.resolve().name]  # the old version is gone
    # file names carry their version: a name listed before a swap cannot open the next one's file
    assert [p.name for p in published_files(root.focus_root())] == [
        f"{link.resolve().name}-0.parquet", f"{link.resolve().name}-1.parquet", "_published.json"]


def test_a_plain_partition_folder_and_an_interrupted_publish_are_replaced(tmp_path):
    """A partition written as a plain folder (before versions, or by hand) is replaced by the
    link; what a publish that stopped before its rename left (a version folder, a link) is
    never read, and removed by the next publish."""
    root = DataRoot(tmp_path)
    plain = root.partition("AWS", "2026-10")
    plain.mkdir(parents=True)
    duckdb.execute(f"COPY (SELECT 'old' AS v, 1 AS x) TO '{plain / 'data.parquet'}' (FORMAT parquet)")
    stray = root.root / ".focus-versions" / "provider=aws" / "billing_period=2026-10" / "20261001T000000-0000abcd"
    stray.mkdir(parents=True)
    duckdb.execute(f"COPY (SELECT 'half' AS v, 1 AS x) TO '{stray / 'a.parquet'}' (FORMAT parquet)")
    (stray.parent / ".link-x").symlink_to("../../../focus/x")
    assert seen(root) == [("old", 1, 1)]
    root.publish("AWS", "2026-10", staged(root, [3], "new"), {"delivery": "n"})
    assert plain.is_symlink() and seen(root) == [("new", 3, 1)]
    assert versions(root) == [plain.resolve().name]


def test_readers_during_publishes_see_one_whole_version(tmp_path):
    """A reader querying while partitions are replaced over and over sees one version whole,
    or (having listed the files just before a swap) fails to open one: never a mix, never a
    part of a version."""
    root = DataRoot(tmp_path)
    sizes = {f"v{k:02d}": [100 + k, 200 + k, 300 + k] for k in range(40)}
    root.publish("AWS", "2026-10", staged(root, sizes["v00"], "v00"), {})
    stop, results, failures = threading.Event(), [], []

    def read():
        con = duckdb.connect()
        while not stop.is_set():
            try:
                results.append(seen(root, con))
            except duckdb.IOException as exc:
                failures.append(str(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for tag in list(sizes)[1:]:
            root.publish("AWS", "2026-10", staged(root, sizes[tag], tag), {})
    finally:
        stop.set()
        reader.join()
    assert len(results) > 40  # the reader really ran alongside
    for result in results:
        assert len(result) == 1, result  # one version at a time
        tag, rows, files = result[0]
        assert (rows, files) == (sum(sizes[tag]), 3), result
    assert all("No files found" in f or "No such file" in f for f in failures), failures[:3]


def test_publishes_of_one_month_at_once_leave_one_whole_version(tmp_path):
    """Two runs publishing the same month at the same time (a manual run beside the nightly
    one): the last swap wins, and its version is not deleted by the other's clean-up."""
    root = DataRoot(tmp_path)
    errors = []

    def publish_many(tag: str):
        try:
            for k in range(15):
                root.publish("AWS", "2026-10", staged(root, [10, 20], f"{tag}{k:02d}"), {"tag": f"{tag}{k:02d}"})
                assert root.partition("AWS", "2026-10").resolve().is_dir()
        except Exception as exc:  # noqa: BLE001 - reported below, with the thread's tag
            errors.append(f"{tag}: {exc!r}")

    threads = [threading.Thread(target=publish_many, args=(tag,)) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    record = root.published("AWS", "2026-10")
    assert seen(root) == [(record["tag"], 30, 2)] and versions(root) == [root.partition("AWS", "2026-10").resolve().name]
