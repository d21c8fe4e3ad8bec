// pollhook console: the little JavaScript that helps. Every page works
// without it; the server keeps the form's parts in step too.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  copyButtons();
  const form = document.getElementById("instance-form");
  if (form) instanceForm(form);
});

function copyButtons() {
  for (const b of document.querySelectorAll("button.copy")) {
    b.addEventListener("click", async () => {
      const text = document.getElementById(b.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
        b.textContent = "Copied";
      } catch {
        const r = document.createRange();
        r.selectNodeContents(document.getElementById(b.dataset.copy));
        getSelection().removeAllRanges();
        getSelection().addRange(r);
        b.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => (b.textContent = "Copy"), 2000);
    });
  }
}

function instanceForm(form) {
  const defaults = JSON.parse(form.dataset.defaults || "{}");
  const editor = document.getElementById("pollerConfig");
  const status = document.getElementById("json-status");
  const list = document.getElementById("resources");

  // The interval: a slider and a number box kept in step.
  const slider = document.getElementById("interval-slider");
  const number = document.getElementById("interval");
  slider.addEventListener("input", () => { number.value = slider.value; });
  number.addEventListener("input", () => { if (number.value !== "") slider.value = number.value; });

  // The pod selector or an API URL.
  const pod = document.getElementById("pod");
  const urlRow = document.getElementById("base-url-row");
  const showURL = () => urlRow.classList.toggle("js-hidden", pod.value !== "url");
  pod.addEventListener("change", showURL);
  showURL();

  // The JSON editor is the source of truth; checkboxes and per-resource
  // forms edit it, and typing in it updates them.
  const read = () => {
    try {
      const v = JSON.parse(editor.value || "{}");
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("it must be an object of resources");
      status.textContent = "";
      return v;
    } catch (e) {
      status.textContent = "Not valid JSON yet (" + e.message + "): the checkboxes follow once it is.";
      return null;
    }
  };
  const write = (cfg) => { editor.value = JSON.stringify(cfg, null, 2); };

  const row = (name) => list.querySelector(`li[data-resource="${CSS.escape(name)}"]`);
  const addRow = (name) => {
    const li = document.createElement("li");
    li.dataset.resource = name;
    li.innerHTML = `<input type="hidden" name="shown"><label><input type="checkbox" name="resource" checked> <span></span></label>` +
      `<button type="button" class="pencil" title="Poller configuration">✎</button>`;
    li.querySelector("input[type=hidden]").value = name;
    li.querySelector("input[type=checkbox]").value = name;
    li.querySelector("span").textContent = name;
    const pencil = li.querySelector(".pencil");
    pencil.dataset.resource = name;
    pencil.setAttribute("aria-label", "Poller configuration of " + name);
    list.appendChild(li);
    return li;
  };

  list.addEventListener("change", (e) => {
    if (e.target.name !== "resource") return;
    const cfg = read();
    if (!cfg) return;
    const name = e.target.value;
    if (e.target.checked) {
      if (!(name in cfg)) cfg[name] = defaults[name] ? structuredClone(defaults[name]) : {};
    } else {
      delete cfg[name];
    }
    write(cfg);
  });

  editor.addEventListener("input", () => {
    const cfg = read();
    if (!cfg) return;
    for (const cb of list.querySelectorAll("input[name=resource]")) cb.checked = cb.value in cfg;
    for (const name of Object.keys(cfg)) if (!row(name)) addRow(name);
  });

  const addInput = document.getElementById("addResource");
  document.getElementById("add-resource").addEventListener("click", (e) => {
    const name = addInput.value.trim();
    const cfg = read();
    if (!name || !cfg) return; // the server adds it, or says what is wrong
    e.preventDefault();
    if (!(name in cfg)) cfg[name] = {};
    write(cfg);
    const li = row(name) || addRow(name);
    li.querySelector("input[type=checkbox]").checked = true;
    addInput.value = "";
  });

  // The pencil: one resource's main keys as a form.
  const dialog = document.getElementById("resource-dialog");
  const fields = dialog.querySelectorAll("[data-key]");
  const get = (obj, path) => path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
  const set = (obj, path, value) => {
    const keys = path.split(".");
    let o = obj;
    for (const k of keys.slice(0, -1)) {
      if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
      o = o[k];
    }
    const last = keys[keys.length - 1];
    if (value === undefined) delete o[last]; else o[last] = value;
  };
  let editing = null;
  list.addEventListener("click", (e) => {
    const b = e.target.closest(".pencil");
    if (!b) return;
    const cfg = read();
    if (!cfg) return;
    editing = b.dataset.resource;
    const r = cfg[editing] || (defaults[editing] ? structuredClone(defaults[editing]) : {});
    dialog.querySelector("[data-name]").textContent = editing;
    for (const f of fields) {
      const v = get(r, f.dataset.key);
      if (f.dataset.type === "bool") f.checked = v === true || (f.dataset.key === "deletes.enabled" && v === undefined && get(r, "deletes") !== undefined);
      else if (f.dataset.type === "list") f.value = Array.isArray(v) ? v.join(", ") : v === undefined ? "" : String(v);
      else f.value = v === undefined ? "" : v;
    }
    dialog.showModal();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "apply" || !editing) return;
    const cfg = read();
    if (!cfg) return;
    const r = cfg[editing] || (defaults[editing] ? structuredClone(defaults[editing]) : {});
    for (const f of fields) {
      let v;
      if (f.dataset.type === "bool") v = f.checked ? true : undefined;
      else if (f.dataset.type === "list") {
        // Comma-separated names become a JSON array; none removes the key.
        const names = f.value.split(",").map((s) => s.trim()).filter((s) => s !== "");
        v = names.length ? names : undefined;
      } else if (f.value.trim() === "") v = undefined;
      else v = f.dataset.type === "number" ? Number(f.value) : f.value;
      set(r, f.dataset.key, v);
    }
    if (r.deletes && Object.keys(r.deletes).length === 0) delete r.deletes;
    cfg[editing] = r;
    write(cfg);
    const li = row(editing) || addRow(editing);
    li.querySelector("input[type=checkbox]").checked = true;
  });
}
