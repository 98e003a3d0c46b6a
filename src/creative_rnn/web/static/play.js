// The Play view: a duet with a music run. The player plays (on-screen piano, the computer's
// keyboard, a MIDI keyboard); the server's performer (midi_live, the same as `creative-rnn
// perform`) answers, and its notes arrive ahead of time with their times in the server's
// clock, which this page maps onto its audio clock and schedules there. The take is kept and
// downloads as a two-track MIDI file.
import { $, postJSON, readEvents, showError } from "./api.js";
import { buildKeys, drawScroll } from "./playroll.js";
import { makeSound } from "./playsound.js";

// the layout DAWs use: A W S E D F T G Y H U J K play C to C; Z/X octave, C/V velocity
const KEYS = ["KeyA", "KeyW", "KeyS", "KeyE", "KeyD", "KeyF", "KeyT", "KeyG", "KeyY", "KeyH",
  "KeyU", "KeyJ", "KeyK"];
const MAX_TAKE = 4000;  // notes a download may hold (the server's limit)

export function initPlay(studio) {
  const sound = makeSound();
  const st = {  // also window.studioPlay, for the tests and the latency benchmark
    session: null, offset: null, sent: 0, received: 0, octave: 0, velocity: 96,
    take: [], lastEvents: [], grid: null, ended: 0, midiInputs: 0,
    sounding: (who) => (sound.ctx ? sound.sounding(who) : 0),
    scheduledNotes: () => sound.scheduled, sound,
  };
  window.studioPlay = st;
  let stream = null, sendChain = Promise.resolve(), pending = [], drawing = false;
  const held = new Map();  // computer key code or "mouse:P" / "midi:P" -> {pitch, voice, note}
  const modelVoices = new Map();  // pitch -> the model's voice sounding it
  const status = (text) => { $("#play-status").textContent = text; };

  function fillModels() {
    const sel = $("#play-model"), old = sel.value;
    sel.textContent = "";
    for (const m of studio.models.filter((m) => m.live)) {  // its codec has a live voice
      sel.add(new Option(`${m.name} (${m.codec})`, m.name));
    }
    if ([...sel.options].some((o) => o.value === old)) sel.value = old;
    $("#play-start").disabled = !sel.options.length;
    if (!sel.options.length) status("no model that plays live (melody, performance, ABC) is served");
    fitMode();
  }

  // accompany only where the run's live voice answers token by token (not ABC's bars)
  function fitMode() {
    const m = studio.models.find((m) => m.name === $("#play-model").value);
    const option = $("#play-mode").querySelector('option[value="accompany"]');
    option.disabled = !(m && m.live && m.live.accompany);
    if (option.disabled && $("#play-mode").value === "accompany") $("#play-mode").value = "call";
    sound.percussion = Boolean(m && m.percussion);  // a drum codec's notes: the drum kit
  }

  // --- the clock: server seconds -> audio seconds --------------------------------------------
  // offset = audio time - server time, taken as the smallest of the last OFFSET_WINDOW_S: the
  // event that crossed the connection fastest, whose delay is closest to none (loopback: well
  // under a millisecond); only recent ones, since the two clocks drift apart slowly
  const OFFSET_WINDOW_S = 20;
  let offsets = [];
  function heard(now) {
    if (!sound.ctx || sound.ctx.state !== "running") return;
    const at = sound.ctx.currentTime;
    offsets = offsets.filter(([t]) => t > at - OFFSET_WINDOW_S);
    offsets.push([at, at - now]);
    st.offset = Math.min(...offsets.map(([, off]) => off));
  }
  const audioTime = (serverTime) => serverTime + st.offset;

  // --- the session ---------------------------------------------------------------------------
  async function start() {
    showError("");
    await stop("restart");
    await sound.start();
    await connectMidi();
    const controller = new AbortController(), mine = { controller };
    stream = mine;
    const mode = $("#play-mode").value;
    const body = {
      model: $("#play-model").value, mode: mode === "accompany" ? "accompany" : "call",
      bpm: Number($("#play-bpm").value), temperature: Number($("#play-temperature").value),
      bars: Number($("#play-bars").value), wait: Number($("#play-wait").value),
    };
    st.offset = null;
    offsets = [];
    st.playing = { name: body.model, bpm: body.bpm, mode, temperature: body.temperature,
      from: st.take.length };
    $("#play-start").disabled = true;
    $("#play-stop").disabled = false;
    try {
      const response = await postJSON("/api/play/open", body, controller.signal);
      await readEvents(response, (name, data) => { if (stream === mine) onEvent(name, data); });
      if (stream === mine) ended("the duet ended");
    } catch (e) {
      if (stream === mine) {
        ended("the connection to the server was lost");
        if (e.name !== "AbortError") showError(e.message);
      }
    }
  }

  function onEvent(name, data) {
    if (data && data.now !== undefined) heard(data.now);
    st.received += 1;
    st.lastEvents = [...st.lastEvents.slice(-20), name];
    if (name === "ready") {
      st.session = data.session;
      st.grid = data;
      status(`playing: ${$("#play-mode").selectedOptions[0].text}`);
      if ($("#play-mode").value === "continue") control({ mode: "continue" });
      draw();
    } else if (name === "notes") {
      for (const [t, status_, pitch, velocity] of data.notes) modelMessage(t, status_, pitch, velocity);
      status("answering…");
    } else if (name === "silence") {
      silenceModel();
    } else if (name === "said") {
      status(data.line);
    } else if (name === "error") {
      showError(data.error);
    } else if (name === "end") {
      ended(`stopped (${data.reason})`);
    }
  }

  function modelMessage(t, kind, pitch, velocity) {
    const at = audioTime(t);
    if ((kind & 0xF0) === 0x90 && velocity > 0) {
      const voice = sound.noteOn(pitch, velocity, at, "model");
      const note = { pitch, start: voice.when, end: null, who: "model", velocity, voice, t };
      voice.note = note;
      modelVoices.set(pitch, voice);
      remember(note);
    } else {
      const voice = modelVoices.get(pitch);
      if (!voice) return;
      modelVoices.delete(pitch);
      sound.noteOff(voice, at);
      voice.note.end = Math.max(voice.when, at);
    }
  }

  // The answer stops (the player took the lead, a mode change, the end): whatever of it was
  // still to come never sounds, and the take keeps only what was heard.
  function silenceModel() {
    const now = sound.ctx.currentTime;
    for (const v of sound.voices) {
      if (v.who === "model" && v.note && (v.note.end === null || v.note.end > now)) {
        v.note.end = v.when > now ? null : now;
      }
    }
    st.take = st.take.filter((n) => !(n.who === "model" && n.end === null && n.start > now));
    sound.releaseAll("model");
    modelVoices.clear();
    for (const n of st.take) if (n.end === null && n.who === "model") n.end = now;
  }

  function ended(text) {
    if (stream) stream.controller.abort();
    stream = null;
    st.session = null;
    st.ended += 1;
    if (sound.ctx) {
      silenceModel();
      for (const [key] of held) up(key);
      sound.releaseAll();
    }
    status(text);
    keep();
    $("#play-start").disabled = !$("#play-model").options.length;
    $("#play-stop").disabled = true;
  }

  async function stop(why = "stopped") {
    if (!stream) return;
    const session = st.session, mine = stream;
    if (sound.ctx) sound.releaseAll();  // the page is silent at once
    if (session) {  // then the server ends the performer; its stream's last event ends ours
      await sendChain;
      try { await postJSON("/api/play/send", { session, control: { stop: true } }); } catch (_) { /* gone */ }
    }
    if (stream === mine) ended(why);
  }

  // The player's notes and the controls go out one request at a time, in order: a note-off
  // must never overtake its note-on on another connection.
  function send(note) {
    if (!st.session) return;
    pending.push(note);
    sendChain = sendChain.then(async () => {
      const notes = pending.splice(0, 64);  // all that waited: a later step finds none
      if (!notes.length || !st.session) return;
      try {
        const r = await postJSON("/api/play/send", { session: st.session, notes });
        heard((await r.json()).now);
        st.sent += notes.length;
      } catch (e) {
        if (st.session) showError(e.message);
      }
    });
  }

  function control(c) {
    if (!st.session) return;
    const session = st.session;
    sendChain = sendChain.then(() => postJSON("/api/play/send", { session, control: c })
      .catch((e) => showError(e.message)));
  }

  // --- the player's notes --------------------------------------------------------------------
  function down(key, pitch, velocity = st.velocity) {
    if (held.has(key) || pitch < 0 || pitch > 127) return;
    if (!sound.ctx) return;
    const voice = sound.noteOn(pitch, velocity, sound.ctx.currentTime, "player");
    const note = { pitch, start: voice.when, end: null, who: "player", velocity };
    held.set(key, { pitch, voice, note });
    remember(note);
    keyShown(pitch, true);
    send(["on", pitch, velocity]);
    draw();
  }

  function up(key) {
    const h = held.get(key);
    if (!h) return;
    held.delete(key);
    sound.noteOff(h.voice);
    // a tap shorter than the audio clock's tick still lasts a little in the take
    h.note.end = Math.max(sound.ctx.currentTime, h.note.start + 0.01);
    keyShown(h.pitch, false);
    send(["off", h.pitch, 0]);
  }

  function remember(note) {
    st.take.push(note);
    if (st.take.length > MAX_TAKE) st.take.shift();
  }

  let pianoKeys = new Map();
  const keyShown = (pitch, on) => pianoKeys.get(pitch)?.classList.toggle("down", on);
  const basePitch = () => 60 + 12 * st.octave;

  function onKey(e, isDown) {
    if (!st.session || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest && e.target.closest("input, textarea, select")) return;
    const i = KEYS.indexOf(e.code);
    if (i >= 0) {
      e.preventDefault();
      if (isDown && !e.repeat) down(e.code, basePitch() + i);  // a held key does not retrigger
      else if (!isDown) up(e.code);
      return;
    }
    if (!isDown || e.repeat) return;
    const moves = { KeyZ: ["octave", -1], KeyX: ["octave", 1], KeyC: ["velocity", -16],
      KeyV: ["velocity", 16] };
    if (!moves[e.code]) return;
    e.preventDefault();
    const [what, by] = moves[e.code];
    if (what === "octave") st.octave = Math.max(-4, Math.min(4, st.octave + by));
    else st.velocity = Math.max(1, Math.min(127, st.velocity + by));
    $("#play-keys-info").textContent = `octave ${st.octave >= 0 ? "+" : ""}${st.octave}, velocity ${st.velocity}`;
  }

  // --- Web MIDI --------------------------------------------------------------------------------
  let midi = null;
  async function connectMidi() {
    if (midi || !navigator.requestMIDIAccess) {
      $("#play-midi").textContent = navigator.requestMIDIAccess ? $("#play-midi").textContent
        : "this browser has no Web MIDI";
      return;
    }
    try {
      midi = await navigator.requestMIDIAccess();
    } catch (_) {
      $("#play-midi").textContent = "MIDI was not allowed";
      return;
    }
    const wire = () => {
      st.midiInputs = 0;
      for (const input of midi.inputs.values()) {
        input.onmidimessage = (m) => midiIn(m.data);
        st.midiInputs += 1;
      }
      const out = $("#play-midi-out"), old = out.value;
      out.textContent = "";
      out.add(new Option("none (the page's piano)", ""));
      for (const o of midi.outputs.values()) out.add(new Option(o.name, o.id));
      out.value = [...out.options].some((o) => o.value === old) ? old : "";
      $("#play-midi").textContent = `MIDI in: ${st.midiInputs} device(s)`;
    };
    midi.onstatechange = wire;
    wire();
  }

  function midiIn(data) {
    const kind = data[0] & 0xF0;
    if (kind === 0x90 && data[2] > 0) down(`midi:${data[1]}`, data[1], data[2]);
    else if (kind === 0x80 || kind === 0x90) up(`midi:${data[1]}`);
    else if (kind === 0xB0 && data[1] >= 120) for (const [key] of held) if (key.startsWith("midi:")) up(key);
  }

  // --- the take --------------------------------------------------------------------------------
  const takeRows = (notes, who, t0, now) => notes.filter((n) => n.who === who).map((n) => [
    n.pitch, +(n.start - t0).toFixed(4), +(Math.max(n.end ?? now, n.start) - t0).toFixed(4),
    n.velocity]);

  // When a duet ends, its notes are kept in the studio's library (when it has one).
  function keep() {
    const playing = st.playing;
    st.playing = null;
    const notes = playing ? st.take.slice(playing.from) : [];
    if (!notes.some((n) => n.who === "player")) return;
    const now = sound.ctx.currentTime, t0 = Math.min(...notes.map((n) => n.start));
    const body = { name: playing.name, bpm: playing.bpm, temperature: playing.temperature,
      mode: playing.mode, player: takeRows(notes, "player", t0, now),
      model: takeRows(notes, "model", t0, now) };
    postJSON("/api/play/keep", body).then((r) => r.json()).then((answer) => {
      st.kept = answer;
      $("#play-kept").textContent = answer.piece ? `kept in the library as piece ${answer.piece}`
        : (answer.why || "");
    }).catch((e) => showError(e.message));
  }

  async function download() {
    const notes = st.take;
    if (!notes.length) { status("nothing played yet"); return; }
    const now = sound.ctx.currentTime, t0 = Math.min(...notes.map((n) => n.start));
    const body = { player: takeRows(notes, "player", t0, now),
      model: takeRows(notes, "model", t0, now), bpm: Number($("#play-bpm").value) };
    const blob = await (await postJSON("/api/play/midi", body)).blob();
    st.downloaded = { player: body.player.length, model: body.model.length };
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "duet.mid";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  // --- drawing and the metronome ---------------------------------------------------------------
  let nextClick = null;
  function draw() {
    if (drawing) return;
    drawing = true;
    const frame = () => {
      const now = sound.ctx ? sound.ctx.currentTime : 0;
      drawScroll($("#play-roll"), st.take, now);
      metronome(now);
      if (st.session && $("#play-status").textContent === "answering…" && !sound.sounding("model")) {
        status("your turn: play a phrase, then pause");
      }
      if (st.session || sound.sounding()) requestAnimationFrame(frame);
      else drawing = false;
    };
    requestAnimationFrame(frame);
  }

  function metronome(now) {
    if (!st.session || !st.grid || st.offset === null || !$("#play-click").checked) {
      nextClick = null;
      return;
    }
    const beat = st.grid.step_s * st.grid.steps_per_quarter, t0 = audioTime(st.grid.t0);
    if (nextClick === null) nextClick = Math.ceil((now - t0) / beat);
    while (t0 + nextClick * beat < now + 0.15) {  // clicks a little ahead, on the server's grid
      const at = t0 + nextClick * beat;
      if (at >= now) sound.click(at, nextClick % 4 === 0);
      nextClick += 1;
    }
  }

  // --- wiring ----------------------------------------------------------------------------------
  $("#play-start").addEventListener("click", () => start().catch((e) => showError(e.message)));
  $("#play-stop").addEventListener("click", () => stop());
  $("#play-download").addEventListener("click", () => download().catch((e) => showError(e.message)));
  $("#play-mode").addEventListener("change", () => {
    const mode = $("#play-mode").value;
    if (!st.session) return;
    silenceModel();  // at once; the server's silence follows
    control({ mode });
    if (mode === "continue") {  // once: the model continues the last phrase, then answers again
      status("continuing your last phrase, then answering again");
      $("#play-mode").value = "call";
    }
  });
  $("#play-model").addEventListener("change", () => { fitMode(); if (stream) start(); });
  $("#play-bpm").addEventListener("change", () => { if (stream) start(); });
  $("#play-temperature").addEventListener("change", (e) => control({ temperature: Number(e.target.value) }));
  $("#play-bars").addEventListener("change", (e) => control({ bars: Number(e.target.value) }));
  $("#play-wait").addEventListener("change", (e) => control({ wait: Number(e.target.value) }));
  $("#play-midi-out").addEventListener("change", (e) => {
    sound.releaseAll();
    sound.midiOut = (midi && e.target.value) ? midi.outputs.get(e.target.value) : null;
  });
  window.addEventListener("keydown", (e) => onKey(e, true));
  window.addEventListener("keyup", (e) => onKey(e, false));
  window.addEventListener("blur", () => { for (const [key] of held) if (!key.startsWith("midi:")) up(key); });
  // leaving the page: silence here; the closed stream ends the session on the server
  window.addEventListener("pagehide", () => { if (stream) ended("left the page"); });
  pianoKeys = buildKeys($("#play-piano"), 48,
    (p) => { if (st.session) down(`mouse:${p}`, p + 12 * st.octave); },
    (p) => up(`mouse:${p}`));

  // for the tests: drop the connection as a network failure would (no stop is sent)
  st.drop = () => { if (stream) stream.controller.abort(); };
  st.stop = stop;
  fillModels();
  return { fillModels };
}
