// duopod studio: the editor's checks as the producer types, hearing turns, builds with
// live progress. Plain JavaScript, no build step; every request carries the page's
// anti-CSRF token. Producer text is only ever set as textContent, never as HTML.
"use strict";

const csrf = document.querySelector('meta[name="csrf"]').content;
const $ = (selector) => document.querySelector(selector);

function engine() { return $("#engine").value; }

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-Duopod-CSRF": csrf},
    body: JSON.stringify(body),
  });
  return response;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// ------------------------------------------------------------------ episodes page

const newForm = $("#new-episode");
if (newForm) {
  newForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await post("/api/new", {title: newForm.title.value});
    const data = await response.json();
    if (response.ok) { window.location = data.url; return; }
    const note = $("#new-error"); note.hidden = false; note.textContent = data.error;
  });
}

const draftForm = $("#draft-episode");
if (draftForm) {
  draftForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = draftForm.querySelector("button");
    button.disabled = true; button.textContent = "drafting…";
    const response = await post("/api/draft", {article: draftForm.article.value,
      url: draftForm.url.value, minutes: Number(draftForm.minutes.value)});
    const data = await response.json();
    button.disabled = false; button.textContent = "Draft with the writers' room";
    if (response.ok) { window.location = data.url; return; }
    const note = $("#new-error"); note.hidden = false; note.textContent = data.error;
  });
}

// ------------------------------------------------------------------ the editor

