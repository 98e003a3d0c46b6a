// Music models: a piano roll drawn on a canvas, the score engraved by the server, and playback
// with Web Audio oscillators (no plug-ins, no samples fetched: every sound is made in the page).
import { $, postJSON } from "./api.js";
import { drumHit } from "./drums.js";

const midiToHz = (p) => 440 * Math.pow(2, (p - 69) / 12);

// Notes [pitch, start_s, end_s, velocity] as a piano roll on a canvas, with an optional
// playhead (seconds) and notes copied from the training corpus (a Map: note index -> source)
// drawn orange and outlined; their boxes are kept on the canvas for the hover text.
// Exported: the Write view draws its alternatives with it too.
export function drawRoll(canvas, ns, playhead = null, copied = new Map()) {
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  canvas.copiedBoxes = [];
  canvas.dataset.copied = 0;
  if (!ns.length) return 0;
  const end = Math.max(...ns.map((n) => n[2]), 1);
  let lo = Math.min(...ns.map((n) => n[0])) - 2, hi = Math.max(...ns.map((n) => n[0])) + 2;
  const rowH = canvas.height / (hi - lo + 1), x = (t) => (t / end) * canvas.width;
  for (let p = lo; p <= hi; p++) {  // black keys shaded, as on a keyboard
    if ([1, 3, 6, 8, 10].includes(p % 12)) {
      g.fillStyle = "#f0f0f0";
      g.fillRect(0, canvas.height - (p - lo + 1) * rowH, canvas.width, rowH);
    }
  }
  ns.forEach(([pitch, start, stop, velocity], k) => {
    const box = [x(start), canvas.height - (pitch - lo + 1) * rowH,
      Math.max(2, x(stop) - x(start) - 1), Math.max(2, rowH - 1)];
    const hue = copied.has(k) ? 30 : 215;
    g.fillStyle = `hsl(${hue}, ${copied.has(k) ? 90 : 60}%, ${70 - (velocity / 127) * 35}%)`;
    g.fillRect(...box);
    if (copied.has(k)) {
      g.strokeStyle = "#8a3c00";
      g.strokeRect(...box);
      canvas.copiedBoxes.push({ box, source: copied.get(k) });
    }
  });
  canvas.dataset.copied = canvas.copiedBoxes.length;
  if (playhead !== null) {
    g.fillStyle = "#b3261e";
    g.fillRect(x(playhead), 0, 2, canvas.height);
  }
  return ns.length;
}

// A player of notes with Web Audio oscillators: play(notes, onFrame(t or null), percussion)
// and stop(). Percussion (a codec's General MIDI drums) plays on the drum kit of drums.js.
// Exported: the Write and Library views play with it too.
export function makePlayer() {
  let audio = null, voices = [];
  const player = { scheduled: 0, state: "idle", kit: "none" };

  player.play = async (ns, onFrame = () => {}, percussion = false) => {
    player.stop();
    if (!ns.length) return;
    audio = audio || new AudioContext();
    await audio.resume();
    const t0 = audio.currentTime + 0.05, master = audio.createGain();
    master.gain.value = 0.25;
    master.connect(audio.destination);
    player.kit = percussion ? "drums" : "tones";
    for (const [pitch, start, end, velocity] of ns) {
      if (percussion) {
        voices.push(...drumHit(audio, master, pitch, velocity, t0 + start).sources);
        continue;
      }
      const osc = audio.createOscillator(), env = audio.createGain();
      osc.type = "triangle";
      osc.frequency.value = midiToHz(pitch);
      const a = t0 + start, b = t0 + Math.max(end, start + 0.05), peak = velocity / 127;
      env.gain.setValueAtTime(0, a);  // short attack and release: no clicks
      env.gain.linearRampToValueAtTime(peak, a + 0.01);
      env.gain.setValueAtTime(peak, Math.max(a + 0.01, b - 0.03));
      env.gain.linearRampToValueAtTime(0, b);
      osc.connect(env).connect(master);
      osc.start(a); osc.stop(b + 0.01);
      voices.push(osc);
    }
    player.scheduled = voices.length;
    player.state = audio.state;
    const length = Math.max(...ns.map((n) => n[2]));  // (a drum rings on a little after)
    const tick = () => {
      if (!voices.length) return;
      const t = audio.currentTime - t0;
      onFrame(Math.min(Math.max(t, 0), length));
      if (t < length) requestAnimationFrame(tick); else { voices = []; onFrame(null); }
    };
    requestAnimationFrame(tick);
  };

  player.stop = () => {
    for (const v of voices) { try { v.stop(); } catch (_) { /* already stopped */ } }
    voices = [];
    player.state = audio ? audio.state : "idle";
  };
  return player;
}

