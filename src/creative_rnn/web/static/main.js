// Entry point: load the served models and wire the views together.
import { $, getJSON, showError } from "./api.js";
import { initGenerate } from "./generate.js";
import { initInside } from "./inside.js";
import { initTrain } from "./train.js";
import { initWrite } from "./write.js";

window.addEventListener("error", (e) => showError(String(e.message || e)));
window.addEventListener("unhandledrejection", (e) => showError(String(e.reason?.message || e.reason)));

async function start() {
  const info = await getJSON("/api/models");
  const studio = { models: info.models, limits: info.limits };
  const inside = initInside(studio);
  const generate = initGenerate(studio, (model, samples) => inside.show(model, samples));
  const write = initWrite(studio);
  await write.fillModels();
  await initTrain(studio, () => refreshModels(studio, generate, write));
  window.studioReady = true;
}

async function refreshModels(studio, generate, write) {
  const info = await getJSON("/api/models");
  studio.models = info.models;
  generate.fillModels();
  await write.fillModels();
}

start().catch((e) => showError(e.message));
