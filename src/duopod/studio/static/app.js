// duopod studio: the episodes page's forms, and the editor on a script's page. Plain
// JavaScript modules, no build step, nothing from another site (the pages' policy
// allows scripts from the studio alone).
"use strict";

import {$, post, reason} from "./common.js";
import {startEditor} from "./editor.js";

const newForm = $("#new-episode");
if (newForm) {
  newForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await post("/api/new", {title: newForm.title.value});
    if (response.ok) { window.location = (await response.json()).url; return; }
    const note = $("#new-error"); note.hidden = false; note.textContent = await reason(response);
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
    button.disabled = false; button.textContent = "Draft with the writers' room";
    if (response.ok) { window.location = (await response.json()).url; return; }
    const note = $("#new-error"); note.hidden = false; note.textContent = await reason(response);
  });
}

const editor = $("#editor");
if (editor) startEditor(editor);
