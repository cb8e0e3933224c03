// Thorbis terminal UI: small enhancements over server-rendered pages. Every screen works
// without this file; with it, the PIN pad takes taps, quick-cash buttons fill the amount,
// the indicator bar refreshes, forms on signed-in screens swap the page's <main> in place
// instead of loading a new document, and the kitchen screens update live and beep.
(function () {
  "use strict";

  // Taps are handled on the document, so they keep working on content swapped in later.
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-digit],[data-clear],[data-fill],[data-sound]") : null;
    if (!b) return;
    var pin = document.getElementById("pin");
    if (b.hasAttribute("data-digit")) {
      if (pin && pin.value.length < 8) pin.value += b.getAttribute("data-digit");
    } else if (b.hasAttribute("data-clear")) {
      if (pin) pin.value = "";
    } else if (b.hasAttribute("data-fill")) {
      var input = document.getElementById("tendered");
      if (input) { input.value = b.getAttribute("data-fill"); input.focus(); }
    } else {
      b.textContent = "Sound ready";
    }
  });

  // Keyboard-wedge scanners type a code as a burst of keys ending in Enter, faster than any
  // person: every key under 30 ms after the one before. Forms marked data-wedge send
  // via=scan for such a burst and via=typed otherwise, so the server knows a scan (which
  // must be a barcode) from typing (which may be a search).
  function wedge(root) {
    var stops = [];
    root.querySelectorAll("form[data-wedge]").forEach(function (form) {
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
        var stop = function () { scans.close(); window.thorbisScansLive = false; };
        stops.push(stop);
        scans.onopen = function () { window.thorbisScansLive = true; };
        // Let the stream go as soon as the page does, so it never holds a connection.
        window.addEventListener("pagehide", stop);
        document.addEventListener("submit", stop);
        scans.addEventListener("scan", function (e) {
          stop();
          field.value = e.data;
          via.value = "scan";
          form.submit();
        });
      }
    });
    return function () { stops.forEach(function (stop) { stop(); }); };
  }
  // Swapped-in content gets its own (see `swap`).
  var stopWedge = wedge(document);

  // Signature pads: a canvas the customer draws on with a finger, a pen or the mouse. The
  // drawing goes into the form's hidden `drawing` field as a PNG when the form is sent;
  // without this script the pad stays hidden and the typed name alone is recorded.
  function pads(root) {
    root.querySelectorAll("[data-sigpad]").forEach(function (pad) {
      var canvas = pad.querySelector("canvas");
      var field = pad.querySelector("input[name=drawing]");
      if (!canvas || !field || !canvas.getContext) return;
      var ctx = canvas.getContext("2d");
      var drawn = false, down = false;
      function clear() {
        ctx.fillStyle = "#ffffff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        field.value = "";
      }
      function at(e) {
        var r = canvas.getBoundingClientRect();
        return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
      }
      clear();
      ctx.strokeStyle = "#111111";
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      canvas.addEventListener("pointerdown", function (e) {
        down = true;
        try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* a stroke still draws */ }
        var p = at(e);
        ctx.beginPath();
        ctx.moveTo(p[0], p[1]);
        ctx.lineTo(p[0] + 0.1, p[1] + 0.1);
        ctx.stroke();
        drawn = true;
      });
      canvas.addEventListener("pointermove", function (e) {
        if (!down) return;
        var p = at(e);
        ctx.lineTo(p[0], p[1]);
        ctx.stroke();
      });
      function up() { down = false; if (drawn) field.value = canvas.toDataURL("image/png"); }
      canvas.addEventListener("pointerup", up);
      canvas.addEventListener("pointercancel", up);
      var reset = pad.querySelector("[data-sigclear]");
      if (reset) reset.addEventListener("click", clear);
      pad.hidden = false;
    });
  }
  pads(document);

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

  // Audio for the kitchen's cue. Browsers start audio only after a tap; any tap unlocks it.
  window.thorbisBeeps = window.thorbisBeeps || 0;
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
  document.addEventListener("pointerdown", function () {
    if (!audio) { try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) {} }
    if (audio && audio.state === "suspended") audio.resume();
  });

  // A live region (the kitchen display, expo): the element with `data-live` names the
  // stream; `data-parts` names the stream's events, each replacing the element of the same
  // id. Ticket ages tick in the page. Returns what stops it, for when <main> is swapped.
  function live(root) {
    var box = root.querySelector("[data-live]");
    if (!box) return function () {};
    var offset = Number(box.getAttribute("data-now")) - Date.now();
    var warn = Number(box.getAttribute("data-warn-ms"));
    var late = Number(box.getAttribute("data-late-ms"));
    function ages() {
      var now = Date.now() + offset;
      root.querySelectorAll(".ticket[data-sent]").forEach(function (t) {
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
      box.querySelectorAll("[data-ticket]").forEach(function (t) { set[t.getAttribute("data-ticket")] = true; });
      return set;
    }
    ages();
    var timer = setInterval(ages, 1000);
    var known = ids();
    var source = null;
    if (window.EventSource) {
      source = new EventSource(box.getAttribute("data-live"));
      (box.getAttribute("data-parts") || box.id).split(" ").forEach(function (part) {
        source.addEventListener(part, function (e) {
          var target = document.getElementById(part);
          if (!target) return;
          target.innerHTML = e.data;
          var now = ids(), fresh = false;
          Object.keys(now).forEach(function (id) { if (!known[id]) fresh = true; });
          known = now;
          ages();
          if (fresh) beep();
          box.setAttribute("data-updates", String(Number(box.getAttribute("data-updates") || 0) + 1));
        });
      });
    }
    return function () { clearInterval(timer); if (source) source.close(); };
  }
  var stopLive = live(document);

  // Forms inside <main data-swap> post with fetch and the answer's <main> replaces the
  // page's: no new document, stylesheet or script to load, so a tap paints in one frame
  // after the agent answers. Without fetch/DOMParser the form simply submits as usual.
  var latest = 0;
  function swap(doc, url) {
    var next = doc.querySelector("main");
    var old = document.querySelector("main");
    var focused = document.activeElement && document.activeElement.id;
    var path = location.pathname;
    stopLive();
    old.replaceWith(document.adoptNode(next));
    document.title = doc.title;
    var screen = doc.body && doc.body.getAttribute("data-screen");
    if (screen) document.body.setAttribute("data-screen", screen);
    var ind = doc.getElementById("indicators");
    if (ind && bar) bar.innerHTML = ind.innerHTML;
    // The header's nav names who is signed in: another tab may have signed someone else in.
    var nav = doc.querySelector("header nav"), ownNav = document.querySelector("header nav");
    if (nav && ownNav && nav.innerHTML !== ownNav.innerHTML) ownNav.innerHTML = nav.innerHTML;
    if (url && url !== location.href) history.pushState(null, "", url);
    if (location.pathname !== path) window.scrollTo(0, 0);
    stopLive = live(next);
    stopWedge();
    stopWedge = wedge(next);
    pads(next);
    // Focus stays on the same control when the new page has it (the cash field after a
    // refused tender); otherwise the new content takes it, without scrolling.
    var target = (focused && document.getElementById(focused)) || next.querySelector("[autofocus]");
    if (!target) { next.setAttribute("tabindex", "-1"); target = next; }
    target.focus({ preventScroll: true });
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var main = document.querySelector("main[data-swap]");
    if (e.defaultPrevented || !main || !main.contains(form) || !window.fetch || !window.DOMParser) return;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    // A file upload is sent by the browser itself, as a multipart form.
    if ((form.getAttribute("enctype") || "").toLowerCase() === "multipart/form-data") return;
    var body;
    try {
      body = new URLSearchParams(new FormData(form));
      if (e.submitter && e.submitter.name) body.append(e.submitter.name, e.submitter.value);
    } catch (err) { return; }
    e.preventDefault();
    var mine = ++latest;
    // The header asks the agent to follow its own redirect (one round trip, not two); it
    // names the page's address in `x-thorbis-url`. A plain redirect is followed too.
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin", redirect: "follow",
      headers: { "x-thorbis-swap": "1" }
    })
      .then(function (r) {
        return r.text().then(function (html) {
          // Only the latest tap's answer is shown; an earlier one arriving late is stale.
          if (mine !== latest) return;
          var named = r.headers.get("x-thorbis-url");
          var url = named ? new URL(named, location.href).href : (r.redirected ? r.url : null);
          try {
            var doc = new DOMParser().parseFromString(html, "text/html");
            // A page outside the swap (signed out, another person) loads as a document.
            if (!doc.querySelector("main") || (url && !doc.querySelector("main[data-swap]"))) {
              location.assign(url || location.href);
              return;
            }
            swap(doc, url);
          } catch (err) {
            location.assign(url || location.href);
          }
        });
      }, function () {
        // The agent did not answer: submit as the page would without this script.
        if (mine === latest) HTMLFormElement.prototype.submit.call(form);
      });
  });
  // Swapped pages have their own URLs; going back or forward loads that URL afresh.
  window.addEventListener("popstate", function () { location.reload(); });
})();
