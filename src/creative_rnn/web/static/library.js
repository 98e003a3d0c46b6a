// The Library view: every piece the studio made (and the CLI, into the same library), newest
// first; filter by run, tag, star and text; play, score, open in Write, download, remove;
// and train a new run on the starred pieces of a run. Pieces are named by id only: the
// server never sends a path.
import { $, getJSON, postJSON, request, showError } from "./api.js";
import { drawRoll, engrave, makePlayer } from "./music.js";

const PAGE = 50;  // pieces a page of the list shows; More asks for the next
const SEARCH_MS = 300;  // typing in the search box asks once, when the person pauses

// A star that says and sets whether piece ``id`` is a favourite, with an optional label.
// Used by the Generate view too.
export function starButton(id, starred, onChange = () => {}, label = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "star secondary";
  const set = (on) => {
    b.dataset.starred = on ? "true" : "false";
    b.textContent = (on ? "★" : "☆") + (label ? ` ${label}` : "");
    b.title = on ? "starred: click to unstar" : "star this piece (train on your favourites)";
    b.setAttribute("aria-pressed", on ? "true" : "false");
  };
  set(starred);
  b.addEventListener("click", async () => {
    const want = b.dataset.starred !== "true";
    try {
      const r = await postJSON(`/api/library/${id}/star`, { star: want });
      set((await r.json()).piece.star);
      onChange(want);
    } catch (e) { showError(e.message); }
  });
  return b;
}

