// The editor: a script's text, wrapped, over a backdrop that draws each line's number,
// its host's colour and the problems the checks found; checked as the producer types
// (problems, outline and "N of M turns to render", without saving); every unsaved
// change kept in the browser and in the show's .duopod/; saves that never overwrite
// another's version unasked; hearing, the episode's timeline, builds and publishing.
"use strict";

import {$, post, element, reason, debounce, clock} from "./common.js";
import {StreamPlayer} from "./hearing.js";
import {Timeline} from "./timeline.js";

export function startEditor(editor) {
  const name = editor.dataset.name;
  const text = $("#text");
  const backdrop = $("#backdrop");
  const engine = () => $("#engine").value;
  const storeKey = "duopod-unsaved:" + name;
  let sha = editor.dataset.sha;       // the version on disk the text was opened at or saved as
  let savedText = text.value;         // what that version holds
  let theirs = null;                  // in a conflict: {sha, text} of the version on disk
  let outline = null;                 // the last good outline
  let problemsAt = new Map();
  let lastPlayed = null;
  let leaving = false;
  const hearer = new StreamPlayer($("#player"));

  const dirty = () => text.value !== savedText;

  // ---------------------------------------------------------------- the backdrop

  // what each line is, from the text alone (instant as the producer types): front
  // matter, a heading, a host's line, or the words of the turn above it
  function lineKinds(lines) {
    const hosts = outline ? outline.hosts.map((h) => h.name) : [];
    const kinds = [];
    let host = -1;
    let front = lines[0] !== undefined && lines[0].trim() === "---";
    lines.forEach((line, index) => {
      if (front) {
        kinds.push({kind: "fm"});
        if (index > 0 && line.trim() === "---") front = false;
        return;
      }
      if (/^#{1,6}\s/.test(line)) { host = -1; kinds.push({kind: "heading"}); return; }
      const bare = line.trim();
      const inline = bare.match(/^([^:：]{1,24})[:：]/);
      const named = hosts.indexOf(bare) >= 0 ? bare : (inline && hosts.indexOf(inline[1].trim()) >= 0 ? inline[1].trim() : null);
      if (named !== null) { host = hosts.indexOf(named); kinds.push({kind: "label", host}); return; }
      kinds.push(host >= 0 ? {kind: "words", host} : {kind: ""});
    });
    return kinds;
  }

  function drawBackdrop() {
    const lines = text.value.split("\n");
    const kinds = lineKinds(lines);
    const fragment = document.createDocumentFragment();
    lines.forEach((line, index) => {
      const number = index + 1;
      const kind = kinds[index];
      let className = "ln";
      if (kind.kind) className += " " + kind.kind;
      if (kind.host !== undefined) className += " host-" + (kind.host % 4);
      if (problemsAt.has(number)) className += " mark-" + problemsAt.get(number);
      const row = element("div", line, className);
      row.dataset.n = number;
      fragment.appendChild(row);
    });
    backdrop.replaceChildren(fragment);
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
        const level = problem.level === "error" ? "error" : "warning";
        if (problemsAt.get(problem.line) !== "error") problemsAt.set(problem.line, level);
        item.addEventListener("click", () => goToLine(problem.line));
      }
      list.appendChild(item);
    }
    drawBackdrop();
    atCursor();
  }

  // ---------------------------------------------------------------- lines and turns

  function lineStart(line) {
    const lines = text.value.split("\n");
    return lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
  }

  function cursorLine() {
    return text.value.slice(0, text.selectionStart).split("\n").length;
  }

  function goToLine(line, from, to) {
    const lines = text.value.split("\n");
    const start = lineStart(line);
    text.focus({preventScroll: true});
    text.setSelectionRange(start + (from ?? 0), start + (to ?? lines[line - 1].length));
    scrollToLine(line);
  }

  function scrollToLine(line) {
    const row = backdrop.children[line - 1];
    if (!row) return;
    const code = $("#code");
    const top = row.offsetTop - code.clientHeight / 3;
    code.scrollTop = Math.max(0, top);
    editor.dataset.cursorLine = String(line);
  }

  // the outline's turn under the cursor: the last turn starting on or above its line
  function turnAt(line) {
    if (!outline) return null;
    const heading = outline.sections.filter((s) => s.line <= line).map((s) => s.line).pop() ?? 0;
    const turn = outline.turns.filter((t) => t.line <= line).pop();
    return turn && turn.line > heading ? turn : null;
  }

  const letters = (s) => s.replace(/[^\p{L}\p{N}]/gu, "");

  // where a sentence of a turn is in the text: [line, from, to], found by its letters
  // (the text may hold stage directions, emphasis and other punctuation)
  function findSentence(turn, sentence) {
    const lines = text.value.split("\n");
    const next = outline.turns.find((t) => t.index === turn.index + 1);
    const last = Math.min(lines.length, next ? next.line - 1 : lines.length);
    const wanted = letters(sentence).slice(0, 8);
    for (let line = turn.line; line <= last; line++) {
      const raw = lines[line - 1];
      const map = [];
      let plain = "";
      for (let i = 0; i < raw.length; i++) if (/[\p{L}\p{N}]/u.test(raw[i])) { plain += raw[i]; map.push(i); }
      const at = wanted ? plain.indexOf(wanted) : -1;
      if (at >= 0) {
        const from = map[at];
        const sentenceLetters = letters(sentence).length;
        const end = map[Math.min(map.length - 1, at + sentenceLetters - 1)];
        return [line, from, end + 1];
      }
    }
    return [turn.line + 1 <= last ? turn.line + 1 : turn.line, 0, undefined];
  }

  // the sentence of the turn under the cursor (by where the sentences' letters begin)
  function sentenceAt(turn) {
    const offset = text.selectionStart;
    let found = 0;
    turn.sentences.forEach((sentence, index) => {
      const [line, from] = findSentence(turn, sentence);
      if (lineStart(line) + from <= offset) found = index;
    });
    return found;
  }

  function atCursor() {
    const line = cursorLine();
    const turn = turnAt(line);
    const problem = problemsAt.has(line) ? [...$("#problems").children].find((li) => li.dataset.line === String(line)) : null;
    $("#at-cursor").textContent = "line " + line + (turn ? " · turn " + (turn.index + 1) + " · " + turn.speaker : "")
      + (problem ? " · " + problem.textContent : "");
  }

  // ---------------------------------------------------------------- the outline

  function playButton(label, turn, sentence) {
    const button = element("button", "▶", "play");
    button.title = label;
    button.setAttribute("aria-label", label);
    button.dataset.turn = turn;
    if (sentence !== undefined) button.dataset.sentence = sentence;
    button.addEventListener("click", () => play(turn, sentence));
    return button;
  }

  function showOutline(fresh) {
    if (!fresh) return;  // keep the last good outline while the text has an error
    outline = fresh;
    const box = $("#outline");
    box.textContent = "";
    const legend = $("#hosts");
    legend.textContent = "";
    outline.hosts.forEach((host, index) => legend.appendChild(element("span", host.name, "host-chip host-" + (index % 4))));
    const hosts = element("ul", undefined, "hosts");
    outline.hosts.forEach((host, index) => hosts.appendChild(element("li", host.name + (host.guest ? " (guest)" : "")
      + " · " + host.characters + " characters", "host-" + (index % 4))));
    box.appendChild(element("h2", outline.hosts.some((h) => h.guest) ? "Hosts and guests" : "Hosts")); box.appendChild(hosts);
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
    const hostIndex = new Map(outline.hosts.map((h, i) => [h.name, i]));
    for (const turn of outline.turns) {
      const item = element("li", undefined, "turn host-" + ((hostIndex.get(turn.speaker) ?? 0) % 4));
      item.dataset.turn = turn.index;
      const head = element("div", undefined, "turn-head");
      head.appendChild(playButton("play turn " + (turn.index + 1), turn.index));
      const who = element("strong", (turn.index + 1) + " · " + turn.speaker);
      who.addEventListener("click", () => goToLine(turn.line));
      head.appendChild(who);
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
    drawBackdrop();
  }

  function showStale(stale) {
    const count = $("#stale");
    if (!stale) { count.textContent = ""; count.dataset.count = ""; return; }
    count.textContent = stale.stale.length + " of " + stale.turns + " turns to render (" + stale.engine + ")";
    count.dataset.count = String(stale.stale.length);
    count.dataset.checks = String(Number(count.dataset.checks || 0) + 1);
  }

  let checking = 0;
  async function checkNow() {
    const asked = ++checking;
    const response = await post("/api/check", {name, text: text.value, engine: engine()});
    if (asked !== checking) return;  // a newer check is under way
    if (!response.ok) { showProblems([{line: null, level: "error", message: await reason(response)}]); return; }
    const data = await response.json();
    showOutline(data.outline);
    showProblems(data.problems);
    if (data.stale) showStale(data.stale);
    editor.dataset.checked = String(Date.now());
  }
  const checkSoon = debounce(checkNow, 250);

  // ---------------------------------------------------------------- never lose an edit

  const keptNote = $("#kept");
  function showKept(state) {
    keptNote.dataset.state = state;
    keptNote.textContent = {saved: "", browser: "unsaved · kept in this browser",
      show: "unsaved · kept in the browser and in .duopod/", failed: "unsaved · only in this browser (the studio did not answer)"}[state];
  }

  async function keepOnServer() {
    if (!dirty()) return;
    const entry = {name, text: text.value, base: sha, at: Date.now()};
    try {
      const response = await post("/api/unsaved", entry);
      if (text.value === entry.text && dirty()) showKept(response.ok ? "show" : "failed");
    } catch { showKept("failed"); }
  }
  const keepSoon = debounce(keepOnServer, 400);

  function remember() {
    if (!dirty()) {
      localStorage.removeItem(storeKey);
      showKept("saved");
      post("/api/unsaved", {name, text: null}).catch(() => {});
      return;
    }
    localStorage.setItem(storeKey, JSON.stringify({text: text.value, base: sha, at: Date.now()}));
    showKept("browser");
    keepSoon();
  }

  function forget() {
    localStorage.removeItem(storeKey);
    showKept("saved");
  }

  // the newest unsaved text, from this browser or the show's .duopod/, offered back
  async function restore() {
    let local = null;
    try { local = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch { local = null; }
    let server = null;
    try {
      const response = await fetch("/api/unsaved?name=" + encodeURIComponent(name), {credentials: "same-origin"});
      const data = response.ok ? await response.json() : {};
      if (typeof data.text === "string") server = data;
    } catch { server = null; }
    const found = [local, server].filter((entry) => entry && typeof entry.text === "string" && entry.text !== savedText)
      .sort((a, b) => b.at - a.at)[0];
    if (!found) {
      if (local || server) { localStorage.removeItem(storeKey); post("/api/unsaved", {name, text: null}).catch(() => {}); }
      return;
    }
    text.value = found.text;
    const when = new Date(found.at).toLocaleString();
    const differs = firstDifference(savedText, found.text);
    editor.dataset.restored = found === local ? "browser" : "show";
    drawBackdrop();
    text.setSelectionRange(lineStart(differs), lineStart(differs));  // not at the end
    scrollToLine(differs);
    if (found.base === sha) {
      const note = $("#restored");
      note.hidden = false;
      note.textContent = "Your unsaved text from " + when + " is back in the editor (not saved yet; "
        + "it first differs from the file at line " + differs + ").";
      remember();
    } else {
      // typed over a version that is no longer on disk: the producer chooses (and until
      // then the text stays kept as typed over that older version)
      const onDisk = sha;
      sha = found.base;
      remember();
      showConflict(onDisk, savedText, "Your unsaved text from " + when + " was typed over an older version of this script; the file on disk has changed since.");
    }
  }

  function firstDifference(a, b) {
    const x = a.split("\n"), y = b.split("\n");
    let line = 0;
    while (line < x.length && line < y.length && x[line] === y[line]) line++;
    return line + 1;
  }

  function showConflict(theirSha, theirText, message) {
    theirs = {sha: theirSha, text: theirText};
    $("#conflict").hidden = false;
    $("#conflict-text").textContent = message + " Choose which to keep.";
    $("#difference").hidden = true;
    editor.dataset.conflict = "1";
  }

  function settled(message) {
    theirs = null;
    $("#conflict").hidden = true;
    delete editor.dataset.conflict;
    const note = $("#restored");
    note.hidden = !message;
    note.textContent = message || "";
  }

  async function currentOnDisk() {
    const response = await fetch("/api/script?name=" + encodeURIComponent(name), {credentials: "same-origin"});
    return response.ok ? await response.json() : null;
  }

  $("#keep-mine").addEventListener("click", async () => {
    const response = await post("/api/save", {name, text: text.value, sha256: theirs.sha, over_theirs: true});
    const data = await response.json();
    if (response.status === 409) {
      const now = await currentOnDisk();
      if (now) showConflict(now.sha256, now.text, "The file changed on disk again.");
      return;
    }
    if (!response.ok) { $("#conflict-text").textContent = data.error; return; }
    sha = data.sha256; savedText = text.value; editor.dataset.sha = sha; forget();
    settled("Saved your version; the one it replaced is kept in " + data.kept + ".");
    checkNow(); timeline.load(name);
  });

  $("#take-theirs").addEventListener("click", async () => {
    const mine = text.value;
    const response = await post("/api/aside", {name, text: mine});
    const data = await response.json();
    if (!response.ok) { $("#conflict-text").textContent = data.error; return; }
    const now = await currentOnDisk();
    if (!now) return;
    text.value = now.text; savedText = now.text; sha = now.sha256; editor.dataset.sha = sha;
    forget(); post("/api/unsaved", {name, text: null}).catch(() => {});
    settled("Took the version on disk; yours is kept in " + data.kept + ".");
    const back = element("button", "Put mine back in the editor");
    back.addEventListener("click", () => { text.value = mine; changed(); settled(""); });
    $("#restored").appendChild(document.createTextNode(" ")); $("#restored").appendChild(back);
    changed();
  });

  $("#see-difference").addEventListener("click", async () => {
    const box = $("#difference");
    if (!box.hidden) { box.hidden = true; return; }
    const response = await post("/api/diff", {name, text: text.value});
    const data = await response.json();
    box.textContent = "";
    if (!response.ok) { box.textContent = data.error; box.hidden = false; return; }
    theirs = {sha: data.sha256, text: data.theirs};
    if (!data.lines.length) box.appendChild(element("span", "no difference: both versions hold the same text", "hint"));
    for (const line of data.lines) {
      const label = {"-": "on disk ", "+": "yours   ", "@": "", " ": "        "}[line.kind] ?? "";
      box.appendChild(element("span", line.kind === "@" ? "@" + line.text + "\n" : label + line.text + "\n", "diff-" + ({"-": "theirs", "+": "mine", "@": "hunk"}[line.kind] || "same")));
    }
    box.hidden = false;
  });

  window.addEventListener("beforeunload", (event) => {
    if (!dirty() || leaving) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // links inside the page ask first, in the page
  const dialog = $("#leave");
  let leaveTo = null;
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || link.target || !dirty() || event.defaultPrevented) return;
    event.preventDefault();
    leaveTo = link.href;
    dialog.showModal();
  });
  $("#leave-stay").addEventListener("click", () => dialog.close());
  $("#leave-anyway").addEventListener("click", () => { leaving = true; keepOnServer().finally(() => { window.location = leaveTo; }); });
  $("#leave-save").addEventListener("click", async () => {
    if (await save()) { leaving = true; window.location = leaveTo; } else dialog.close();
  });

  // ---------------------------------------------------------------- saving

  async function save() {
    if (theirs) { $("#conflict-text").scrollIntoView({block: "nearest"}); return false; }
    const response = await post("/api/save", {name, text: text.value, sha256: sha});
    const data = await response.json();
    if (response.status === 409) {
      const now = await currentOnDisk();
      showConflict(data.current, now ? now.text : "", "This script changed on disk since you opened it (another editor, git, another tab); nothing was written.");
      return false;
    }
    if (!response.ok) { $("#conflict").hidden = false; $("#conflict-text").textContent = data.error; return false; }
    sha = data.sha256; editor.dataset.sha = sha; savedText = text.value;
    forget();
    settled("");
    return true;
  }

  // ---------------------------------------------------------------- hearing

  async function hear(url, body) {
    const failed = await hearer.play(url, body);
    if (failed) { $("#lex-note").textContent = failed; $("#at-cursor").textContent = "not heard: " + failed; }
  }

  function playExchange(turn) {
    return hear("/api/hear", {name, text: text.value, turn, exchange: true, engine: engine()});
  }

  function play(turn, sentence) {
    lastPlayed = {turn, sentence};
    return hear("/api/hear", {name, text: text.value, turn, sentence, engine: engine()});
  }

  $("#lex-try").addEventListener("click", () => {
    if (!lastPlayed) { $("#lex-note").textContent = "play a sentence first"; return; }
    hear("/api/lexicon", {name, text: text.value, ...lastPlayed, engine: engine(),
      written: $("#lex-written").value, spoken: $("#lex-spoken").value});
  });
  $("#lex-save-script").addEventListener("click", async () => {
    if (dirty()) { $("#lex-note").textContent = "save your edits first"; return; }
    const response = await post("/api/lexicon", {name, save: "script", sha256: sha,
      written: $("#lex-written").value, spoken: $("#lex-spoken").value});
    const data = await response.json();
    if (!response.ok) { $("#lex-note").textContent = data.error; return; }
    text.value = data.text; savedText = data.text; sha = data.sha256;
    $("#lex-note").textContent = "saved to " + data.saved + "'s front matter";
    changed();
  });
  $("#lex-save").addEventListener("click", async () => {
    const response = await post("/api/lexicon", {name, save: true, language: editor.dataset.language,
      written: $("#lex-written").value, spoken: $("#lex-spoken").value});
    const data = await response.json();
    $("#lex-note").textContent = response.ok ? "saved to " + data.saved : data.error;
    checkNow();
  });

  // ---------------------------------------------------------------- keys

  text.addEventListener("keydown", (event) => {
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.key.toLowerCase() === "s") { event.preventDefault(); save(); return; }
    if (mod && event.key === "Enter") {
      event.preventDefault();
      const turn = turnAt(cursorLine());
      if (!turn) { $("#at-cursor").textContent = "the cursor is not in a turn"; return; }
      play(turn.index, event.shiftKey ? sentenceAt(turn) : undefined);
      return;
    }
    if (event.key === "Escape") hearer.stop();
  });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s" && event.target !== text) {
      event.preventDefault(); save();
    }
  });

  function changed() {
    drawBackdrop();
    remember();
    checkSoon();
    atCursor();
  }

  text.addEventListener("input", changed);
  text.addEventListener("keyup", atCursor);
  text.addEventListener("click", atCursor);

  // ---------------------------------------------------------------- the episode

  const timeline = new Timeline({
    card: $("#timeline-card"), scroller: $("#timeline"), inner: $("#tl-inner"), canvas: $("#tl-wave"),
    chapters: $("#tl-chapters"), turns: $("#tl-turns"), zoom: $("#tl-zoom"), summary: $("#tl-summary"),
    now: $("#tl-now"), audio: $("#episode-audio"),
  }, (turn, index, sentence) => {
    const current = outline && outline.turns.find((t) => t.index === turn.index);
    if (!current) return;
    const [line, from, to] = findSentence(current, sentence.text);
    goToLine(line, from, to);
    $("#code").scrollIntoView({block: "nearest"});
    $("#at-cursor").textContent = "line " + line + " · turn " + turn.number + " · " + turn.speaker + " · " + clock(sentence.start);
  });

  // ---------------------------------------------------------------- building

  $("#save").addEventListener("click", save);
  $("#engine").addEventListener("change", checkNow);

  $("#build").addEventListener("click", async () => {
    if (!(await save())) return;
    const log = $("#progress");
    const bar = $("#build-progress");
    log.textContent = "";
    const add = (line, className) => {
      const item = element("li", line, className);
      log.appendChild(item);
      log.scrollTop = log.scrollHeight;  // the last lines in view
      return item;
    };
    const response = await post("/api/build", {name, engine: engine()});
    if (!response.ok) { add(await reason(response), "problem"); return; }
    const data = await response.json();
    add("rendering " + data.stale.length + " turn(s); the rest from the cache");
    editor.dataset.building = "1";
    bar.hidden = false; bar.value = 0;
    const events = new EventSource(data.events);
    events.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.kind === "outcome") {
        for (const line of event.messages) add(line);
        const done = add("exit status " + event.exit_code, event.exit_code === 0 ? "ok" : "problem");
        done.id = "outcome"; done.dataset.exit = event.exit_code;
        events.close(); delete editor.dataset.building;
        bar.value = bar.max;
        checkNow(); refreshFeed(); timeline.load(name);
        const preview = $("#preview");
        const outcome = event.outcomes[0];
        if (outcome && outcome.ok) { preview.src = "/site/" + outcome.slug + "/"; $("#state").textContent = outcome.state; }
        return;
      }
      if (event.total) { bar.max = event.total; bar.value = event.done; }
      const detail = event.total ? " " + event.done + "/" + event.total + (event.cached ? " (" + event.cached + " cached)" : "") : "";
      add(event.kind + detail + (event.detail ? " · " + event.detail : ""));
    };
  });

  for (const button of document.querySelectorAll("button[data-status]")) {
    button.addEventListener("click", async () => {
      if (dirty()) { $("#publish-note").textContent = "save your edits first"; return; }
      const body = {name, status: button.dataset.status, sha256: sha};
      if (body.status === "scheduled") body.at = $("#schedule-at").value;
      const response = await post("/api/status", body);
      if (!response.ok) { $("#publish-note").textContent = await reason(response); return; }
      const data = await response.json();
      text.value = data.text; savedText = data.text; sha = data.sha256;
      $("#publish-note").textContent = "front matter set: " + body.status + "; build to place the episode";
      changed();
    });
  }
  $("#unpublish").addEventListener("click", async () => {
    const response = await post("/api/unpublish", {slug: editor.dataset.slug});
    const data = await response.json();
    $("#publish-note").textContent = response.ok ? "unpublished " + data.unpublished : data.error;
    refreshFeed(); timeline.load(name);
  });

  async function refreshFeed() {
    const response = await fetch("/api/feed", {credentials: "same-origin"});
    const data = await response.json();
    const list = $("#feed"); list.textContent = "";
    for (const item of data.items) list.appendChild(element("li", item.title));
    if (!data.items.length) list.appendChild(element("li", "no episode in the feed yet", "hint"));
  }

  if (window.matchMedia("(max-width: 600px)").matches) $("#timeline-card").open = false;  // room for the text
  $("#timeline-card").addEventListener("toggle", () => timeline.drawWave());
  drawBackdrop();
  restore().finally(() => { drawBackdrop(); checkNow(); });
  refreshFeed();
  timeline.load(name);
}
