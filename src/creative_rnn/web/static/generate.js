// The Generate view: options -> a stream of tokens into the page; stop; downloads; music.
import { $, postJSON, primeHint, readEvents, request, showError } from "./api.js";
import { starButton } from "./library.js";
import { initMusic } from "./music.js";

export function initGenerate(studio, onDone) {
  const music = initMusic();
  let controller = null;

  function current() {
    return studio.models.find((m) => m.name === $("#model").value);
  }

  function fillModels() {
    const select = $("#model"), keep = select.value;
    select.replaceChildren(...studio.models.map((m) => new Option(m.name, m.name)));
    if (studio.models.some((m) => m.name === keep)) select.value = keep;
    describe();
  }

  function describe() {
    const m = current();
    $("#model-info").textContent = m
      ? `${m.codec} codec, ${m.cell} ${m.layers}×${m.hidden}, ${m.vocab} tokens` +
        (m.documents ? ", documents" : "") + (m.music ? ", music" : "")
      : "no models served yet: train one below";
    $("#go").disabled = !m;
    if (!m) return;
    // what this model's codec reads, its own length, and its constraints (on by default)
    $("#prime").placeholder = primeHint(m, "text to start from");
    $("#length").value = m.length || 300;
    const bars = (m.constraints || []).includes("complete_bars");
    $("#complete-bars-box").hidden = !bars;
    $("#complete-bars").checked = bars;
  }

  function options() {
    const num = (id) => Number($(id).value);
    const body = {
      model: $("#model").value, prime: $("#prime").value,
      temperature: num("#temperature"), top_k: num("#top_k"), top_p: num("#top_p"),
      length: num("#length"), num: num("#num"),
    };
    if ($("#seed").value !== "") body.seed = num("#seed");
    if (!$("#complete-bars-box").hidden) body.complete_bars = $("#complete-bars").checked;
    return body;
  }

  // One element per sample: <pre> for streams, <li> of a list for documents mode.
  function makeOutputs(model, n, primeText) {
    const out = $("#output");
    const holder = model.documents ? document.createElement("ol") : out;
    out.replaceChildren();
    if (model.documents) { holder.id = "items"; out.append(holder); }
    const nodes = [];
    for (let i = 0; i < n; i++) {
      const el = document.createElement(model.documents ? "li" : "pre");
      el.className = "sample";
      el.dataset.sample = i;
      const prime = document.createElement("span");
      prime.className = "prime";
      prime.textContent = primeText;
      const text = document.createTextNode("");
      el.append(prime, text);
      holder.append(el);
      nodes.push(text);
    }
    return nodes;
  }

  async function run(event) {
    event.preventDefault();
    showError("");
    const model = current(), body = options();
    controller = new AbortController();
    $("#go").disabled = true; $("#stop").disabled = false;
    $("#gen-status").textContent = "generating…";
    $("#downloads").replaceChildren();
    $("#stars").replaceChildren();
    music.clear();
    let nodes = [], ids = [], samples = null, tokens = 0;
    try {
      const response = await postJSON("/api/generate", body, controller.signal);
      await readEvents(response, (name, data) => {
        if (name === "start") {
          nodes = makeOutputs(model, body.num, data.prime_text.join(""));
          ids = Array.from({ length: body.num }, () => [...data.prime_ids]);
        } else if (name === "tokens") {
          for (const step of data.steps) {
            for (const [i, id, text] of step) { nodes[i].appendData(text); ids[i].push(id); }
            tokens += 1;
          }
          $("#gen-status").textContent = `${tokens} steps`;
        } else if (name === "done") {
          samples = data.samples;
        } else if (name === "error") {
          throw new Error(data.error);
        }
      });
      $("#gen-status").textContent = `done: ${tokens} steps`;
      const cut = (samples || []).map((s, i) => s.unfinished && `sample ${i + 1}: ${s.unfinished}`)
        .filter(Boolean);
      if (cut.length) $("#gen-status").textContent += ` — ${cut.join("; ")}`;
    } catch (e) {
      if (e.name === "AbortError") $("#gen-status").textContent = `stopped after ${tokens} steps`;
      else { showError(e.message); $("#gen-status").textContent = ""; }
    } finally {
      controller = null;
      $("#go").disabled = false; $("#stop").disabled = true;
    }
    if (!ids.length) return;
    if (samples) samples.forEach((s, i) => {  // an unfinished tune says so where it is shown
      const el = nodes[i] && nodes[i].parentNode;  // before markCopies replaces the text node
      if (el && s.unfinished) el.dataset.unfinished = s.unfinished;  // shown by style.css
    });
    if (samples) markCopies(nodes, samples);
    window.studioGenerate = { samples: samples || [] };  // for the tests: ids and their copies
    samples = samples || ids.map((s) => ({ ids: s, text: null, notes: null }));
    if (model.music) music.show(samples, model.name, model.percussion);
    addDownloads(model, samples);
    addStars(samples);
    onDone(model, samples);
  }

  // The copy meter's spans (characters of the shown text, server-placed: copies.py) shaded
  // in each sample, with their sources on hover. The text is rebuilt from its own characters
  // as spans of textContent: nothing from the sample or the corpus is parsed as markup.
  function markCopies(nodes, samples) {
    const errors = new Set();
    nodes.forEach((node, i) => {
      const copies = samples[i] && samples[i].copies, el = node.parentNode;
      if (!copies || !el) return;
      if (copies.error) errors.add(copies.error);
      const all = el.textContent, primeEnd = el.querySelector(".prime").textContent.length;
      const spans = copies.spans.filter((s) => s.to > s.from && s.to <= all.length);
      const cuts = new Set([0, primeEnd, all.length]);
      for (const s of spans) { cuts.add(s.from); cuts.add(s.to); }
      const at = [...cuts].sort((a, b) => a - b), parts = [];
      for (let k = 0; k + 1 < at.length; k++) {
        const [a, b] = [at[k], at[k + 1]];
        if (a === b) continue;
        const part = document.createElement("span");
        part.textContent = all.slice(a, b);
        if (b <= primeEnd) part.className = "prime";
        const from = spans.filter((s) => s.from <= a && b <= s.to);
        if (from.length) {
          part.classList.add("copied");
          part.title = `copied from ${[...new Set(from.map((s) => s.source))].join("; ")}`;
        }
        parts.push(part);
      }
      el.replaceChildren(...parts);
      el.dataset.copied = spans.length;
    });
    if (errors.size) $("#gen-status").textContent += ` (copy meter: ${[...errors].join("; ")})`;
  }

  // Each sample is kept in the library (server side, with what made it): a star per sample,
  // or the line saying why it was not kept.
  function addStars(samples) {
    const stars = samples.flatMap((s, i) => s.piece
      ? [starButton(s.piece, false, () => {}, `sample ${i + 1}`)] : []);
    const why = samples.map((s) => s.recorded).find(Boolean);
    if (why) $("#gen-status").textContent += ` (${why})`;
    $("#stars").replaceChildren(...stars);
    window.studioGenerate.pieces = samples.map((s) => s.piece || null);
  }

  function addDownloads(model, samples) {
    const buttons = [];
    samples.forEach((s, i) => model.formats.forEach((fmt) => {
      const b = document.createElement("button");
      b.type = "button"; b.className = "secondary download";
      b.textContent = `sample ${i + 1} .${fmt}`;
      b.dataset.format = fmt;
      b.addEventListener("click", () => download(model, s.ids, fmt, i));
      buttons.push(b);
    }));
    $("#downloads").replaceChildren(...buttons);
  }

  async function download(model, ids, format, i) {
    try {
      const response = await request("/api/export", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: model.name, ids, format }),
      });
      const url = URL.createObjectURL(await response.blob());
      const a = Object.assign(document.createElement("a"),
        { href: url, download: `${model.name}-${i + 1}.${format}` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { showError(e.message); }
  }

  $("#model").addEventListener("change", describe);
  $("#gen-form").addEventListener("submit", run);
  $("#stop").addEventListener("click", () => controller && controller.abort());
  fillModels();
  return { fillModels };
}
