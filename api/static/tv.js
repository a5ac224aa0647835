/* Noriai TV page: book the community demand car with the remote control only.
 *
 * One key table maps event.key and event.keyCode to actions (arrows, OK, digits, the four
 * colour keys, Back). Exactly one element is focused at all times; every screen lists its
 * focusable elements and the page puts the focus back if it is ever lost. Nothing times out
 * silently: every wait shows a screen, every failure shows a screen that says what to do.
 */
"use strict";

/* ---- keys ------------------------------------------------------------------------------ */
// Actions: up down left right ok back red green yellow blue digit0..digit9.
// By event.key (browsers, HbbTV / webOS / Tizen send these names for remote keys).
const KEYS_BY_NAME = {
  ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right",
  Up: "up", Down: "down", Left: "left", Right: "right",
  Enter: "ok", Accept: "ok",
  Backspace: "back", Escape: "back", GoBack: "back", BrowserBack: "back", Back: "back",
  ColorF0Red: "red", ColorF1Green: "green", ColorF2Yellow: "yellow", ColorF3Blue: "blue",
  Red: "red", Green: "green", Yellow: "yellow", Blue: "blue",
};
for (let d = 0; d <= 9; d += 1) KEYS_BY_NAME[String(d)] = "digit" + d;

// By event.keyCode (HbbTV / OIPF VK_* codes; Back is 461 on HbbTV and webOS, 10009 on Tizen,
// 8 elsewhere; Escape 27 acts as Back for testing on a PC).
const KEYS_BY_CODE = {
  37: "left", 38: "up", 39: "right", 40: "down", 13: "ok",
  403: "red", 404: "green", 405: "yellow", 406: "blue",
  461: "back", 10009: "back", 8: "back", 27: "back",
};
for (let d = 0; d <= 9; d += 1) {
  KEYS_BY_CODE[48 + d] = "digit" + d;   // top-row digits
  KEYS_BY_CODE[96 + d] = "digit" + d;   // numeric keypad
}

// Alternative table for Japanese data broadcasting (ARIB BML) receivers, where the remote's
// keys arrive with other codes. Enabled with ?keys=bml (18 is Alt on a PC keyboard, so it is
// not in the default table).
// const BML: Enter 18, Back 19, Blue 21, Red 22, Green 23, Yellow 24; arrows 1-4, digits 5-16.
const KEYS_BY_CODE_BML = {
  1: "up", 2: "down", 3: "left", 4: "right",
  18: "ok", 19: "back", 21: "blue", 22: "red", 23: "green", 24: "yellow",
  5: "digit0", 6: "digit1", 7: "digit2", 8: "digit3", 9: "digit4", 10: "digit5",
  11: "digit6", 12: "digit7", 13: "digit8", 14: "digit9",
};
const USE_BML = new URLSearchParams(location.search).get("keys") === "bml";

