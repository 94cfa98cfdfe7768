// The page behind `fashiongan serve`: plain DOM and fetch, no build step. Everything comes from /api.
"use strict";

const $ = (id) => document.getElementById(id);
const ENLARGE = 8;    // generated items download at this many times their size (nearest neighbour: crisp pixels)
let info = null;
let book = null;      // the lookbook shown: {id, outfits, ...}
let locked = null;    // the id of the locked item

// One casing for class names everywhere: "dress" and "Dress" both show as "Dress".
const nice = (name) => (name ? name[0].toUpperCase() + name.slice(1) : name);

function status(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = kind;
}

const activePanel = () => document.querySelector(".panel.active")?.id;

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new Error(`the server did not answer (${error.message}); is fashiongan serve still running?`);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    let detail = body.detail;
    if (Array.isArray(detail)) detail = detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    throw new Error(detail || `${response.status} ${response.statusText}`);
  }
  return body;
}

// Run one request: its button disabled, the tab's old result cleared (a failure must not leave it beside the
// error), and its error shown only while its tab is still the one in view.
async function busy(button, work, results = null) {
  const panel = activePanel();
  button.disabled = true;
  document.body.classList.add("busy");
  status("working…");
  if (results) results.innerHTML = "";
  try {
    await work();
    if (activePanel() === panel) status("");
  } catch (error) {
    if (activePanel() === panel) status(error.message, "error");
  } finally {
    button.disabled = false;
    document.body.classList.remove("busy");
  }
}

function option(select, value, text, title = "") {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text ?? value;
  if (title) o.title = title;
  select.append(o);
}

// A picture as shown everywhere: at its own aspect ratio, enlarged on click, with a download link. ``download``
// is {href, name, label} (default: the picture itself).
function tile(src, caption, extra = "", download = null) {
  const figure = document.createElement("figure");
  figure.className = `tile ${extra}`;
  const img = document.createElement("img");
  img.src = src;
  img.alt = caption;
  img.title = "Click to enlarge";
  img.addEventListener("click", (event) => {
    if (figure.closest(".items, .picker")) return;  // lookbook items lock, picker items select
    event.stopPropagation();
    enlarge(src, caption, download);
  });
  const text = document.createElement("figcaption");
  text.textContent = caption;
  figure.append(img, text);
  if (download !== false) {
    const link = document.createElement("a");
    link.className = "save";
    link.href = download?.href ?? src;
    link.download = download?.name ?? `fashiongan-${caption.replace(/[^a-z0-9]+/gi, "-").toLowerCase() || "image"}.png`;
    link.textContent = download?.label ?? "Download";
    link.addEventListener("click", (event) => event.stopPropagation());  // a lookbook item's click locks it
    figure.append(link);
  }
  return figure;
}

function enlarge(src, caption, download) {
  $("viewer-img").src = src;
  $("viewer-caption").textContent = caption;
  $("viewer-download").href = download?.href ?? src;
  $("viewer-download").download = download?.name ?? "fashiongan.png";
  $("viewer").showModal();
}

// A small generated item as a PNG a person can use: ENLARGE times its size, pixels kept crisp.
function enlarged(src) {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth * ENLARGE;
      canvas.height = img.naturalHeight * ENLARGE;
      const context = canvas.getContext("2d");
      context.imageSmoothingEnabled = false;
      context.drawImage(img, 0, 0, canvas.width, canvas.height);
      resolve({ href: canvas.toDataURL("image/png"), width: img.naturalWidth, height: img.naturalHeight });
    };
    img.src = src;
  });
}

// ---------------------------------------------------------------- tabs

function showPanel(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.panel === name));
  document.querySelectorAll(".panel").forEach((p) => p.classList.toggle("active", p.id === `panel-${name}`));
  status("");  // an error belongs to the tab that raised it
}

// ---------------------------------------------------------------- image sources: upload or a test item

