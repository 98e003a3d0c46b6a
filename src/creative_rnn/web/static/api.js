// Talking to the studio server: JSON requests, event streams, and showing errors in the page.

export const $ = (sel) => document.querySelector(sel);

export function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

// The server answers errors as {"error": message}; anything else is reported plainly.
async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (_) { /* not JSON */ }
  return `the server answered ${response.status} ${response.statusText}`;
}

// The server puts a token in the page it serves and refuses API requests without it: other
// web pages cannot read the token, so they cannot use the studio through this browser.
const TOKEN = document.querySelector('meta[name="studio-token"]').content;

export async function request(url, options = {}) {
  const headers = new Headers(options.headers);
  headers.set("X-Studio-Token", TOKEN);
  let response;
  try {
    response = await fetch(url, { ...options, headers });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new Error("cannot reach the studio server: is it still running?");
  }
  if (!response.ok) throw new Error(await errorOf(response));
  return response;
}

export async function getJSON(url) {
  return (await request(url)).json();
}

export function postJSON(url, body, signal) {
  return request(url, {
    method: "POST", signal,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// Read a text/event-stream response, calling onEvent(name, data) for each event.
export async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      onEvent(name, data ? JSON.parse(data) : null);
    }
  }
}

// The placeholder of a box where a person types a prime: the model's codec's own example.
export function primeHint(model, plain) {
  return model && model.prime_example
    ? `${plain}, written as the ${model.codec} codec reads it, e.g.\n${model.prime_example}`
    : plain;
}
