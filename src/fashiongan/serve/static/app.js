// The page behind `fashiongan serve`: plain DOM and fetch, no build step. Everything comes from /api.
"use strict";

const $ = (id) => document.getElementById(id);
let info = null;
let book = null;      // the lookbook shown: {id, outfits, ...}
let locked = null;    // the id of the locked item

function status(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = kind;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    let detail = body.detail;
    if (Array.isArray(detail)) detail = detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    throw new Error(detail || `${response.status} ${response.statusText}`);
  }
  return body;
}

async function busy(button, work) {
  button.disabled = true;
  document.body.classList.add("busy");
  status("working…");
  try {
    await work();
    status("");
  } catch (error) {
    status(error.message, "error");
  } finally {
    button.disabled = false;
    document.body.classList.remove("busy");
  }
}

function option(select, value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text ?? value;
  select.append(o);
}

function tile(src, caption, extra = "") {
  const figure = document.createElement("figure");
  figure.className = `tile ${extra}`;
  const img = document.createElement("img");
  img.src = src;
  img.alt = caption;
  const text = document.createElement("figcaption");
  text.textContent = caption;
  figure.append(img, text);
  return figure;
}

// ---------------------------------------------------------------- tabs

function showPanel(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.panel === name));
  document.querySelectorAll(".panel").forEach((p) => p.classList.toggle("active", p.id === `panel-${name}`));
}

// ---------------------------------------------------------------- image sources: upload or a test item

