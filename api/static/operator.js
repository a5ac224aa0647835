// Noriai operator console: live map on a <canvas> from our own graph geometry (no tiles),
// fleet and bookings tables, re-optimize now, and replay of a day from the event log.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const COLORS = ["#e74c3c", "#2980b9", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#c0392b",
    "#2c3e50", "#f39c12", "#7f8c8d"];
  const hash = new URLSearchParams(location.hash.slice(1));
  const state = {
    token: hash.get("token") || sessionStorage.getItem("noriai.operator.token") || "",
    graph: null, stops: null, fleet: null, bookings: null,
    mode: "live", timer: null, replay: null, playing: null,
  };
  if (location.hash) history.replaceState(null, "", location.pathname);

  function colorOf(vehicleId, index) {
    if (index !== undefined) return COLORS[index % COLORS.length];
    let sum = 0;
    for (const ch of vehicleId) sum = (sum * 31 + ch.charCodeAt(0)) % 9973;
    return COLORS[sum % COLORS.length];
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function hhmm(iso) { return iso ? iso.slice(11, 16) : ""; }

  function secondsText(seconds) {
    const h = Math.floor(seconds / 3600); const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return [h, m, s].map(function (v) { return String(v).padStart(2, "0"); }).join(":");
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({
      headers: { Authorization: "Bearer " + state.token },
    }, options || {}));
    if (response.status === 401 || response.status === 403) {
      showLogin("The operator token was refused (" + response.status + ").");
      throw new Error("unauthorized");
    }
    if (!response.ok) throw new Error(path + ": " + response.status);
    return response.json();
  }

  // --- map ------------------------------------------------------------------------------
  function projection(canvas) {
    const bbox = state.graph.bbox; // [west, south, east, north]
    const cos = Math.cos(((bbox[1] + bbox[3]) / 2) * Math.PI / 180);
    const width = (bbox[2] - bbox[0]) * cos || 1e-6; const height = (bbox[3] - bbox[1]) || 1e-6;
    const pad = 24 * devicePixelRatio;
    const scale = Math.min((canvas.width - 2 * pad) / width, (canvas.height - 2 * pad) / height);
    const offsetX = (canvas.width - width * scale) / 2; const offsetY = (canvas.height - height * scale) / 2;
    return function (lon, lat) {
      return [offsetX + (lon - bbox[0]) * cos * scale, canvas.height - offsetY - (lat - bbox[1]) * scale];
    };
  }

  function line(ctx, project, coordinates) {
    ctx.beginPath();
    coordinates.forEach(function (point, index) {
      const xy = project(point[0], point[1]);
      if (index === 0) ctx.moveTo(xy[0], xy[1]); else ctx.lineTo(xy[0], xy[1]);
    });
    ctx.stroke();
  }

  function draw() {
    const canvas = $("map");
    if (!state.graph) return;
    const ratio = devicePixelRatio || 1;
    canvas.width = Math.max(300, canvas.clientWidth * ratio);
    canvas.height = Math.max(300, canvas.clientHeight * ratio);
    const ctx = canvas.getContext("2d");
    const project = projection(canvas);
    ctx.fillStyle = "#eef1f4"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.lineCap = "round"; ctx.lineJoin = "round";
    state.graph.features.forEach(function (feature) {
      const major = /primary|secondary|trunk|motorway/.test(feature.properties.highway);
      ctx.strokeStyle = major ? "#aab4be" : "#c9d0d6";
      ctx.lineWidth = (major ? 3 : 1.6) * ratio;
      line(ctx, project, feature.geometry.coordinates);
    });
    ctx.fillStyle = "#5dade2";
    (state.stops ? state.stops.features : []).forEach(function (feature) {
      const xy = project(feature.geometry.coordinates[0], feature.geometry.coordinates[1]);
      ctx.beginPath(); ctx.arc(xy[0], xy[1], 2.2 * ratio, 0, 2 * Math.PI); ctx.fill();
    });
    const view = state.mode === "replay" ? replayView() : liveView();
    view.vehicles.forEach(function (vehicle, index) {
      const color = colorOf(vehicle.id, index);
      ctx.strokeStyle = color; ctx.lineWidth = 4 * ratio; ctx.globalAlpha = 0.75;
      if (vehicle.route && vehicle.route.length > 1) {
        ctx.setLineDash([]); line(ctx, project, vehicle.route);
      } else if (vehicle.stops.length) {
        ctx.setLineDash([8 * ratio, 6 * ratio]);
        line(ctx, project, [[vehicle.lon, vehicle.lat]].concat(vehicle.stops.map(function (s) { return [s.lon, s.lat]; })));
        ctx.setLineDash([]);
      }
      ctx.globalAlpha = 1;
      vehicle.stops.forEach(function (stop) {
        const xy = project(stop.lon, stop.lat); const r = 6 * ratio;
        ctx.fillStyle = stop.kind === "pickup" ? "#27ae60" : "#8e44ad";
        ctx.beginPath();
        if (stop.kind === "pickup") {
          ctx.moveTo(xy[0], xy[1] - r); ctx.lineTo(xy[0] + r, xy[1] + r); ctx.lineTo(xy[0] - r, xy[1] + r);
        } else {
          ctx.rect(xy[0] - r * 0.8, xy[1] - r * 0.8, r * 1.6, r * 1.6);
        }
        ctx.fill();
      });
    });
    view.vehicles.forEach(function (vehicle, index) {
      const xy = project(vehicle.lon, vehicle.lat);
      ctx.fillStyle = colorOf(vehicle.id, index); ctx.strokeStyle = "#fff"; ctx.lineWidth = 3 * ratio;
      ctx.beginPath(); ctx.arc(xy[0], xy[1], 9 * ratio, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      ctx.fillStyle = "#17202a"; ctx.font = (12 * ratio) + "px system-ui, sans-serif";
      ctx.fillText(vehicle.id + " (" + vehicle.onboard + ")", xy[0] + 12 * ratio, xy[1] - 10 * ratio);
    });
  }

  function liveView() {
    const vehicles = (state.fleet ? state.fleet.vehicles : []).map(function (v) {
      return { id: v.id, lat: v.lat, lon: v.lon, stops: v.stops, route: v.route, onboard: v.onboard.length };
    });
    return { vehicles: vehicles };
  }

  // --- live tables ----------------------------------------------------------------------
  function renderFleet() {
    const body = $("fleet").querySelector("tbody"); body.replaceChildren();
    (state.fleet ? state.fleet.vehicles : []).forEach(function (v, index) {
      const row = el("tr");
      const name = el("td"); const swatch = el("span", "swatch"); swatch.style.background = colorOf(v.id, index);
      name.appendChild(swatch); name.appendChild(document.createTextNode(v.id + (v.retired ? " (retired)" : "")));
      row.appendChild(name);
      row.appendChild(el("td", v.connected ? "online" : "offline", v.connected ? "online" : "offline"));
      row.appendChild(el("td", "", String(v.onboard.length)));
      row.appendChild(el("td", "", String(v.stops.length)));
      row.appendChild(el("td", "", String(v.route_version)));
      body.appendChild(row);
    });
  }

  function renderBookings(bookings, counts) {
    const body = $("bookings").querySelector("tbody"); body.replaceChildren();
    bookings.forEach(function (b) {
      const row = el("tr"); row.dataset.booking = b.id;
      row.appendChild(el("td", "", b.id));
      const status = el("td"); status.appendChild(el("span", "state " + b.status, b.status)); row.appendChild(status);
      row.appendChild(el("td", "", hhmm(b.pickup_earliest)));
      row.appendChild(el("td", "route", (b.pickup ? b.pickup.name || b.pickup.stop_id : "") + " → " +
        (b.dropoff ? b.dropoff.name || b.dropoff.stop_id : "")));
      row.appendChild(el("td", "", b.vehicle_id || ""));
      body.appendChild(row);
    });
    $("counts").textContent = Object.keys(counts).sort().map(function (k) { return k + " " + counts[k]; }).join(" · ");
  }

  async function refresh() {
    if (state.mode !== "live") return;
    try {
      const results = await Promise.all([api("/v1/console/fleet"), api("/v1/console/bookings")]);
      if (state.mode !== "live") return;
      state.fleet = results[0]; state.bookings = results[1];
      $("day").textContent = state.fleet.service_day;
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
      renderFleet();
      renderBookings(state.bookings.bookings, state.bookings.counts);
      draw();
    } catch (error) {
      $("updated").textContent = String(error.message || error);
    }
  }

  async function reoptimize() {
    const button = $("reoptimize"); button.disabled = true;
    $("reopt-result").textContent = "re-optimizing…";
    try {
      const result = await api("/v1/console/reoptimize", { method: "POST" });
      const cost = result.adopted
        ? " (plan cost " + result.cost_before + " → " + result.cost_after + " s)" : "";
      $("reopt-result").textContent = (result.adopted ? "adopted" : "kept current plans") + cost +
        (result.changed_vehicles.length ? "; changed: " + result.changed_vehicles.join(", ") : "") +
        (result.reason ? " (" + result.reason + ")" : "");
      await refresh();
    } catch (error) {
      $("reopt-result").textContent = "failed: " + (error.message || error);
    } finally {
      button.disabled = false;
    }
  }

  // --- replay ---------------------------------------------------------------------------
  const STATUS_OF = { Booked: "booked", Assigned: "assigned", PickedUp: "onboard", DroppedOff: "completed",
    Completed: "completed", Cancelled: "cancelled", NoShow: "no_show" };

  function replayView() {
    const replay = state.replay;
    const at = Number($("replay-slider").value);
    const vehicles = {}; const bookings = {}; const places = {};
    replay.events.forEach(function (event) {
      if (event.time_s > at) return;
      const p = event.payload; const id = event.vehicle_id;
      if (id && !vehicles[id]) vehicles[id] = { id: id, lat: null, lon: null, stops: [], onboard: 0, route: null };
      if (event.type === "PlanChanged" && p.stops) {
        vehicles[id].stops = p.stops; vehicles[id].onboard = (p.onboard || []).length;
        p.stops.forEach(function (stop) {
          const known = places[stop.request_id] || (places[stop.request_id] = {});
          known[stop.kind] = { name: stop.name, stop_id: stop.stop_id };
        });
        if (vehicles[id].lat === null || !vehicles[id].moved) { vehicles[id].lat = p.lat; vehicles[id].lon = p.lon; }
      } else if (event.type === "VehiclePosition" || event.type === "StopArrived") {
        vehicles[id].lat = p.lat; vehicles[id].lon = p.lon; vehicles[id].moved = true;
      }
      if (event.request_id && STATUS_OF[event.type]) {
        bookings[event.request_id] = Object.assign(bookings[event.request_id] || { id: event.request_id },
          { status: STATUS_OF[event.type] });
        if (event.type === "Assigned") bookings[event.request_id].vehicle_id = id;
      }
    });
    Object.values(bookings).forEach(function (booking) {
      const known = places[booking.id] || {};
      booking.pickup = known.pickup || null; booking.dropoff = known.dropoff || null;
    });
    replay.view = {
      vehicles: Object.values(vehicles).filter(function (v) { return v.lat !== null; }),
      bookings: Object.values(bookings),
    };
    return replay.view;
  }

  function renderReplay() {
    const at = Number($("replay-slider").value);
    $("replay-time").textContent = state.replay.service_day + " " + secondsText(at);
    const view = replayView();
    const counts = {};
    view.bookings.forEach(function (b) { counts[b.status] = (counts[b.status] || 0) + 1; });
    const shown = state.replay.events.filter(function (e) { return e.time_s <= at; }).length;
    $("replay-summary").textContent = shown + " / " + state.replay.events.length + " events";
    renderBookings(view.bookings.map(function (b) {
      return { id: b.id, status: b.status, vehicle_id: b.vehicle_id, pickup_earliest: "",
        pickup: b.pickup, dropoff: b.dropoff };
    }), counts);
    draw();
  }

  async function loadDays() {
    const result = await api("/v1/console/days");
    const select = $("replay-day"); select.replaceChildren();
    result.days.forEach(function (day) { select.appendChild(el("option", "", day)); });
    $("replay-load").disabled = !result.days.length;
  }

  async function loadReplay() {
    const day = $("replay-day").value;
    if (!day) return;
    const replay = await api("/v1/console/replay?day=" + encodeURIComponent(day));
    state.replay = replay;
    state.mode = "replay";
    $("mode").textContent = "REPLAY"; $("mode").className = "mode replay";
    $("day").textContent = day;
    const times = replay.events.map(function (e) { return e.time_s; });
    const slider = $("replay-slider");
    slider.min = String(times.length ? Math.min.apply(null, times) : 0);
    slider.max = String(times.length ? Math.max.apply(null, times) : 0);
    slider.value = slider.max; slider.disabled = false;
    $("replay-play").disabled = !times.length;
    renderReplay();
  }

  function play() {
    const slider = $("replay-slider");
    if (state.playing) { clearInterval(state.playing); state.playing = null; $("replay-play").textContent = "Play"; return; }
    if (Number(slider.value) >= Number(slider.max)) slider.value = slider.min;
    const step = Math.max(1, Math.round((Number(slider.max) - Number(slider.min)) / 150));
    $("replay-play").textContent = "Pause";
    state.playing = setInterval(function () {
      slider.value = String(Math.min(Number(slider.max), Number(slider.value) + step));
      renderReplay();
      if (Number(slider.value) >= Number(slider.max)) play();
    }, 100);
  }

  function goLive() {
    if (state.playing) play();
    state.mode = "live";
    $("mode").textContent = "LIVE"; $("mode").className = "mode live";
    $("replay-slider").disabled = true;
    refresh();
  }

  // --- start ----------------------------------------------------------------------------
  function showLogin(error) {
    $("console").hidden = true; $("login").hidden = false;
    $("login-error").textContent = error || "";
    clearInterval(state.timer);
  }

  async function start() {
    sessionStorage.setItem("noriai.operator.token", state.token);
    $("login").hidden = true; $("console").hidden = false;
    try {
      const results = await Promise.all([api("/v1/console/graph"), api("/v1/console/stops")]);
      state.graph = results[0]; state.stops = results[1];
      $("attribution").textContent = state.graph.features.length + " road segments";
      await refresh();
      await loadDays();
    } catch (error) {
      if (String(error.message) !== "unauthorized") $("updated").textContent = String(error.message || error);
      return;
    }
    clearInterval(state.timer);
    state.timer = setInterval(refresh, 2000);
  }

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    state.token = $("token-input").value.trim();
    start();
  });
  $("reoptimize").addEventListener("click", reoptimize);
  $("replay-load").addEventListener("click", loadReplay);
  $("replay-play").addEventListener("click", play);
  $("replay-slider").addEventListener("input", renderReplay);
  $("live").addEventListener("click", goLive);
  window.addEventListener("resize", draw);

  if (state.token) start(); else showLogin("");
})();