// Some TVs deliver the colour and digit keys to a page only after it asks for them.
function claimRemoteKeys() {
  try {  // Samsung Tizen
    if (window.tizen && tizen.tvinputdevice) {
      ["ColorF0Red", "ColorF1Green", "ColorF2Yellow", "ColorF3Blue",
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"].forEach((k) => tizen.tvinputdevice.registerKey(k));
    }
  } catch (error) { /* not a Tizen TV */ }
  try {  // HbbTV: RED | GREEN | YELLOW | BLUE | NAVIGATION | VCR | NUMERIC
    const manager = document.querySelector("object[type='application/oipfApplicationManager']");
    const app = manager && manager.getOwnerApplication(document);
    if (app) { app.privateData.keyset.setValue(0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x100); app.show(); }
  } catch (error) { /* not an HbbTV receiver */ }
}
claimRemoteKeys();

function actionOf(event) {
  if (USE_BML && KEYS_BY_CODE_BML[event.keyCode]) return KEYS_BY_CODE_BML[event.keyCode];
  return KEYS_BY_NAME[event.key] || KEYS_BY_CODE[event.keyCode] || null;
}

/* ---- texts ----------------------------------------------------------------------------- */
const TEXT = {
  ja: {
    brand: "のりあい号 予約",
    keyBack: "赤：もどる", keyOk: "決定：OK", keyGreen: "緑：決定", keyYellowPair: "黄：ペアリングコード",
    keyYellowPin: "黄：暗証番号でログイン", keyBlue: "青：English", keyDelete: "赤：1字消す",
    loginTitle: "ログイン", loginHint: "数字ボタンで入力し、決定（OK）を押してください。",
    number: "世帯番号", pin: "暗証番号", login: "ログインする",
    pairTitle: "テレビの登録（ペアリング）", pairHint: "役場から届いた10けたのコードを入力してください。",
    code: "コード", pair: "登録する",
    menuTitle: "メニュー", menuBook: "車を予約する", menuTrips: "予約の確認・取り消し", menuLogout: "おわる（ログアウト）",
    destTitle: "どこへ行きますか？", destHint: "番号ボタンでも選べます。",
    dayTitle: "いつ行きますか？", today: "今日", tomorrow: "明日", dayClosed: "受付は終わりました",
    timeTitle: "何時までに着きたいですか？", timeHint: "▲▼で15分ずつ、◀▶で1時間ずつ変わります。",
    arriveBy: "{t} までに到着",
    ridersTitle: "何人で乗りますか？", ridersHint: "▲▼か数字ボタン（1〜4）で選んでください。",
    persons: "{n}人",
    searching: "空いている車をさがしています。しばらくお待ちください。",
    checking: "確認しています。しばらくお待ちください。",
    offerTitle: "この内容で予約しますか？", where: "行き先", when: "到着", pickup: "お迎え",
    pickupPlace: "乗る場所", home: "ご自宅前", riders: "人数", confirm: "予約する（緑）", back: "もどる（赤）",
    pickupWindow: "{a}〜{b} の間に来ます",
    booking: "予約しています。しばらくお待ちください。",
    doneTitle: "予約できました", bookingNumber: "予約番号", callUs: "変更・お問い合わせ", askUs: "お問い合わせ",
    toMenu: "メニューへもどる（OK）",
    tripsTitle: "予約の一覧", tripsHint: "取り消すときは、予約を選んで決定（OK）を押してください。", noTrips: "これからの予約はありません。",
    tripLine: "{d} {a}〜{b} お迎え → {w}（{t}まで）",
    cancelTitle: "この予約を取り消しますか？", cancelYes: "取り消す（緑）", cancelNo: "取り消さない（赤）",
    cancelling: "取り消しています。しばらくお待ちください。",
    cancelledTitle: "予約を取り消しました",
    noCarTitle: "この時間に行ける車がありません", noCarHint: "次の時間なら予約できます。選んでください。",
    noAlternative: "近い時間にも空きがありません。お電話ください。",
    noCarFits: "人数や車いすに合う車がありません。お電話でご相談ください。",
    noCarDay: "この日は車が走りません。お電話ください。",
    otherTime: "時刻を選びなおす（赤）",
    wrongPinTitle: "世帯番号か暗証番号がちがいます", wrongPinText: "もう一度入力してください。わからないときはお電話ください。",
    lockedTitle: "しばらくログインできません", lockedText: "暗証番号を何度もまちがえたため、10分間ログインできません。",
    wrongCodeTitle: "このコードは使えません", wrongCodeText: "コードは1回だけ使えます。役場にお問い合わせください。",
    pastTitle: "その時刻はもう過ぎています", pastText: "もっと後の時刻を選んでください。何も予約されていません。",
    outsideTitle: "その行き先はサービス区域の外です", outsideText: "この車では行けません。お電話でご相談ください。何も予約されていません。",
    notYoursTitle: "この予約はこのお宅の予約ではありません", notYoursText: "ほかのお宅の予約は見ることも取り消すこともできません。何も変わっていません。",
    expiredTitle: "もう一度ログインしてください", expiredText: "安全のため、ログインの有効期限が切れました。",
    networkTitle: "つながりません", networkText: "もう一度お試しください。直らないときはお電話ください。",
    errorTitle: "うまくいきませんでした", ok: "OK",
    dateFmt: "{m}月{d}日", phoneLabel: "電話",
  },
  en: {
    brand: "Noriai community car",
    keyBack: "Red: back", keyOk: "OK: choose", keyGreen: "Green: confirm", keyYellowPair: "Yellow: pairing code",
    keyYellowPin: "Yellow: log in with PIN", keyBlue: "Blue: 日本語", keyDelete: "Red: delete digit",
    loginTitle: "Log in", loginHint: "Enter the numbers with the digit keys, then press OK.",
    number: "Household no.", pin: "PIN", login: "Log in",
    pairTitle: "Register this TV (pairing)", pairHint: "Enter the 10-digit code from the town office.",
    code: "Code", pair: "Register",
    menuTitle: "Menu", menuBook: "Book the car", menuTrips: "My trips / cancel", menuLogout: "Finish (log out)",
    destTitle: "Where are you going?", destHint: "You can also press the number.",
    dayTitle: "Which day?", today: "Today", tomorrow: "Tomorrow", dayClosed: "no more trips",
    timeTitle: "Arrive by what time?", timeHint: "▲▼ change by 15 minutes, ◀▶ by one hour.",
    arriveBy: "arrive by {t}",
    ridersTitle: "How many people?", ridersHint: "Use ▲▼ or the digit keys 1 to 4.",
    persons: "{n}",
    searching: "Looking for a free car. Please wait.",
    checking: "Checking. Please wait.",
    offerTitle: "Book this trip?", where: "To", when: "Arrive", pickup: "Pickup",
    pickupPlace: "Pickup at", home: "your home", riders: "People", confirm: "Book (Green)", back: "Back (Red)",
    pickupWindow: "between {a} and {b}",
    booking: "Booking. Please wait.",
    doneTitle: "Your trip is booked", bookingNumber: "Booking number", callUs: "To change, call", askUs: "Help:",
    toMenu: "Back to the menu (OK)",
    tripsTitle: "Your trips", tripsHint: "To cancel a trip, choose it and press OK.", noTrips: "You have no upcoming trips.",
    tripLine: "{d} pickup {a}-{b} → {w} (by {t})",
    cancelTitle: "Cancel this trip?", cancelYes: "Cancel the trip (Green)", cancelNo: "Keep it (Red)",
    cancelling: "Cancelling. Please wait.",
    cancelledTitle: "The trip is cancelled",
    noCarTitle: "No car is free at that time", noCarHint: "These times are free. Please choose one.",
    noAlternative: "No nearby time is free either. Please call us.",
    noCarFits: "No car fits your party or wheelchair. Please call us.",
    noCarDay: "No car runs that day. Please call us.",
    otherTime: "Choose another time (Red)",
    wrongPinTitle: "Household number or PIN is wrong", wrongPinText: "Please try again. If you do not know it, please call us.",
    lockedTitle: "Log-in is blocked for a while", lockedText: "The PIN was wrong too many times. Please wait 10 minutes.",
    wrongCodeTitle: "This code does not work", wrongCodeText: "A code works only once. Please ask the town office.",
    pastTitle: "That time has already passed", pastText: "Please choose a later time. Nothing was booked.",
    outsideTitle: "That destination is outside the service area", outsideText: "The car cannot go there. Please call us. Nothing was booked.",
    notYoursTitle: "This trip belongs to another household", notYoursText: "You cannot see or cancel other households' trips. Nothing was changed.",
    expiredTitle: "Please log in again", expiredText: "For your safety the log-in has ended.",
    networkTitle: "No connection", networkText: "Please try again. If it does not work, please call us.",
    errorTitle: "Something went wrong", ok: "OK",
    dateFmt: "{m}/{d}", phoneLabel: "Phone",
  },
};

const state = {
  lang: localStorage.getItem("noriai.tv.lang") || "ja",
  token: localStorage.getItem("noriai.tv.device") || null,
  household: null,
  options: null,
  screen: "login",
  focus: 0,
  focusables: [],
  handlers: {},
  login: { mode: "pin", number: "", pin: "", code: "" },
  trip: { preset: null, day: null, time: null, riders: 1 },
  offer: null, idempotency: null, booked: null, trips: [], chosenTrip: null, error: null,
  quote: null, busy: false,
};

function t(key, params) {
  let text = (TEXT[state.lang] && TEXT[state.lang][key]) || TEXT.ja[key] || key;
  for (const [name, value] of Object.entries(params || {})) text = text.replace("{" + name + "}", value);
  return text;
}
function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function placeName(item) {
  return state.lang === "ja" && item.destination_ja ? item.destination_ja : item.destination;
}
function presetName(p) { return state.lang === "ja" && p.name_ja ? p.name_ja : p.name; }
function dateLabel(iso) {
  const [, m, d] = iso.split("-").map(Number);
  return t("dateFmt", { m, d });
}
function minutes(hhmm) { const [h, m] = hhmm.split(":").map(Number); return h * 60 + m; }
function hhmm(total) { return String(Math.floor(total / 60)).padStart(2, "0") + ":" + String(total % 60).padStart(2, "0"); }
function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "k" + Date.now() + Math.random().toString(16).slice(2);
}

