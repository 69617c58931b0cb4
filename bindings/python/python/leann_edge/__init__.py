"""leann-edge: semantic search over your own documents in a few percent of the storage.

    import leann_edge
    idx = leann_edge.Index.build(["docs/"], "docs.leann")
    for hit in idx.search("how do I reset the device?", k=3):
        print(hit.rank, round(hit.score, 3), hit.title, hit.source)

Every call goes through the library's one engine (the CLI and the service use the same), with
the GIL released while it searches, builds or changes the index. Errors are ``LeannError`` with
a stable ``code`` (``"corrupt"``, ``"not_found"``, ``"model_missing"``, ...).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._native import Engine as _Engine
from ._native import LeannError, __version__

__all__ = ["Index", "Hit", "LeannError", "__version__"]

# LeannError(code, message): the stable code and the one-line message as attributes.
LeannError.code = property(lambda self: self.args[0])  # type: ignore[attr-defined]
LeannError.message = property(lambda self: self.args[1])  # type: ignore[attr-defined]
LeannError.__str__ = lambda self: f"[{self.args[0]}] {self.args[1]}"  # type: ignore[assignment]

PathLike = Union[str, "os.PathLike[str]"]
Record = Mapping[str, Any]
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Hit:
    """One search hit."""

    rank: int
    id: str
    score: float
    title: str
    source: Optional[str]
    text: str
    metadata: Dict[str, Any] = field(default_factory=dict)


def _options(**kw: Any) -> str:
    return json.dumps({k: v for k, v in kw.items() if v is not None})


def _records_json(records: Iterable[Record]) -> str:
    out = []
    for i, r in enumerate(records):
        if not isinstance(r, Mapping):
            raise TypeError(f"record {i + 1} is a {type(r).__name__}, not a dict")
        d = {"id": str(r["id"]), "text": r["text"]}
        if r.get("title"):
            d["title"] = r["title"]
        if r.get("metadata"):
            d["metadata"] = dict(r["metadata"])
        out.append(d)
    return json.dumps(out)


def _split(inputs: Union[PathLike, Sequence[Union[PathLike, Record]]]):
    """(paths, records): a list of paths or a list of record dicts (not both)."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    items = list(inputs)
    if items and all(isinstance(x, Mapping) for x in items):
        return [], items
    if any(isinstance(x, Mapping) for x in items):
        raise TypeError("give a list of paths or a list of record dicts, not both")
    return [os.fspath(p) for p in items], None