function makeSource(container) {
  const prefix = container.dataset.prefix;
  container.innerHTML = `
    <label>Upload a photo <input id="${prefix}-file" type="file" accept="image/*"></label>
    <span class="or">or</span>
    <button id="${prefix}-pick" type="button">Pick a test item</button>
    <div id="${prefix}-picker" class="picker"></div>`;
  const state = { testItem: null, seed: 0 };
  $(`${prefix}-file`).addEventListener("change", () => {
    state.testItem = null;
    $(`${prefix}-picker`).innerHTML = "";
    status("");
  });
  $(`${prefix}-pick`).addEventListener("click", () => busy($(`${prefix}-pick`), async () => {
    const picked = await api(`/api/test-items?n=10&seed=${state.seed++}`);
    const picker = $(`${prefix}-picker`);
    picker.innerHTML = "";
    picked.items.forEach((item) => {
      const t = tile(item.image, nice(item.class), "", false);
      t.dataset.index = item.index;
      t.addEventListener("click", () => {
        picker.querySelectorAll(".tile").forEach((x) => x.classList.remove("selected"));
        t.classList.add("selected");
        state.testItem = item.index;
        $(`${prefix}-file`).value = "";
      });
      picker.append(t);
    });
    picker.querySelector(".tile")?.click();
  }));
  return () => {
    const form = new FormData();
    const file = $(`${prefix}-file`).files[0];
    if (file) {
      if (file.size > info.limits.upload_mb * 1024 * 1024) {
        throw new Error(`the photo is ${(file.size / 2 ** 20).toFixed(1)} MB; ${info.limits.upload_help}`);
      }
      form.append("file", file);
    } else if (state.testItem !== null) form.append("test_item", state.testItem);
    else throw new Error("upload an image or pick a test item first");
    return form;
  };
}

// ---------------------------------------------------------------- generate

// Model names a person understands; the technical name is the option's tooltip.
function modelTitle(g) {
  const what = g.attributes.length ? "Items by attributes" : g.colour ? "Items in colour"
    : g.channels === 3 ? "Colour items" : "Grayscale items";
  if (!g.name.startsWith("pretrained:")) return `${g.name}: your model (${g.classes.length || "no"} categories, ${g.size} px)`;
  const variant = g.name.slice("pretrained:".length).split("-").slice(1).filter((w) => w !== "colour").join(" ");
  return `${what}${variant ? ` (${variant})` : ""}`;
}

// The controls the chosen model takes: a class and a colour, or one choice per attribute (the cVAEs).
function syncModel() {
  const model = info.generators.find((g) => g.name === $("gen-model").value);
  const attributes = (model && model.attributes) || [];
  $("gen-colour-wrap").hidden = !(model && model.colour);
  $("gen-label").disabled = !(model && model.conditional);
  $("gen-label-wrap").hidden = attributes.length > 0;
  const label = $("gen-label");
  label.innerHTML = "";
  option(label, "", "every category in turn");
  ((model && model.classes) || []).forEach((c) => option(label, c, nice(c)));
  const colour = $("gen-colour");
  colour.innerHTML = "";
  option(colour, "", "any");
  ((model && model.colours) || []).forEach((c) => option(colour, c));
  const wrap = $("gen-attrs");
  wrap.innerHTML = "";
  wrap.hidden = attributes.length === 0;
  attributes.forEach(([column, values]) => {
    const field = document.createElement("label");
    const select = document.createElement("select");
    select.id = `gen-attr-${column}`;
    select.dataset.column = column;
    option(select, "", "any");
    values.forEach((v) => option(select, v, nice(v)));
    field.append(`${nice(column)} `, select);
    wrap.append(field);
  });
}

