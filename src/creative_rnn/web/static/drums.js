// A small drum kit made with Web Audio, for codecs whose notes are General MIDI percussion
// (a pitch names a drum: 36 bass drum, 38 snare, 42 closed hi-hat, ...; the GM 1 percussion
// key map). Each drum is a pitched body (a sine that falls, for kicks and toms), a noise
// burst (filtered: low for snares, high for hats and cymbals), or both. A hit rings for its
// own time whatever the note's length, as a drum machine plays it.

// GM percussion notes by family: [body Hz (0: none), body fall, noise filter Hz, noise
// filter type, decay s, noise share]
const KIT = [
  [[35, 36], [110, 45, 0, "lowpass", 0.35, 0]],            // bass drums
  [[37], [0, 0, 2200, "bandpass", 0.05, 1]],               // side stick
  [[38, 40], [190, 150, 1800, "bandpass", 0.18, 0.7]],     // snares
  [[39], [0, 0, 1200, "bandpass", 0.12, 1]],               // hand clap
  [[41, 43, 45, 47, 48, 50], [0, 0, 0, "lowpass", 0.3, 0]],  // toms: pitched below
  [[42, 44], [0, 0, 7500, "highpass", 0.05, 1]],           // closed and pedal hi-hats
  [[46], [0, 0, 7000, "highpass", 0.3, 1]],                // open hi-hat
  [[49, 52, 55, 57], [0, 0, 5000, "highpass", 1.2, 1]],    // crash, china, splash cymbals
  [[51, 53, 59], [0, 0, 6000, "highpass", 0.6, 0.8]],      // ride cymbals
];
const FAMILY = new Map(KIT.flatMap(([notes, sound]) => notes.map((n) => [n, sound])));
const TOMS = [41, 43, 45, 47, 48, 50];
const OTHER = [0, 0, 3000, "bandpass", 0.1, 1];  // the rest of the map: a short percussive tick

const noiseFor = new WeakMap();  // one second of white noise per audio context

function noise(ctx) {
  if (!noiseFor.has(ctx)) {
    const buffer = ctx.createBuffer(1, ctx.sampleRate, ctx.sampleRate);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
    noiseFor.set(ctx, buffer);
  }
  return noiseFor.get(ctx);
}

// One hit of drum `pitch` at audio time `t` into `dest`; returns {sources, gain}: the sources
// (each stops by itself once the hit has died away) and the hit's gain, to cut it early.
export function drumHit(ctx, dest, pitch, velocity, t) {
  let [body, fall, filterHz, filterType, decay, share] = FAMILY.get(pitch) || OTHER;
  if (TOMS.includes(pitch)) {  // low floor tom (41) up to high tom (50)
    body = 80 + (pitch - 41) * 16;
    fall = body * 0.7;
  }
  const level = 0.2 + 0.8 * (velocity / 127), end = t + decay * 4, sources = [];
  const out = ctx.createGain();
  out.gain.setValueAtTime(0, t);
  out.gain.linearRampToValueAtTime(level, t + 0.002);
  out.gain.setTargetAtTime(0, t + 0.002, decay);
  out.connect(dest);
  if (body) {
    const osc = ctx.createOscillator(), g = ctx.createGain();
    osc.frequency.setValueAtTime(body, t);
    osc.frequency.exponentialRampToValueAtTime(Math.max(20, fall), t + decay);
    g.gain.value = 1 - share;
    osc.connect(g).connect(out);
    sources.push(osc);
  }
  if (share > 0) {
    const src = ctx.createBufferSource(), filter = ctx.createBiquadFilter(), g = ctx.createGain();
    src.buffer = noise(ctx);
    src.loop = true;
    filter.type = filterType;
    filter.frequency.value = filterHz;
    g.gain.value = share;
    src.connect(filter).connect(g).connect(out);
    sources.push(src);
  }
  for (const src of sources) { src.start(t); src.stop(end); }
  sources[0].addEventListener("ended", () => out.disconnect());
  return { sources, gain: out };
}
