"use strict";
// Sổ tay Đảng viên: a small single-page front end talking to the services through /api/<service>/.
const $ = (selector) => document.querySelector(selector);
const state = { token: sessionStorage.getItem("token"), services: [], cursor: null, conversation: null };

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function formatDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-");
  return `${d}/${m}/${y}`;
}

async function api(service, path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.json);
  }
  const response = await fetch(`/api/${service}${path}`, { ...options, headers });
  if (response.status === 401) { logout(); throw new Error("Phiên đăng nhập đã hết hạn."); }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error(body?.detail || `Lỗi ${response.status}`);
  return body;
}

function show(tab) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== tab;
  for (const button of document.querySelectorAll("#tabs button[data-tab]")) button.classList.toggle("active", button.dataset.tab === tab);
  ({ me: loadMe, tree: loadTree, documents: loadDocuments })[tab]?.();
}

function logout() {
  state.token = null;
  sessionStorage.removeItem("token");
  $("#tabs").hidden = true;
  show("login");
}

function signedIn(token) {
  state.token = token;
  sessionStorage.setItem("token", token);
  $("#tabs").hidden = false;
  show("me");
}

// -- profile and members ------------------------------------------------------------------
function memberCard(m) {
  const rows = [
    ["Họ và tên", m.full_name], ["Ngày sinh", formatDate(m.date_of_birth)],
    ["Giới tính", m.gender === "male" ? "Nam" : "Nữ"], ["Dân tộc", m.ethnicity], ["Quê quán", m.hometown],
    ["Số CCCD", m.citizen_id], ["Số thẻ đảng viên", m.party_card_number],
    ["Ngày vào Đảng", formatDate(m.admission_date)], ["Ngày chính thức", formatDate(m.official_date)],
    ["Trạng thái", m.status_label], ["Tổ chức", m.organization?.name], ["Chức vụ", (m.position_labels || []).join(", ")],
    ["Điện thoại", m.phone], ["Email", m.email], ["Địa chỉ", m.address],
  ];
  return `<div class="card"><dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v) || '<span class="muted">—</span>'}</dd>`).join("")}</dl></div>`;
}

async function loadMe() {
  const target = $("#me");
  try { target.innerHTML = memberCard(await api("members", "/members/me")); }
  catch (error) { target.innerHTML = `<p class="muted">${escapeHtml(error.message)}</p>`; }
}

async function searchMembers(more) {
  const q = new FormData($("#search-form")).get("q");
  const params = new URLSearchParams({ limit: "20" });
  if (q) params.set("q", q);
  if (more && state.cursor) params.set("cursor", state.cursor);
  try {
    const page = await api("members", `/members?${params}`);
    const rows = page.items.map((m) => `<tr class="clickable" data-id="${m.id}"><td>${escapeHtml(m.full_name)}</td><td>${formatDate(m.date_of_birth)}</td><td>${m.party_card_number}</td><td>${escapeHtml(m.status_label)}</td><td>${escapeHtml(m.organization_name)}</td></tr>`).join("");
    $("#search-results").innerHTML = (more ? $("#search-results").innerHTML : "") + (rows || '<tr><td colspan="5" class="muted">Không có kết quả.</td></tr>');
    state.cursor = page.next_cursor;
    $("#search-more").hidden = !page.next_cursor;
  } catch (error) { $("#search-results").innerHTML = `<tr><td colspan="5" class="error">${escapeHtml(error.message)}</td></tr>`; }
}

// -- organisation tree --------------------------------------------------------------------
async function loadChildren(parentId, list) {
  const query = parentId ? `?parent_id=${parentId}` : "";
  const children = await api("members", `/organizations${query}`);
  list.innerHTML = children.map((o) => `<li><span data-id="${o.id}">▸ ${escapeHtml(o.name)}</span> <small>${escapeHtml(o.type_label)} · ${escapeHtml(o.code)}</small><ul></ul></li>`).join("") || '<li class="muted">Không có tổ chức trực thuộc.</li>';
}
async function loadTree() {
  try { await loadChildren(null, $("#tree-root")); } catch (error) { $("#tree-root").innerHTML = `<li class="error">${escapeHtml(error.message)}</li>`; }
}

// -- documents ----------------------------------------------------------------------------
async function loadDocuments() {
  const q = new FormData($("#documents-form")).get("q");
  const params = new URLSearchParams({ limit: "30" });
  if (q) params.set("q", q);
  try {
    const page = await api("content", `/documents?${params}`);
    $("#document-list").innerHTML = (page.items || []).map((d) => `<li data-id="${d.id}">${escapeHtml(d.title)}<small>${escapeHtml([d.kind_label || d.kind, d.number, formatDate(d.issued_on || d.published_at)].filter(Boolean).join(" · "))}</small></li>`).join("") || '<li class="muted">Chưa có văn bản.</li>';
  } catch (error) { $("#document-list").innerHTML = `<li class="error">${escapeHtml(error.message)}</li>`; }
}

async function openDocument(id) {
  const view = $("#document-view");
  try {
    const document_ = await api("content", `/documents/${id}`);
    let toc = "";
    try { const entries = await api("content", `/documents/${id}/toc`); toc = (entries.items || entries || []).map((e) => `<a href="#${e.anchor}">${escapeHtml(e.label)}</a>`).join(""); } catch { /* not a regulation */ }
    let audio = "";
    if (state.services.includes("voice")) {
      try {
        const chapters = await api("voice", `/documents/${id}/audio/chapters`);
        // an <audio> element cannot send the token: the service gives a signed, expiring link
        const link = await api("voice", `/documents/${id}/audio/link`);
        const list = (chapters.chapters || []).filter((c) => c.offset_seconds !== null).map((c) => `<a href="#" data-seek="${c.offset_seconds}">${escapeHtml(c.title)}</a>`).join("");
        audio = `<audio id="player" controls preload="none" src="/api/voice${link.url}"></audio><div class="toc">${list}</div>`;
      } catch { audio = '<p class="muted">Bản đọc đang được chuẩn bị.</p>'; }
    }
    view.innerHTML = `<div class="card"><h2>${escapeHtml(document_.title)}</h2>${audio}<div class="toc">${toc}</div><div class="body">${document_.html || escapeHtml(document_.body || document_.text || "").replace(/\n/g, "<br>")}</div></div>`;
    api("content", `/documents/${id}/read`, { method: "POST" }).catch(() => {});
  } catch (error) { view.innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`; }
}

