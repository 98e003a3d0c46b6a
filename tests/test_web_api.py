"""The web studio's HTTP API: every endpoint, oversize, malformed and concurrent requests."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support import tiny_abc_run
from support_web import LiveServer, events, shared_runs, studio_client

import creative_rnn as cr
from creative_rnn import rundir
from creative_rnn.cli import main
from creative_rnn.web import Limits, create_app
from creative_rnn.web.guard import Counter


@pytest.fixture(scope="module")
def runs(tmp_path_factory, startrek):
    return shared_runs(tmp_path_factory, startrek)


@pytest.fixture(scope="module")
def client(runs, tmp_path_factory):
    app = create_app(list(runs.values()), runs_dir=tmp_path_factory.mktemp("studio"),
                     limits=Limits(max_activation_values=200_000))
    return studio_client(app)


def generate(client, **body) -> list[tuple[str, dict]]:
    r = client.post("/api/generate", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return events(r.text)


def test_index_and_static_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "creative-rnn studio" in page.text
    for name in ("main.js", "api.js", "generate.js", "music.js", "inside.js", "train.js",
                 "style.css"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.text) > 100, name
        assert "http://" not in r.text and "https://" not in r.text  # nothing from the network


def test_models_lists_the_runs_named_at_start(client):
    info = client.get("/api/models").json()
    by_name = {m["name"]: m for m in info["models"]}
    assert set(by_name) == {"text", "docs", "melody"}
    assert by_name["text"]["music"] is False and by_name["text"]["formats"] == ["txt"]
    assert by_name["docs"]["documents"] is True
    assert by_name["melody"]["music"] is True and "mid" in by_name["melody"]["formats"]
    assert not any(m["percussion"] for m in info["models"])  # a melody plays on the piano
    assert info["limits"]["max_length"] == Limits().max_length


def test_generate_streams_tokens_that_add_up_to_the_final_text(client):
    ev = generate(client, model="text", prime="Star", length=40, num=2, seed=3)
    names = [e for e, _ in ev]
    assert names[0] == "start" and names[-1] == "done" and names.count("tokens") >= 2
    start, done = ev[0][1], ev[-1][1]
    assert "".join(start["prime_text"]) == "Star"
    streamed = ["Star", "Star"]
    for name, data in ev:
        if name == "tokens":
            for step in data["steps"]:
                for i, _id, text in step:
                    streamed[i] += text
    assert [s["text"] for s in done["samples"]] == streamed
    assert all(len(s["ids"]) == 4 + 40 for s in done["samples"])
    again = generate(client, model="text", prime="Star", length=40, num=2, seed=3)
    same = [{**s, "piece": None} for s in again[-1][1]["samples"]]  # each kept as a new piece
    assert same == [{**s, "piece": None} for s in done["samples"]]  # one seed, one result


def test_documents_mode_stops_each_item_at_its_end(client, runs):
    vocab = cr.load(runs["docs"]).codec.vocab
    done = generate(client, model="docs", length=80, num=3, seed=1)[-1][1]
    assert len(done["samples"]) == 3
    for s in done["samples"]:
        assert s["ids"][0] == vocab.bos  # <s> starts every document
        assert len(s["ids"]) <= 81 and "\n" not in s["text"]


def test_music_models_return_notes_for_the_piano_roll(client):
    done = generate(client, model="melody", length=24, num=1, seed=2)[-1][1]
    notes = done["samples"][0]["notes"]
    assert notes and all(len(n) == 4 and 0 <= n[0] <= 127 and n[1] < n[2] for n in notes)


@pytest.mark.parametrize("body, status, words", [
    ({"model": "text", "length": 0}, 400, "length=0 is out of range"),
    ({"model": "text", "length": 10**6}, 400, "out of range"),
    ({"model": "text", "temperature": "hot"}, 400, "temperature must be float"),
    ({"model": "text", "num": True}, 400, "num must be int"),
    ({"model": "text", "colour": 1}, 400, "unknown field(s) colour"),
    ({"length": 5}, 400, "missing field model"),
    ({"model": "nope"}, 404, "no model named 'nope'"),
    ({"model": "text", "prime": "\u2603\u2603"}, 400, "not in the model's vocabulary"),
    ({"model": "text", "prime": "x" * 5000}, 400, "prime is too long"),
])
def test_generate_refuses_bad_options_with_one_clear_message(client, body, status, words):
    r = client.post("/api/generate", json=body)
    assert r.status_code == status and words in r.json()["error"]
    assert "Traceback" not in r.text


def test_malformed_and_oversize_bodies(client):
    r = client.post("/api/generate", content=b"{not json",
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = client.post("/api/generate", json=[1, 2])
    assert r.status_code == 400 and "JSON object" in r.json()["error"]
    r = client.post("/api/generate", content=b"{" + b" " * 70_000 + b"}")
    assert r.status_code == 413 and "too large" in r.json()["error"]
    r = client.post("/api/generate", content=iter([b"{}"]))  # chunked: no Content-Length
    assert r.status_code == 411


def test_busy_answer_when_too_many_generations_run(runs):
    app = create_app([runs["text"]], limits=Limits(max_generations=1))
    with studio_client(app) as c:
        with c.stream("POST", "/api/generate", json={"model": "text", "length": 2000}) as first:
            assert first.status_code == 200
            second = c.post("/api/generate", json={"model": "text", "length": 5})
            assert second.status_code == 429 and "busy" in second.json()["error"]
            for _ in first.iter_bytes():
                pass
        # the finished stream gave its place back
        assert c.post("/api/generate", json={"model": "text", "length": 5}).status_code == 200
    assert app.state.studio.generations.running == 0


def test_counter_refuses_over_its_limit():
    c = Counter("things", 2)
    c.acquire()
    c.acquire()
    with pytest.raises(Exception, match="busy: 2 things"):
        c.acquire()
    c.release()
    c.acquire()


def test_concurrent_streams_on_a_live_server(runs):
    app = create_app([runs["text"], runs["docs"]], limits=Limits(max_generations=12))
    with LiveServer(app) as server:
        def one(i: int) -> list:
            model = "text" if i % 2 else "docs"
            with httpx.Client(base_url=server.url, timeout=60,
                              headers={"X-Studio-Token": app.state.token}) as h:
                r = h.post("/api/generate", json={"model": model, "length": 60, "seed": i})
                return events(r.text) if r.status_code == 200 else [("http", r.status_code)]
        with ThreadPoolExecutor(10) as pool:
            results = list(pool.map(one, range(10)))
    assert all(r[0][0] == "start" and r[-1][0] == "done" for r in results)
    assert app.state.studio.generations.running == 0


def test_export_writes_the_codecs_files(client):
    done = generate(client, model="text", prime="Star", length=20, seed=1)[-1][1]
    ids = done["samples"][0]["ids"]
    r = client.post("/api/export", json={"model": "text", "ids": ids, "format": "txt"})
    assert r.status_code == 200 and r.text == done["samples"][0]["text"]
    assert "attachment" in r.headers["content-disposition"]
    mel = generate(client, model="melody", length=16, seed=1)[-1][1]["samples"][0]["ids"]
    r = client.post("/api/export", json={"model": "melody", "ids": mel, "format": "mid"})
    assert r.status_code == 200 and r.content[:4] == b"MThd"
    r = client.post("/api/export", json={"model": "melody", "ids": mel, "format": "wav"})
    if r.status_code == 200:  # needs fluidsynth for the real codec; else a clear message
        assert r.content[:4] == b"RIFF"
    else:
        assert r.status_code == 400 and "fluidsynth" in r.json()["error"].lower()
    r = client.post("/api/export", json={"model": "text", "ids": ids, "format": "mid"})
    assert r.status_code == 400 and "cannot be downloaded as 'mid'" in r.json()["error"]
    r = client.post("/api/export", json={"model": "text", "ids": [1, -5], "format": "txt"})
    assert r.status_code == 400 and "ids must be integers" in r.json()["error"]


def test_activations_have_one_value_per_layer_step_and_cell(client, runs):
    done = generate(client, model="text", prime="Star", length=10, seed=1)[-1][1]
    ids = done["samples"][0]["ids"]
    r = client.post("/api/activations", json={"model": "text", "ids": ids})
    assert r.status_code == 200
    a = r.json()
    assert a["tokens"] == list("Star") + [t for t in done["samples"][0]["text"][4:]]
    assert set(a["keys"]) == {"h", "c", "tanh_c", "i", "f", "o", "g"}
    h = a["values"]["h"]
    assert (len(h), len(h[0]), len(h[0][0])) == (1, len(ids), a["hidden"])
    assert all(-1 <= v <= 1 for v in h[0][-1])  # h = o * tanh(c)
    # the client's limit is 200,000 values: 7 keys x 1 layer x 32 cells = 1,792 per step
    long = client.post("/api/activations", json={"model": "text", "ids": [5] * 1000}).json()
    assert long["total_steps"] == 1000 and len(long["tokens"]) == 200_000 // (7 * 32)
    tight = create_app([runs["text"]], limits=Limits(max_activation_values=100))
    r = studio_client(tight).post("/api/activations", json={"model": "text", "ids": [5]})
    assert r.status_code == 413 and "too big for the inside view" in r.json()["error"]
    r = client.post("/api/activations", json={"model": "text", "ids": []})
    assert r.status_code == 400


def test_serve_command_checks_its_arguments(monkeypatch, runs, capsys):
    assert main(["serve"]) == 2
    assert "needs a RUN" in capsys.readouterr().err
    assert main(["serve", "/no/such/run"]) == 2
    assert "/no/such/run" in capsys.readouterr().err
    calls = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self, **kw: calls.append(self.config))
    assert main(["serve", str(runs["text"]), "--port", "8123"]) == 0
    out = capsys.readouterr()
    assert calls[-1].host == "127.0.0.1" and calls[-1].port == 8123 and "warning" not in out.err
    assert "http://127.0.0.1:8123/" in out.out
    assert main(["serve", str(runs["text"]), "--host", "0.0.0.0"]) == 0
    assert calls[-1].host == "0.0.0.0" and "warning: listening on 0.0.0.0" in \
        capsys.readouterr().err


# --- training ---------------------------------------------------------------------------------
@pytest.fixture
def trainer(tmp_path):
    app = create_app([], runs_dir=tmp_path / "runs",
                     limits=Limits(max_upload=64 * 1024, max_trainings=1))
    return app, studio_client(app), tmp_path / "runs"


def follow(c, name: str) -> list[tuple[str, dict]]:
    r = c.get(f"/api/train/{name}/events")
    assert r.status_code == 200
    return events(r.text)


def test_train_on_an_upload_then_serve_the_new_run(trainer, startrek, monkeypatch):
    app, c, runs_dir = trainer
    studio, finished_when_served = app.state.studio, []
    add = studio.add

    def add_noting(run):  # a page asks for the models when it sees the job end: by then the
        finished_when_served.append(app.state.jobs[run.name].finished)  # run must be served
        return add(run)
    monkeypatch.setattr(studio, "add", add_noting)
    opts = c.get("/api/train").json()
    assert opts["enabled"] and "folk" in [x["name"] for x in opts["corpora"]]
    assert "char" in opts["codecs"]
    r = c.post("/api/train", data={"name": "trek", "max_steps": "20"},
               files={"file": ("titles.txt", startrek.read_bytes(), "text/plain")})
    assert r.status_code == 201, r.text
    ev = follow(c, "trek")
    rows = [row for e, d in ev if e == "metrics" for row in d["rows"]]
    assert rows[-1]["step"] == 20 and any("val_loss" in row for row in rows)
    assert [d["job"]["status"] for e, d in ev if e == "status"][-1] == "done"
    assert any(e == "sample" and d["text"] for e, d in ev)
    assert (runs_dir / "trek" / "config.json").is_file()  # the CLI's run layout
    assert (runs_dir / "trek" / "model.safetensors").is_file()
    assert "trek" in [m["name"] for m in c.get("/api/models").json()["models"]]
    assert finished_when_served == [False]
    said = {key: source for _, key, _, source in rundir.provenance(runs_dir / "trek")}
    assert said["max_steps"] == "the studio's Train view" and "studio" in said["eval_every"]
    assert generate(c, model="trek", length=5)[-1][0] == "done"
    r = c.post("/api/train", data={"name": "trek", "corpus": "folk"})
    assert r.status_code == 409 and "already exists" in r.json()["error"]


def test_a_run_that_did_not_learn_says_so_in_the_page(trainer, startrek):
    app, c, runs_dir = trainer
    r = c.post("/api/train", data={"name": "short", "max_steps": "10"},
               files={"file": ("titles.txt", startrek.read_bytes(), "text/plain")})
    assert r.status_code == 201, r.text
    final = [d["job"] for e, d in follow(c, "short") if e == "status"][-1]
    # ten steps of a fresh model stay near log(vocabulary), above the unigram baseline
    assert final["status"] == "done" and "did not learn" in final["warning"]
    assert str(runs_dir) not in final["warning"]  # the advice names the run, not the folder


def test_stop_a_training_run_and_busy_while_it_runs(trainer, startrek):
    app, c, runs_dir = trainer
    data = startrek.read_bytes()
    r = c.post("/api/train", data={"name": "long", "max_steps": "5000"},
               files={"file": ("t.txt", data, "text/plain")})
    assert r.status_code == 201
    r = c.post("/api/train", data={"name": "second", "max_steps": "5"},
               files={"file": ("t.txt", data, "text/plain")})
    assert r.status_code == 429 and "busy" in r.json()["error"]
    assert not (runs_dir / "second").exists()  # the refused run left nothing behind
    assert len(list((runs_dir / "uploads").iterdir())) == 1  # only the first run's corpus
    with c.stream("GET", "/api/train/long/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: metrics"):  # it is training: now stop it
                stopped = c.post("/api/train/long/stop", json={})
                assert stopped.status_code == 200
                assert stopped.json()["job"]["status"] in ("stopping", "stopped")
                break
    ev = follow(c, "long")
    assert [d["job"]["status"] for e, d in ev if e == "status"][-1] == "stopped"
    state = json.loads((runs_dir / "long" / "state.json").read_text())
    assert 0 < state["step"] < 5000  # saved where it stopped, resumable like any run


@pytest.mark.parametrize("form, files, status, words", [
    ({"name": "bin"}, {"file": ("x.txt", b"\x00\x01binary", "text/plain")}, 400,
     "x.txt looks binary"),
    ({"name": "tiny"}, {"file": ("x.txt", b"hello", "text/plain")}, 400, "only 5 tokens"),
    ({"name": "big"}, {"file": ("x.txt", b"a" * 70_000, "text/plain")}, 413, "too large"),
    ({"name": "../up"}, {}, 400, "name: 1-40 letters"),
    ({"name": "uploads", "corpus": "folk"}, {}, 400, "not 'uploads'"),  # the uploads' folder
    ({"name": "n"}, {}, 400, "choose a built-in corpus or upload a file"),
    ({"name": "n", "corpus": "nope"}, {}, 400, "unknown corpus 'nope'"),
    ({"name": "n", "corpus": "folk", "codec": "nope"}, {}, 400, "unknown codec 'nope'"),
    ({"name": "n", "corpus": "folk", "max_steps": "many"}, {}, 400, "whole number"),
    ({"name": "n", "corpus": "folk", "max_steps": "0"}, {}, 400, "max_steps must be in"),
    ({"name": "n", "corpus": "folk", "evil": "1"}, {}, 400, "unknown form field(s) evil"),
])
def test_training_refuses_bad_requests(trainer, form, files, status, words):
    app, c, runs_dir = trainer
    r = c.post("/api/train", data=form, files=files or None)
    assert r.status_code == status and words in r.json()["error"], r.text
    assert str(runs_dir) not in r.text and "/uploads" not in r.text  # no server paths
    assert not app.state.jobs
    # a refusal leaves nothing behind: no run folder, no uploaded file or its folder
    left = [p.relative_to(runs_dir) for p in runs_dir.rglob("*")]
    assert left in ([], [Path("uploads")]), left


def test_training_needs_a_runs_dir_and_a_known_job(runs):
    c = studio_client(create_app([runs["text"]]))
    assert c.get("/api/train").json()["enabled"] is False
    r = c.post("/api/train", data={"name": "x", "corpus": "folk"})
    assert r.status_code == 403 and "--runs-dir" in r.json()["error"]
    assert c.get("/api/train/none/events").status_code == 404
    assert c.post("/api/train/none/stop", json={}).status_code == 404


# --- ABC runs: complete bars by default, a length that fits a tune, names ---------------------


@pytest.fixture(scope="module")
def abc_client(runs, tmp_path_factory):
    """The text and docs runs, and a tiny ABC run in a folder named ``run`` (as
    ``creative-rnn demo`` writes it) inside ``folk-demo``."""
    root = tmp_path_factory.mktemp("abcweb")
    out = tiny_abc_run(root, root / "folk-demo" / "run", steps=6)
    return studio_client(create_app([runs["text"], runs["docs"], out]))


def measures(text: str) -> list[tuple[float, float]]:
    """(length, the meter's bar length) in quarters of each bar, as music21 reads the ABC
    (repeat signs made plain bar lines: music21 makes no bars of a repeat left open)."""
    import re

    import music21

    head, body = text.split("K:", 1)
    score = music21.converter.parse(head + "K:" + re.sub(r":*\|+:*|::", "|", body),
                                    format="abc")
    return [(float(m.duration.quarterLength), float(m.barDuration.quarterLength))
            for m in score.recurse().getElementsByClass("Measure")]


def test_a_run_folder_named_run_is_served_under_its_parent_name(abc_client):
    names = [m["name"] for m in abc_client.get("/api/models").json()["models"]]
    assert names == ["text", "docs", "folk-demo"]


def test_models_say_their_constraints_length_and_prime_example(abc_client):
    by_name = {m["name"]: m for m in abc_client.get("/api/models").json()["models"]}
    abc, text, docs = by_name["folk-demo"], by_name["text"], by_name["docs"]
    assert abc["constraints"] == ["complete_bars"] and text["constraints"] == []
    assert abc["length"] >= 1000 and docs["length"] >= 1000  # a whole tune fits
    assert "K:" in abc["prime_example"] and "|" in abc["prime_example"]
    assert text["prime_example"] == ""


def test_an_abc_run_writes_complete_bars_unless_asked_not_to(abc_client):
    """The studio used to sample ABC without the constraint: bars of any length, meter and
    key changes mid-tune. Now every bar it closes is a whole bar of the tune's meter."""
    prime = "X:1\nM:6/8\nL:1/8\nK:D\ndfa agf|"
    found = []
    for seed in range(4):
        ev = generate(abc_client, model="folk-demo", prime=prime, length=120, seed=seed)
        (sample,) = ev[-1][1]["samples"]
        body = sample["text"].split("K:", 1)[1]
        assert "[K:" not in body and "[M:" not in body and "M:" not in body
        closed = measures(sample["text"])
        if sample["unfinished"]:
            closed = closed[:-1]  # the open bar it stopped in
        assert closed and all(length == meter for length, meter in closed), sample["text"]
        found.append(sample["unfinished"] is None)
    without = [measures(generate(abc_client, model="folk-demo", prime=prime, length=120,
                                 seed=seed, complete_bars=False)[-1][1]["samples"][0]["text"])
               for seed in range(4)]  # the tiny model's own bars: some are not whole
    assert any(length != meter for bars in without for length, meter in bars[:-1])


def test_complete_bars_on_a_codec_without_them_is_refused_by_name(abc_client):
    r = abc_client.post("/api/generate", json={"model": "text", "complete_bars": True})
    assert r.status_code == 400 and "no constraint complete_bars" in r.json()["error"]
    assert generate(abc_client, model="text", complete_bars=False, length=3)[-1][0] == "done"


def test_a_documents_sample_cut_at_the_length_says_it_is_unfinished(abc_client):
    eos = 2
    samples = [s for length in (3, 200) for s in generate(
        abc_client, model="docs", prime="The", length=length, num=4, seed=1)[-1][1]["samples"]]
    cut = [s for s in samples if s["ids"][-1] != eos]
    ended = [s for s in samples if s["ids"][-1] == eos]
    assert cut and ended
    assert all("unfinished: no end within 3 new tokens" in s["unfinished"] for s in cut)
    assert all(s["unfinished"] is None for s in ended)
    assert all(s["unfinished"] is None for s in  # a stream has no end to miss
               generate(abc_client, model="text", length=5)[-1][1]["samples"])


# --- training a built-in corpus: read in the thread, with progress ----------------------------
@pytest.fixture
def small_named_corpus(monkeypatch, tmp_path, startrek):
    """A built-in corpus of a few files (the real ones are hundreds: minutes to read)."""
    from creative_rnn import corpora

    lines = startrek.read_text(encoding="utf-8").splitlines()
    files = []
    for n in range(5):
        files.append(tmp_path / f"part{n}.txt")
        files[-1].write_text("\n".join(lines[n::5]) + "\n", encoding="utf-8")
    monkeypatch.setitem(corpora.NAMED, "mini", ("five files of titles", lambda: files))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01 binary")
    monkeypatch.setitem(corpora.NAMED, "broken", ("a binary file", lambda: [bad]))
    return files


def test_a_built_in_corpus_is_read_in_the_thread_with_progress(trainer, small_named_corpus,
                                                               monkeypatch):
    """The page used to hear nothing while the server read a big corpus (minutes, inside the
    request); now the request is answered at once and the files read are counted."""
    from creative_rnn.web import training

    app, c, runs_dir = trainer
    told = threading.Event()
    validate = training._validate

    def held(source, codec, documents, progress=None):
        def counted(done, total):
            progress(done, total)
            if done == 3:  # reading waits here until the page has been told: a hand-off
                told.wait(60)
        return validate(source, codec, documents, progress=counted)

    monkeypatch.setattr(training, "_validate", held)
    r = c.post("/api/train", data={"name": "mini", "corpus": "mini", "max_steps": "10"})
    assert r.status_code == 201, r.text
    assert r.json()["job"]["status"] == "reading"  # answered before the corpus is read
    ev, name = [], None
    with c.stream("GET", "/api/train/mini/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                ev.append((name, json.loads(line[6:])))
                if name == "progress" and (ev[-1][1]["progress"] or {}).get("done") == 3:
                    told.set()
    told.set()
    progress = [d["progress"] for e, d in ev if e == "progress" and d["progress"]]
    assert {"what": "reading the corpus", "done": 3, "total": 5} in progress
    names = [e for e, _ in ev]
    assert names.index("progress") < names.index("metrics")  # progress first, then the curve
    statuses = [d["job"]["status"] for e, d in ev if e == "status"]
    assert statuses[-1] == "done"
    samples = [d for e, d in ev if e == "sample"]
    rows = [row for e, d in ev if e == "metrics" for row in d["rows"]]
    assert samples[-1]["step"] == rows[-1]["step"] == 10  # the finished run's, last
    assert samples[-1]["text"] and len({s["step"] for s in samples}) == len(samples)
    assert "mini" in [m["name"] for m in c.get("/api/models").json()["models"]]


def test_a_built_in_corpus_that_cannot_be_read_fails_the_job_in_one_line(trainer,
                                                                          small_named_corpus):
    app, c, runs_dir = trainer
    r = c.post("/api/train", data={"name": "broken", "corpus": "broken"})
    assert r.status_code == 201, r.text
    final = [d["job"] for e, d in follow(c, "broken") if e == "status"][-1]
    assert final["status"] == "error" and "binary" in final["error"]
    assert str(small_named_corpus[0].parent) not in final["error"]  # no server folders
    assert "broken" not in [m["name"] for m in c.get("/api/models").json()["models"]]