// The score of one sample: SVG engraved by the server (POST /api/score), shown by an <img>
// from a blob: URL. An SVG in an <img> cannot run scripts or touch the page, so the server's
// markup never enters this page's DOM (no innerHTML). DOMParser reads a copy, inert, only to
// count its notes: Verovio draws each note as a <g class="note">, a note split across a bar
// line as two tied ones. Returns {state, notes} for window.studioMusic.score.
// Exported: the Library view engraves its pieces with it too.
export async function engrave(img, status, model, ids, stillWanted) {
  status.textContent = "engraving the score…";
  try {
    const svg = await (await postJSON("/api/score", { model, ids })).text();
    if (!stillWanted()) return null;
    const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
    const notes = doc.querySelectorAll("g.note").length - doc.querySelectorAll("g.tie").length;
    img.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    await img.decode();
    if (!stillWanted()) return null;
    img.hidden = false;
    status.textContent = "";
    return { state: "drawn", notes };
  } catch (e) {
    if (!stillWanted()) return null;
    status.textContent = `no score: ${e.message}`;
    return { state: "failed", notes: 0, error: e.message };
  }
}

export function initMusic() {
  let samples = [], model = null, percussion = false, scoreAsked = 0;
  const player = makePlayer();
  // what the tests (and curious users) can read: notes drawn, voices scheduled, audio state,
  // and the score's state and engraved notes
  window.studioMusic = { drawn: 0, scheduled: 0, state: "idle", score: { state: "none" } };

  function clear() {
    stop();
    samples = [];
    $("#music").hidden = true;
    hideScore();
  }

  function show(newSamples, modelName, drums = false) {
    samples = newSamples.filter((s) => s.notes);
    model = modelName;
    percussion = drums;
    $("#music").hidden = samples.length === 0;
    $("#music-sample").replaceChildren(...samples.map((_, i) => new Option(`${i + 1}`, i)));
    draw();
    showScore();
  }

  function current() {
    return samples[Number($("#music-sample").value) || 0];
  }

  function notes() {
    const s = current();
    return s ? s.notes : [];
  }

  function hideScore() {
    scoreAsked += 1;  // an answer still on its way is for a sample no longer shown
    const img = $("#score");
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.hidden = true;
    img.removeAttribute("src");
    $("#score-status").textContent = "";
    window.studioMusic.score = { state: "none" };
  }

  async function showScore() {
    hideScore();
    const s = current(), asked = scoreAsked;
    if (!s || !model || !s.notes.length) return;
    window.studioMusic.score = { state: "engraving" };
    const shown = await engrave($("#score"), $("#score-status"), model, s.ids,
      () => asked === scoreAsked);
    if (shown) window.studioMusic.score = { ...shown, sample: samples.indexOf(s) };
  }

  // note index -> where the corpus holds it, from the copy meter's spans (copies.py)
  function copied() {
    const s = current(), marks = new Map();
    for (const span of (s && s.copies ? s.copies.spans : [])) {
      for (const k of span.notes || []) marks.set(k, span.source);
    }
    return marks;
  }

  function draw(playhead = null) {
    window.studioMusic.drawn = drawRoll($("#roll"), notes(), playhead, copied());
  }

  // the hover text names the source of the copied note under the pointer
  $("#roll").addEventListener("mousemove", (e) => {
    const roll = $("#roll"), r = roll.getBoundingClientRect();
    const px = (e.clientX - r.left) * (roll.width / r.width);
    const py = (e.clientY - r.top) * (roll.height / r.height);
    const hit = (roll.copiedBoxes || []).find(({ box: [bx, by, bw, bh] }) =>
      px >= bx && px <= bx + bw && py >= by && py <= by + bh);
    roll.title = hit ? `copied from ${hit.source}` : "";
  });

  async function play() {
    await player.play(notes(), (t) => draw(t), percussion);
    window.studioMusic.scheduled = player.scheduled;
    window.studioMusic.kit = player.kit;
    window.studioMusic.state = player.state;
  }

  function stop() {
    player.stop();
    window.studioMusic.state = player.state;
  }

  $("#play").addEventListener("click", () => play());
  $("#stop-play").addEventListener("click", () => { stop(); draw(); });
  $("#music-sample").addEventListener("change", () => { draw(); showScore(); });
  return { clear, show };
}
