// The Write view: the person types, the model proposes what comes next.
// The proposal shows in grey after the cursor (a mirror of the text behind a transparent
// textarea); Tab accepts it, Esc dismisses it; the alternatives are listed with their
// probabilities (click one to take it), and for music runs each has a small piano roll that
// plays on click. Proposals are asked for a moment after typing stops (DELAY_MS). Spans of
// the text (with the proposal) found verbatim in the training corpus are marked in the
// mirror and listed with their source (the copy meter, /api/copied).
import { $, getJSON, postJSON, primeHint } from "./api.js";
import { initDrafts } from "./drafts.js";
import { drawRoll, makePlayer } from "./music.js";

const DELAY_MS = 300;  // typing faster than this asks once, when the person pauses
const MIN_PLACED = 3;  // characters of a copied span's end that place it in the text

export function initWrite(studio) {
  const text = $("#write-text"), mirror = $("#write-mirror"), player = makePlayer();
  let units = {}, proposal = "", spans = [], asked = 0, timer = null, controller = null;
  let ending = false;  // the model's best guess is that the piece ends here
  // what the tests (and curious users) can read
  window.studioWrite = { requests: 0, answers: 0, prime: null, proposal: "", alternatives: [],
    copied: null, ending: false, shaded: 0 };
  // the text is kept as drafts on the server (drafts.js); a loaded draft replaces the text
  const drafts = initDrafts(text, (saved) => { text.value = saved; setProposal(""); },
    Boolean(studio.library && studio.library.on));

  function current() {
    return studio.models.find((m) => m.name === $("#write-model").value);
  }

  async function fillModels() {
    const select = $("#write-model"), keep = select.value;
    select.replaceChildren(...studio.models.map((m) => new Option(m.name, m.name)));
    if (studio.models.some((m) => m.name === keep)) select.value = keep;
    units = await getJSON("/api/units");
    describe();
    await drafts.forModel(select.value);
  }

  // A piece from the Library as a new draft of its model, shown here.
  async function open(modelName, pieceText) {
    $("#write-model").value = modelName;
    describe();
    await drafts.forModel(modelName);
    await drafts.fresh(pieceText);
  }

  function describe() {
    const m = current(), select = $("#write-unit"), keep = select.value;
    const names = (m && units[m.name]) || ["token"];
    const label = { token: "a token", word: "a word", bar: "a bar" };
    select.replaceChildren(...names.map((u) => new Option(label[u] || u, u)),
      new Option("up to the length", ""));
    select.value = names.includes(keep) ? keep : names[names.length - 1];
    text.placeholder = primeHint(m, "start writing");
    setProposal("");
    showAlternatives(m, []);
  }

  function before() { return text.value.slice(0, text.selectionStart); }
  function after() { return text.value.slice(text.selectionEnd); }

  // The mirror holds the same text as the textarea, invisible, with the proposal visible at
  // the cursor: the grey text sits exactly where accepting it would put it. Copied spans
  // (character offsets into text-with-proposal) are shaded behind the text.
  function setProposal(p, copied = [], end = false) {
    proposal = p;
    spans = copied;
    ending = end && !p;
    window.studioWrite.proposal = p;
    window.studioWrite.ending = ending;
    const all = before() + p + after(), g0 = before().length, g1 = g0 + p.length;
    const cuts = new Set([0, g0, g1, all.length]);
    for (const s of spans) { cuts.add(s.start); cuts.add(s.end); }
    const at = [...cuts].filter((c) => c >= 0 && c <= all.length).sort((a, b) => a - b);
    const parts = [], ghost = () => Object.assign(document.createElement("span"),
      { className: "ghost" });
    for (let i = 0; i + 1 < at.length; i++) {
      const [a, b] = [at[i], at[i + 1]];
      if (a === g0 && g0 === g1) parts.push(ghost());  // an empty one, always to be found
      const part = document.createElement("span");
      part.textContent = all.slice(a, b);
      if (a >= g0 && b <= g1) part.className = "ghost";
      if (spans.some((s) => s.start <= a && b <= s.end)) part.classList.add("copied");
      parts.push(part);
    }
    if (g0 === g1 && g0 === all.length) parts.push(ghost());
    if (ending) {  // shown, never inserted: Tab has nothing to take
      const mark = parts.find((x) => x.className === "ghost" && !x.textContent);
      if (mark) Object.assign(mark, { className: "ghost end", textContent: " (end)" });
    }
    window.studioWrite.shaded = parts.filter((x) => x.classList.contains("copied")).length;
    mirror.replaceChildren(...parts, document.createTextNode("\n"));
    mirror.scrollTop = text.scrollTop;
  }

  function insert(p) {
    const at = text.selectionStart + p.length;
    text.value = before() + p + after();
    text.setSelectionRange(at, at);
    text.focus();
    setProposal("");
    drafts.changed();
    later(0);  // the next proposal, for the text as it now is
  }

  function later(ms = DELAY_MS) {
    clearTimeout(timer);
    timer = setTimeout(propose, ms);
  }

  async function propose() {
    const m = current();
    if (!m) return;
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = ++asked, unit = $("#write-unit").value;
    const body = {
      model: m.name, prime: before(), k: Number($("#write-k").value) || 5,
      unit: unit === "" ? null : unit, length: Number($("#write-length").value) || 64,
      method: $("#write-method").value, temperature: Number($("#write-temperature").value),
    };
    window.studioWrite.requests += 1;
    $("#write-status").textContent = "thinking…";
    try {
      const answer = await (await postJSON("/api/continue", body, controller.signal)).json();
      // the text changed meanwhile (a newer answer is coming): this one is for another text
      if (mine !== asked || body.prime !== before()) return;
      window.studioWrite.answers += 1;
      window.studioWrite.prime = body.prime;
      const alts = answer.alternatives;
      setProposal(alts.length ? alts[0].text : "", [], isEnd(alts[0]));
      showAlternatives(m, alts);
      const total = alts.reduce((s, a) => s + a.prob, 0);
      $("#write-status").textContent =
        `${alts.length} alternatives, together ${(100 * total).toPrecision(3)}% likely`;
      // a music proposal the server could not read with the text (no notes for it: an ABC
      // header cut mid-line, say) is left out of the copy check, which would refuse it
      await markCopied(m, mine, !m.music || !alts.length || alts[0].notes !== null);
    } catch (e) {
      if (e.name === "AbortError") return;
      if (mine === asked) { setProposal(""); $("#write-status").textContent = e.message; }
    }
  }

  // What of the text, with the proposal, the training corpus holds verbatim.
  async function markCopied(m, mine, withProposal) {
    const list = $("#write-copied");
    if (!(before() + after()).trim()) {  // nothing of the person's yet (and a model's
      list.replaceChildren();  // opening alone may be no piece yet: an ABC header)
      $("#write-copied-head").textContent = "";
      setProposal(proposal, [], ending);
      return;
    }
    try {
      const added = withProposal ? proposal : "";
      const body = { model: m.name, text: before() + added + after() };
      const answer = await (await postJSON("/api/copied", body, controller.signal)).json();
      if (mine !== asked || body.text !== before() + added + after()) return;
      window.studioWrite.copied = answer;
      setProposal(proposal, answer.chars ? answer.spans
        : placeByText(before() + proposal + after(), answer.spans), ending);
      list.replaceChildren(...answer.spans.map((s) => {
        const li = document.createElement("li");
        li.textContent = `“${s.text}” — ${s.source}`;
        li.title = `copied from ${s.source}`;
        return li;
      }));
      $("#write-copied-head").textContent = answer.spans.length
        ? "Found verbatim in the training corpus:" : "";
    } catch (e) {
      if (e.name !== "AbortError" && mine === asked) {
        list.replaceChildren();
        $("#write-copied-head").textContent = `copy meter: ${e.message}`;
      }
    }
  }

  // An alternative that ends the piece: no text, and complete (the end token).
  function isEnd(a) {
    return Boolean(a) && a.text === "" && a.complete;
  }

  // Spans the meter gives in tokens (a music phrase's text is not its tokens' text) placed
  // on the text by their characters, whitespace aside, in order. A span whose start is
  // spelled otherwise in the text (an ABC header: "K:D" is the token "K:Dmaj") is placed
  // by its longest end that is found; one not found at all is listed below the box only.
  function placeByText(all, found) {
    const index = [];
    for (let i = 0; i < all.length; i++) if (!/\s/.test(all[i])) index.push(i);
    const flat = index.map((i) => all[i]).join("");
    const out = [];
    let from = 0;
    for (const s of found) {
      let want = s.text.replace(/\s+/g, ""), at = -1;
      while (want.length >= MIN_PLACED && (at = flat.indexOf(want, from)) < 0) {
        want = want.slice(1);
      }
      if (at < 0 || want.length < MIN_PLACED) continue;
      out.push({ start: index[at], end: index[at + want.length - 1] + 1, source: s.source });
      from = at + 1;
    }
    return out;
  }

  function percent(p) {
    return p >= 0.001 ? `${(100 * p).toFixed(1)}%` : `${(100 * p).toExponential(1)}%`;
  }

  // Whitespace made visible, so that a proposal of " " or a line break can be told apart.
  function shown(s) {
    return s.replace(/\n/g, "↵").replace(/ /g, "·") || "(end)";
  }

  function showAlternatives(m, alts) {
    window.studioWrite.alternatives = alts.map((a) => ({ text: a.text, prob: a.prob }));
    const items = alts.map((a, i) => {
      const li = document.createElement("li");
      li.className = "alt";
      li.dataset.prob = a.prob;
      const pick = document.createElement("button");
      pick.type = "button"; pick.className = "secondary alt-pick";
      pick.textContent = shown(a.text);
      pick.title = a.complete ? "take this one" : "take this one (cut at the length limit)";
      pick.addEventListener("click", () => insert(a.text));
      const prob = document.createElement("span");
      prob.className = "prob";
      prob.textContent = percent(a.prob);
      li.append(pick, prob);
      if (m && m.music && a.notes) li.append(roll(a.notes, i, m.percussion));
      return li;
    });
    $("#write-alternatives").replaceChildren(...items);
  }

  // A small piano roll of what one alternative adds, starting at its first note; click plays.
  function roll(notes, i, percussion) {
    const canvas = document.createElement("canvas");
    canvas.width = 220; canvas.height = 60;
    canvas.className = "alt-roll";
    canvas.setAttribute("aria-label", `piano roll of alternative ${i + 1}`);
    const t0 = notes.length ? Math.min(...notes.map((n) => n[1])) : 0;
    const ns = notes.map(([p, s, e, v]) => [p, s - t0, e - t0, v]);
    canvas.dataset.notes = ns.length;
    drawRoll(canvas, ns);
    canvas.title = "play";
    canvas.addEventListener("click", async () => {
      await player.play(ns, (t) => drawRoll(canvas, ns, t), percussion);
      canvas.dataset.scheduled = player.scheduled;
    });
    return canvas;
  }

  text.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) {
      e.preventDefault();  // Tab never leaves the box (Shift+Tab does)
      if (proposal) insert(proposal);
      else if (ending) $("#write-status").textContent = "the model would end here: nothing to take";
      else later(0);  // no proposal yet: ask for one now
    } else if (e.key === "Escape" && (proposal || ending)) {
      e.preventDefault();
      clearTimeout(timer);
      asked += 1;  // an answer on its way is no longer wanted
      setProposal("");
    }
  });
  text.addEventListener("input", () => { setProposal(""); later(); drafts.changed(); });
  text.addEventListener("click", () => { setProposal(""); later(); });
  text.addEventListener("keyup", (e) => {  // the cursor moved: propose for where it is now
    if (/^(Arrow|Home|End|Page)/.test(e.key)) { setProposal(""); later(); }
  });
  text.addEventListener("scroll", () => { mirror.scrollTop = text.scrollTop; });
  $("#write-propose").addEventListener("click", () => { text.focus(); later(0); });
  $("#write-model").addEventListener("change", async () => {
    describe();
    await drafts.forModel($("#write-model").value);
    later(0);
  });
  for (const id of ["#write-unit", "#write-k", "#write-method", "#write-length",
    "#write-temperature"]) {
    $(id).addEventListener("change", () => later(0));
  }
  return { fillModels, open };
}