// -- assistant ----------------------------------------------------------------------------
async function ask(question) {
  const conversation = $("#conversation");
  conversation.insertAdjacentHTML("beforeend", `<div class="question">${escapeHtml(question)}</div>`);
  try {
    const answer = await api("assistant", "/ask", { method: "POST", json: { question, conversation_id: state.conversation } });
    state.conversation = answer.conversation_id || state.conversation;
    const citations = (answer.citations || []).map((c) => `<li>${escapeHtml(c.document_title)} — ${escapeHtml(c.label || [c.khoan && `Khoản ${c.khoan}`, c.dieu && `Điều ${c.dieu}`].filter(Boolean).join(" "))}</li>`).join("");
    const suggestions = (answer.suggestions || []).map((s) => `<li>Xem: ${escapeHtml(s.document_title)} (${escapeHtml(s.label || s.anchor)})</li>`).join("");
    conversation.insertAdjacentHTML("beforeend", `<div class="answer">${escapeHtml(answer.answer)}${citations ? `<ul class="muted">${citations}</ul>` : ""}${suggestions ? `<ul class="muted">${suggestions}</ul>` : ""}</div>`);
  } catch (error) { conversation.insertAdjacentHTML("beforeend", `<div class="answer error">${escapeHtml(error.message)}</div>`); }
}

// -- wiring -------------------------------------------------------------------------------
document.addEventListener("click", async (event) => {
  const target = event.target;
  if (target.matches("#tabs button[data-tab]")) show(target.dataset.tab);
  if (target.id === "logout") logout();
  if (target.id === "search-more") searchMembers(true);
  const row = target.closest("#search-results tr[data-id]");
  if (row) $("#member-detail").innerHTML = memberCard(await api("members", `/members/${row.dataset.id}`));
  if (target.matches(".tree span[data-id]")) {
    const list = target.parentElement.querySelector("ul");
    if (list.childElementCount) list.innerHTML = ""; else loadChildren(target.dataset.id, list);
  }
  const item = target.closest("#document-list li[data-id]");
  if (item) openDocument(item.dataset.id);
  if (target.matches("[data-seek]")) { event.preventDefault(); const player = $("#player"); player.currentTime = Number(target.dataset.seek); player.play(); }
});
$("#search-form").addEventListener("submit", (event) => { event.preventDefault(); searchMembers(false); });
$("#documents-form").addEventListener("submit", (event) => { event.preventDefault(); loadDocuments(); });
$("#ask-form").addEventListener("submit", (event) => { event.preventDefault(); const input = event.target.question; ask(input.value); input.value = ""; });
$("#token-form").addEventListener("submit", (event) => { event.preventDefault(); signedIn(new FormData(event.target).get("token").trim()); });
$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const tokens = await api("identity", "/auth/login", { method: "POST", json: { login: form.get("login"), password: form.get("password") } });
    signedIn(tokens.access_token);
  } catch (error) { $("#login-error").textContent = error.message; }
});

(async function start() {
  state.services = (await (await fetch("/config.json")).json()).services;
  $("#login-form").hidden = !state.services.includes("identity");
  if (state.token) signedIn(state.token); else show("login");
})();
