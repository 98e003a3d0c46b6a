// Music models: a piano roll drawn on a canvas and playback with Web Audio oscillators
// (no plug-ins, no samples fetched: every sound is made in the page).
import { $ } from "./api.js";

const midiToHz = (p) => 440 * Math.pow(2, (p - 69) / 12);

export function initMusic() {
  let samples = [], audio = null, voices = [];
  // what the tests (and curious users) can read: notes drawn, voices scheduled, audio state
  window.studioMusic = { drawn: 0, scheduled: 0, state: "idle" };

  function clear() {
    stop();
    samples = [];
    $("#music").hidden = true;
  }

  function show(newSamples) {
    samples = newSamples.filter((s) => s.notes);
    $("#music").hidden = samples.length === 0;
    $("#music-sample").replaceChildren(...samples.map((_, i) => new Option(`${i + 1}`, i)));
    draw();
  }

  function notes() {
    const s = samples[Number($("#music-sample").value) || 0];
    return s ? s.notes : [];
  }

  function draw(playhead = null) {
    const canvas = $("#roll"), g = canvas.getContext("2d");
    const ns = notes();
    g.clearRect(0, 0, canvas.width, canvas.height);
    if (!ns.length) { window.studioMusic.drawn = 0; return; }
    const end = Math.max(...ns.map((n) => n[2]), 1);
    let lo = Math.min(...ns.map((n) => n[0])) - 2, hi = Math.max(...ns.map((n) => n[0])) + 2;
    const rowH = canvas.height / (hi - lo + 1), x = (t) => (t / end) * canvas.width;
    for (let p = lo; p <= hi; p++) {  // black keys shaded, as on a keyboard
      if ([1, 3, 6, 8, 10].includes(p % 12)) {
        g.fillStyle = "#f0f0f0";
        g.fillRect(0, canvas.height - (p - lo + 1) * rowH, canvas.width, rowH);
      }
    }
    for (const [pitch, start, stop, velocity] of ns) {
      g.fillStyle = `hsl(215, 60%, ${70 - (velocity / 127) * 35}%)`;
      g.fillRect(x(start), canvas.height - (pitch - lo + 1) * rowH,
        Math.max(2, x(stop) - x(start) - 1), Math.max(2, rowH - 1));
    }
    if (playhead !== null) {
      g.fillStyle = "#b3261e";
      g.fillRect(x(playhead), 0, 2, canvas.height);
    }
    window.studioMusic.drawn = ns.length;
  }

  async function play() {
    stop();
    const ns = notes();
    if (!ns.length) return;
    audio = audio || new AudioContext();
    await audio.resume();
    const t0 = audio.currentTime + 0.05, master = audio.createGain();
    master.gain.value = 0.25;
    master.connect(audio.destination);
    for (const [pitch, start, end, velocity] of ns) {
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
    window.studioMusic.scheduled = voices.length;
    window.studioMusic.state = audio.state;
    const length = Math.max(...ns.map((n) => n[2]));
    const tick = () => {
      if (!voices.length) return;
      const t = audio.currentTime - t0;
      draw(Math.min(Math.max(t, 0), length));
      if (t < length) requestAnimationFrame(tick); else { voices = []; draw(); }
    };
    requestAnimationFrame(tick);
  }

  function stop() {
    for (const v of voices) { try { v.stop(); } catch (_) { /* already stopped */ } }
    voices = [];
    window.studioMusic.state = audio ? audio.state : "idle";
  }

  $("#play").addEventListener("click", () => play());
  $("#stop-play").addEventListener("click", () => { stop(); draw(); });
  $("#music-sample").addEventListener("change", () => draw());
  return { clear, show };
}
