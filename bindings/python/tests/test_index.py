"""The Python API against the installed wheel: build, search, change, errors with stable codes."""
import json
import os
import subprocess
import threading

import pytest

import leann_edge
from leann_edge import Hit, Index, LeannError


def test_is_the_installed_wheel_not_the_source_tree():
    assert "site-packages" in leann_edge.__file__, leann_edge.__file__
    assert leann_edge.__version__.count(".") == 2


def test_build_from_records_reports_progress_and_finds_the_right_passage(tmp_path, records):
    seen = []
    idx = Index.build(records, tmp_path / "r.leann", progress=lambda ph, d, t: seen.append((ph, d, t)))
    assert len(idx) == len(records)
    phases = {p for p, _, _ in seen}
    assert "embed" in phases, seen
    assert all(0 <= d <= t for _, d, t in seen if t), seen
    hits = idx.search("how much memory does the pi zero have", k=3)
    assert [type(h) for h in hits] == [Hit] * 3
    assert hits[0].id == "pi-ram" and hits[0].rank == 1
    assert hits[0].title == "Raspberry Pi Zero 2 W"
    assert hits[0].metadata["lang"] == "en"
    assert hits[0].score >= hits[1].score
    dense = idx.search("which planet has the most moons", k=1, mode="dense")
    assert dense[0].id == "moons"
    only = idx.search("coffee", k=5, filter=["n<=5"])
    assert only and all(h.metadata["n"] <= 5 for h in only)


def test_build_from_a_folder_add_remove_and_sync(tmp_path, corpus):
    idx = Index.build([corpus], tmp_path / "c.leann")
    top = idx.search("Which planet has the most moons?", k=1)[0]
    assert "planets.html" in (top.source or ""), top
    before = len(idx)
    r = idx.add([{"id": "new-1", "text": "The kiosk restarts every night at three to install updates."}])
    assert r["added_passages"] == 1 and len(idx) == before + 1
    assert idx.search("when does the kiosk restart", k=1)[0].id == "new-1"
    r = idx.remove(["new-1"])
    assert r["removed_passages"] == 1 and len(idx) == before
    with pytest.raises(LeannError) as e:
        idx.remove(["no-such-id"])
    assert e.value.code == "not_found"
    # sync to one file of the corpus: the other files' passages go.
    one = tmp_path / "only.md"
    one.write_text("# Only\n\nThis index now holds a single note about lighthouses.\n")
    r = idx.sync([one])
    assert r["passages_after"] == len(idx) and len(idx) >= 1
    assert idx.list()["sources"][0]["source"].endswith("only.md")


def test_info_verify_compact_and_typed_build_record(tmp_path, records):
    idx = Index.build(records, tmp_path / "i.leann", navigation="graph")
    info = idx.info()
    rec = info["build_record"]
    assert rec["graph"] is not None and rec["pq"]["chosen"] in ("Auto", "Given", "Budget")
    # int8 where the CPU has integer dot products, else f32 (engine::encoder::new_index_compute).
    assert info["encoder_compute"] in ("int8", "f32")
    assert Index.build(records[:8], tmp_path / "f.leann", compute="f32").info()["encoder_compute"] == "f32"
    assert idx.verify()["sections"] > 5
    r = idx.compact("never")
    assert r["retrained"] is False and r["passages_after"] == len(records)
    assert idx.info()["build_record"]["updated_in_place"] is True


def test_errors_carry_stable_codes(tmp_path, records):
    with pytest.raises(LeannError) as e:
        Index.open(tmp_path / "missing.leann")
    assert e.value.code == "index_not_found" and "does not exist" in e.value.message
    bad = tmp_path / "bad.leann"
    bad.write_bytes(b"not an index at all, just text" * 10)
    with pytest.raises(LeannError) as e:
        Index.open(bad)
    assert e.value.code == "not_an_index"
    idx = Index.build(records[:12], tmp_path / "e.leann")
    for kwargs, code in [
        (dict(query="   "), "invalid_query"),
        (dict(query="x" * 10000), "invalid_query"),
        (dict(query="pi", filter=["nosuchfield=1"]), "invalid_filter"),
        (dict(query="pi", k=0), "invalid_param"),
        (dict(query="pi", mode="fast"), "invalid_param"),
    ]:
        with pytest.raises(LeannError) as e:
            idx.search(**kwargs)
        assert e.value.code == code, (kwargs, e.value)
    with pytest.raises(LeannError) as e:
        Index.build(records, tmp_path)  # a folder as the output
    assert e.value.code == "output_refused"
    ro = Index.open(tmp_path / "e.leann", read_only=True)
    with pytest.raises(LeannError) as e:
        ro.add([{"id": "x", "text": "y z"}])
    assert e.value.code == "read_only"


def test_a_raising_progress_callback_cancels_and_writes_nothing(tmp_path, records):
    out = tmp_path / "cancelled.leann"

    class Stop(Exception):
        pass

    def progress(phase, done, total):
        raise Stop(phase)

    with pytest.raises(Stop):
        Index.build(records, out, progress=progress)
    assert not out.exists()


def test_threads_share_one_index(tmp_path, records):
    idx = Index.build(records, tmp_path / "t.leann")
    results, errors = [], []

    def worker(q):
        try:
            results.append(idx.search(q, k=1)[0].id)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(q,)) for q in ["pi memory", "espresso pressure"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and sorted(set(results)) == ["espresso", "pi-ram"], (results, errors)


@pytest.mark.skipif(not os.environ.get("LEANN_EDGE_CLI_INDEX"), reason="needs an index the CLI built")
def test_an_index_the_cli_built_opens_and_answers_like_the_cli():
    path = os.environ["LEANN_EDGE_CLI_INDEX"]
    idx = Index.open(path)
    hits = idx.search("Which planet has the most moons?", k=3)
    cli = os.environ.get("LEANN_EDGE_CLI")
    if cli:
        out = subprocess.run([cli, "search", path, "Which planet has the most moons?", "-k", "3", "--json"],
                             check=True, capture_output=True, text=True).stdout
        want = [h["id"] for h in json.loads(out)["hits"]]
        assert [h.id for h in hits] == want
    assert "planets.html" in (hits[0].source or "")
