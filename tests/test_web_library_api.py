"""The studio's library routes (web/library.py, web/drafts.py): generated pieces kept with
their provenance, the Library's list, filters, star, tags, download, remove, Write drafts,
the guard on every route, bad ids, and a library that is off or cannot be written.

The studio serves the shipped starters by name (shakespeare: char, folk: ABC); nothing is
trained here (training on favourites runs in tests/test_web_library_browser.py)."""

from __future__ import annotations

import pytest
from safetensors import safe_open
from support_web import events, studio_client

from creative_rnn import library, starters
from creative_rnn.web import create_app
from creative_rnn.web.library import provenance

pytestmark = pytest.mark.usefixtures("one_thread")


def generate(client, **body) -> list[dict]:
    r = client.post("/api/generate", json=body)
    assert r.status_code == 200, r.text
    found = events(r.text)
    assert found[-1][0] == "done", found[-1]
    return found[-1][1]["samples"]


@pytest.fixture(scope="module", autouse=True)
def no_copy_meter():
    """The copy meter is not what these tests are about, and on a starter its first use
    reads the starter's whole corpus (minutes for folk): every sample is shown unmarked."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("creative_rnn.web.app.sample_copies", lambda *a, **k: {"spans": [],
                                                                           "error": None})
        yield


@pytest.fixture(scope="module")
def where(tmp_path_factory):
    return tmp_path_factory.mktemp("studio-library") / "library.sqlite"


@pytest.fixture(scope="module")
def app(where):
    return create_app(["shakespeare", "folk"], library_at=where)


@pytest.fixture(scope="module")
def client(app):
    return studio_client(app)


@pytest.fixture(scope="module")
def made(client) -> dict[str, list[dict]]:
    """Two shakespeare samples (seeded) and one folk tune (the studio draws its seed)."""
    return {"text": generate(client, model="shakespeare", prime="ROMEO:", length=24, num=2,
                             seed=11, temperature=0.9),
            "tune": generate(client, model="folk", length=80)}


def test_each_generated_sample_is_kept_with_its_provenance(made, where):
    samples = made["text"]
    assert [type(s["piece"]) for s in samples] == [int, int] and samples[0]["recorded"] is None
    with safe_open(str(starters.path("shakespeare") / "model.safetensors"), "pt") as f:
        shakespeare_checksum = f.metadata()["sha256"]
    with library.Library(where) as lib:
        for i, s in enumerate(samples):
            p = lib.get(s["piece"])
            assert p["maker"] == "studio-generate" and p["starter"] == "shakespeare"
            # the checksum of the weights that made it, as their file's header holds it
            assert p["weights_sha256"] == shakespeare_checksum
            assert p["seed"] == 11 and p["prime"] == "ROMEO:" and p["ids"] == s["ids"]
            assert p["settings"]["temperature"] == 0.9
            assert (p["settings"]["num"], p["settings"]["index"]) == (2, i)
            assert p["text"] == s["text"]
        tune = lib.get(made["tune"][0]["piece"])
        assert tune["starter"] == "folk" and 0 <= tune["seed"] < 2**31  # drawn, kept, and
        # in the range the page's Seed box takes
        assert tune["settings"]["constraints"] == {"complete_bars": True}
        # the provenance is enough to make the same piece again
        again = library.regenerate(samples[1]["piece"], lib)
        assert again.identical, again.why


def test_a_generated_tune_is_made_again_identically(made, where):
    with library.Library(where) as lib:
        again = library.regenerate(made["tune"][0]["piece"], lib)
    assert again.identical, again.why


def test_the_list_is_newest_first_by_run_name_without_server_paths(client, made, where):
    r = client.get("/api/library")
    assert r.status_code == 200, r.text
    answer = r.json()
    ids = [p["id"] for p in answer["pieces"]]
    assert ids == sorted(ids, reverse=True) and answer["total"] >= 3
    mine = {s["piece"] for s in made["text"] + made["tune"]}
    assert mine <= set(ids)
    assert {"shakespeare", "folk"} <= {row["name"] for row in answer["runs"]}
    assert str(where.parent) not in r.text and str(starters.HOME) not in r.text
    assert "run_path" not in r.text and "/" not in "".join(p["run"] for p in answer["pieces"])
    tune = next(p for p in answer["pieces"] if p["id"] == made["tune"][0]["piece"])
    assert tune["model"] == "folk" and tune["music"] and tune["formats"][0] == "abc"
    assert "ids" not in tune  # the list is light: ids come with one piece


def test_filters_by_run_star_tag_and_search(client, made):
    text_ids = [s["piece"] for s in made["text"]]
    tune = made["tune"][0]["piece"]
    listed = client.get("/api/library", params={"run": "folk"}).json()
    assert tune in [p["id"] for p in listed["pieces"]]
    assert not set(text_ids) & {p["id"] for p in listed["pieces"]}

    r = client.post(f"/api/library/{text_ids[0]}/star", json={"star": True})
    assert r.status_code == 200 and r.json()["piece"]["star"] is True
    starred = client.get("/api/library", params={"starred": "true"}).json()
    assert text_ids[0] in [p["id"] for p in starred["pieces"]]
    assert text_ids[1] not in [p["id"] for p in starred["pieces"]]

    r = client.post(f"/api/library/{tune}/tags", json={"add": ["jig", "keep"]})
    assert r.json()["piece"]["tags"] == ["jig", "keep"]
    r = client.post(f"/api/library/{tune}/tags", json={"remove": ["keep"]})
    assert r.json()["piece"]["tags"] == ["jig"]
    tagged = client.get("/api/library", params={"tag": "jig"}).json()
    assert [p["id"] for p in tagged["pieces"]] == [tune]
    assert {"name": "jig", "count": 1} in tagged["tags"]

    words = made["text"][1]["text"][6:12]  # a piece of the second sample's own text
    found = client.get("/api/library", params={"q": words}).json()
    assert text_ids[1] in [p["id"] for p in found["pieces"]]


def test_one_piece_has_its_ids_and_a_music_piece_its_notes(client, made):
    tune = made["tune"][0]
    piece = client.get(f"/api/library/{tune['piece']}").json()["piece"]
    assert piece["ids"] == tune["ids"] and piece["model"] == "folk"
    assert piece["roll"] == tune["notes"] and piece["roll"]  # what the Generate view drew
    text = client.get(f"/api/library/{made['text'][0]['piece']}").json()["piece"]
    assert "roll" not in text and text["music"] is False


def test_a_piece_downloads_as_its_codecs_files(client, made):
    tune, text = made["tune"][0], made["text"][0]
    r = client.get(f"/api/library/{tune['piece']}/file", params={"format": "abc"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/vnd.abc")
    assert "K:" in r.text and f"folk-{tune['piece']}" in r.headers["content-disposition"]
    r = client.get(f"/api/library/{tune['piece']}/file", params={"format": "mid"})
    assert r.status_code == 200 and r.content[:4] == b"MThd"
    r = client.get(f"/api/library/{text['piece']}/file", params={"format": "txt"})
    assert r.status_code == 200 and r.text == text["text"]
    r = client.get(f"/api/library/{text['piece']}/file", params={"format": "mid"})
    assert r.status_code == 400 and "cannot be downloaded as 'mid'" in r.json()["error"]


def test_remove_takes_a_piece_out_of_the_list(client):
    piece = generate(client, model="shakespeare", prime="A", length=5)[0]["piece"]
    r = client.delete(f"/api/library/{piece}")
    assert r.status_code == 200 and r.json() == {"removed": piece}
    assert piece not in [p["id"] for p in client.get("/api/library").json()["pieces"]]
    r = client.get(f"/api/library/{piece}")
    assert r.status_code == 404 and f"no piece {piece}" in r.json()["error"]


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/library/abc", None), ("get", "/api/library/99999999", None),
    ("get", "/api/library/-1", None), ("get", "/api/library/1e3", None),
    ("delete", "/api/library/99999999", None),
    ("post", "/api/library/99999999/star", {"star": True}),
    ("post", "/api/library/x/tags", {"add": ["a"]}),
    ("get", "/api/library/99999999/file?format=txt", None),
    ("get", "/api/drafts/99999999", None), ("post", "/api/drafts/nope", {"text": "x"}),
    ("delete", "/api/drafts/99999999", None),
])
def test_bad_ids_are_a_404_with_one_line(client, method, path, body):
    r = client.request(method.upper(), path, json=body)
    assert r.status_code == 404, r.text
    message = r.json()["error"]
    assert "\n" not in message and ("no piece" in message or "no draft" in message)


@pytest.mark.parametrize("method, path, body, words", [
    ("post", "/api/library/{id}/star", {"star": "yes"}, "star must be bool"),
    ("post", "/api/library/{id}/star", {"stars": True}, "unknown field"),
    ("post", "/api/library/{id}/tags", {"add": ["a,b"]}, "without commas"),
    ("post", "/api/library/{id}/tags", {"add": [3]}, "list of tags"),
    ("post", "/api/library/{id}/tags", {"add": ["t"] * 21}, "add is too long"),
    ("get", "/api/library?limit=0", None, "limit='0'"),
    ("get", "/api/library?starred=maybe", None, "starred='maybe'"),
    ("get", "/api/library?sort=id", None, "unknown parameter"),
    ("get", "/api/library/{id}/file?format=exe", None, "cannot be downloaded as 'exe'"),
    ("post", "/api/drafts", {"model": "nope", "text": ""}, "no model named"),
    ("post", "/api/drafts", {"model": "folk", "text": "x" * 20_001}, "text is too long"),
    ("get", "/api/drafts", None, "give the model"),
])
def test_bad_requests_are_refused_in_one_line(client, made, method, path, body, words):
    path = path.format(id=made["text"][0]["piece"])
    r = client.request(method.upper(), path, json=body)
    assert 400 <= r.status_code < 500, r.text
    assert words in r.json()["error"] and "\n" not in r.json()["error"]


ROUTES = [("GET", "/api/library"), ("GET", "/api/library/1"), ("DELETE", "/api/library/1"),
          ("POST", "/api/library/1/star"), ("POST", "/api/library/1/tags"),
          ("GET", "/api/library/1/file?format=txt"), ("POST", "/api/library/train"),
          ("GET", "/api/drafts?model=folk"), ("POST", "/api/drafts"), ("GET", "/api/drafts/1"),
          ("POST", "/api/drafts/1"), ("DELETE", "/api/drafts/1")]


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_is_guarded(app, client, made, where, method, path):
    """No token, another page's Origin, a foreign Host: refused before the route runs (the
    library is unchanged: the piece keeps its star)."""
    piece = made["text"][1]["piece"]
    path = path.replace("/1", f"/{piece}")
    body = {"star": True} if path.endswith("/star") else {}
    token = {"X-Studio-Token": app.state.token}
    for headers in ({"X-Studio-Token": ""}, {**token, "Origin": "http://evil.example"},
                    {**token, "Host": "evil.example:8000"}):
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 403, (headers, r.text)
    with library.Library(where) as lib:
        assert lib.get(piece)["star"] is False


def test_drafts_are_kept_per_model_and_survive_a_new_server(client, where):
    first = client.post("/api/drafts", json={"model": "folk", "text": "X:1\nK:D\n"})
    assert first.status_code == 201, first.text
    a = first.json()["draft"]
    b = client.post("/api/drafts", json={"model": "folk", "text": ""}).json()["draft"]
    other = client.post("/api/drafts", json={"model": "shakespeare", "text": "To be"}).json()
    r = client.post(f"/api/drafts/{b['id']}", json={"text": "X:2\nT:Second\nK:G\nGAB|"})
    assert r.status_code == 200 and r.json()["draft"]["title"] == "X:2"
    listed = client.get("/api/drafts", params={"model": "folk"}).json()["drafts"]
    assert [d["id"] for d in listed][:2] == [b["id"], a["id"]]  # the latest saved first
    assert other["draft"]["id"] not in [d["id"] for d in listed]
    # drafts are not pieces: the Library does not list them
    assert b["id"] not in [p["id"] for p in client.get("/api/library").json()["pieces"]]
    assert client.get(f"/api/library/{b['id']}").status_code == 404

    # a new server on the same library (the old one killed) finds them as they were saved
    again = studio_client(create_app(["folk"], library_at=where))
    got = again.get(f"/api/drafts/{b['id']}").json()["draft"]
    assert got["text"] == "X:2\nT:Second\nK:G\nGAB|" and got["model"] == "folk"

    assert client.delete(f"/api/drafts/{a['id']}").json() == {"deleted": a["id"]}
    assert a["id"] not in [d["id"] for d in
                           client.get("/api/drafts", params={"model": "folk"}).json()["drafts"]]


def test_a_piece_is_not_a_draft(client, made):
    piece = made["text"][0]["piece"]
    r = client.post(f"/api/drafts/{piece}", json={"text": "overwritten?"})
    assert r.status_code == 404 and "not a draft" in r.json()["error"]
    assert client.get(f"/api/library/{piece}").json()["piece"]["text"] == made["text"][0]["text"]


def test_without_a_library_the_studio_still_generates(tmp_path):
    client = studio_client(create_app(["shakespeare"], library_at=False))
    assert client.get("/api/models").json()["library"] == {
        "on": False, "why": "the studio was started with --no-library"}
    sample = generate(client, model="shakespeare", length=5)[0]
    assert sample["piece"] is None and sample["recorded"] is None and sample["text"]
    r = client.get("/api/library")
    assert r.status_code == 403 and "--no-library" in r.json()["error"]


def test_a_library_that_cannot_be_written_never_stops_a_generation(tmp_path):
    damaged = tmp_path / "library.sqlite"
    damaged.write_bytes(b"this is not a database" * 100)
    client = studio_client(create_app(["shakespeare"], library_at=damaged))
    sample = generate(client, model="shakespeare", prime="KING:", length=8)[0]
    assert sample["piece"] is None and sample["text"].startswith("KING:")
    assert sample["recorded"].startswith("not kept in the library: ")
    assert "damaged" in sample["recorded"] and str(tmp_path) not in sample["recorded"]
    r = client.get("/api/library")
    assert r.status_code == 503 and "damaged" in r.json()["error"]


def test_train_on_favourites_refuses_what_it_cannot_do(tmp_path, where):
    plain = studio_client(create_app(["shakespeare"], library_at=tmp_path / "lib.sqlite"))
    r = plain.post("/api/library/train", json={"model": "shakespeare", "name": "favs"})
    assert r.status_code == 403 and "--runs-dir" in r.json()["error"]
    runs = tmp_path / "runs"
    client = studio_client(create_app(["folk"], runs_dir=runs,
                                      library_at=tmp_path / "empty.sqlite"))
    for body, words in [({"model": "folk", "name": "favs"}, "no starred pieces of folk"),
                        ({"model": "folk", "name": "../x"}, "name: 1-40 letters"),
                        ({"model": "folk", "name": "favs", "mix": 1.0}, "mix=1.0 is out"),
                        ({"model": "nope", "name": "favs"}, "no model named")]:
        r = client.post("/api/library/train", json=body)
        assert 400 <= r.status_code < 500 and words in r.json()["error"], r.text
    # one starred tune of a run of whole tunes: one to train on and none to validate
    app = client.app
    with library.Library(tmp_path / "empty.sqlite") as lib:
        lib.add({"maker": "studio-generate", **provenance(app.state.studio.models["folk"]),
                 "text": "X:1\nK:D\nABc|", "star": True})
    r = client.post("/api/library/train", json={"model": "folk", "name": "favs"})
    assert r.status_code == 400 and "one starred piece of folk" in r.json()["error"]
    assert not (runs / "favs").exists()  # nothing made for a refused request
