// Entry point: load the served models and wire the views together.
import { $, getJSON, showError } from "./api.js";
import { initGenerate } from "./generate.js";
import { initInside } from "./inside.js";
import { initLibrary } from "./library.js";
import { initPlay } from "./play.js";
import { initTrain } from "./train.js";
import { initWrite } from "./write.js";

window.addEventListener("error", (e) => showError(String(e.message || e)));
window.addEventListener("unhandledrejection", (e) => showError(String(e.reason?.message || e.reason)));

async function start() {
  const info = await getJSON("/api/models");
  const studio = { models: info.models, limits: info.limits, library: info.library };
  const inside = initInside(studio);
  const generate = initGenerate(studio, (model, samples) => inside.show(model, samples));
  const write = initWrite(studio);
  await write.fillModels();
  let library = null;
  const train = await initTrain(studio, () => refreshModels(studio, generate, write, library));
  library = initLibrary(studio, write, train);
  await library.refresh();
  studio.play = initPlay(studio);
  window.studioReady = true;
}

async function refreshModels(studio, generate, write, library) {
  const info = await getJSON("/api/models");
  studio.models = info.models;
  generate.fillModels();
  studio.play?.fillModels();
  await write.fillModels();
  if (library) { library.fillModels(); await library.refresh(); }
}

start().catch((e) => showError(e.message));