function makeSource(container) {
  const prefix = container.dataset.prefix;
  container.innerHTML = `
    <label>Upload <input id="${prefix}-file" type="file" accept="image/png,image/jpeg,image/gif,image/bmp,image/webp"></label>
    <span class="or">or</span>
    <button id="${prefix}-pick" type="button">Pick a test item</button>
    <div id="${prefix}-picker" class="picker"></div>`;
  const state = { testItem: null, seed: 0 };
  $(`${prefix}-file`).addEventListener("change", () => {
    state.testItem = null;
    $(`${prefix}-picker`).innerHTML = "";
  });
  $(`${prefix}-pick`).addEventListener("click", () => busy($(`${prefix}-pick`), async () => {
    const picked = await api(`/api/test-items?n=10&seed=${state.seed++}`);
    const picker = $(`${prefix}-picker`);
    picker.innerHTML = "";
    picked.items.forEach((item) => {
      const t = tile(item.image, item.class);
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
    if (file) form.append("file", file);
    else if (state.testItem !== null) form.append("test_item", state.testItem);
    else throw new Error("upload an image or pick a test item first");
    return form;
  };
}

// ---------------------------------------------------------------- generate

// The controls the chosen model takes: a class and a colour, or one choice per attribute (the cVAEs).
function syncModel() {
  const model = info.generators.find((g) => g.name === $("gen-model").value);
  const attributes = (model && model.attributes) || [];
  $("gen-colour-wrap").hidden = !(model && model.colour);
  $("gen-label").disabled = !(model && model.conditional);
  const label = $("gen-label");
  label.innerHTML = "";
  option(label, "", "every class in turn");
  ((model && model.classes) || []).forEach((c) => option(label, c));
  const colour = $("gen-colour");
  colour.innerHTML = "";
  option(colour, "", "any");
  ((model && model.colours) || []).forEach((c) => option(colour, c));
  $("gen-label-wrap").hidden = attributes.length > 0;
  const wrap = $("gen-attrs");
  wrap.innerHTML = "";
  wrap.hidden = attributes.length === 0;
  attributes.forEach(([column, values]) => {
    const label = document.createElement("label");
    const select = document.createElement("select");
    select.id = `gen-attr-${column}`;
    select.dataset.column = column;
    option(select, "", "any");
    values.forEach((v) => option(select, v));
    label.append(`${column[0].toUpperCase()}${column.slice(1)} `, select);
    wrap.append(label);
  });
}

async function generate() {
  const body = { model: $("gen-model").value, n: Number($("gen-n").value), seed: Number($("gen-seed").value) };
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
  drawn.images.forEach((src, i) => {
    const words = [drawn.colours?.[i], drawn.labels?.[i]].filter(Boolean).join(" ");
    const t = tile(src, words || `#${i + 1}`);
    const link = document.createElement("a");
    link.href = src;
    link.download = `fashiongan-${body.seed}-${i + 1}.png`;
    link.append(t.querySelector("img"));
    t.prepend(link);
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
    li.className = name === highlight ? "top" : "";
    li.innerHTML = `<span class="name"></span><span class="bar"><span style="width:${(p * 100).toFixed(1)}%"></span></span><span class="p">${(p * 100).toFixed(1)}%</span>`;
    li.querySelector(".name").textContent = name;
    list.append(li);
  });
  return list;
}

function column(title, src, prediction, probabilities, note = "") {
  const col = document.createElement("div");
  col.className = "column";
  const h = document.createElement("h3");
  h.textContent = title;
  col.append(h, tile(src, prediction, "large"));
  if (probabilities) col.append(bars(probabilities, prediction));
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
  const truth = r.truth ? `true class: ${r.truth}` : (r.inverted ? "light background inverted" : "");
  out.append(
    column("Original", r.original.image, r.original.prediction, r.original.probabilities, truth),
    column(`FGSM ε = ${Number(r.eps).toFixed(2)}`, r.adversarial.image, r.adversarial.prediction, r.adversarial.probabilities,
      r.fooled ? "fooled: the prediction changed" : "not fooled"),
  );
}

// ---------------------------------------------------------------- colorize and restyle

async function pairTask(path, source, field, value, target) {
  const form = source();
  form.append(field, value);
  const r = await api(path, { method: "POST", body: form });
  const out = $(target);
  out.innerHTML = "";
  const how = r.inverted ? "inverted to a dark background" : (r.cut_out ? "cut out of its backdrop" : "input");
  out.append(column("Before", r.before, how),
             column("After", r.after, value));
  if (r.reconstructed) out.append(column("And back again", r.reconstructed, "reconstructed"));
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
      const words = [item.colour, item.fabric, item.class, `${(item.confidence * 100).toFixed(0)}%`].filter(Boolean).join(" ");
      const t = tile(item.image, words, item.id === locked ? "locked" : "");
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
  const body = { outfits: Number($("lb-outfits").value) };
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
  $("lb-regenerate").disabled = locked === null;
  showBook();
}

// ---------------------------------------------------------------- start

async function start() {
  info = await api("/api/info");
  info.generators.forEach((g) => option($("gen-model"), g.name,
    `${g.name}${g.attributes.length ? " (attributes)" : g.colour ? " (colour)" : g.channels === 3 ? " (RGB)" : ""}`));
  $("gen-model").value = info.default_generator;
  info.colours.forEach((c) => option($("col-colour"), c.name));
  info.classifiers.forEach((c) => option($("cls-model"), c));
  info.fabrics.forEach((f) => option($("res-fabric"), f));
  $("tab-colorize").hidden = !info.tasks.colorize;
  $("tab-restyle").hidden = !info.tasks.restyle;
  $("gen-n").max = info.limits.images;
  $("lb-outfits").max = info.limits.outfits;
  $("cls-eps").max = info.limits.eps;
  syncModel();

  const sources = {};
  document.querySelectorAll(".source").forEach((el) => { sources[el.dataset.prefix] = makeSource(el); });
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showPanel(b.dataset.panel)));
  $("gen-model").addEventListener("change", syncModel);
  $("gen-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("gen-run"), generate); });
  $("gen-shuffle").addEventListener("click", () => {
    $("gen-seed").value = Math.floor(Math.random() * 1e6);
    busy($("gen-run"), generate);
  });
  $("cls-eps").addEventListener("input", () => { $("cls-eps-value").textContent = Number($("cls-eps").value).toFixed(2); });
  $("cls-run").addEventListener("click", () => busy($("cls-run"), () => classify(sources.cls)));
  $("col-run").addEventListener("click", () => busy($("col-run"),
    () => pairTask("/api/colorize", sources.col, "colour", $("col-colour").value, "col-results")));
  $("res-run").addEventListener("click", () => busy($("res-run"),
    () => pairTask("/api/restyle", sources.res, "fabric", $("res-fabric").value, "res-results")));
  $("lb-run").addEventListener("click", () => busy($("lb-run"), () => buildBook(false)));
  $("lb-regenerate").addEventListener("click", () => busy($("lb-regenerate"), () => buildBook(true)));
  document.body.dataset.ready = "true";
}

start().catch((error) => status(`could not reach the server: ${error.message}`, "error"));