/* ---- server ---------------------------------------------------------------------------- */
const REQUEST_TIMEOUT_MS = 20000;
async function api(method, path, body, extraHeaders) {
  const headers = Object.assign({ "Content-Type": "application/json" }, extraHeaders || {});
  if (state.token) headers.Authorization = "Bearer " + state.token;
  // A request never waits forever: after REQUEST_TIMEOUT_MS the "no connection" screen says so.
  const controller = window.AbortController ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS) : null;
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller ? controller.signal : undefined,
    });
  } catch (error) {
    return { ok: false, status: 0, data: { reason: "network" } };
  } finally {
    if (timer) clearTimeout(timer);
  }
  let data = null;
  try { data = await response.json(); } catch (error) { data = null; }
  return { ok: response.ok, status: response.status, data: data || {} };
}

// Turn a failed answer into the screen that explains it.
function failure(result, fallback) {
  const reason = result.data && result.data.reason;
  if (result.status === 0) return showError("network", fallback);
  if (result.status === 401 && (reason === "session_expired" || reason === "unknown_token" || reason === "no_token")) {
    state.token = null; localStorage.removeItem("noriai.tv.device");
    return showError("expired", "login");
  }
  const map = {
    wrong_pin: "wrongPin", locked: "locked", wrong_code: "wrongCode", in_the_past: "past",
    outside_service_area: "outside", not_your_trip: "notYours",
  };
  return showError(map[reason] || "error", fallback, result.data && result.data.detail);
}

