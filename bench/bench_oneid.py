"""OneID figures, each against its baseline in the same run.

1. Batch OneID over N identity links (default 10,000,000): yutang's batch resolution —
   reading the link extract from disk, the fan-out guard rail, the components — against
   ``scipy.sparse.csgraph.connected_components`` alone on the same links already in memory.
2. Latency of resolving one new bridging event (two known identifiers of two different
   customers: a merge) into a pool of P customers (default 1,000,000) on SQLite, p50/p99,
   against a lookup-only event (both identifiers already on one customer).

    python bench/bench_oneid.py [--links 10000000] [--pool 1000000] [--events 300]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from yutang.access.roles import Principal
from yutang.kit.crypto import DataProtector, configure_protector, get_protector
from yutang.kit.db import create_engine, make_session_factory, unit_of_work, writer_engine
from yutang.migrate import upgrade
from yutang.pool import oneid
from yutang.pool.identity_graph import batch_labels, component_labels
from yutang.pool.oneid import IdentifierInput, Trigger

ACTOR = Principal.system("bench")


def synthetic_links(count: int, seed: int = 7) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """People with 2–6 identifiers each, linked as a star around their first one."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 7, size=count // 3)
    sizes = sizes[np.cumsum(sizes - 1) <= count]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    nodes = int(sizes.sum())
    owner_start = np.repeat(starts, sizes)
    members = np.arange(nodes)
    spokes = members != owner_start
    left, right = owner_start[spokes], members[spokes]
    classes = rng.integers(0, 9, size=nodes)
    return nodes, left.astype(np.int32), right.astype(np.int32), classes.astype(np.int8)


def batch_figures(link_count: int, repeats: int = 3) -> dict[str, float]:
    """Median seconds of each side over ``repeats`` runs (this machine is shared)."""
    nodes, left, right, classes = synthetic_links(link_count)
    started = time.perf_counter()
    batch_labels(4, left[:2] % 4, right[:2] % 4, classes[:4], np.ones(4, dtype=bool), bound=3)
    compile_seconds = time.perf_counter() - started  # Numba: once per machine, cached on disk
    baseline_runs, ours_runs, read_runs = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        extract = Path(folder)
        np.save(extract / "left.npy", left)
        np.save(extract / "right.npy", right)
        np.save(extract / "class.npy", classes)
        for _ in range(repeats):
            started = time.perf_counter()
            graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)),
                               shape=(nodes, nodes)).tocsr()
            baseline_count, reference = connected_components(graph, directed=False)
            baseline_runs.append(time.perf_counter() - started)
            del graph
            started = time.perf_counter()
            loaded = [np.load(extract / f"{name}.npy") for name in ("left", "right", "class")]
            read_runs.append(time.perf_counter() - started)
            labels, shared = batch_labels(nodes, loaded[0], loaded[1], loaded[2],
                                          np.ones(nodes, dtype=bool), bound=3)
            ours_runs.append(time.perf_counter() - started)
    # Without the guard the components are SciPy's, numbered alike; the guard only splits.
    assert np.array_equal(component_labels(nodes, left, right), reference)
    assert len(np.unique(labels)) >= baseline_count and shared.any()
    return {"baseline": float(np.median(baseline_runs)), "ours": float(np.median(ours_runs)),
            "read": float(np.median(read_runs)), "compile": compile_seconds,
            "links": float(left.size)}


def _fill_pool(url: str, people: int) -> None:
    """``people`` customers, each with a unionid and a phone linked together (bulk SQL)."""
    protector = get_protector()
    encrypt = protector.encryptor("identity.value")
    now = datetime(2026, 10, 1, tzinfo=UTC).replace(tzinfo=None).isoformat(sep=" ")
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    with connection:
        connection.executemany(
            "INSERT INTO customer (id, acquired_at, gender, created_at, updated_at) "
            "VALUES (?, ?, 'unknown', ?, ?)",
            ((n + 1, now, now, now) for n in range(people)))
        values = []
        for n in range(people):
            for offset, (kind, text) in enumerate((("wechat_unionid", f"U-{n}"),
                                                   ("phone", f"139{n:08d}"))):
                values.append((2 * n + 1 + offset, kind, "",
                               protector.blind_index(text, kind), encrypt(text), "strong",
                               "usable", now, now, text, n + 1))
        connection.executemany(
            "INSERT INTO identity_value (id, kind, scope, value_index, value, strength, status,"
            " first_seen_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (row[:9] for row in values))
        connection.executemany(
            "INSERT INTO identity (customer_id, kind, scope, value_index, value, source,"
            " created_at, value_id, origin_customer_id) VALUES (?,?,?,?,?,'bench',?,?,?)",
            ((row[10], row[1], "", row[3], row[4], now, row[0], row[10]) for row in values))
        connection.executemany(
            "INSERT INTO identity_link (value_a_id, value_b_id, first_seen_at) VALUES (?,?,?)",
            ((2 * n + 1, 2 * n + 2, now) for n in range(people)))
    connection.close()


def latency_figures(people: int, events: int) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'pool.db'}"
        upgrade(url)
        _fill_pool(url, people)
        engine = create_engine(url)
        factory = make_session_factory(writer_engine(engine))
        rng = np.random.default_rng(11)
        figures: dict[str, tuple[float, float]] = {}
        for name, bridging in (("lookup (known customer)", False),
                               ("bridging event (merge)", True)):
            timings = []
            for _ in range(events):
                first, second = (int(x) for x in rng.choice(people, size=2, replace=False))
                phone_owner = second if bridging else first
                identifiers = [IdentifierInput("wechat_unionid", f"U-{first}"),
                               IdentifierInput("phone", f"139{phone_owner:08d}")]
                started = time.perf_counter()
                with unit_of_work(factory) as session:
                    oneid.resolve(session, identifiers=identifiers,
                                  trigger=Trigger("bench", "event", ACTOR))
                timings.append(time.perf_counter() - started)
            milliseconds = np.array(timings) * 1000
            figures[name] = (float(np.percentile(milliseconds, 50)),
                             float(np.percentile(milliseconds, 99)))
        engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=10_000_000)
    parser.add_argument("--pool", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=300)
    arguments = parser.parse_args()
    configure_protector(DataProtector.from_master_key(bytes(range(32))))
    batch = batch_figures(arguments.links)
    print(f"Batch OneID over {batch['links']:,.0f} links (median of 3 runs)")
    print(f"  scipy connected_components (links in memory)      {batch['baseline']:6.2f} s")
    print(f"  yutang batch (read extract + guard + components)  {batch['ours']:6.2f} s"
          f"   ({batch['ours'] / batch['baseline']:.2f}x; reading {batch['read']:.2f} s)")
    print(f"  (Numba compiles the kernels once per machine: {batch['compile']:.1f} s, cached)")
    print(f"Resolving one event into a pool of {arguments.pool:,} customers (SQLite)")
    for name, (p50, p99) in latency_figures(arguments.pool, arguments.events).items():
        print(f"  {name:<26} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")


if __name__ == "__main__":
    main()
