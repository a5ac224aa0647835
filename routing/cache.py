"""On-disk cache of compiled road graphs.

A compiled :class:`~routing.graph.RoadGraph` is stored as two files in the cache directory:

- ``<key>.json``: the format version, the key, the source label and one string table shared
  by the edges' ``highway``, ``name`` and ``ref`` values;
- ``<key>.npz``: every numeric array, the three string columns as int32 indices into that
  table, and the sha256 of the JSON file (so a half-written pair is detected).

The key is the sha256 of the map source's content hash plus the build settings (speed table,
road filters, :data:`FORMAT_VERSION`): editing the speed table rebuilds every cached graph.
Both files are written to a temporary name first and renamed, so readers never see a partial
file. A missing, unreadable or inconsistent cache entry is reported as a miss (``None``) and
the caller rebuilds it; it never raises.

The default directory is ``$NORIAI_CACHE_DIR`` when set, else ``.noriai-cache/graphs`` under
the current directory (gitignored).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from routing.graph import RoadGraph

__all__ = [
    "FORMAT_VERSION",
    "cache_key",
    "default_cache_dir",
    "file_sha256",
    "read_cached_graph",
    "write_cached_graph",
]

FORMAT_VERSION = 1
"""Bump when the compiled layout or the build pipeline changes meaningfully."""

_LOG = logging.getLogger(__name__)
_NUMERIC_FIELDS = (
    "node_lat",
    "node_lon",
    "node_osm_id",
    "indptr",
    "edge_source",
    "edge_target",
    "edge_length_m",
    "edge_travel_time_s",
    "edge_speed_kph",
    "edge_flags",
    "geometry_offsets",
    "geometry_lat",
    "geometry_lon",
)
_DTYPES = {
    "node_lat": np.float64,
    "node_lon": np.float64,
    "node_osm_id": np.int64,
    "indptr": np.int64,
    "edge_source": np.int32,
    "edge_target": np.int32,
    "edge_length_m": np.int32,
    "edge_travel_time_s": np.int32,
    "edge_speed_kph": np.float32,
    "edge_flags": np.uint8,
    "geometry_offsets": np.int64,
    "geometry_lat": np.float64,
    "geometry_lon": np.float64,
}
_STRING_FIELDS = ("edge_highway", "edge_name", "edge_ref")


def default_cache_dir() -> Path:
    """``$NORIAI_CACHE_DIR`` when set, else ``./.noriai-cache/graphs``."""
    configured = os.environ.get("NORIAI_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path.cwd() / ".noriai-cache" / "graphs"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(content_hash: str, settings: Mapping[str, Any]) -> str:
    """Hex sha256 of the source's content hash, the build settings and the format version."""
    payload = json.dumps(
        {"content": content_hash, "settings": settings, "format": FORMAT_VERSION},
        sort_keys=True,
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_cached_graph(graph: RoadGraph, cache_dir: Path, key: str) -> Path:
    """Store ``graph`` under ``key`` in ``cache_dir`` (created if needed); returns the .npz path.

    Raises
    ------
    OSError
        When the directory cannot be created or written; callers may ignore it (the graph is
        still usable, only not cached).
    """
    import io

    cache_dir.mkdir(parents=True, exist_ok=True)
    table: dict[str, int] = {}
    columns: dict[str, np.ndarray[Any, Any]] = {}
    for field_name in _STRING_FIELDS:
        values: tuple[str, ...] = getattr(graph, field_name)
        columns[field_name] = np.fromiter(
            (table.setdefault(value, len(table)) for value in values),
            dtype=np.int32,
            count=len(values),
        )
    meta = {
        "format": FORMAT_VERSION,
        "key": key,
        "source": graph.source,
        "strings": list(table),
    }
    meta_bytes = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    arrays: dict[str, Any] = {name: getattr(graph, name) for name in _NUMERIC_FIELDS}
    arrays.update(columns)
    arrays["meta_sha256"] = np.frombuffer(hashlib.sha256(meta_bytes).digest(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    json_path = cache_dir / f"{key}.json"
    npz_path = cache_dir / f"{key}.npz"
    _atomic_write(json_path, meta_bytes)
    _atomic_write(npz_path, buffer.getvalue())
    return npz_path


def read_cached_graph(cache_dir: Path, key: str) -> RoadGraph | None:
    """The graph stored under ``key``, or None when absent, unreadable or inconsistent.

    The returned graph has ``from_cache=True`` and ``cache_key=key``; ``load_seconds`` is
    left at 0 for the caller to fill.
    """
    json_path = cache_dir / f"{key}.json"
    npz_path = cache_dir / f"{key}.npz"
    if not (json_path.is_file() and npz_path.is_file()):
        return None
    try:
        meta_bytes = json_path.read_bytes()
        meta = json.loads(meta_bytes.decode("utf-8"))
        if meta.get("format") != FORMAT_VERSION or meta.get("key") != key:
            return None
        strings = meta["strings"]
        with np.load(npz_path, allow_pickle=False) as stored:
            expected = hashlib.sha256(meta_bytes).digest()
            if bytes(stored["meta_sha256"].tobytes()) != expected:
                return None
            arrays: dict[str, Any] = {
                name: np.ascontiguousarray(stored[name]) for name in _NUMERIC_FIELDS
            }
            indices = {name: np.asarray(stored[name]) for name in _STRING_FIELDS}
        for name, dtype in _DTYPES.items():
            if arrays[name].dtype != dtype or arrays[name].ndim != 1:
                return None
        n_nodes = arrays["node_lat"].size
        n_edges = arrays["edge_target"].size
        sizes_ok = (
            arrays["node_lon"].size == n_nodes
            and arrays["node_osm_id"].size == n_nodes
            and arrays["indptr"].size == n_nodes + 1
            and int(arrays["indptr"][-1]) == n_edges
            and all(
                arrays[name].size == n_edges
                for name in (
                    "edge_source",
                    "edge_length_m",
                    "edge_travel_time_s",
                    "edge_speed_kph",
                    "edge_flags",
                )
            )
            and arrays["geometry_offsets"].size == n_edges + 1
            and int(arrays["geometry_offsets"][-1]) == arrays["geometry_lat"].size
            and arrays["geometry_lon"].size == arrays["geometry_lat"].size
            and all(indices[name].size == n_edges for name in _STRING_FIELDS)
        )
        if not sizes_ok:
            return None
        if n_edges and (
            int(arrays["edge_target"].min()) < 0 or int(arrays["edge_target"].max()) >= n_nodes
        ):
            return None
        text_columns: dict[str, Any] = {}
        for name in _STRING_FIELDS:
            column = indices[name]
            if n_edges and (int(column.min()) < 0 or int(column.max()) >= len(strings)):
                return None
            text_columns[name] = tuple(strings[i] for i in column.tolist())
        return RoadGraph(
            **arrays,
            **text_columns,
            source=str(meta.get("source", "")),
            cache_key=key,
            from_cache=True,
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
        _LOG.info("ignoring unreadable graph cache entry %s: %s", npz_path, error)
        return None
