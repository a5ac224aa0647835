// Noriai driver tablet: the driver websocket protocol (docs/driver-protocol.md) in plain JS.
// Auth with resume, de-duplicated events by seq, acks, heartbeats, reconnect with back-off,
// commands with their own ids (re-sent after a reconnect; the server applies each once).
(function () {
  "use strict";

  const TEXT = {
    ja: {
      offline: "未接続", online: "接続中", connecting: "接続しています…",
      signIn: "ドライバー接続", vehicle: "車両 ID", token: "ドライバートークン", connect: "接続する",
      nextStop: "次の停留所", arrived: "到着した", upcoming: "この後の停留所",
      board: "乗車", alight: "降車", pickedUp: "乗車完了", noShow: "不在", droppedOff: "降車完了",
      persons: "名", wheelchair: "車いす", noStops: "予定はありません。待機してください。",
      noRoute: "ルートを待っています…", eta: "到着予定", version: "ルート版",
      newTask: "新しい予約が入りました", cancelledTask: "予約が取り消されました",
      routeUpdated: "ルートが更新されました", done: "記録しました",
      forbidden: "このトークンではこの車両に接続できません", unauthorized: "トークンが無効です",
      tooEarly: "まだ待ち時間が残っています", notArrived: "先に「到着した」を押してください",
      arriveHere: "目的地に到着", lang: "English", stop: "停留所",
    },
    en: {
      offline: "Offline", online: "Online", connecting: "Connecting…",
      signIn: "Driver sign-in", vehicle: "Vehicle ID", token: "Driver token", connect: "Connect",
      nextStop: "Next stop", arrived: "Arrived", upcoming: "Upcoming stops",
      board: "Board", alight: "Alight", pickedUp: "Picked up", noShow: "No-show",
      droppedOff: "Dropped off", persons: "pax", wheelchair: "wheelchair",
      noStops: "No stops planned. Please stand by.", noRoute: "Waiting for the route…",
      eta: "ETA", version: "route version", newTask: "New booking assigned",
      cancelledTask: "A booking was cancelled", routeUpdated: "Route updated", done: "Recorded",
      forbidden: "This token cannot drive this vehicle", unauthorized: "Invalid token",
      tooEarly: "The waiting time is not over yet", notArrived: "Tap “Arrived” first",
      arriveHere: "Arrive at the destination", lang: "日本語", stop: "Stop",
    },
  };

  const $ = (id) => document.getElementById(id);
  const hash = new URLSearchParams(location.hash.slice(1));
  const state = {
    lang: hash.get("lang") || localStorage.getItem("noriai.lang") || "ja",
    token: hash.get("token") || sessionStorage.getItem("noriai.driver.token") || "",
    vehicle: hash.get("vehicle") || sessionStorage.getItem("noriai.driver.vehicle") || "",
    socket: null,
    session: { session_id: null, last_seq: 0 },
    route: null,
    pending: new Map(),
    heartbeat: null,
    backoff: 500,
    position: null,
    lastPositionSent: 0,
    stopped: false,
  };
  if (location.hash) history.replaceState(null, "", location.pathname);

  function t(key) { return (TEXT[state.lang] || TEXT.ja)[key] || key; }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "id-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function sessionKey() { return "noriai.driver.session." + state.vehicle; }

  // The session (seq position) and the route it produced are kept together, so a reloaded
  // page shows the route at once and resumes from the same seq.
  function loadSession() {
    try {
      const saved = JSON.parse(localStorage.getItem(sessionKey()));
      if (saved && saved.session) { state.session = saved.session; state.route = saved.route || null; }
    } catch (_) { /* keep the empty session */ }
  }

  function saveSession() {
    localStorage.setItem(sessionKey(), JSON.stringify({ session: state.session, route: state.route }));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Times come as ISO strings in the service time zone ("2026-11-25T21:34:00+09:00"):
  // show their own hour and minute, whatever the tablet's time zone is.
  function clock(iso) { return iso ? iso.slice(11, 16) : ""; }

  function metres(value) {
    return value >= 1000 ? (value / 1000).toFixed(1) + " km" : Math.round(value) + " m";
  }

  // --- connection -----------------------------------------------------------------------
  function setConnection(kind) {
    const badge = $("connection");
    badge.className = "connection " + kind;
    badge.dataset.i18n = kind;
    badge.textContent = t(kind);
  }

  function send(type, payload, id) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify({
      v: 1, type: type, id: id || uuid(), seq: null, ack: state.session.last_seq,
      ts: new Date().toISOString(), payload: payload,
    }));
    return true;
  }

  function command(type, payload) {
    const id = uuid();
    state.pending.set(id, { type: type, payload: payload });
    send(type, payload, id);
    return id;
  }

  function connect() {
    setConnection("connecting");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/v1/drivers/ws");
    state.socket = socket;
    socket.onopen = function () {
      const resume = state.session.session_id
        ? { session_id: state.session.session_id, last_seq: state.session.last_seq } : null;
      send("auth", { token: state.token, vehicle_id: state.vehicle, resume: resume });
    };
    socket.onmessage = function (event) {
      let message;
      try { message = JSON.parse(event.data); } catch (_) { return; }
      handle(message);
    };
    socket.onclose = function (event) {
      clearInterval(state.heartbeat);
      setConnection("offline");
      if (event.code === 4401 || event.code === 4403) {
        state.stopped = true;
        showLogin(t(event.code === 4401 ? "unauthorized" : "forbidden"));
        return;
      }
      if (state.stopped) return;
      setTimeout(connect, state.backoff);
      state.backoff = Math.min(state.backoff * 2, 15000);
    };
  }

  function handle(message) {
    const payload = message.payload || {};
    if (message.type === "hello") {
      state.backoff = 500;
      setConnection("online");
      if (payload.session_id !== state.session.session_id) {
        state.session = { session_id: payload.session_id, last_seq: 0 };
        state.route = null;
        saveSession();
      }
      clearInterval(state.heartbeat);
      state.heartbeat = setInterval(function () {
        send("heartbeat", { last_seq: state.session.last_seq });
      }, payload.heartbeat_interval_ms || 15000);
      state.pending.forEach(function (item, id) { send(item.type, item.payload, id); });
      return;
    }
    if (message.seq !== null && message.seq !== undefined) {
      if (message.seq > state.session.last_seq) {
        state.session.last_seq = message.seq;
        applyEvent(message);
        saveSession();
      }
      send("ack", { upto_seq: state.session.last_seq });
      return;
    }
    if (message.type === "command.result") {
      state.pending.delete(payload.command_id);
      if (payload.command !== "position") notice(t("done"));
    } else if (message.type === "error") {
      if (payload.id) state.pending.delete(payload.id);
      const known = { too_early: "tooEarly", not_arrived: "notArrived" }[payload.code];
      notice(known ? t(known) + " (" + payload.message + ")" : payload.message);
    }
  }

  function applyEvent(message) {
    const payload = message.payload;
    if (message.type === "route.updated") {
      const current = state.route;
      const stale = current && current.service_day === payload.service_day &&
        payload.route_version < current.route_version;
      if (!stale) {
        state.route = payload;
        if (payload.reason !== "snapshot") notice(t("routeUpdated"));
        render();
      }
    } else if (message.type === "task.assigned") {
      notice(t("newTask") + ": " + payload.request_id);
    } else if (message.type === "task.cancelled") {
      notice(t("cancelledTask") + ": " + payload.request_id);
    }
  }

  // --- position -------------------------------------------------------------------------
  function watchPosition() {
    if (!navigator.geolocation) return;
    navigator.geolocation.watchPosition(function (fix) {
      const c = fix.coords;
      state.position = { lat: c.latitude, lon: c.longitude };
      const now = Date.now();
      if (now - state.lastPositionSent < 5000) return;
      state.lastPositionSent = now;
      send("position", {
        lat: c.latitude, lon: c.longitude,
        bearing: c.heading === null || isNaN(c.heading) ? null : c.heading,
        speed_mps: c.speed === null ? null : Math.max(0, c.speed),
        accuracy_m: c.accuracy, recorded_at: new Date(fix.timestamp).toISOString(),
      });
      renderInstruction();
    }, function () { /* no GPS: the route is still shown from its start */ },
    { enableHighAccuracy: true, maximumAge: 2000 });
  }

  // --- rendering ------------------------------------------------------------------------
  function notice(text) { $("notice").textContent = text; }

  function translatePage() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-i18n]").forEach(function (node) {
      node.textContent = t(node.dataset.i18n);
    });
    $("lang").textContent = t("lang");
  }

  function nearestStep(steps) {
    if (!state.position || !steps.length) return 0;
    let best = 0; let bestDistance = Infinity;
    const cos = Math.cos(state.position.lat * Math.PI / 180);
    steps.forEach(function (step, index) {
      step.geometry.coordinates.forEach(function (point) {
        const dx = (point[0] - state.position.lon) * cos; const dy = point[1] - state.position.lat;
        const distance = dx * dx + dy * dy;
        if (distance < bestDistance) { bestDistance = distance; best = index; }
      });
    });
    return best;
  }

  function renderInstruction() {
    const route = state.route;
    const box = $("instruction"); const distance = $("instruction-distance");
    if (!route) { box.textContent = t("noRoute"); distance.textContent = ""; return; }
    const steps = route.steps.filter(function (step) { return step.leg === 0; });
    if (!steps.length) { box.textContent = t("noStops"); distance.textContent = ""; return; }
    const here = nearestStep(steps);
    // The upcoming maneuver: after the step we are on (the departure shows the first turn).
    const next = steps[Math.min(here + 1, steps.length - 1)];
    const current = steps[here];
    box.textContent = next.instructions[state.lang] || next.instruction;
    distance.textContent = steps.length > 1 ? metres(current.distance) : "";
  }

  function riderRow(rider, side) {
    const row = el("div", "rider " + side);
    row.dataset.request = rider.request_id;
    row.appendChild(el("span", "kind", t(side)));
    let who = rider.request_id + " · " + rider.passengers + t("persons");
    if (rider.wheelchairs) who += " · " + t("wheelchair") + " " + rider.wheelchairs;
    row.appendChild(el("span", "who", who));
    const done = el("button", "action performed", t(side === "board" ? "pickedUp" : "droppedOff"));
    done.type = "button";
    done.addEventListener("click", function () {
      done.disabled = true;
      command("task.performed", {
        request_id: rider.request_id, action: side === "board" ? "pickup" : "dropoff",
      });
    });
    row.appendChild(done);
    if (side === "board") {
      const absent = el("button", "action no-show", t("noShow"));
      absent.type = "button";
      absent.addEventListener("click", function () {
        command("task.no_show", { request_id: rider.request_id });
      });
      row.appendChild(absent);
    }
    return row;
  }

  function render() {
    translatePage();
    $("vehicle-label").textContent = state.vehicle;
    const route = state.route;
    const riders = $("riders"); riders.replaceChildren();
    const upcoming = $("upcoming"); upcoming.replaceChildren();
    const stop = route && route.stops.length ? route.stops[0] : null;
    $("arrived").disabled = !stop;
    if (!stop) {
      $("stop-name").textContent = route ? t("noStops") : t("noRoute");
      $("stop-eta").textContent = "";
    } else {
      $("stop-name").textContent = stop.name || t("stop") + " " + stop.stop_id;
      $("stop-eta").textContent = t("eta") + " " + clock(stop.arrival);
      stop.alight.forEach(function (rider) { riders.appendChild(riderRow(rider, "alight")); });
      stop.board.forEach(function (rider) { riders.appendChild(riderRow(rider, "board")); });
    }
    (route ? route.stops.slice(1) : []).forEach(function (next) {
      const item = el("li");
      item.appendChild(el("span", "time", clock(next.arrival)));
      const what = [];
      if (next.board.length) what.push(t("board") + " " + next.board.length);
      if (next.alight.length) what.push(t("alight") + " " + next.alight.length);
      item.appendChild(document.createTextNode((next.name || next.stop_id) + " (" + what.join(", ") + ")"));
      upcoming.appendChild(item);
    });
    $("route-meta").textContent = route
      ? t("version") + " " + route.route_version + " · seq " + state.session.last_seq : "";
    renderInstruction();
  }

  function showLogin(error) {
    $("main").hidden = true;
    $("login").hidden = false;
    $("vehicle-input").value = state.vehicle;
    $("login-error").textContent = error || "";
    translatePage();
  }

  function start() {
    sessionStorage.setItem("noriai.driver.token", state.token);
    sessionStorage.setItem("noriai.driver.vehicle", state.vehicle);
    $("login").hidden = true;
    $("main").hidden = false;
    state.stopped = false;
    loadSession();
    render();
    connect();
    watchPosition();
  }

  $("lang").addEventListener("click", function () {
    state.lang = state.lang === "ja" ? "en" : "ja";
    localStorage.setItem("noriai.lang", state.lang);
    render();
    if (!$("login").hidden) translatePage();
  });
  $("arrived").addEventListener("click", function () {
    const stop = state.route && state.route.stops[0];
    if (stop) command("stop.arrived", { stop_id: stop.stop_id });
  });
  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    state.vehicle = $("vehicle-input").value.trim();
    state.token = $("token-input").value.trim();
    start();
  });

  if (state.token && state.vehicle) start(); else showLogin("");
})();