/* ---- rendering ------------------------------------------------------------------------- */
const screenEl = () => document.getElementById("screen");

function footer(keys) {
  const parts = keys.map(([cls, label]) => `<div class="key ${cls}"><span class="dot ${cls}"></span><span>${esc(label)}</span></div>`);
  document.getElementById("keys").innerHTML = parts.join("");
}

function header() {
  document.getElementById("brand").textContent = t("brand");
  const h = state.household;
  document.getElementById("who").textContent = h ? `${h.display_name}（${h.number}）` : "";
  document.documentElement.lang = state.lang;
}

// Render a screen: html, the handlers for actions and which element gets the focus.
function render(name, html, handlers, keys, focusIndex) {
  state.screen = name;
  state.handlers = handlers || {};
  header();
  screenEl().innerHTML = html;
  screenEl().setAttribute("data-screen", name);
  state.focusables = Array.from(screenEl().querySelectorAll("[data-focus]"));
  state.focus = Math.min(focusIndex || 0, Math.max(0, state.focusables.length - 1));
  footer(keys || [["red", t("keyBack")], ["ok", t("keyOk")], ["blue", t("keyBlue")]]);
  applyFocus();
}

function applyFocus() {
  const el = state.focusables[state.focus];
  if (el && document.activeElement !== el) el.focus({ preventScroll: true });
  if (el) el.scrollIntoView({ block: "nearest" });
}

function moveFocus(delta) {
  const n = state.focusables.length;
  if (n === 0) return;
  state.focus = (state.focus + delta + n) % n;
  applyFocus();
}

function item(num, label, sub, attrs) {
  const numHtml = num === null ? "" : `<span class="num">${num}</span>`;
  const subHtml = sub ? `<span class="sub">${esc(sub)}</span>` : "";
  return `<div class="item" tabindex="0" data-focus ${attrs || ""}>${numHtml}<span>${esc(label)}</span>${subHtml}</div>`;
}

/* ---- screens --------------------------------------------------------------------------- */
function showLogin() {
  const L = state.login;
  if (L.mode === "pair") {
    const code = L.code.padEnd(10, "_");
    render("pair",
      `<h1>${t("pairTitle")}</h1><p class="hint">${t("pairHint")}</p>
       <div class="list">
         <div class="field" tabindex="0" data-focus data-field="code"><span class="label">${t("code")}</span>
           <span class="value">${esc(code.slice(0, 5) + "-" + code.slice(5))}</span></div>
         ${item(null, t("pair"), "", 'data-submit="1"')}
       </div>`,
      {}, [["red", t("keyDelete")], ["ok", t("keyOk")], ["yellow", t("keyYellowPin")], ["blue", t("keyBlue")]],
      state.focus);
    return;
  }
  render("login",
    `<h1>${t("loginTitle")}</h1><p class="hint">${t("loginHint")}</p>
     <div class="list">
       <div class="field" tabindex="0" data-focus data-field="number"><span class="label">${t("number")}</span>
         <span class="value">${esc(L.number || "")}</span></div>
       <div class="field" tabindex="0" data-focus data-field="pin"><span class="label">${t("pin")}</span>
         <span class="value">${"●".repeat(L.pin.length)}</span></div>
       ${item(null, t("login"), "", 'data-submit="1"')}
     </div>`,
    {}, [["red", t("keyDelete")], ["ok", t("keyOk")], ["yellow", t("keyYellowPair")], ["blue", t("keyBlue")]],
    state.focus);
}

