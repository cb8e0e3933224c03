// Thorbis terminal UI: small enhancements over server-rendered pages. Every screen works
// without this file; with it, the PIN pad takes taps, quick-cash buttons fill the amount,
// the indicator bar refreshes, and the kitchen display updates live and beeps.
(function () {
  "use strict";

  // PIN pad: digit, clear.
  var pin = document.getElementById("pin");
  document.querySelectorAll("[data-digit]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (pin && pin.value.length < 8) pin.value += b.getAttribute("data-digit");
    });
  });
  document.querySelectorAll("[data-clear]").forEach(function (b) {
    b.addEventListener("click", function () { if (pin) pin.value = ""; });
  });

  // Quick cash amounts.
  document.querySelectorAll("[data-fill]").forEach(function (b) {
    b.addEventListener("click", function () {
      var input = document.getElementById("tendered");
      if (input) { input.value = b.getAttribute("data-fill"); input.focus(); }
    });
  });

  // Keyboard-wedge scanners type a code as a burst of keys ending in Enter, faster than any
  // person: every key under 30 ms after the one before. Forms marked data-wedge send
  // via=scan for such a burst and via=typed otherwise, so the server knows a scan (which
  // must be a barcode) from typing (which may be a search).
  document.querySelectorAll("form[data-wedge]").forEach(function (form) {
    var via = form.querySelector("input[name=via]");
    var field = form.querySelector("input[autofocus]");
    if (!via || !field) return;
    var last = 0, keys = 0, slow = false;
    field.addEventListener("keydown", function (e) {
      var now = performance.now();
      if (e.key === "Enter") {
        via.value = keys >= 4 && !slow ? "scan" : "typed";
        form.setAttribute("data-last-via", via.value);
        keys = 0; slow = false; last = 0;
        return;
      }
      if (e.key.length !== 1) return;
      if (keys === 0 || field.value === "") { keys = 0; slow = false; }
      else if (now - last >= 30) slow = true;
      keys += 1; last = now;
    });
    // A tap on the button is a person's.
    form.querySelectorAll("button").forEach(function (b) {
      b.addEventListener("pointerdown", function () { via.value = "typed"; });
    });
    // Whatever is in the field after a refusal is replaced by the next scan.
    field.select();
    // A serial scanner's codes arrive over server-sent events and go in as scans.
    var live = form.getAttribute("data-live");
    if (live && window.EventSource) {
      var scans = new EventSource(live);
      scans.onopen = function () { window.thorbisScansLive = true; };
      // Let the stream go as soon as the page does, so it never holds a connection.
      window.addEventListener("pagehide", function () { scans.close(); });
      document.addEventListener("submit", function () { scans.close(); });
      scans.addEventListener("scan", function (e) {
        scans.close();
        field.value = e.data;
        via.value = "scan";
        form.submit();
      });
    }
  });

  // The indicator bar: online/offline, backlog, printers.
  var bar = document.getElementById("indicators");
  if (bar) {
    setInterval(function () {
      fetch("/indicators", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) bar.innerHTML = html; })
        .catch(function () {});
    }, 5000);
  }

  // Kitchen display.
  var tickets = document.getElementById("tickets");
  if (!tickets) return;
  window.thorbisBeeps = 0;
  var audio = null;
  function beep() {
    window.thorbisBeeps += 1;
    try {
      if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio device: the screen still updates */ }
  }
  // Browsers start audio only after a tap; the Sound button (or any tap) unlocks it.
  document.addEventListener("pointerdown", function () {
    if (!audio) { try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) {} }
    if (audio && audio.state === "suspended") audio.resume();
  });
  var sound = document.getElementById("sound");
  if (sound) sound.addEventListener("click", function () { sound.textContent = "Sound ready"; });

  var offset = Number(tickets.getAttribute("data-now")) - Date.now();
  var warn = Number(tickets.getAttribute("data-warn-ms"));
  var late = Number(tickets.getAttribute("data-late-ms"));
  function ages() {
    var now = Date.now() + offset;
    tickets.querySelectorAll(".ticket[data-sent]").forEach(function (t) {
      var age = Math.max(0, now - Number(t.getAttribute("data-sent")));
      var s = Math.floor(age / 1000);
      var label = t.querySelector(".age");
      if (label) label.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      t.classList.toggle("warn", age >= warn && age < late);
      t.classList.toggle("late", age >= late);
      t.classList.toggle("fresh", age < warn);
    });
  }
  function ids() {
    var set = {};
    tickets.querySelectorAll("[data-ticket]").forEach(function (t) { set[t.getAttribute("data-ticket")] = true; });
    return set;
  }
  ages();
  setInterval(ages, 1000);
  var known = ids();
  var live = tickets.getAttribute("data-live");
  if (live && window.EventSource) {
    var source = new EventSource(live);
    source.addEventListener("tickets", function (e) {
      tickets.innerHTML = e.data;
      var now = ids(), fresh = false;
      Object.keys(now).forEach(function (id) { if (!known[id]) fresh = true; });
      known = now;
      ages();
      if (fresh) beep();
      tickets.setAttribute("data-updates", String(Number(tickets.getAttribute("data-updates") || 0) + 1));
    });
  }
})();
