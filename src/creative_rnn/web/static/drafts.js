// The Write view's drafts: what the person writes is saved on the server about a second
// after typing stops (SAVE_MS), and at once when the tab is hidden or closed, so a reload,
// a closed tab or a stopped server loses at most that second. Each model has any number of
// drafts: the newest is restored when the page opens; the list switches, New and Delete.
import { $, getJSON, postJSON, request } from "./api.js";

const SAVE_MS = 1000;

export function initDrafts(box, onLoad, enabled) {
  let model = null, id = null, saved = "", timer = null, saving = null;
  // what the tests (and curious users) can read
  window.studioDrafts = { id: null, saves: 0, saved: "", list: [] };

  function status(text) { $("#write-saved").textContent = text; }

  function fill(list) {
    window.studioDrafts.list = list;
    const select = $("#write-draft");
    select.replaceChildren(...list.map((d) => new Option(
      `${d.title || "(empty)"} — ${new Date(d.updated).toLocaleString()}`, d.id)));
    if (!list.length) select.append(new Option("none yet: typing starts one", ""));
    if (id) select.value = id;
    $("#write-delete").disabled = !id;
  }

  async function refresh() {
    const { drafts } = await getJSON(`/api/drafts?model=${encodeURIComponent(model)}`);
    fill(drafts);
    return drafts;
  }

  function show(draftId, text) {
    id = draftId; saved = text;
    window.studioDrafts.id = id; window.studioDrafts.saved = text;
    onLoad(text);
  }

  function open(draftId) {
    return holding(async () => {
      await flush();
      const typed = box.value, { draft } = await getJSON(`/api/drafts/${draftId}`);
      if (box.value !== typed) { id = null; saved = ""; changed(); return; }  // kept, as above
      show(draft.id, draft.text);
      await refresh();
      status("");
    });
  }

  // The box is read-only while a draft may replace its text: a keystroke in that moment would
  // land in text about to go (or be appended to the loaded draft). Loads may overlap (the
  // page's first model, then the person's choice), so they are counted.
  let loading = 0;
  async function holding(work) {
    loading += 1;
    box.readOnly = true;
    try {
      return await work();
    } finally {
      loading -= 1;
      box.readOnly = loading > 0;
    }
  }

  // The drafts of ``name``: the newest is loaded (an empty box when there is none yet).
  function forModel(name) {
    if (name === model || !enabled) return Promise.resolve();
    // what the box held when the model changed: text put there from here on (while the old
    // draft is saved or the list is on its way) is the new model's, and is kept
    const typed = box.value;
    return holding(async () => {
      try {
        await flush();
        model = name; id = null; saved = typed;
        const drafts = name ? await refresh() : [];
        if (box.value !== typed) { saved = ""; changed(); return; }  // kept, as a new draft
        if (drafts.length) await open(drafts[0].id);
        else { show(null, ""); fill([]); status(""); }
      } catch (e) { status(`drafts: ${e.message}`); }
    });
  }

  // Saves one at a time, in order: a save started while one is on its way waits for it.
  async function save(keepalive = false) {
    clearTimeout(timer); timer = null;
    if (saving) await saving;
    const text = box.value;
    if (!enabled || !model || text === saved) return;
    saving = (async () => {
      status("saving…");
      try {
        const r = await request(id === null ? "/api/drafts" : `/api/drafts/${id}`, {
          method: "POST", keepalive, headers: { "Content-Type": "application/json" },
          body: JSON.stringify(id === null ? { model, text } : { text }),
        });
        id = (await r.json()).draft.id;
        saved = text;
        window.studioDrafts.id = id; window.studioDrafts.saved = text;
        window.studioDrafts.saves += 1;
        status(`saved ${new Date().toLocaleTimeString()}`);
        if (!keepalive) await refresh();
      } catch (e) {
        status(`not saved: ${e.message}`);
      }
    })();
    try { await saving; } finally { saving = null; }
  }

  function flush() { return timer !== null || box.value !== saved ? save() : saving; }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(() => save(), SAVE_MS);
  }

  function fresh(text = "") {
    return holding(async () => {
      await flush();
      const r = await postJSON("/api/drafts", { model, text });
      const { draft } = await r.json();
      show(draft.id, text);
      await refresh();
      status("a new draft");
    });
  }

  async function remove() {
    if (!id || !window.confirm("Delete this draft? Its text cannot be brought back.")) return;
    await holding(async () => {
      clearTimeout(timer); timer = null;
      await request(`/api/drafts/${id}`, { method: "DELETE" });
      id = null; saved = "";
      const drafts = await refresh();
      if (drafts.length) await open(drafts[0].id);
      else { show(null, ""); status("deleted"); }
    });
  }

  if (!enabled) {
    for (const b of ["#write-draft", "#write-new", "#write-delete"]) $(b).disabled = true;
    status("drafts are not kept: this studio runs without a library (--no-library)");
  }

  // a hidden or closing tab sends what is not saved yet, at once (keepalive outlives the page)
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && box.value !== saved) save(true);
  });
  window.addEventListener("pagehide", () => { if (box.value !== saved) save(true); });
  $("#write-draft").addEventListener("change", (e) => { if (e.target.value) open(e.target.value); });
  $("#write-new").addEventListener("click", () => fresh());
  $("#write-delete").addEventListener("click", () => remove());
  return { forModel, changed, fresh, flush };
}