function loginKey(action) {
  const L = state.login;
  const el = state.focusables[state.focus];
  const field = el && el.getAttribute("data-field");
  const limits = { number: 8, pin: 6, code: 10 };
  if (action.startsWith("digit") && field) {
    if (L[field].length < limits[field]) L[field] += action.slice(5);
    return showLogin();
  }
  if (action === "back" || action === "red") {
    if (field && L[field]) { L[field] = L[field].slice(0, -1); return showLogin(); }
    return undefined;
  }
  if (action === "yellow") {
    L.mode = L.mode === "pin" ? "pair" : "pin"; state.focus = 0; return showLogin();
  }
  if (action === "ok" || action === "green") {
    if (el && el.hasAttribute("data-submit")) return submitLogin();
    if (field === "number" && action === "ok") { moveFocus(1); return undefined; }
    if (field === "pin" && L.pin.length < 4 && action === "ok") return undefined;
    if (action === "green" || field === "pin" || field === "code") return submitLogin();
  }
  if (action === "down") return moveFocus(1);
  if (action === "up") return moveFocus(-1);
  return undefined;
}

async function submitLogin() {
  const L = state.login;
  if (L.mode === "pin" && (!L.number || L.pin.length < 4)) {
    state.focus = !L.number ? 0 : 1; return showLogin();
  }
  if (L.mode === "pair" && L.code.length !== 10) { state.focus = 0; return showLogin(); }
  wait(t("checking"));
  state.token = null;
  const result = L.mode === "pin"
    ? await api("POST", "/v1/tv/login", { number: Number(L.number), pin: L.pin })
    : await api("POST", "/v1/tv/pair", { code: L.code });
  L.pin = ""; L.code = "";
  if (!result.ok) { state.focus = 0; return failure(result, "login"); }
  state.token = result.data.token;
  if (result.data.kind === "device") localStorage.setItem("noriai.tv.device", state.token);
  state.household = result.data.household;
  if (!localStorage.getItem("noriai.tv.lang")) state.lang = state.household.language || "ja";
  return loadOptionsThenMenu();
}

async function loadOptionsThenMenu() {
  const result = await api("GET", "/v1/tv/options");
  if (!result.ok) return failure(result, "login");
  state.options = result.data;
  state.serverSkew = Date.parse(result.data.now) - Date.now();
  tick();
  return showMenu();
}

function wait(message) {
  render("wait", `<div class="item alert" tabindex="0" data-focus><span>${esc(message)}</span></div>`, {}, [["blue", t("keyBlue")]]);
}

function showMenu() {
  render("menu",
    `<h1>${t("menuTitle")}</h1><div class="list">
       ${item(1, t("menuBook"), "", 'data-go="book"')}
       ${item(2, t("menuTrips"), "", 'data-go="trips"')}
       ${item(3, t("menuLogout"), "", 'data-go="logout"')}
     </div>`,
    {
      ok: () => menuGo(state.focusables[state.focus].getAttribute("data-go")),
      digit: (d) => { const el = state.focusables[d - 1]; if (el) menuGo(el.getAttribute("data-go")); },
    },
    [["ok", t("keyOk")], ["blue", t("keyBlue")]]);
}

async function menuGo(where) {
  if (where === "book") { state.trip = { preset: null, day: null, time: null, riders: 1 }; return showDestinations(); }
  if (where === "trips") return showTrips();
  if (where === "logout") {
    await api("POST", "/v1/tv/logout");
    state.token = null; state.household = null; localStorage.removeItem("noriai.tv.device");
    state.login = { mode: "pin", number: "", pin: "", code: "" }; state.focus = 0;
    return showLogin();
  }
  return undefined;
}

function showDestinations() {
  const presets = state.options.presets;
  render("destination",
    `<h1>${t("destTitle")}</h1><p class="hint">${t("destHint")}</p><div class="list">
      ${presets.map((p) => item(p.number, presetName(p), "", `data-preset="${p.number}"`)).join("")}
     </div>`,
    {
      ok: () => chooseDestination(Number(state.focusables[state.focus].getAttribute("data-preset"))),
      digit: (d) => { if (presets.some((p) => p.number === d)) chooseDestination(d); },
      back: showMenu,
    }, undefined, Math.max(0, (state.trip.preset || 1) - 1));
}

function chooseDestination(number) { state.trip.preset = number; showDays(); }

function showDays() {
  const days = state.options.days;
  const rows = days.map((day, i) => {
    const label = t(day.label) + "　" + dateLabel(day.date);
    if (!day.first) return `<div class="item disabled"><span class="num">${i + 1}</span><span>${esc(label)}</span><span class="sub">${esc(t("dayClosed"))}</span></div>`;
    return item(i + 1, label, "", `data-day="${i}"`);
  });
  render("day", `<h1>${t("dayTitle")}</h1><div class="list">${rows.join("")}</div>`, {
    ok: () => chooseDay(Number(state.focusables[state.focus].getAttribute("data-day"))),
    digit: (d) => { if (days[d - 1] && days[d - 1].first) chooseDay(d - 1); },
    back: showDestinations,
  });
}