class Index:
    """An open leann-edge index with its encoder (thread-safe: share one between threads)."""

    def __init__(self, engine: _Engine):
        self._e = engine

    @classmethod
    def open(
        cls,
        path: PathLike,
        *,
        model: Optional[str] = None,
        threads: Optional[int] = None,
        board: Optional[str] = None,
        read_only: bool = False,
        min_score: Optional[float] = None,
        recompute_cache_mb: Optional[int] = None,
    ) -> "Index":
        """Open an index; the encoder is the one it was built with (found like the CLI finds it)."""
        opts = _options(model=model, threads=threads, board=board, read_only=read_only,
                        min_score=min_score, recompute_cache_mb=recompute_cache_mb)
        return cls(_Engine.open(os.fspath(path), opts))

    @classmethod
    def build(
        cls,
        inputs: Union[PathLike, Sequence[Union[PathLike, Record]]],
        path: PathLike,
        *,
        model: Optional[str] = None,
        threads: Optional[int] = None,
        board: Optional[str] = None,
        compute: Optional[str] = None,
        progress: Optional[ProgressFn] = None,
        navigation: Optional[str] = None,
        keep_vectors: bool = False,
        embed_cache: Optional[PathLike] = None,
        **shape: Any,
    ) -> "Index":
        """Index files/folders, or records ``{"id", "text", "title"?, "metadata"?}``, into ``path``.

        ``progress(phase, done, total)`` is called as the build goes (raise in it to cancel).
        Shape options are the CLI's: ``pq``, ``pq_bits``, ``pq_rotate``, ``degree``, ``no_prune``,
        ``budget_bytes_per_passage``, ``seed``; ``navigation`` is ``auto``, ``graph`` or ``scan``.
        """
        paths, records = _split(inputs)
        opts = _options(model=model, threads=threads, board=board, compute=compute)
        b = dict(shape)
        if navigation is not None:
            b["navigation"] = navigation.capitalize()
        b["keep_vectors"] = keep_vectors
        if embed_cache is not None:
            b["embed_cache"] = os.fspath(embed_cache)
        rec = _records_json(records) if records is not None else None
        engine, _report = _Engine.build(os.fspath(path), paths, rec, opts, json.dumps(b), progress)
        return cls(engine)

    def search(
        self,
        query: str,
        k: int = 3,
        *,
        mode: Optional[str] = None,
        filter: Optional[Sequence[str]] = None,
        grep: Optional[str] = None,
        min_score: Optional[float] = None,
        group_by_doc: bool = False,
        keep_overlaps: bool = False,
        recall: Optional[float] = None,
    ) -> List[Hit]:
        """The best ``k`` passages for ``query`` (``mode``: hybrid (default), dense or keyword)."""
        answer = self.search_answer(query, k, mode=mode, filter=filter, grep=grep,
                                    min_score=min_score, group_by_doc=group_by_doc,
                                    keep_overlaps=keep_overlaps, recall=recall)
        return [
            Hit(rank=h["rank"], id=h["id"], score=h["score"], title=h["title"],
                source=h.get("source"), text=h["text"], metadata=h.get("metadata") or {})
            for h in answer["hits"]
        ]

    def search_answer(self, query: str, k: int = 3, **kw: Any) -> Dict[str, Any]:
        """The whole answer (hits, best score, stats) as a dict, as the HTTP API returns it."""
        req: Dict[str, Any] = {"query": query, "k": k}
        for key, v in kw.items():
            if v is None or v is False:
                continue
            req[key] = list(v) if key == "filter" else v
        return json.loads(self._e.search_json(json.dumps(req)))

    def add(self, inputs: Union[PathLike, Sequence[Union[PathLike, Record]]]) -> Dict[str, Any]:
        """Add files/folders or records (same path or id: replaced); the change report."""
        paths, records = _split(inputs)
        if records is not None:
            return json.loads(self._e.add_documents(_records_json(records)))
        return json.loads(self._e.add_paths(paths))

    def remove(self, ids: Sequence[str] = (), *, sources: Sequence[str] = ()) -> Dict[str, Any]:
        """Remove passages by record id, or every passage of these source files/folders."""
        return json.loads(self._e.remove(list(ids), list(sources)))

    def sync(self, paths: Union[PathLike, Sequence[PathLike]], *, allow_empty: bool = False) -> Dict[str, Any]:
        """Make the index hold exactly the passages of ``paths`` (unchanged ones cost nothing)."""
        p, _ = _split(paths)
        return json.loads(self._e.sync(p, allow_empty))

    def compact(self, retrain: str = "auto", *, embed_cache: Optional[PathLike] = None) -> Dict[str, Any]:
        """Rewrite sorted; retrain the PQ when a fresh build would choose another (``auto``)."""
        ec = os.fspath(embed_cache) if embed_cache is not None else None
        return json.loads(self._e.compact(retrain, ec))

    def info(self) -> Dict[str, Any]:
        """Storage breakdown, build record, encoder."""
        return json.loads(self._e.info())

    def list(self) -> Dict[str, Any]:
        """The indexed sources with passage counts and bytes."""
        return json.loads(self._e.list())

    def verify(self) -> Dict[str, Any]:
        """Check every section checksum and the model files."""
        return json.loads(self._e.verify())

    @property
    def path(self) -> str:
        return os.fspath(self._e.path)

    def __len__(self) -> int:
        return len(self._e)

    def __repr__(self) -> str:
        return f"Index({self.path!r}, passages={len(self)})"
