"""The LlamaIndex retriever example (examples/python) against the installed framework and wheel."""
import importlib.util
import pathlib

import pytest

llama = pytest.importorskip("llama_index.core")

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "python" / "llamaindex_retriever.py"


def load_example():
    spec = importlib.util.spec_from_file_location("llamaindex_retriever", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_retriever_returns_text_nodes_with_scores(tmp_path, records):
    import leann_edge
    from llama_index.core.schema import NodeWithScore, TextNode

    idx = leann_edge.Index.build(records, tmp_path / "li.leann")
    retriever = load_example().LeannEdgeRetriever(idx, top_k=2)
    nodes = retriever.retrieve("how do I keep a sourdough starter alive")
    assert len(nodes) == 2 and all(isinstance(n, NodeWithScore) for n in nodes)
    assert isinstance(nodes[0].node, TextNode)
    assert nodes[0].node.node_id == "sourdough"
    assert nodes[0].node.metadata["title"] == "Sourdough starter"
    assert nodes[0].score >= nodes[1].score