function chooseDay(index) {
  const day = state.options.days[index];
  state.trip.day = day;
  const first = minutes(day.first); const last = minutes(day.last);
  const preferred = day.label === "today" ? first : 10 * 60;
  state.trip.time = Math.min(last, Math.max(first, preferred));
  showTime();
}

function showTime() {
  const day = state.trip.day;
  render("time",
    `<h1>${t("timeTitle")}</h1><p>${esc(t(day.label) + "　" + dateLabel(day.date))}</p>
     <div class="spinner" tabindex="0" data-focus><span class="arrow">▲</span>
       <span class="big" id="time-value">${hhmm(state.trip.time)}</span><span class="arrow">▼</span></div>
     <p>${esc(t("arriveBy", { t: hhmm(state.trip.time) }))}</p><p class="hint">${t("timeHint")}</p>`,
    {
      up: () => stepTime(state.options.step_minutes), down: () => stepTime(-state.options.step_minutes),
      right: () => stepTime(60), left: () => stepTime(-60),
      ok: showRiders, green: showRiders, back: showDays,
    });
}

function stepTime(delta) {
  const day = state.trip.day;
  state.trip.time = Math.min(minutes(day.last), Math.max(minutes(day.first), state.trip.time + delta));
  showTime();
}

function showRiders() {
  const n = state.trip.riders;
  render("riders",
    `<h1>${t("ridersTitle")}</h1>
     <div class="spinner" tabindex="0" data-focus><span class="arrow">▲</span>
       <span class="big">${esc(t("persons", { n }))}</span><span class="arrow">▼</span></div>
     <p class="hint">${t("ridersHint")}</p>`,
    {
      up: () => setRiders(n + 1), down: () => setRiders(n - 1),
      digit: (d) => setRiders(d), ok: requestQuote, green: requestQuote, back: showTime,
    });
}

function setRiders(n) {
  state.trip.riders = Math.min(state.options.max_riders, Math.max(1, n));
  showRiders();
}

async function requestQuote() {
  wait(t("searching"));
  const trip = state.trip;
  const result = await api("POST", "/v1/tv/quote", {
    preset: trip.preset, date: trip.day.date, arrive_by: hhmm(trip.time), riders: trip.riders,
  });
  if (!result.ok) return failure(result, "time");
  state.quote = result.data;
  if (result.data.offer) return showOffer(result.data.offer);
  const reason = result.data.rejection && result.data.rejection.reason;
  if (reason === "outside_service_area") return showError("outside", "destination");
  if (reason === "in_the_past") return showError("past", "time");
  if (["no_vehicle_in_time", "shift_end", "capacity", "no_vehicles"].includes(reason)) {
    return showNoCar(result.data.alternatives || [], reason);
  }
  return showError("error", "time", result.data.rejection && result.data.rejection.message);
}

function summary(o) {
  const place = o.door_to_door ? t("home") : (o.pickup_name || "—");
  return `<div class="summary">
      <div class="k">${t("where")}</div><div class="v">${esc(placeName(o))}</div>
      <div class="k">${t("when")}</div><div class="v">${esc(dateLabel(o.date) + " " + t("arriveBy", { t: o.arrive_by }))}</div>
      <div class="k">${t("pickup")}</div><div class="v">${esc(t("pickupWindow", { a: o.pickup_from, b: o.pickup_to }))}</div>
      <div class="k">${t("pickupPlace")}</div><div class="v">${esc(place)}</div>
      <div class="k">${t("riders")}</div><div class="v">${esc(t("persons", { n: o.riders }))}</div>
    </div>`;
}

function showOffer(offer) {
  state.offer = offer;
  state.idempotency = newKey();
  render("offer",
    `<h1>${t("offerTitle")}</h1>${summary(offer)}
     <div class="row">${item(null, t("confirm"), "", 'data-do="book"')}${item(null, t("back"), "", 'data-do="back"')}</div>`,
    {
      ok: () => (state.focusables[state.focus].getAttribute("data-do") === "book" ? book() : showTime()),
      green: book, back: showTime, left: () => moveFocus(-1), right: () => moveFocus(1),
    },
    [["red", t("keyBack")], ["green", t("keyGreen")], ["ok", t("keyOk")], ["blue", t("keyBlue")]]);
}

