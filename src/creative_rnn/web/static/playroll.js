// The Play view's pictures: a piano roll scrolling with the audio clock (the player's notes
// blue, the model's orange; what is scheduled but not yet sounding appears on the right of the
// "now" line, so an answer is seen coming), and the on-screen piano's keys.

const WINDOW_S = 8, NOW_AT = 0.75;  // seconds shown; where "now" is, as a share of the width
export const COLOURS = { player: "#2d5fa8", model: "#d9822b" };

// notes: [{pitch, start, end (null: still sounding), who}], times in audio seconds.
export function drawScroll(canvas, notes, now) {
  const g = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  g.clearRect(0, 0, W, H);
  const from = now - WINDOW_S * NOW_AT, to = from + WINDOW_S;
  const shown = notes.filter((n) => (n.end ?? now) >= from && n.start <= to);
  const pitches = shown.map((n) => n.pitch);
  const lo = Math.min(48, ...pitches) - 1, hi = Math.max(84, ...pitches) + 1;
  const rowH = H / (hi - lo + 1), x = (t) => ((t - from) / WINDOW_S) * W;
  for (let p = lo; p <= hi; p++) {  // black keys shaded, as on a keyboard
    if ([1, 3, 6, 8, 10].includes(((p % 12) + 12) % 12)) {
      g.fillStyle = "#f1f1f1";
      g.fillRect(0, H - (p - lo + 1) * rowH, W, rowH);
    }
  }
  for (const n of shown) {
    const end = n.end ?? Math.max(now, n.start + 0.05);
    g.fillStyle = COLOURS[n.who];
    g.globalAlpha = n.start > now ? 0.45 : 1;  // still to come: paler
    g.fillRect(x(n.start), H - (n.pitch - lo + 1) * rowH, Math.max(2, x(end) - x(n.start)),
      Math.max(2, rowH - 1));
  }
  g.globalAlpha = 1;
  g.fillStyle = "#b3261e";
  g.fillRect(x(now), 0, 2, H);
}

// The on-screen piano: two octaves from `low` as buttons; calls press(pitch) and release(pitch)
// for mouse, pen and touch alike (pointer events; a finger sliding off a key releases it).
export function buildKeys(box, low, press, release) {
  box.textContent = "";
  const white = [0, 2, 4, 5, 7, 9, 11];
  let whites = 0;
  const keys = new Map();
  for (let p = low; p <= low + 24; p++) {
    const black = !white.includes(p % 12);
    const key = document.createElement("button");
    key.type = "button";
    key.className = black ? "key black" : "key white";
    key.dataset.pitch = p;
    key.tabIndex = -1;
    key.setAttribute("aria-label", `note ${p}`);
    if (black) key.style.left = `calc(${whites} * var(--key-w) - var(--key-w) * 0.3)`;
    else whites += 1;
    let down = false;
    const up = () => { if (down) { down = false; key.classList.remove("down"); release(p); } };
    key.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      key.releasePointerCapture?.(e.pointerId);  // let a sliding finger leave the key
      down = true;
      key.classList.add("down");
      press(p);
    });
    for (const name of ["pointerup", "pointerleave", "pointercancel"]) key.addEventListener(name, up);
    keys.set(p, key);
    box.appendChild(key);
  }
  box.style.setProperty("--whites", whites);
  return keys;
}
