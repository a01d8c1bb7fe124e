// trailhound report: filters, sorting, each finding's details and the chain graphs.
// Plain JavaScript, no library. Every value from the data is set with textContent or
// setAttribute, never parsed as HTML. The state (filters, sort, selected finding) lives in the
// URL's fragment (#sev=high&type=…&account=…&q=…&sort=…&id=…): links, the back button and
// bookmarks work, and nothing is sent anywhere.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var findings = data.findings || [];
  var mitre = data.mitre || {};
  var byId = {};
  var children = {};
  findings.forEach(function (f) {
    byId[f.id] = f;
  });
  findings.forEach(function (f) {
    var p = f.parent_finding_id;
    if (p) (children[p] = children[p] || []).push(f.id);
  });
  var SEV_GLYPH = { critical: "◆", high: "▲", medium: "●", low: "○" };
  var KNOWN = ["id", "type", "severity", "confidence", "title", "account_id", "region", "principal_arn",
    "role_arn", "access_key_id", "access_key_ids", "instance_id", "credential_delivery", "source_ip",
    "source_ip_context", "user_agent", "user_agents", "first_seen", "last_seen", "event_count",
    "event_ids", "actions", "mitre", "explanation", "expected_addresses", "remediation",
    "evidence_enrichment", "origin", "chain", "parent_finding_id", "status"];

  // ---- small DOM helpers (text only) ----
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) {
      if (c != null) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }
  function str(v) { return v == null ? "" : String(v); }
  function short(arn) { var s = str(arn); var i = Math.max(s.lastIndexOf("/"), s.lastIndexOf(":")); return s.slice(i + 1); }
  function sevBadge(s) {
    return el("span", { "class": "sev badge sev-" + s }, [el("span", { "aria-hidden": "true", text: SEV_GLYPH[s] || "?" }), " " + s]);
  }

  // ---- the list: filters and sorting ----
  var tbody = document.querySelector("#list tbody");
  var rows = tbody ? Array.prototype.slice.call(tbody.rows) : [];
  var hay = {};
  rows.forEach(function (r) {
    var f = byId[r.dataset.id] || {};
    hay[r.dataset.id] = [f.id, f.type, f.title, f.account_id, f.principal_arn, f.role_arn, f.access_key_id,
      (f.access_key_ids || []).join(" "), f.instance_id, f.source_ip, f.user_agent, f.explanation,
      (f.actions || []).join(" "), (f.event_ids || []).join(" "), (f.mitre || []).join(" "),
      f.origin ? [f.origin.principal, f.origin.access_key_id, f.origin.source_ip, f.origin.source_identity].join(" ") : "",
      (f.chain || []).map(function (h) { return [h.role_arn, h.access_key_id, h.caller_access_key_id, h.session_name, h.source_ip].join(" "); }).join(" ")
    ].join(" ").toLowerCase();
  });
  var form = document.getElementById("filters");
  var sevBoxes = form ? Array.prototype.slice.call(form.querySelectorAll("input[name=sev]")) : [];
  var fType = document.getElementById("f-type");
  var fAccount = document.getElementById("f-account");
  var fQ = document.getElementById("f-q");
  var shown = document.getElementById("shown");
  var more = document.getElementById("more");

  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    return {
      sev: p.get("sev") ? p.get("sev").split(",") : null,
      type: p.get("type") || "", account: p.get("account") || "", q: p.get("q") || "",
      sort: p.get("sort") || "", dir: p.get("dir") === "desc" ? "desc" : "asc", id: p.get("id") || ""
    };
  }
  function writeHash(st) {
    var p = new URLSearchParams();
    if (st.sev && st.sev.length !== sevBoxes.length) p.set("sev", st.sev.join(","));
    if (st.type) p.set("type", st.type);
    if (st.account) p.set("account", st.account);
    if (st.q) p.set("q", st.q);
    if (st.sort) { p.set("sort", st.sort); p.set("dir", st.dir); }
    if (st.id) p.set("id", st.id);
    var h = p.toString();
    if (("#" + h) !== location.hash && !(h === "" && location.hash === "")) history.replaceState(null, "", h ? "#" + h : location.pathname);
    apply(st);
  }
  function fromForm() {
    var st = readHash();
    st.sev = sevBoxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    st.type = fType.value; st.account = fAccount.value; st.q = fQ.value.trim();
    return st;
  }
  function setSelect(sel, v) {
    var ok = Array.prototype.some.call(sel.options, function (o) { return o.value === v; });
    sel.value = ok ? v : "";
  }
  function toForm(st) {
    sevBoxes.forEach(function (b) { b.checked = !st.sev || st.sev.indexOf(b.value) >= 0; });
    setSelect(fType, st.type); setSelect(fAccount, st.account);
    if (document.activeElement !== fQ) fQ.value = st.q;
  }
  var sortKeys = {
    rank: function (r) { return +r.dataset.rank; }, type: function (r) { return r.dataset.type; },
    account: function (r) { return r.dataset.account; }, who: function (r) { return r.dataset.who; },
    first: function (r) { return r.dataset.first; }, events: function (r) { return +r.dataset.events; }
  };
  var sortedBy = "";
  function sortRows(key, dir) {
    var tag = key + ":" + dir;
    if (tag === sortedBy) return;
    sortedBy = tag;
    var order = rows.map(function (r, i) { return [r, i]; });
    if (sortKeys[key]) {
      var k = sortKeys[key], sign = dir === "desc" ? -1 : 1;
      order.sort(function (a, b) {
        var x = k(a[0]), y = k(b[0]);
        return (x < y ? -sign : x > y ? sign : 0) || a[1] - b[1];
      });
    }
    var frag = document.createDocumentFragment();
    order.forEach(function (p) { frag.appendChild(p[0]); });
    tbody.appendChild(frag);
    Array.prototype.forEach.call(document.querySelectorAll("#list th"), function (th) {
      var b = th.querySelector("button");
      if (b && b.dataset.sort === key) th.setAttribute("aria-sort", dir === "desc" ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
  }
  // At most `limit` matching rows are laid out at once (the template hides rows past the first
  // PAGE): showing 10,000 table rows costs the browser seconds, a page of them milliseconds.
  var PAGE = 500, limit = PAGE, lastKey = "";
  function apply(st) {
    toForm(st);
    sortRows(st.sort, st.dir);
    var key = [st.sev, st.type, st.account, st.q, st.sort, st.dir].join("|");
    if (key !== lastKey) { limit = PAGE; lastKey = key; }
    var q = st.q.toLowerCase(), n = 0, order = tbody ? tbody.rows : [];
    Array.prototype.forEach.call(order, function (r) {
      var d = r.dataset;
      var ok = (!st.sev || st.sev.indexOf(d.sev) >= 0 || !(d.sev in SEV_GLYPH)) &&
        (!st.type || d.type === st.type) && (!st.account || d.account === st.account) &&
        (!q || hay[d.id].indexOf(q) >= 0);
      if (ok) n++;
      var show = ok && (n <= limit || d.id === st.id);
      if (r.hidden === show) r.hidden = !show;
    });
    if (shown) shown.textContent = n + " of " + rows.length + " shown" + (n > limit ? " (first " + limit + " listed)" : "");
    if (more) more.hidden = n <= limit;
    select(st.id);
  }

  // ---- one finding's details ----
  var current = null;
  function select(id) {
    if (id === current) return;
    current = id;
    rows.forEach(function (r) { r.classList.toggle("selected", r.dataset.id === id); });
    var pane = document.getElementById("detail");
    if (!pane) return;
    var f = byId[id];
    pane.textContent = "";
    if (!f) { pane.appendChild(el("p", { "class": "hint", text: id ? "No finding " + id + " in this report." : "Select a finding to see its story, evidence and what to do." })); return; }
    detail(pane, f);
    var row = rows.filter(function (r) { return r.dataset.id === id; })[0];
    if (row && row.scrollIntoView && !row.hidden) row.scrollIntoView({ block: "nearest" });
  }
  function link(id, label) {
    var a = el("a", { href: "#id=" + encodeURIComponent(id), "class": "mono" });
    a.textContent = label || id;
    return a;
  }
  function kv(pairs) {
    var dl = el("dl", { "class": "kv" });
    pairs.forEach(function (p) {
      if (p[1] == null || p[1] === "" || (Array.isArray(p[1]) && !p[1].length)) return;
      dl.appendChild(el("dt", { text: p[0] }));
      dl.appendChild(p[1] instanceof Node ? el("dd", null, [p[1]]) : el("dd", { text: Array.isArray(p[1]) ? p[1].join(", ") : str(p[1]) }));
    });
    return dl;
  }
  function copyButton(text) {
    var b = el("button", { type: "button", "class": "copy", text: "Copy" });
    b.addEventListener("click", function () {
      var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
      var fallback = function () {
        var t = el("textarea"); t.value = text; document.body.appendChild(t); t.select();
        try { document.execCommand("copy"); done(); } catch (e) { b.textContent = "Select and copy"; }
        document.body.removeChild(t);
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback); else fallback();
    });
    return b;
  }
  function cmdBlock(text) { return el("div", { "class": "cmd" }, [el("pre", { text: text }), copyButton(text)]); }
  function detail(pane, f) {
    var head = el("div", { "class": "head" }, [sevBadge(str(f.severity)), el("strong", { text: str(f.type) })]);
    if (f.status) head.appendChild(el("span", { "class": "status", text: str(f.status) }));
    pane.appendChild(head);
    pane.appendChild(el("h3", { text: str(f.title) }));
    var ctx = f.source_ip_context || {};
    pane.appendChild(kv([
      ["Id", el("span", { "class": "mono", text: str(f.id) })], ["Confidence", f.confidence],
      ["Account", f.account_id], ["Region", f.region], ["Principal", f.principal_arn], ["Role", f.role_arn],
      ["Credential", (f.access_key_ids && f.access_key_ids.length ? f.access_key_ids : [f.access_key_id]).filter(Boolean)],
      ["Instance", f.instance_id], ["Delivery", f.credential_delivery],
      ["Source", f.source_ip ? str(f.source_ip) + (ctx.summary ? " — " + ctx.summary : "") : ""],
      ["When", f.first_seen ? str(f.first_seen) + " … " + str(f.last_seen) : ""], ["Events", f.event_count]
    ]));
    var links = el("p", { "class": "links" });
    if (f.parent_finding_id) {
      var p = byId[f.parent_finding_id];
      links.appendChild(el("span", { text: "Follows: " }));
      links.appendChild(p ? link(p.id, p.type + " " + p.id) : el("span", { "class": "mono", text: f.parent_finding_id + " (not in this report)" }));
    }
    if (children[f.id]) {
      links.appendChild(el("span", { text: "Led to: " }));
      children[f.id].forEach(function (c) { links.appendChild(link(c, byId[c].type + " " + c)); });
    }
    if (links.childNodes.length) pane.appendChild(links);
    if (f.origin || (f.chain && f.chain.length)) {
      pane.appendChild(el("h3", { text: "Chain" }));
      pane.appendChild(el("div", { "class": "graph" }, [chainGraph(f)]));
    }
    pane.appendChild(el("h3", { text: "What happened" }));
    pane.appendChild(el("p", { "class": "story", text: str(f.explanation) }));
    if (f.expected_addresses && f.expected_addresses.length) {
      pane.appendChild(el("h3", { text: "Expected addresses vs the one seen" }));
      var t = el("table", { "class": "small" }, [el("tr", null, [el("th", { text: "Address" }), el("th", { text: "How it became expected" }), el("th", { text: "Since" })])]);
      f.expected_addresses.forEach(function (a) {
        t.appendChild(el("tr", null, [el("td", { "class": "mono expected", text: str(a.ip) }), el("td", { text: str(a.how) }), el("td", { "class": "mono", text: str(a.since) })]));
      });
      t.appendChild(el("tr", { "class": "seen" }, [el("td", { "class": "mono notexpected", text: str(f.source_ip) }), el("td", { text: "seen: " + str(ctx.summary) }), el("td", { "class": "mono", text: str(f.first_seen) })]));
      pane.appendChild(t);
    }
    var uas = f.user_agents && f.user_agents.length ? f.user_agents : (f.user_agent ? [f.user_agent] : []);
    if (uas.length) {
      pane.appendChild(el("h3", { text: "User agents" }));
      uas.forEach(function (u) { pane.appendChild(el("pre", { text: str(u) })); });
    }
    if (f.mitre && f.mitre.length) {
      pane.appendChild(el("h3", { text: "MITRE ATT&CK" }));
      pane.appendChild(el("ul", null, f.mitre.map(function (m) { return el("li", null, [el("span", { "class": "mono", text: str(m) }), " " + str(mitre[m] || "")]); })));
    }
    pane.appendChild(el("h3", { text: "Evidence" }));
    if (f.evidence_enrichment && f.evidence_enrichment.length) {
      var et = el("table", { "class": "small" }, [el("tr", null, ["Action", "Access level", "MITRE", "Risks"].map(function (h) { return el("th", { text: h }); }))]);
      f.evidence_enrichment.forEach(function (e) {
        et.appendChild(el("tr", null, [el("td", { "class": "mono", text: str(e.action) }), el("td", { text: str(e.access_level) }),
          el("td", { "class": "mono", text: (e.mitre || []).join(", ") }), el("td", { text: (e.risks || []).join(", ") })]));
      });
      pane.appendChild(et);
    } else if (f.actions && f.actions.length) {
      pane.appendChild(el("p", { "class": "mono", text: f.actions.join(", ") }));
    }
    var ids = f.event_ids || [];
    if (ids.length) {
      var d = el("details", null, [el("summary", { text: ids.length + " evidence event id" + (ids.length === 1 ? "" : "s") + (f.event_count > ids.length ? " (of " + f.event_count + ")" : "") })]);
      d.appendChild(el("pre", { text: ids.join("\n") }));
      pane.appendChild(d);
    }
    var r = f.remediation || {};
    pane.appendChild(el("h3", { text: "What to do" }));
    if (r.summary) pane.appendChild(el("p", { text: str(r.summary) }));
    if (r.steps && r.steps.length) pane.appendChild(el("ol", { "class": "steps" }, r.steps.map(function (s) { return el("li", { text: str(s) }); })));
    (r.commands || []).forEach(function (c) { pane.appendChild(cmdBlock(str(c))); });
    if (r.revoke_policy) {
      pane.appendChild(el("p", { "class": "hint", text: "Session revocation policy:" }));
      pane.appendChild(cmdBlock(JSON.stringify(r.revoke_policy, null, 2)));
    }
    var other = Object.keys(f).filter(function (k) { return KNOWN.indexOf(k) < 0; });
    if (other.length) {
      pane.appendChild(el("h3", { text: "Other fields" }));
      var o = {};
      other.forEach(function (k) { o[k] = f[k]; });
      pane.appendChild(el("pre", { text: JSON.stringify(o, null, 2) }));
    }
  }

  // ---- graphs ----
  function wrap(text, width, max) {
    var words = str(text).split(/\s+/), lines = [], line = "";
    words.forEach(function (w) {
      if (line && (line + " " + w).length > width) { lines.push(line); line = w; } else line = line ? line + " " + w : w;
    });
    if (line) lines.push(line);
    if (lines.length > max) { lines = lines.slice(0, max); lines[max - 1] += " …"; }
    return lines;
  }
  // Draws boxes top to bottom (each {cls, lines, x}) joined by labelled arrows (edges[i] joins i-1 → i).
  function boxes(nodes, label) {
    var longest = 0;
    nodes.forEach(function (n) { n.lines.forEach(function (l) { longest = Math.max(longest, l.length); }); });
    var W = Math.max(320, Math.ceil(longest * 7.6) + 24), LH = 16, PAD = 8, GAP = 34, y = 6, parts = [], maxX = 0;
    nodes.forEach(function (n, i) {
      var h = n.lines.length * LH + PAD * 2, x = n.x || 4;
      if (i > 0) {
        var prev = nodes[i - 1];
        var px = (n.from != null ? nodes[n.from] : prev);
        var sx = (px.x || 4) + 24, sy = px.bottom;
        var path = n.x > (px.x || 4) ? "M" + sx + "," + sy + "V" + (y + h / 2) + "H" + x : "M" + sx + "," + sy + "V" + y;
        parts.push(sv("path", { "class": "edge", d: path, "marker-end": "url(#arrow)" }));
        if (n.edge) parts.push(sv("text", { "class": "elabel", x: sx + 8, y: y - GAP / 2 + 4 }, n.edge));
      }
      var g = sv("g", { "class": "node " + n.cls, transform: "translate(" + x + "," + y + ")" });
      g.appendChild(sv("rect", { width: W, height: h, rx: n.cls === "origin" ? 14 : 4 }));
      n.lines.forEach(function (l, j) {
        g.appendChild(sv("text", { x: 10, y: PAD + 12 + j * LH, "class": j === 0 ? "k" : "" }, l));
      });
      if (n.title) g.appendChild(sv("title", null, n.title));
      parts.push(g);
      n.bottom = y + h;
      maxX = Math.max(maxX, x + W + 4);
      y += h + GAP;
    });
    var height = y - GAP + 6;
    var svg = sv("svg", { width: maxX, height: height, viewBox: "0 0 " + maxX + " " + height, role: "img", "aria-label": label });
    var defs = sv("defs");
    var m = sv("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
    m.appendChild(sv("path", { d: "M0,0L10,5L0,10Z", fill: "#4a5568" }));
    defs.appendChild(m); svg.appendChild(defs);
    parts.forEach(function (p) { svg.appendChild(p); });
    return svg;
  }
  function client(ua) { return str(ua).split(/\s+/)[0]; }
  function chainGraph(f) {
    var nodes = [], o = f.origin;
    if (o) {
      var l2 = [];
      if (o.access_key_id) l2.push("key " + o.access_key_id);
      l2.push("account " + str(o.account_id));
      if (o.source_identity) l2.push("sourceIdentity " + o.source_identity);
      nodes.push({ cls: "origin", lines: [str(o.kind).replace(/_/g, " ") + " " + str(o.principal), l2.join(" · "), "from " + str(o.source_ip)] });
    }
    (f.chain || []).forEach(function (h) {
      nodes.push({
        cls: "hop", edge: str(h.via),
        lines: [(h.role_arn ? "role " + short(h.role_arn) : "session token") + " in " + str(h.account_id) + (h.session_name ? " · session " + h.session_name : ""),
          "key " + str(h.access_key_id), str(h.time) + " from " + str(h.source_ip) + " · " + client(h.user_agent)],
        title: str(h.role_arn)
      });
    });
    var did = (f.actions || []).filter(function (a) { return !/^sts:AssumeRole/.test(a); });
    nodes.push({ cls: "did", edge: "then", lines: ["did: " + str(f.type) + " (" + str(f.severity) + ")"].concat(wrap(did.join(", "), 70, 3)) });
    return boxes(nodes, "Chain of " + (f.chain || []).length + " hops");
  }
  function credGraph(inv) {
    var creds = inv.credentials || [], index = {}, nodes = [];
    creds.forEach(function (c, i) { index[c.key] = i; });
    creds.forEach(function (c) {
      var who = c.role_arn ? "role " + short(c.role_arn) : (c.principal ? short(c.principal) : "");
      var iss = c.issued_by ? str(c.issued_by.via) + " at " + str(c.issued_by.time) + " from " + str(c.issued_by.source_ip) : "issuance not in the logs read";
      nodes.push({
        cls: c.parent ? "hop cred" : "origin cred", x: 4 + (c.depth || 0) * 36,
        from: c.parent != null && index[c.parent] != null ? index[c.parent] : null,
        edge: c.issued_by ? str(c.issued_by.via) : "",
        lines: [str(c.key) + " · " + str(c.kind) + (who ? " · " + who : ""), iss,
          str(c.calls) + " calls" + (c.failed ? " (" + c.failed + " failed)" : "") + " · " + str(c.findings) + " finding(s)"],
        title: str(c.principal)
      });
    });
    return boxes(nodes, "Credentials: " + creds.length);
  }
  if (data.investigation) {
    var inv = data.investigation;
    var seed = document.getElementById("story-seed");
    if (seed) seed.textContent = "Investigating " + str(inv.seed) + ": " + (inv.credentials || []).length + " credential(s), " + (inv.events || 0) + " call(s), " + findings.length + " finding(s) touching them.";
    var g = document.getElementById("cred-graph");
    if (g && inv.credentials && inv.credentials.length) g.appendChild(credGraph(inv));
  }

  // ---- wiring ----
  if (form) {
    form.addEventListener("change", function () { writeHash(fromForm()); });
    fQ.addEventListener("input", function () { writeHash(fromForm()); });
    document.getElementById("f-reset").addEventListener("click", function () {
      writeHash({ sev: null, type: "", account: "", q: "", sort: "", dir: "asc", id: readHash().id });
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
  }
  if (more) more.addEventListener("click", function () { var st = readHash(); limit += PAGE; lastKey = [st.sev, st.type, st.account, st.q, st.sort, st.dir].join("|"); apply(st); });
  Array.prototype.forEach.call(document.querySelectorAll("#list th button"), function (b) {
    b.addEventListener("click", function () {
      var st = readHash(), key = b.dataset.sort;
      st.dir = st.sort === key && st.dir === "asc" ? "desc" : "asc";
      st.sort = key;
      writeHash(st);
    });
  });
  if (tbody) tbody.addEventListener("click", function (e) {
    if (e.target.closest("a")) return;
    var r = e.target.closest("tr");
    if (!r) return;
    var st = readHash(); st.id = r.dataset.id; writeHash(st);
  });
  window.addEventListener("hashchange", function () { apply(readHash()); });
  apply(readHash());
  document.documentElement.setAttribute("data-ready", String(Math.round(performance.now())));
})();
