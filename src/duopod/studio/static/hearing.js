// Hearing a turn as it is spoken: the studio answers /api/hear with a WAV stream (a
// header, then 16-bit PCM as the engine says each sentence); each piece is played through
// Web Audio the moment it arrives, one after another, so the first sentence sounds while
// the next is spoken. At the end the whole is handed to the page's <audio> to play again.
"use strict";

import {post, reason} from "./common.js";

const HEADER = 44;

export class StreamPlayer {
  constructor(player) {
    this.player = player;   // the <audio> that keeps the last line heard
    this.context = null;
    this.session = null;
  }

  stop() {
    const session = this.session;
    this.session = null;
    if (!session) return;
    session.controller.abort();
    for (const source of session.sources) { try { source.stop(); } catch { /* not started */ } }
  }

  // POST body to url and play what comes; resolves when the stream has ended. Returns
  // null when it played, else the server's one-line reason.
  async play(url, body) {
    this.stop();
    this.context = this.context || new AudioContext();
    await this.context.resume();
    const session = {controller: new AbortController(), sources: [], next: 0, chunks: []};
    this.session = session;
    const player = this.player;
    player.dataset.state = "waiting";
    delete player.dataset.firstAudio;
    let response;
    try {
      response = await post(url, body, {signal: session.controller.signal});
    } catch (error) {
      if (error.name === "AbortError") return null;
      throw error;
    }
    if (!response.ok) { player.dataset.state = "failed"; return await reason(response); }
    player.dataset.cached = response.headers.get("X-Duopod-Cached") || "";
    const reader = response.body.getReader();
    let header = new Uint8Array(0);
    let odd = null;        // a byte of a sample split between two pieces
    let rate = 44100;
    try {
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        let bytes = value;
        if (header.length < HEADER) {
          const need = HEADER - header.length;
          header = concat(header, bytes.subarray(0, need));
          bytes = bytes.subarray(need);
          if (header.length === HEADER) rate = new DataView(header.buffer).getUint32(24, true);
        }
        if (odd) { bytes = concat(odd, bytes); odd = null; }
        if (bytes.length % 2) { odd = bytes.slice(bytes.length - 1); bytes = bytes.subarray(0, bytes.length - 1); }
        if (!bytes.length || this.session !== session) continue;
        const copy = bytes.slice();
        session.chunks.push(copy);
        this.schedule(session, copy, rate);
      }
    } catch (error) {
      if (error.name === "AbortError") return null;
      player.dataset.state = "failed";
      return "the speech stopped before the end of the turn (the studio's log says why)";
    }
    if (this.session !== session) return null;
    player.dataset.state = "done";
    const total = session.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    player.src = URL.createObjectURL(new Blob([wavHeader(total, rate), ...session.chunks], {type: "audio/wav"}));
    return null;
  }

  schedule(session, bytes, rate) {
    const samples = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
    const floats = new Float32Array(samples.length);
    for (let i = 0; i < samples.length; i++) floats[i] = samples[i] / 32768;
    const context = this.context;
    const buffer = context.createBuffer(1, floats.length, rate);
    buffer.copyToChannel(floats, 0);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    const at = Math.max(context.currentTime + 0.03, session.next);
    source.start(at);
    session.next = at + buffer.duration;
    session.sources.push(source);
    if (this.player.dataset.firstAudio === undefined) {
      this.player.dataset.firstAudio = String(performance.now());
      this.player.dataset.state = "playing";
    }
  }
}

function concat(a, b) {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0); joined.set(b, a.length);
  return joined;
}

function wavHeader(bytes, rate) {
  const header = new DataView(new ArrayBuffer(HEADER));
  const text = (at, s) => { for (let i = 0; i < s.length; i++) header.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); header.setUint32(4, 36 + bytes, true); text(8, "WAVE");
  text(12, "fmt "); header.setUint32(16, 16, true); header.setUint16(20, 1, true);
  header.setUint16(22, 1, true); header.setUint32(24, rate, true); header.setUint32(28, rate * 2, true);
  header.setUint16(32, 2, true); header.setUint16(34, 16, true);
  text(36, "data"); header.setUint32(40, bytes, true);
  return header.buffer;
}
