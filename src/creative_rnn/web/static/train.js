// The Train view: start a run on a built-in corpus or an uploaded file, watch its loss
// curves and samples as they come, stop it. Finished runs join the model list.
import { $, getJSON, postJSON, readEvents, request, showError } from "./api.js";

export async function initTrain(studio, onFinished) {
  const info = await getJSON("/api/train");
  let rows = [], job = null;
  window.studioTrain = { rows: 0, samples: 0, status: null, progress: [] };
  $("#train-corpus").replaceChildren(new Option("(upload a file instead)", ""),
    ...info.corpora.map((c) => new Option(`${c.name}: ${c.description}`, c.name)));
  $("#train-codec").replaceChildren(...info.codecs.map((c) => new Option(c, c)));
  $("#train-codec").value = info.codecs.includes("char") ? "char" : info.codecs[0];
  $("#train-preset").replaceChildren(...info.presets.map((p) => new Option(p, p)));
  $("#train-steps").max = studio.limits.max_train_steps;
  if (!info.enabled) {
    $("#train-start").disabled = true;
    $("#train-status").textContent = "start the server with --runs-dir DIR to train from here";
  }

  function drawLoss() {
    const canvas = $("#loss"), g = canvas.getContext("2d"), pad = 36;
    g.clearRect(0, 0, canvas.width, canvas.height);
    const series = [["train_loss", "#2d5fa8"], ["val_loss", "#d62728"]];
    const pts = rows.flatMap((r) => series.filter(([k]) => k in r).map(([k]) => r[k]));
    if (!pts.length) return;
    const maxStep = Math.max(1, ...rows.map((r) => r.step));  // grows with the run
    const lo = Math.min(...pts), hi = Math.max(...pts) + 1e-6;
    const x = (s) => pad + (s / maxStep) * (canvas.width - pad - 10);
    const y = (v) => 10 + (1 - (v - lo) / (hi - lo)) * (canvas.height - pad - 10);
    g.fillStyle = "#666"; g.font = "12px sans-serif";
    g.fillText(hi.toFixed(2), 2, 16); g.fillText(lo.toFixed(2), 2, canvas.height - pad);
    g.fillText(`step ${maxStep}`, canvas.width - 70, canvas.height - 8);
    series.forEach(([key, stroke], n) => {
      const r = rows.filter((row) => key in row);
      g.strokeStyle = stroke; g.lineWidth = 2; g.beginPath();
      r.forEach((row, i) => (i ? g.lineTo : g.moveTo).call(g, x(row.step), y(row[key])));
      g.stroke();
      for (const row of r) {  // dots too: a curve of one point is still visible
        g.beginPath(); g.arc(x(row.step), y(row[key]), 2.5, 0, 2 * Math.PI); g.fill();
      }
      g.fillStyle = stroke;
      g.fillText(key.replace("_", " "), pad + 10 + n * 90, canvas.height - 8);
    });
  }

  function addSample(s) {
    const pre = document.createElement("pre");
    pre.className = "sample";
    pre.dataset.step = s.step;
    pre.textContent = `${s.final ? "the finished run" : "a sample"} at step ${s.step}:\n${s.text}`;
    if (s.unfinished) pre.dataset.unfinished = s.unfinished;
    $("#train-samples").prepend(pre);
    while ($("#train-samples").children.length > 4) $("#train-samples").lastChild.remove();
    window.studioTrain.samples += 1;
  }

  // What the server does before the first step: the files of the corpus read of the total
  // (a built-in corpus: a thousand files, minutes), then preparing; a bar and a line.
  function showProgress(p) {
    const box = $("#train-progress-box"), bar = $("#train-progress");
    window.studioTrain.progress.push(p);
    box.hidden = !p || rows.length > 0;
    if (!p) return;
    if (p.total) { bar.max = p.total; bar.value = p.done; } else bar.removeAttribute("value");
    $("#train-progress-text").textContent = p.total
      ? `${p.what}: ${p.done.toLocaleString()} of ${p.total.toLocaleString()} files`
      : `${p.what}…`;
  }

  function setStatus(j) {
    job = j;
    window.studioTrain.status = j.status;
    const last = rows.length ? rows[rows.length - 1] : null;
    const val = rows.filter((r) => "val_loss" in r).pop();
    $("#train-status").textContent = `${j.name}: ${j.status}` +
      (last ? `, step ${last.step} of ${j.max_steps}` : "") +
      (val ? `, validation loss ${val.val_loss.toFixed(3)}` : "") +
      (j.error ? ` — ${j.error}` : "") +
      (j.warning ? ` — ${j.warning.replace(/\n/g, " ")}` : "");
    const running = ["running", "starting", "reading"].includes(j.status);
    $("#train-stop").disabled = !running;
    $("#train-start").disabled = running || j.status === "stopping" || !info.enabled;
    if (j.error) showError(j.error);
  }

  async function follow(name) {
    const response = await request(`/api/train/${encodeURIComponent(name)}/events`);
    await readEvents(response, (event, data) => {
      if (event === "metrics") {
        rows.push(...data.rows);
        window.studioTrain.rows = rows.length;
        $("#train-progress-box").hidden = true;  // the loss curve says the rest
        drawLoss();
        if (job) setStatus(job);
      } else if (event === "progress") showProgress(data.progress);
      else if (event === "sample") addSample(data);
      else if (event === "status") setStatus(data.job);
    });
    // the newest sample is the finished run's when it is of the last step
    const newest = $("#train-samples pre"), last = rows.length ? rows[rows.length - 1] : null;
    if (newest && last && Number(newest.dataset.step) === last.step &&
        ["done", "stopped"].includes(job && job.status)) {
      newest.textContent = newest.textContent.replace(/^a sample/, "the finished run");
    }
    if (job && job.status !== "error") onFinished();
  }

  // a run started before this page was (re)loaded: follow it
  const active = info.jobs.find((j) => !["done", "stopped", "error"].includes(j.status));
  if (active) { setStatus(active); follow(active.name).catch((e) => showError(e.message)); }

  $("#train-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("");
    const form = new FormData($("#train-form"));
    if (!$("#train-file").files.length) form.delete("file");
    if (!form.get("corpus")) form.delete("corpus");
    try {
      const r = await request("/api/train", { method: "POST", body: form });
      const { job: j } = await r.json();
      rows = []; $("#train-samples").replaceChildren(); drawLoss();
      setStatus(j);
      showProgress(j.progress || { what: "starting", done: null, total: null });
      await follow(j.name);
    } catch (err) {
      showError(err.message);
    }
  });

  $("#train-stop").addEventListener("click", async () => {
    if (!job) return;
    try {
      const r = await postJSON(`/api/train/${encodeURIComponent(job.name)}/stop`, {});
      setStatus((await r.json()).job);
    } catch (err) { showError(err.message); }
  });

  // a run started elsewhere on the page (the Library's "train on favourites"): follow it here
  function watch(j) {
    rows = []; $("#train-samples").replaceChildren(); drawLoss();
    setStatus(j);
    showProgress(j.progress || { what: "starting", done: null, total: null });
    follow(j.name).catch((err) => showError(err.message));
  }
  return { watch };
}
