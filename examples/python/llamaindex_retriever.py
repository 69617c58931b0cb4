"""A LlamaIndex retriever over a leann-edge index (the reference LEANN's users use LlamaIndex).

    pip install leann-edge llama-index-core
    python llamaindex_retriever.py docs.leann "how do I reset the device?"

Each hit becomes a ``TextNode`` (id, text, title/source/metadata) with its score; plug the
retriever into any LlamaIndex query engine (``RetrieverQueryEngine.from_args(retriever, llm=...)``).
"""
import sys
from typing import Any, List, Optional, Sequence

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

import leann_edge


class LeannEdgeRetriever(BaseRetriever):
    """Retrieve the best passages of a leann-edge index (hybrid ranking by default)."""

    def __init__(self, index: leann_edge.Index, top_k: int = 3, mode: Optional[str] = None,
                 filter: Optional[Sequence[str]] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._index = index
        self._top_k = top_k
        self._mode = mode
        self._filter = list(filter) if filter else None

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        hits = self._index.search(query_bundle.query_str, k=self._top_k, mode=self._mode,
                                  filter=self._filter)
        return [
            NodeWithScore(
                node=TextNode(
                    id_=h.id,
                    text=h.text,
                    metadata={"title": h.title, "source": h.source, **h.metadata},
                ),
                score=h.score,
            )
            for h in hits
        ]


if __name__ == "__main__":
    index = leann_edge.Index.open(sys.argv[1])
    for n in LeannEdgeRetriever(index, top_k=3).retrieve(sys.argv[2]):
        print(f"{n.score:.3f}  {n.node.metadata.get('source') or n.node.node_id}  {n.node.get_content()[:100]}")