async function book() {
  if (state.busy) return undefined;
  state.busy = true;
  wait(t("booking"));
  const result = await api("POST", "/v1/tv/bookings", { offer_id: state.offer.offer_id }, { "Idempotency-Key": state.idempotency });
  state.busy = false;
  if (!result.ok) return failure(result, "time");
  state.booked = result.data;
  return showDone();
}

function phoneLine(kind) {
  const phone = (state.options && state.options.phone) || (state.booked && state.booked.phone);
  const label = kind === "help" ? t("askUs") : t("callUs");
  return phone ? `<p class="phone"><span class="label">${label}</span>${t("phoneLabel")} ${esc(phone)}</p>` : "";
}

// Booking numbers are read out on the phone: show them in groups of four.
function grouped(id) {
  const groups = id.match(/.{1,4}/g) || [id];
  return groups.map(esc).join('<span class="gap"></span>');
}

function showDone() {
  const b = state.booked;
  render("done",
    `<h1>${t("doneTitle")}</h1>
     <p>${t("bookingNumber")}</p><p class="bignum" id="booking-number" data-id="${esc(b.id)}">${grouped(b.id)}</p>
     <div class="summary">
       <div class="k">${t("where")}</div><div class="v">${esc(placeName(b))}</div>
       <div class="k">${t("pickup")}</div><div class="v">${esc(dateLabel(b.date) + " " + t("pickupWindow", { a: b.pickup_from, b: b.pickup_to }))}</div>
       <div class="k">${t("when")}</div><div class="v">${esc(t("arriveBy", { t: b.arrive_by }))}</div>
     </div>${phoneLine()}
     <div class="row">${item(null, t("toMenu"), "")}</div>`,
    { ok: showMenu, back: showMenu, green: showMenu }, [["ok", t("keyOk")], ["blue", t("keyBlue")]]);
}

async function showTrips() {
  wait(t("checking"));
  const result = await api("GET", "/v1/tv/bookings");
  if (!result.ok) return failure(result, "menu");
  state.trips = result.data;
  if (state.trips.length === 0) {
    return render("trips", `<h1>${t("tripsTitle")}</h1><p class="alert">${t("noTrips")}</p>
      <div class="row">${item(null, t("toMenu"), "")}</div>`, { ok: showMenu, back: showMenu });
  }
  const rows = state.trips.map((b, i) => item(i + 1, t("tripLine", {
    d: dateLabel(b.date), a: b.pickup_from, b: b.pickup_to, w: placeName(b), t: b.arrive_by,
  }), "", `data-trip="${i}"`));
  return render("trips", `<h1>${t("tripsTitle")}</h1><p class="hint">${t("tripsHint")}</p><div class="list">${rows.join("")}</div>`, {
    ok: () => showCancel(state.trips[Number(state.focusables[state.focus].getAttribute("data-trip"))]),
    digit: (d) => { if (state.trips[d - 1]) showCancel(state.trips[d - 1]); },
    back: showMenu,
  });
}

function showCancel(trip) {
  state.chosenTrip = trip;
  render("cancel",
    `<h1>${t("cancelTitle")}</h1>${summary(trip)}
     <p>${t("bookingNumber")}: <b>${esc(trip.id)}</b></p>
     <div class="row">${item(null, t("cancelNo"), "", 'data-do="keep"')}${item(null, t("cancelYes"), "", 'data-do="cancel"')}</div>`,
    {
      ok: () => (state.focusables[state.focus].getAttribute("data-do") === "cancel" ? cancelTrip() : showTrips()),
      green: cancelTrip, back: showTrips, left: () => moveFocus(-1), right: () => moveFocus(1),
    },
    [["red", t("keyBack")], ["green", t("keyGreen")], ["ok", t("keyOk")], ["blue", t("keyBlue")]]);
}

async function cancelTrip() {
  if (state.busy) return undefined;
  state.busy = true;
  wait(t("cancelling"));
  const trip = state.chosenTrip;
  const result = await api("POST", `/v1/tv/bookings/${encodeURIComponent(trip.id)}/cancel`);
  state.busy = false;
  if (!result.ok) return failure(result, "trips");
  return render("cancelled",
    `<h1>${t("cancelledTitle")}</h1><p>${t("bookingNumber")}</p><p class="bignum">${grouped(trip.id)}</p>${phoneLine()}
     <div class="row">${item(null, t("toMenu"), "")}</div>`,
    { ok: showMenu, back: showMenu }, [["ok", t("keyOk")], ["blue", t("keyBlue")]]);
}