async function generate() {
  const n = Number($("gen-n").value);
  if (!Number.isInteger(n) || n < 1 || n > info.limits.images) throw new Error(`Images: ask for 1 to ${info.limits.images}`);
  const body = { model: $("gen-model").value, n, seed: Number($("gen-seed").value) };
  if ($("gen-label").value && !$("gen-label").disabled) body.label = $("gen-label").value;
  if (!$("gen-colour-wrap").hidden && $("gen-colour").value) body.colour = $("gen-colour").value;
  const attributes = [...$("gen-attrs").querySelectorAll("select")].filter((s) => s.value)
    .map((s) => `${s.dataset.column}=${s.value}`);
  if (attributes.length) body.attributes = attributes;
  const drawn = await api("/api/generate", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const gallery = $("gen-results");
  gallery.innerHTML = "";
  const large = await Promise.all(drawn.images.map(enlarged));
  drawn.images.forEach((src, i) => {
    const words = [drawn.colours?.[i], nice(drawn.labels?.[i])].filter(Boolean).join(" ") || `#${i + 1}`;
    const { href, width, height } = large[i];
    const name = `fashiongan-${words.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-seed${body.seed}-${i + 1}-${width}px-x${ENLARGE}.png`;
    const t = tile(src, words, "", { href, name, label: `Download ${width * ENLARGE} px` });
    t.querySelector("figcaption").title = `drawn at ${width}x${height} px`;
    gallery.append(t);
  });
  $("gen-download").href = drawn.grid;
  $("gen-download").hidden = false;
}

// ---------------------------------------------------------------- classify

function bars(probabilities, highlight) {
  const list = document.createElement("ol");
  list.className = "bars";
  Object.entries(probabilities).sort((a, b) => b[1] - a[1]).slice(0, 5).forEach(([name, p]) => {
    const li = document.createElement("li");
    li.className = nice(name) === highlight ? "top" : "";
    li.innerHTML = `<span class="name"></span><span class="bar"><span style="width:${(p * 100).toFixed(1)}%"></span></span><span class="p">${(p * 100).toFixed(1)}%</span>`;
    li.querySelector(".name").textContent = nice(name);
    list.append(li);
  });
  return list;
}

function column(title, src, caption, probabilities, note = "", name = "") {
  const col = document.createElement("div");
  col.className = "column";
  const h = document.createElement("h3");
  h.textContent = title;
  col.append(h, tile(src, caption, "large", { href: src, name: `fashiongan-${name || title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.png` }));
  if (probabilities) col.append(bars(probabilities, caption));
  if (note) {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = note;
    col.append(p);
  }
  return col;
}

async function classify(source) {
  const form = source();
  form.append("model", $("cls-model").value);
  form.append("eps", $("cls-eps").value);
  const r = await api("/api/classify", { method: "POST", body: form });
  const out = $("cls-results");
  out.innerHTML = "";
  const truth = r.truth ? `true class: ${nice(r.truth)}` : (r.inverted ? "light background inverted" : "");
  out.append(
    column("Original", r.original.image, nice(r.original.prediction), r.original.probabilities, truth, "original"),
    column(`FGSM ε = ${Number(r.eps).toFixed(2)}`, r.adversarial.image, nice(r.adversarial.prediction), r.adversarial.probabilities,
      r.fooled ? "fooled: the prediction changed" : "not fooled", "attacked"),
  );
}

// ---------------------------------------------------------------- colorize and restyle

async function pairTask(path, source, field, value, target) {
  const form = source();
  form.append(field, value);
  const r = await api(path, { method: "POST", body: form });
  const out = $(target);
  out.innerHTML = "";
  const how = r.inverted ? "inverted to a dark background" : (r.cut_out ? "cut out of its backdrop" : "as uploaded");
  const size = `${r.size[0]}x${r.size[1]} px`;
  out.append(column("Before", r.before, how, null, size, "before"),
             column("After", r.after, value, null, size, `${value}`));
  if (r.reconstructed) {
    out.append(column("Translated back", r.reconstructed, "back again", null,
      "the restyled item turned back into its first fabric: how much of the garment the model kept", "back"));
  }
}

// ---------------------------------------------------------------- lookbook

function showBook() {
  const out = $("lb-results");
  out.innerHTML = "";
  book.outfits.forEach((outfit) => {
    const card = document.createElement("article");
    card.className = "outfit";
    const h = document.createElement("h3");
    h.textContent = outfit.id.replace("-", " ");
    const rule = document.createElement("p");
    rule.className = "rule";
    rule.textContent = outfit.rule;
    const items = document.createElement("div");
    items.className = "items";
    outfit.items.forEach((item) => {
      const words = [item.colour, item.fabric, nice(item.class), `${(item.confidence * 100).toFixed(0)}%`].filter(Boolean).join(" ");
      const t = tile(item.image, words, item.id === locked ? "locked" : "", { href: item.image, name: `fashiongan-${item.id}.png` });
      t.dataset.id = item.id;
      t.title = `${item.id} (click to lock)`;
      t.addEventListener("click", () => {
        locked = locked === item.id ? null : item.id;
        $("lb-regenerate").disabled = locked === null;
        showBook();
      });
      items.append(t);
    });
    card.append(h, rule, items);
    out.append(card);
  });
  $("lb-download").href = book.html;
  $("lb-download").download = `lookbook-${book.id}.html`;
  $("lb-download").hidden = false;
}

async function buildBook(withLock) {
  const outfits = Number($("lb-outfits").value);
  if (!Number.isInteger(outfits) || outfits < 1 || outfits > info.limits.outfits) {
    throw new Error(`Outfits: ask for 1 to ${info.limits.outfits}`);
  }
  const body = { outfits };
  if (withLock && book && locked) {
    body.lock = { lookbook: book.id, item: locked };
  } else {
    body.seed = Number($("lb-seed").value);
    locked = null;
  }
  book = await api("/api/lookbook", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  $("lb-seed").value = book.seed;
  $("lb-hint").textContent = body.lock
    ? `Seed ${book.seed}: the locked item kept, every other item made anew from the next seed.`
    : "Click an item to lock it; regenerating keeps it and makes everything else anew.";
  $("lb-regenerate").disabled = locked === null;
  showBook();
}

// ---------------------------------------------------------------- start

async function start() {
  info = await api("/api/info");
  info.generators.forEach((g) => option($("gen-model"), g.name, modelTitle(g), g.name));
  $("gen-model").value = info.default_generator;
  info.colours.forEach((c) => option($("col-colour"), c.name));
  info.classifiers.forEach((c) => option($("cls-model"), c, `${nice(c.replace("pretrained:", ""))} classifier`, c));
  info.fabrics.forEach((f) => option($("res-fabric"), f, nice(f)));
  $("tab-colorize").hidden = !info.tasks.colorize;
  $("tab-restyle").hidden = !info.tasks.restyle;
  $("gen-n").max = info.limits.images;
  $("lb-outfits").max = info.limits.outfits;
  $("cls-eps").max = info.limits.eps;
  document.querySelectorAll(".upload-help").forEach((el) => { el.textContent = info.limits.upload_help; });
  syncModel();

  const sources = {};
  document.querySelectorAll(".source").forEach((el) => { sources[el.dataset.prefix] = makeSource(el); });
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showPanel(b.dataset.panel)));
  $("gen-model").addEventListener("change", syncModel);
  $("gen-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("gen-run"), generate, $("gen-results")); });
  $("gen-shuffle").addEventListener("click", () => {
    $("gen-seed").value = Math.floor(Math.random() * 1e6);
    busy($("gen-run"), generate, $("gen-results"));
  });
  $("cls-eps").addEventListener("input", () => { $("cls-eps-value").textContent = Number($("cls-eps").value).toFixed(2); });
  $("cls-run").addEventListener("click", () => busy($("cls-run"), () => classify(sources.cls), $("cls-results")));
  $("col-run").addEventListener("click", () => busy($("col-run"),
    () => pairTask("/api/colorize", sources.col, "colour", $("col-colour").value, "col-results"), $("col-results")));
  $("res-run").addEventListener("click", () => busy($("res-run"),
    () => pairTask("/api/restyle", sources.res, "fabric", $("res-fabric").value, "res-results"), $("res-results")));
  $("lb-run").addEventListener("click", () => busy($("lb-run"), () => buildBook(false), $("lb-results")));
  $("lb-regenerate").addEventListener("click", () => busy($("lb-regenerate"), () => buildBook(true)));
  $("viewer-close").addEventListener("click", () => $("viewer").close());
  $("viewer").addEventListener("click", (e) => { if (e.target === $("viewer")) $("viewer").close(); });
  document.body.dataset.ready = "true";
  busy($("gen-run"), generate, $("gen-results"));  // the first screen shows what the app makes
}

start().catch((error) => status(`could not reach the server: ${error.message}`, "error"));