export function initLibrary(studio, write, train) {
  const player = makePlayer();
  let offset = 0, timer = null, asked = 0, scoreAsked = 0;
  window.studioLibrary = { ids: [], total: 0, loads: 0 };
  const on = Boolean(studio.library && studio.library.on);

  function query() {
    const q = new URLSearchParams({ limit: PAGE, offset });
    if ($("#lib-run").value) q.set("run", $("#lib-run").value);
    if ($("#lib-tag").value) q.set("tag", $("#lib-tag").value);
    if ($("#lib-search").value.trim()) q.set("q", $("#lib-search").value.trim());
    if ($("#lib-starred").checked) q.set("starred", "true");
    return q;
  }

  function fillFilters(runs, tags) {
    for (const [sel, rows, all] of [["#lib-run", runs, "all runs"], ["#lib-tag", tags, "any tag"]]) {
      const select = $(sel), keep = select.value;
      select.replaceChildren(new Option(all, ""),
        ...rows.map((r) => new Option(`${r.name} (${r.count})`, r.name)));
      if (rows.some((r) => r.name === keep)) select.value = keep;
    }
  }

  // The list for the filters; an error (a locked or damaged library) is said in its place.
  async function refresh(more = false) {
    if (!on) return;
    offset = more ? offset + PAGE : 0;
    const mine = ++asked;
    let answer;
    try {
      answer = await getJSON(`/api/library?${query()}`);
    } catch (e) {
      if (mine === asked) $("#lib-status").textContent = `library: ${e.message}`;
      return;
    }
    if (mine !== asked) return;  // a newer filter's answer is on its way
    fillFilters(answer.runs, answer.tags);
    const items = answer.pieces.map(item);
    if (more) $("#lib-pieces").append(...items); else $("#lib-pieces").replaceChildren(...items);
    const shown = $("#lib-pieces").children.length;
    $("#lib-more").hidden = shown >= answer.total;
    $("#lib-status").textContent = answer.total
      ? `${answer.total} piece${answer.total === 1 ? "" : "s"}` +
        (shown < answer.total ? `, ${shown} shown` : "")
      : "no pieces yet: generate something, or change the filters";
    window.studioLibrary.ids = [...$("#lib-pieces").children].map((li) => Number(li.dataset.id));
    window.studioLibrary.total = answer.total;
    window.studioLibrary.loads += 1;
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch((e) => showError(e.message)), SEARCH_MS);
  }

  function button(label, title, action) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "secondary"; b.textContent = label; b.title = title;
    b.addEventListener("click", () => action(b).catch((e) => showError(e.message)));
    return b;
  }

  // One piece: its star, what made it, its text, its tags and what can be done with it.
  function item(p) {
    const li = document.createElement("li");
    li.className = "piece";
    li.dataset.id = p.id;
    const head = document.createElement("div");
    head.className = "piece-head";
    const what = document.createElement("span");
    what.className = "hint";
    const settings = p.settings || {};
    what.textContent = [`#${p.id}`, p.title, p.run, p.maker, p.created && p.created.replace("T", " ").slice(0, 19),
      p.seed !== null && p.seed !== undefined ? `seed ${p.seed}` : null,
      settings.temperature !== undefined ? `temperature ${settings.temperature}` : null]
      .filter(Boolean).join(" · ");
    head.append(starButton(p.id, p.star, () => { if ($("#lib-starred").checked) later(); }),
      what);
    const text = document.createElement("pre");
    text.className = "sample";
    text.textContent = p.text || "";
    const tags = document.createElement("div");
    tags.className = "row tags";
    for (const t of p.tags || []) {
      tags.append(button(`${t} ×`, `remove the tag ${t}`, async () => {
        await postJSON(`/api/library/${p.id}/tags`, { remove: [t] });
        await refresh();
      }));
    }
    const tagInput = Object.assign(document.createElement("input"),
      { type: "text", placeholder: "add a tag", className: "tag-input", maxLength: 40 });
    tagInput.addEventListener("keydown", async (e) => {
      if (e.key !== "Enter" || !tagInput.value.trim()) return;
      try {
        await postJSON(`/api/library/${p.id}/tags`, { add: [tagInput.value.trim()] });
        await refresh();
      } catch (err) { showError(err.message); }
    });
    tags.append(tagInput);
    const actions = document.createElement("div");
    actions.className = "row";
    const model = p.model && studio.models.find((m) => m.name === p.model);
    if (model && model.music) {
      actions.append(button("Play", "play the piece", () => play(p)),
        button("Score", "engrave the piece as a score", () => score(p)));
    }
    if (model) {
      actions.append(button("Open in Write", "continue it in the Write view, as a new draft",
        async () => { await write.open(model.name, p.text || ""); location.hash = "#write"; }));
    }
    for (const fmt of p.formats || []) {
      actions.append(button(`.${fmt}`, `download as .${fmt}`, () => download(p, fmt)));
    }
    actions.append(button("Remove", "remove it from the library", async () => {
      if (!window.confirm(`Remove piece #${p.id} from the library? This cannot be undone.`)) return;
      await request(`/api/library/${p.id}`, { method: "DELETE" });
      await refresh();
    }));
    if (!model) {
      const why = document.createElement("span");
      why.className = "hint";
      why.textContent = "its run is not served here: serve it to play, score or write on";
      actions.append(why);
    }
    li.append(head, text, tags, actions);
    return li;
  }

  async function detail(p) {
    return (await getJSON(`/api/library/${p.id}`)).piece;
  }

  async function play(p) {
    const piece = await detail(p), notes = piece.roll || [];
    $("#lib-music").hidden = false;
    drawRoll($("#lib-roll"), notes);
    const m = studio.models.find((x) => x.name === piece.model);
    await player.play(notes, (t) => drawRoll($("#lib-roll"), notes, t), Boolean(m && m.percussion));
    window.studioLibrary.played = { id: p.id, scheduled: player.scheduled, kit: player.kit };
  }

  async function score(p) {
    const piece = await detail(p), mine = ++scoreAsked;
    $("#lib-music").hidden = false;
    drawRoll($("#lib-roll"), piece.roll || []);
    window.studioLibrary.score = await engrave($("#lib-score"), $("#lib-score-status"),
      piece.model, piece.ids, () => mine === scoreAsked);
  }

  async function download(p, fmt) {
    const response = await request(`/api/library/${p.id}/file?format=${encodeURIComponent(fmt)}`);
    const url = URL.createObjectURL(await response.blob());
    const a = Object.assign(document.createElement("a"),
      { href: url, download: `piece-${p.id}.${fmt}` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function fillModels() {
    const select = $("#fav-run"), keep = select.value;
    select.replaceChildren(...studio.models.map((m) => new Option(m.name, m.name)));
    if (studio.models.some((m) => m.name === keep)) select.value = keep;
  }

  $("#fav-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("");
    try {
      const r = await postJSON("/api/library/train", {
        model: $("#fav-run").value, name: $("#fav-name").value.trim(),
        mix: Number($("#fav-mix").value) || 0, max_steps: Number($("#fav-steps").value) || 100,
      });
      const { job, pieces } = await r.json();
      $("#fav-status").textContent =
        `${job.name}: training on ${pieces} starred piece${pieces === 1 ? "" : "s"}; see Train`;
      window.studioLibrary.training = job.name;
      train.watch(job);
    } catch (err) { showError(err.message); }
  });

  if (!on) {
    $("#lib-status").textContent =
      `no library: ${(studio.library && studio.library.why) || "recording is off"}`;
    $("#fav-start").disabled = true;
  }
  $("#fav-steps").max = studio.limits.max_train_steps;
  for (const id of ["#lib-run", "#lib-tag", "#lib-starred"]) {
    $(id).addEventListener("change", () => refresh().catch((e) => showError(e.message)));
  }
  $("#lib-search").addEventListener("input", later);
  $("#lib-refresh").addEventListener("click", () => refresh().catch((e) => showError(e.message)));
  $("#lib-more").addEventListener("click", () => refresh(true).catch((e) => showError(e.message)));
  // the list is read again whenever the view is opened: pieces made meanwhile appear
  window.addEventListener("hashchange", () => {
    if (location.hash === "#library") refresh().catch((e) => showError(e.message));
  });
  fillModels();
  return { refresh, fillModels };
}
