// The built episode under the editor: the published MP3's levels (a canvas drawn for the
// part in view), its chapters, and its turns and sentences, coloured by host. A sentence
// clicked plays that stretch of the MP3 (the browser fetches it by HTTP Range) and asks
// the editor to put its cursor on the sentence's line.
"use strict";

import {element, clock} from "./common.js";

export class Timeline {
  constructor(parts, onSentence) {
    Object.assign(this, parts);   // card, scroller, inner, canvas, chapters, turns, zoom, summary, now, audio
    this.onSentence = onSentence;
    this.episode = null;
    this.stopAt = null;
    this.playing = null;
    this.scroller.addEventListener("scroll", () => this.drawWave());
    this.zoom.addEventListener("input", () => this.draw());
    window.addEventListener("resize", () => this.drawWave());
    this.canvas.addEventListener("click", (event) => {
      const box = this.canvas.getBoundingClientRect();
      this.play((this.scroller.scrollLeft + event.clientX - box.left) / this.pps(), null);
    });
    this.audio.addEventListener("pause", () => this.markPlaying(null));
  }

  pps() { return Number(this.zoom.value); }

  async load(name) {
    const response = await fetch("/api/episode?name=" + encodeURIComponent(name), {credentials: "same-origin"});
    const data = response.ok ? await response.json() : {episode: null};
    this.episode = data.episode;
    this.card.hidden = !this.episode;
    if (!this.episode) return;
    const audio = this.episode.audio + "?v=" + this.episode.levels.peaks.length + "-" + this.episode.duration;
    if (this.audio.dataset.src !== audio) { this.audio.dataset.src = audio; this.audio.src = audio; }
    const flagged = this.episode.turns.reduce((n, t) => n + t.sentences.filter((s) => s.flag).length, 0);
    const sentences = this.episode.turns.reduce((n, t) => n + t.sentences.length, 0);
    this.summary.textContent = clock(this.episode.duration) + " · " + this.episode.turns.length + " turns · "
      + sentences + " sentences · " + this.episode.chapters.length + " chapters · "
      + (this.episode.verified ? flagged + " flagged by verify" : "not verified (duopod verify " + this.episode.slug + ")");
    this.card.dataset.flagged = String(flagged);
    this.draw();
  }

  hostColour(host) {
    return getComputedStyle(document.documentElement).getPropertyValue("--host" + (host % 4)).trim() || "#888";
  }

  draw() {
    const episode = this.episode;
    if (!episode) return;
    const pps = this.pps();
    this.inner.style.width = Math.ceil(episode.duration * pps) + "px";
    this.chapters.textContent = "";
    for (const chapter of episode.chapters) {
      const mark = element("button", chapter.title, "tl-chapter");
      mark.style.left = (chapter.start * pps) + "px";
      mark.style.width = Math.max(2, (chapter.end - chapter.start) * pps) + "px";
      mark.title = chapter.title + " · " + clock(chapter.start);
      mark.addEventListener("click", () => this.play(chapter.start, null));
      this.chapters.appendChild(mark);
    }
    this.turns.textContent = "";
    for (const turn of episode.turns) {
      const band = element("div", undefined, "tl-turn host-" + (turn.host % 4));
      band.style.left = (turn.start * pps) + "px";
      band.style.width = Math.max(2, (turn.end - turn.start) * pps) + "px";
      band.title = "turn " + turn.number + " · " + turn.speaker;
      band.dataset.turn = turn.index;
      turn.sentences.forEach((sentence, index) => {
        const button = element("button", sentence.text, "tl-sentence" + (sentence.flag ? " flagged" : ""));
        button.style.left = ((sentence.start - turn.start) * pps) + "px";
        button.style.width = Math.max(2, (sentence.end - sentence.start) * pps) + "px";
        button.dataset.turn = turn.index;
        button.dataset.sentence = index;
        button.dataset.start = sentence.start;
        button.dataset.end = sentence.end;
        button.title = "turn " + turn.number + ", sentence " + (index + 1) + " · " + clock(sentence.start) + "\n" + sentence.text
          + (sentence.flag ? "\nverify heard: " + sentence.flag.heard + " (CER " + sentence.flag.cer.toFixed(2) + ")"
            + (sentence.flag.misheard.length ? "; misheard " + sentence.flag.misheard.join(", ") : "") : "");
        button.addEventListener("click", () => {
          this.play(sentence.start, sentence.end, button);
          this.onSentence(turn, index, sentence);
        });
        band.appendChild(button);
      });
      this.turns.appendChild(band);
    }
    this.drawWave();
  }

  // the levels of the part of the episode in view, each column in its host's colour
  drawWave() {
    const episode = this.episode;
    if (!episode) return;
    const width = this.scroller.clientWidth;
    const ratio = window.devicePixelRatio || 1;
    const height = 64;
    this.canvas.style.left = this.scroller.scrollLeft + "px";
    this.canvas.style.width = width + "px";
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    const context = this.canvas.getContext("2d");
    context.scale(ratio, ratio);
    const {per_second: perSecond, peaks} = episode.levels;
    const pps = this.pps();
    const turns = episode.turns;
    let turn = 0;
    for (let x = 0; x < width; x++) {
      const from = (this.scroller.scrollLeft + x) / pps;
      if (from > episode.duration) break;
      const first = Math.floor(from * perSecond);
      const last = Math.max(first + 1, Math.floor((from + 1 / pps) * perSecond));
      let peak = 0;
      for (let i = first; i < last && i < peaks.length; i++) peak = Math.max(peak, peaks[i]);
      while (turn < turns.length - 1 && turns[turn].end < from) turn++;
      while (turn > 0 && turns[turn].start > from) turn--;
      const speaking = turns[turn] && turns[turn].start <= from && from <= turns[turn].end;
      context.fillStyle = speaking ? this.hostColour(turns[turn].host) : "#9aa3b5";
      const half = Math.max(0.5, (peak / 1000) * (height / 2 - 2));
      context.fillRect(x, height / 2 - half, 1, half * 2);
    }
  }

  // play the MP3 from start (to end, when given), and follow it
  play(start, end, button) {
    const audio = this.audio;
    this.stopAt = end;
    audio.dataset.from = String(start);
    audio.dataset.to = end === null ? "" : String(end);
    audio.currentTime = start;
    this.markPlaying(button || null);
    audio.play().catch(() => {});
    const follow = () => {
      if (audio.paused) return;
      this.now.textContent = clock(audio.currentTime);
      if (this.stopAt !== null && audio.currentTime >= this.stopAt) {
        audio.pause();
        audio.dataset.stoppedAt = String(audio.currentTime);
        return;
      }
      requestAnimationFrame(follow);
    };
    delete audio.dataset.stoppedAt;
    audio.addEventListener("playing", () => requestAnimationFrame(follow), {once: true});
  }

  markPlaying(button) {
    if (this.playing) this.playing.classList.remove("playing");
    this.playing = button;
    if (button) { button.classList.add("playing"); button.scrollIntoView({block: "nearest", inline: "center"}); }
  }
}