function showNoCar(alternatives, reason) {
  state.noCarReason = reason;
  const none = reason === "capacity" ? t("noCarFits") : reason === "no_vehicles" ? t("noCarDay") : t("noAlternative");
  const rows = alternatives.map((o, i) => item(i + 1, t("arriveBy", { t: o.arrive_by }),
    t("pickupWindow", { a: o.pickup_from, b: o.pickup_to }), `data-alt="${i}"`));
  const body = rows.length
    ? `<p>${t("noCarHint")}</p><div class="list">${rows.join("")}${item(null, t("otherTime"), "", 'data-alt="-1"')}</div>`
    : `<p class="alert">${esc(none)}</p>${phoneLine("help")}<div class="list">${item(null, t("otherTime"), "", 'data-alt="-1"')}</div>`;
  render("nocar", `<h1>${t("noCarTitle")}</h1>${body}`, {
    ok: () => {
      const i = Number(state.focusables[state.focus].getAttribute("data-alt"));
      return i >= 0 ? showOffer(alternatives[i]) : showTime();
    },
    digit: (d) => { if (alternatives[d - 1]) showOffer(alternatives[d - 1]); },
    back: showTime,
  });
}

const RETURN = {
  login: () => showLogin(), menu: () => showMenu(), time: () => showTime(),
  destination: () => showDestinations(), trips: () => showTrips(),
};

function showError(kind, returnTo, detail) {
  state.error = { kind, returnTo, detail };
  const title = t(kind + "Title");
  const text = kind === "error" && detail ? detail : t(kind + "Text");
  render("error-" + kind,
    `<h1 class="alert">${esc(title)}</h1><p>${esc(text)}</p>${phoneLine("help")}
     <div class="row">${item(null, t("ok"), "")}</div>`,
    { ok: RETURN[returnTo] || showMenu, back: RETURN[returnTo] || showMenu },
    [["red", t("keyBack")], ["ok", t("keyOk")], ["blue", t("keyBlue")]]);
}

function rerender() {
  const again = {
    login: showLogin, pair: showLogin, menu: showMenu, destination: showDestinations, day: showDays,
    time: showTime, riders: showRiders, offer: () => showOffer(state.offer), done: showDone,
    nocar: () => showNoCar((state.quote && state.quote.alternatives) || [], state.noCarReason),
    cancel: () => showCancel(state.chosenTrip),
  }[state.screen];
  const focus = state.focus;
  if (again) { again(); state.focus = Math.min(focus, state.focusables.length - 1); applyFocus(); return; }
  if (state.screen.startsWith("error-")) showError(state.error.kind, state.error.returnTo, state.error.detail);
  header();
}

/* ---- key dispatch ---------------------------------------------------------------------- */
function onKey(event) {
  const action = actionOf(event);
  if (!action) return;
  event.preventDefault();
  if (action === "blue") {
    state.lang = state.lang === "ja" ? "en" : "ja";
    localStorage.setItem("noriai.tv.lang", state.lang);
    rerender();
    return;
  }
  if (state.screen === "wait") return;
  if (state.screen === "login" || state.screen === "pair") { loginKey(action); return; }
  const h = state.handlers;
  if (action.startsWith("digit")) { if (h.digit) h.digit(Number(action.slice(5))); return; }
  if (action === "red") { if (h.back) h.back(); return; }
  if (h[action]) { h[action](); return; }
  if (action === "down" || action === "right") moveFocus(1);
  else if (action === "up" || action === "left") moveFocus(-1);
}

document.addEventListener("keydown", onKey);
// Exactly one focused element at all times: take the focus back whenever it is lost.
document.addEventListener("focusout", () => setTimeout(() => {
  if (!state.focusables.includes(document.activeElement)) applyFocus();
}, 0));

// The clock shows service time (the server's "now" and UTC offset), not the TV's own clock.
function tick() {
  if (!state.options) { document.getElementById("clock").textContent = ""; return; }
  let offset = -new Date().getTimezoneOffset();
  let skew = 0;
  if (state.options && state.options.now) {
    const match = /([+-])(\d\d):(\d\d)$/.exec(state.options.now);
    if (match) offset = (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
    skew = state.serverSkew || 0;
  }
  const utcMinutes = Math.floor((Date.now() + skew) / 60000);
  document.getElementById("clock").textContent = hhmm((((utcMinutes + offset) % 1440) + 1440) % 1440);
}
setInterval(tick, 10000);
tick();

async function start() {
  if (state.token) {
    wait(t("checking"));
    const me = await api("GET", "/v1/tv/me");
    if (me.ok) { state.household = me.data; return loadOptionsThenMenu(); }
    return failure(me, "login");
  }
  return showLogin();
}
start();
