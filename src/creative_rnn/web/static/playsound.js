// The Play view's sound: a sampled piano (a few notes of the General MIDI piano, rendered by
// the server with FluidSynth, pitch-shifted between them), else a small synth. Every note has
// an envelope (a few ms in, a damper-like release out), so nothing clicks; every note started
// is kept until it has ended, so releaseAll() can end them all, sounding or still scheduled.
// A model whose codec's notes are percussion (s.percussion) plays on drums.js's kit instead,
// and its MIDI goes out on channel 10, General MIDI's drums.
import { getJSON, request } from "./api.js";
import { drumHit } from "./drums.js";

const ATTACK_S = 0.004, RELEASE_TAU_S = 0.07, CUT_TAU_S = 0.012;
const midiToHz = (p) => 440 * Math.pow(2, (p - 69) / 12);

export function makeSound() {
  const s = { ctx: null, kind: "none", scheduled: 0, voices: new Set(), midiOut: null,
    percussion: false, drums: 0 };
  const channel = () => (s.percussion ? 9 : 0);  // MIDI channel 10 for drums
  let master = null, samples = null;

  // Called from a click (browsers start audio only after a gesture).
  s.start = async () => {
    if (!s.ctx) {
      s.ctx = new AudioContext({ latencyHint: "interactive" });
      master = s.ctx.createGain();
      master.gain.value = 0.5;
      master.connect(s.ctx.destination);
    }
    await s.ctx.resume();
    if (s.kind === "none") await load();
  };

  async function load() {
    s.kind = "synth";
    const info = await getJSON("/api/play/sounds");
    s.why = info.why || "";
    if (info.kind !== "sampled") return;
    const data = await (await request("/api/play/sounds.wav")).arrayBuffer();
    samples = { ...info, buffer: await s.ctx.decodeAudioData(data) };
    s.kind = "sampled";
  }

  // A note at audio time `when` (seconds); returns the voice, for noteOff.
  s.noteOn = (pitch, velocity, when, who) => {
    const ctx = s.ctx, t = Math.max(when, ctx.currentTime);
    if (s.percussion) return drum(pitch, velocity, t, who);
    const gain = ctx.createGain(), level = 0.15 + 0.85 * (velocity / 127);
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(level, t + ATTACK_S);
    gain.connect(master);
    const sources = [];
    if (samples) {
      let i = 0;  // the nearest rendered note
      samples.pitches.forEach((p, k) => {
        if (Math.abs(p - pitch) < Math.abs(samples.pitches[i] - pitch)) i = k;
      });
      const src = ctx.createBufferSource();
      src.buffer = samples.buffer;
      src.playbackRate.value = Math.pow(2, (pitch - samples.pitches[i]) / 12);
      src.connect(gain);
      src.start(t, i * samples.slot_s, samples.slot_s - 0.02);
      sources.push(src);
    } else {  // a soft triangle with a sine an octave up, decaying like a struck string
      for (const [type, mult, amount] of [["triangle", 1, 1], ["sine", 2, 0.3]]) {
        const osc = ctx.createOscillator(), g = ctx.createGain();
        osc.type = type;
        osc.frequency.value = midiToHz(pitch) * mult;
        g.gain.value = amount * 0.5;
        osc.connect(g).connect(gain);
        osc.start(t);
        sources.push(osc);
      }
      gain.gain.setTargetAtTime(level * 0.35, t + ATTACK_S, 0.4);
    }
    const voice = { pitch, who, when: t, gain, sources, released: false };
    sources[0].onended = () => { s.voices.delete(voice); gain.disconnect(); };
    s.voices.add(voice);
    s.scheduled += 1;
    midiSend([0x90 | channel(), pitch, velocity], t);
    if (!samples) voice.stopAt = t + 30;  // a synth note nobody ends stops on its own
    if (voice.stopAt) sources.forEach((src) => src.stop(voice.stopAt));
    return voice;
  };

  // A drum hit: it rings for its own time (a note-off does not damp it; releaseAll does).
  function drum(pitch, velocity, t, who) {
    const hit = drumHit(s.ctx, master, pitch, velocity, t);
    const voice = { pitch, who, when: t, gain: hit.gain, sources: hit.sources, released: false,
      drum: true };
    hit.sources[0].onended = () => s.voices.delete(voice);
    s.voices.add(voice);
    s.scheduled += 1;
    s.drums += 1;
    midiSend([0x90 | channel(), pitch, velocity], t);
    return voice;
  }

  // Release `voice` at audio time `when` (or now), over `tau` seconds.
  s.noteOff = (voice, when = 0, tau = RELEASE_TAU_S) => {
    if (!voice || voice.released) return;
    const ctx = s.ctx, t = Math.max(when, ctx.currentTime);
    voice.released = true;
    voice.end = t;
    if (voice.drum && tau !== CUT_TAU_S) {  // let it ring
      midiSend([0x80 | channel(), voice.pitch, 0], t);
      return;
    }
    if (t < voice.when + ATTACK_S) {  // released before it was heard: never sound it
      voice.sources.forEach((src) => src.stop(Math.max(ctx.currentTime, voice.when)));
    } else {
      voice.gain.gain.cancelAndHoldAtTime(t);
      voice.gain.gain.setTargetAtTime(0, t, tau);
      voice.sources.forEach((src) => src.stop(t + tau * 8));
    }
    midiSend([0x80 | channel(), voice.pitch, 0], t);
  };

  // End every note `who` started ("player", "model", or all), sounding or scheduled.
  s.releaseAll = (who = null) => {
    let n = 0;
    for (const v of s.voices) {
      if (who && v.who !== who) continue;
      if (!v.released) n += 1;
      s.noteOff(v, 0, CUT_TAU_S);
    }
    if (!who && s.midiOut) s.midiOut.send([0xB0 | channel(), 123, 0]);  // all notes off
    return n;
  };

  // Notes not yet released (sounding, or scheduled to sound).
  s.sounding = (who = null) => [...s.voices].filter((v) => !v.released
    && (!who || v.who === who)).length;

  // A metronome tick: a short filtered blip, louder on the bar.
  s.click = (when, accent) => {
    const ctx = s.ctx, osc = ctx.createOscillator(), g = ctx.createGain();
    osc.frequency.value = accent ? 1760 : 1320;
    g.gain.setValueAtTime(0, when);
    g.gain.linearRampToValueAtTime(accent ? 0.25 : 0.12, when + 0.002);
    g.gain.setTargetAtTime(0, when + 0.004, 0.012);
    osc.connect(g).connect(master);
    osc.start(when);
    osc.stop(when + 0.1);
  };

  // Web MIDI output: the same notes to a synth, at their times (its clock is performance.now).
  function midiSend(data, when) {
    if (!s.midiOut) return;
    const at = performance.now() + Math.max(0, when - s.ctx.currentTime) * 1000;
    s.midiOut.send(data, at);
  }

  return s;
}
