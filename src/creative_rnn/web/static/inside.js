// The Inside view: the network's hidden state and cell values at every step of a sample.
// Hover or click a token for the bars of one step; pick a cell to colour the text by it.
import { $, postJSON, showError } from "./api.js";

// -1 blue .. 0 white .. +1 red, as in Karpathy's char-rnn cell pictures
function colour(v) {
  const a = Math.min(1, Math.abs(v));
  return v >= 0 ? `rgba(214, 39, 40, ${a * 0.75})` : `rgba(31, 119, 180, ${a * 0.75})`;
}

export function initInside(studio) {
  let model = null, samples = [], acts = null, step = null;
  window.studioInside = { tokens: 0, step: null, cell: null };

  async function show(m, s) {
    model = m; samples = s;
    $("#inside-sample").replaceChildren(...samples.map((_, i) => new Option(`${i + 1}`, i)));
    await load();
  }

  async function load() {
    const s = samples[Number($("#inside-sample").value) || 0];
    if (!s) return;
    try {
      // a long sample is shown from its start: only what a request may carry is sent
      const ids = s.ids.slice(0, studio.limits.max_inside_ids || s.ids.length);
      const r = await postJSON("/api/activations", { model: model.name, ids });
      acts = await r.json();
    } catch (e) { showError(e.message); return; }
    $("#act-layer").replaceChildren(...Array.from({ length: acts.layers },
      (_, i) => new Option(`${i + 1}`, i)));
    $("#act-layer").value = acts.layers - 1;
    $("#act-key").replaceChildren(...acts.keys.map((k) => new Option(k, k)));
    $("#cell").max = acts.hidden - 1;
    renderTokens();
    select(acts.tokens.length - 1);
    const total = Math.max(acts.total_steps, s.ids.length);
    if (total > acts.tokens.length) {
      $("#step-info").textContent += ` (showing the first ${acts.tokens.length} of ` +
        `${total} steps)`;
    }
  }

  function values() {
    return acts.values[$("#act-key").value][Number($("#act-layer").value)];  // (T, hidden)
  }

  function renderTokens() {
    const spans = acts.tokens.map((text, t) => {
      const span = document.createElement("span");
      span.className = "tok";
      span.dataset.t = t;
      span.textContent = text === "\n" ? "↵\n" : text;
      return span;
    });
    $("#tokens").replaceChildren(...spans);
    window.studioInside.tokens = spans.length;
    paintCell();
  }

  function paintCell() {
    const raw = $("#cell").value, cell = raw === "" ? null : Number(raw);
    const ok = cell !== null && cell >= 0 && cell < acts.hidden;
    const v = values();
    for (const span of $("#tokens").children) {
      span.style.background = ok ? colour(v[Number(span.dataset.t)][cell]) : "";
    }
    window.studioInside.cell = ok ? cell : null;
  }

  function select(t) {
    if (!acts || t < 0) return;
    step = t;
    for (const el of $("#tokens").querySelectorAll(".active")) el.classList.remove("active");
    $("#tokens").children[t]?.classList.add("active");
    const v = values()[t], key = $("#act-key").value;
    const strongest = v.map((x, i) => [Math.abs(x), i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    $("#step-info").textContent = `step ${t + 1} of ${acts.tokens.length}, token ` +
      `${JSON.stringify(acts.tokens[t])}: ${key} of layer ${Number($("#act-layer").value) + 1}` +
      ` — strongest cells ${strongest.map(([, i]) => `${i} (${v[i].toFixed(2)})`).join(", ")}`;
    drawBars(v);
    window.studioInside.step = t;
  }

  function drawBars(v) {
    const canvas = $("#bars"), g = canvas.getContext("2d"), mid = canvas.height / 2;
    const w = canvas.width / v.length;
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = "#ccc"; g.fillRect(0, mid, canvas.width, 1);
    const cell = window.studioInside.cell;
    v.forEach((x, i) => {
      g.fillStyle = i === cell ? "#222" : colour(x >= 0 ? 1 : -1);
      const h = Math.max(-1, Math.min(1, x)) * (mid - 4);
      g.fillRect(i * w + 1, h >= 0 ? mid - h : mid, Math.max(1, w - 2), Math.abs(h));
    });
  }

  const tokenAt = (e) => e.target.closest(".tok");
  $("#tokens").addEventListener("mouseover", (e) => { const s = tokenAt(e); if (s) select(Number(s.dataset.t)); });
  $("#tokens").addEventListener("click", (e) => { const s = tokenAt(e); if (s) select(Number(s.dataset.t)); });
  $("#bars").addEventListener("click", (e) => {
    if (!acts) return;
    const r = e.target.getBoundingClientRect();
    $("#cell").value = Math.floor(((e.clientX - r.left) / r.width) * acts.hidden);
    paintCell(); select(step);
  });
  $("#cell").addEventListener("input", () => { if (acts) { paintCell(); select(step); } });
  for (const id of ["#act-layer", "#act-key"]) {
    $(id).addEventListener("change", () => { if (acts) { paintCell(); select(step); } });
  }
  $("#inside-sample").addEventListener("change", load);
  return { show };
}
