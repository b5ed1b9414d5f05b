// dom.js - builds DOM nodes from plain values: h('div.card', {attrs}, ...children).
// Text always goes in through text nodes, never through innerHTML, so what users
// typed (dataset names, KPI names, labels, server messages) can never turn into
// markup. The one exception is icons.js, which builds SVG from its own constants.

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'indeterminate',
  'multiple', 'required', 'readOnly', 'tabIndex', 'htmlFor', 'open']);

/* 'button.btn.btn-primary' -> tag 'button' and its classes. */
function parseTag(spec) {
  const [tag, ...classes] = spec.split('.');
  return { tag: tag || 'div', classes };
}

function setAttr(el, key, value) {
  if (value === null || value === undefined || value === false) return;
  if (key === 'class') {
    for (const c of String(value).split(/\s+/)) if (c) el.classList.add(c);
  } else if (key === 'testid') {
    el.dataset.testid = value;
  } else if (key === 'on') {
    for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
  } else if (key === 'style' && typeof value === 'object') {
    for (const [p, v] of Object.entries(value)) el.style.setProperty(p, v);
  } else if (key === 'dataset') {
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) el.dataset[k] = v;
  } else if (key === 'for') {
    el.htmlFor = value;
  } else if (PROPS.has(key)) {
    el[key] = value;
  } else {
    el.setAttribute(key, value === true ? '' : String(value));
  }
}

/* Appends children: strings and numbers become text, arrays are flattened,
 * null/undefined/false are skipped. */
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/* h(spec, attrs?, ...children): attrs may be left out when the second
 * argument is a child (a string, a node or an array). */
export function h(spec, attrs, ...children) {
  const { tag, classes } = parseTag(spec);
  const el = document.createElement(tag);
  if (classes.length) el.classList.add(...classes);
  if (attrs && typeof attrs === 'object' && !(attrs instanceof Node) && !Array.isArray(attrs)) {
    for (const [k, v] of Object.entries(attrs)) setAttr(el, k, v);
  } else {
    children.unshift(attrs);
  }
  return append(el, ...children);
}

/* Replaces all children of el. */
export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
export const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

/* A unique id for label/for pairs. */
let nextId = 0;
export const uid = (prefix = 'f') => `${prefix}-${++nextId}`;

/* For the few places that must produce HTML text (ECharts tooltip
 * formatters): escapes the five special characters. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