const editor = $("#editor");
if (editor) {
  const name = editor.dataset.name;
  const text = $("#text");
  const gutter = $("#gutter");
  let sha = editor.dataset.sha;
  let savedText = text.value;
  let problemsAt = new Map();
  let lastPlayed = null;
  let timer = null;

  function drawGutter() {
    const count = text.value.split("\n").length;
    gutter.textContent = "";
    for (let line = 1; line <= count; line++) {
      const row = element("span", String(line), problemsAt.has(line) ? "mark-" + problemsAt.get(line) : "");
      row.dataset.line = line;
      if (problemsAt.has(line)) row.title = "see the problem below";
      gutter.appendChild(row);
      gutter.appendChild(document.createTextNode("\n"));
    }
    gutter.scrollTop = text.scrollTop;
  }

  function showProblems(problems) {
    const list = $("#problems");
    list.textContent = "";
    problemsAt = new Map();
    for (const problem of problems) {
      const item = element("li", "", "problem-" + problem.level.replace("?", ""));
      item.dataset.line = problem.line ?? "";
      const where = problem.line ? "line " + problem.line + ": " : "";
      item.appendChild(element("strong", problem.level + " "));
      item.appendChild(document.createTextNode(where + problem.message));
      if (problem.line) {
        problemsAt.set(problem.line, problem.level === "error" ? "error" : "warning");
        item.addEventListener("click", () => goToLine(problem.line));
      }
      list.appendChild(item);
    }
    drawGutter();
  }

  function goToLine(line) {
    const lines = text.value.split("\n");
    const start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
    text.focus();
    text.setSelectionRange(start, start + lines[line - 1].length);
  }

  function playButton(label, turn, sentence) {
    const button = element("button", "▶", "play");
    button.title = label;
    button.setAttribute("aria-label", label);
    button.dataset.turn = turn;
    if (sentence !== undefined) button.dataset.sentence = sentence;
    button.addEventListener("click", () => play(turn, sentence));
    return button;
  }

  function showOutline(outline) {
    const box = $("#outline");
    if (!outline) return;  // keep the last good outline while the text has an error
    box.textContent = "";
    const hosts = element("ul", undefined, "hosts");
    for (const host of outline.hosts) hosts.appendChild(element("li", host.name + " · " + host.characters + " characters"));
    box.appendChild(element("h2", "Hosts")); box.appendChild(hosts);
    if (outline.sections.length) {
      const sections = element("ul");
      for (const section of outline.sections) {
        const item = element("li", section.title + " (line " + section.line + ")");
        item.addEventListener("click", () => goToLine(section.line));
        sections.appendChild(item);
      }
      box.appendChild(element("h2", "Sections")); box.appendChild(sections);
    }
    if (outline.lexicon.length) {
      const hits = element("ul");
      for (const hit of outline.lexicon) hits.appendChild(element("li", hit.written + " → " + hit.spoken + " ×" + hit.count + " (" + hit.where + ")"));
      box.appendChild(element("h2", "Lexicon")); box.appendChild(hits);
    }
    box.appendChild(element("h2", "Turns (" + outline.turns.length + ")"));
    const turns = element("ol", undefined, "turns");
    for (const turn of outline.turns) {
      const item = element("li", undefined, "turn");
      item.dataset.turn = turn.index;
      const head = element("div", undefined, "turn-head");
      head.appendChild(playButton("play turn " + (turn.index + 1), turn.index));
      head.appendChild(element("strong", turn.speaker));
      head.appendChild(element("span", " line " + turn.line, "hint"));
      if (turn.meets === "backchannel" || turn.meets === "interruption") {
        // heard with the turns around it, overlapped as the build mixes them
        const label = turn.meets === "backchannel" ? "laid under the other host" : "cuts in";
        const both = element("button", "▶▶ " + label, "play exchange");
        both.title = "play turns " + turn.index + "-" + (turn.index + 2) + " as mixed";
        both.dataset.exchange = turn.index;
        both.addEventListener("click", () => playExchange(turn.index));
        head.appendChild(both);
      }
      item.appendChild(head);
      turn.sentences.forEach((sentence, index) => {
        const row = element("div", undefined, "sentence");
        row.appendChild(playButton("play sentence " + (index + 1) + " of turn " + (turn.index + 1), turn.index, index));
        row.appendChild(element("span", sentence));
        item.appendChild(row);
      });
      turns.appendChild(item);
    }
    box.appendChild(turns);
  }

  async function checkNow() {
    const response = await post("/api/check", {name, text: text.value});
    const data = await response.json();
    if (!response.ok) { showProblems([{line: null, level: "error", message: data.error}]); return; }
    showProblems(data.problems);
    showOutline(data.outline);
    editor.dataset.checked = String(Date.now());
  }

  text.addEventListener("input", () => { drawGutter(); clearTimeout(timer); timer = setTimeout(checkNow, 250); });
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });

  async function playResponse(response) {
    const player = $("#player");
    if (!response.ok) {
      const data = await response.json().catch(() => ({error: response.statusText}));
      $("#lex-note").textContent = data.error; return;
    }
    const blob = await response.blob();
    player.dataset.cached = response.headers.get("X-Duopod-Cached") || "";
    player.src = URL.createObjectURL(blob);
    await player.play().catch(() => {});
  }

  async function playExchange(turn) {
    await playResponse(await post("/api/hear", {name, text: text.value, turn, exchange: true, engine: engine()}));
  }

  async function play(turn, sentence) {
    lastPlayed = {turn, sentence};
    await playResponse(await post("/api/hear", {name, text: text.value, turn, sentence, engine: engine()}));
  }

  $("#lex-try").addEventListener("click", async () => {
    if (!lastPlayed) { $("#lex-note").textContent = "play a sentence first"; return; }
    await playResponse(await post("/api/lexicon", {name, text: text.value, ...lastPlayed, engine: engine(),
      written: $("#lex-written").value, spoken: $("#lex-spoken").value}));
  });
  $("#lex-save-script").addEventListener("click", async () => {
    if (text.value !== savedText) { $("#lex-note").textContent = "save your edits first"; return; }
    const response = await post("/api/lexicon", {name, save: "script", sha256: sha,
      written: $("#lex-written").value, spoken: $("#lex-spoken").value});
    const data = await response.json();
    if (!response.ok) { $("#lex-note").textContent = data.error; return; }
    text.value = data.text; savedText = data.text; sha = data.sha256;
    $("#lex-note").textContent = "saved to " + data.saved + "'s front matter";
    checkNow();
  });
  $("#lex-save").addEventListener("click", async () => {
    const response = await post("/api/lexicon", {name, save: true, language: editor.dataset.language,
      written: $("#lex-written").value, spoken: $("#lex-spoken").value});
    const data = await response.json();
    $("#lex-note").textContent = response.ok ? "saved to " + data.saved : data.error;
    checkNow();
  });

  async function save() {
    const response = await post("/api/save", {name, text: text.value, sha256: sha});
    const data = await response.json();
    const banner = $("#conflict");
    if (response.status === 409) { banner.hidden = false; banner.textContent = data.error; return false; }
    if (!response.ok) { banner.hidden = false; banner.textContent = data.error; return false; }
    banner.hidden = true; sha = data.sha256; editor.dataset.sha = sha; savedText = text.value;
    refreshStale();
    return true;
  }

  async function refreshStale() {
    const response = await post("/api/stale", {name, engine: engine()});
    const data = await response.json();
    $("#stale").textContent = response.ok ? data.stale.length + " of " + data.turns + " turns to render (" + data.engine + ")" : "";
    $("#stale").dataset.count = response.ok ? data.stale.length : "";
  }

  $("#save").addEventListener("click", save);
  $("#engine").addEventListener("change", refreshStale);

  $("#build").addEventListener("click", async () => {
    if (!(await save())) return;
    const log = $("#progress");
    log.textContent = "";
    const response = await post("/api/build", {name, engine: engine()});
    const data = await response.json();
    if (!response.ok) { log.appendChild(element("li", data.error, "problem")); return; }
    log.appendChild(element("li", "rendering " + data.stale.length + " turn(s); the rest from the cache"));
    editor.dataset.building = "1";
    const events = new EventSource(data.events);
    events.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.kind === "outcome") {
        for (const line of event.messages) log.appendChild(element("li", line));
        const done = element("li", "exit status " + event.exit_code, event.exit_code === 0 ? "ok" : "problem");
        done.id = "outcome"; done.dataset.exit = event.exit_code;
        log.appendChild(done);
        events.close(); delete editor.dataset.building;
        refreshStale(); refreshFeed();
        const preview = $("#preview");
        const outcome = event.outcomes[0];
        if (outcome && outcome.ok) { preview.src = "/site/" + outcome.slug + "/"; $("#state").textContent = outcome.state; }
        return;
      }
      const detail = event.total ? " " + event.done + "/" + event.total + (event.cached ? " (" + event.cached + " cached)" : "") : "";
      log.appendChild(element("li", event.kind + detail + (event.detail ? " · " + event.detail : "")));
    };
  });

  for (const button of document.querySelectorAll("button[data-status]")) {
    button.addEventListener("click", async () => {
      if (text.value !== savedText) { $("#publish-note").textContent = "save your edits first"; return; }
      const body = {name, status: button.dataset.status, sha256: sha};
      if (body.status === "scheduled") body.at = $("#schedule-at").value;
      const response = await post("/api/status", body);
      const data = await response.json();
      if (!response.ok) { $("#publish-note").textContent = data.error; return; }
      text.value = data.text; savedText = data.text; sha = data.sha256;
      $("#publish-note").textContent = "front matter set: " + body.status + "; build to place the episode";
      checkNow();
    });
  }
  $("#unpublish").addEventListener("click", async () => {
    const response = await post("/api/unpublish", {slug: editor.dataset.slug});
    const data = await response.json();
    $("#publish-note").textContent = response.ok ? "unpublished " + data.unpublished : data.error;
    refreshFeed();
  });

  async function refreshFeed() {
    const response = await fetch("/api/feed", {credentials: "same-origin"});
    const data = await response.json();
    const list = $("#feed"); list.textContent = "";
    for (const item of data.items) list.appendChild(element("li", item.title));
    if (!data.items.length) list.appendChild(element("li", "no episode in the feed yet", "hint"));
  }

  drawGutter();
  checkNow();
  refreshStale();
  refreshFeed();
}
