// duopod studio: what every page's script shares. Every request that changes anything
// carries the page's anti-CSRF token; producer text is only ever set as textContent.
"use strict";

export const csrf = document.querySelector('meta[name="csrf"]').content;
export const $ = (selector) => document.querySelector(selector);

export function post(url, body, options = {}) {
  return fetch(url, {
    method: "POST", credentials: "same-origin", ...options,
    headers: {"Content-Type": "application/json", "X-Duopod-CSRF": csrf},
    body: JSON.stringify(body),
  });
}

export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// An answer's reason in one line: the JSON's "error", else the text the server sent.
export async function reason(response) {
  const text = await response.text();
  try { return JSON.parse(text).error || text.trim(); } catch { return text.trim() || response.statusText; }
}

export function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  debounced.flush = () => { clearTimeout(timer); fn(); };
  return debounced;
}

export function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  return minutes + ":" + (seconds - minutes * 60).toFixed(1).padStart(4, "0");
}
