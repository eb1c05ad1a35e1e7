/* The residents' payment self-query page (docs/payments/d.md). Plain script, no framework; the ticket
 * and the answer live in memory only (nothing in storage, nothing in the address). */
(function () {
  "use strict";

  var REQUEST_TIMEOUT_MS = 20000;
  var STATE_CLASS = { credited: "ok", bounced: "bad", at_bank: "wait", reversed: "bad" };
  var $ = function (id) { return document.getElementById(id); };
  var ticket = null;

  function show(id) {
    ["s-ask", "s-code", "s-list"].forEach(function (s) { $(s).hidden = s !== id; });
    hideMsg();
    window.scrollTo(0, 0);
  }
  function showMsg(text) {
    $("msg-text").textContent = text;
    $("msg").hidden = false;
    if ($("msg").scrollIntoView) $("msg").scrollIntoView({ block: "nearest" });
  }
  function hideMsg() { $("msg").hidden = true; }

  function ApiError(status, code, data, retryAfter) {
    this.status = status; this.code = code; this.data = data || {}; this.retryAfter = retryAfter;
  }
  function post(path, body) {
    var ctl = window.AbortController ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, REQUEST_TIMEOUT_MS);
    return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
                         cache: "no-store", credentials: "omit", signal: ctl ? ctl.signal : undefined })
      .then(function (res) {
        clearTimeout(timer);
        return res.text().then(function (txt) {
          var json = null;
          try { json = txt ? JSON.parse(txt) : null; } catch (e) { json = null; }
          if (res.ok) return json || {};
          var err = (json && json.error) || {};
          throw new ApiError(res.status, err.code || "http." + res.status, err.data,
                             parseInt(res.headers.get("Retry-After") || "", 10));
        });
      }, function () { clearTimeout(timer); throw new ApiError(0, "network", {}); });
  }
  function waitText(seconds) {
    if (!(seconds > 0)) return "稍等一会儿";
    if (seconds < 60) return seconds + " 秒";
    return Math.ceil(seconds / 60) + " 分钟";
  }
  function words(err) {
    switch (err.code) {
      case "network": return "网络不好，没有连上。请检查网络后再试。";
      case "request.invalid": return "请检查填写的内容：身份证号码 18 位，卡号最后 6 位和验证码都是 6 位数字。";
      case "selfquery.rate_limited":
        return "尝试次数太多，请等 " + waitText(err.retryAfter || err.data.retry_after) + "后再试。";
      case "selfquery.code_wrong":
        var left = err.data.tries_left;
        if (left === 0) return "验证码不正确。输错已经 5 次，这个验证码失效了，请点「重新获取验证码」。";
        return "验证码不正确，请核对短信后重新输入。" + (typeof left === "number" ? "还可以再试 " + left + " 次。" : "");
      case "selfquery.code_dead": return "验证码输错次数太多，已经失效。请点「重新获取验证码」。";
      case "selfquery.code_expired": return "验证码已过期或已经用过。请点「重新获取验证码」。";
    }
    if (err.status >= 500) return "服务器暂时出了问题，请稍后再试。";
    return "出了问题（" + err.code + "），请稍后再试，或联系村干部。";
  }
  function busy(button, on) { $(button).disabled = on; }

  // ---------- 1. ID number + card tail -> a code by SMS ----------
  function idNumber() { return $("id-number").value.toUpperCase().replace(/[^0-9X]/g, "").slice(0, 18); }
  function digits(id) { return $(id).value.replace(/[^0-9]/g, "").slice(0, 6); }
  $("id-number").addEventListener("input", function () { var v = idNumber(); if (v !== $("id-number").value) $("id-number").value = v; });
  ["card-tail", "code"].forEach(function (id) {
    $(id).addEventListener("input", function () { var v = digits(id); if (v !== $(id).value) $(id).value = v; });
  });
  function ask() {
    var id = idNumber(), tail = digits("card-tail");
    if (!/^[0-9]{17}[0-9X]$/.test(id)) { showMsg("身份证号码应为 18 位（最后一位可能是 X），请核对。"); return; }
    if (tail.length !== 6) { showMsg("请输入社会保障卡卡号的最后 6 位数字。"); return; }
    busy("ask", true);
    post("/api/selfquery/code", { id_number: id, card_tail: tail }).then(function (answer) {
      busy("ask", false);
      ticket = answer.ticket;
      $("sent-text").textContent = answer.message + "。请输入短信里的 6 位验证码。";
      $("code").value = "";
      show("s-code");
      $("code").focus();
    }, function (err) { busy("ask", false); showMsg(words(err)); });
  }
  $("ask").addEventListener("click", ask);

  // ---------- 2. the code -> the payments ----------
  function row(p) {
    var li = document.createElement("li");
    function line(cls, parts) {
      var div = document.createElement("div");
      div.className = cls;
      parts.forEach(function (part) {
        var span = document.createElement("span");
        span.className = part[0];
        span.textContent = part[1];
        div.appendChild(span);
      });
      li.appendChild(div);
    }
    line("row", [["item", p.item_name], ["amount", p.amount_yuan + " 元"]]);
    line("row meta", [["period", "第 " + p.period + " 期"], ["state " + (STATE_CLASS[p.state] || ""), p.state_label]]);
    line("row meta", [["card", "卡号 " + p.card], ["date", p.date]]);
    if (p.reason) line("meta", [["reason bad", "失败原因：" + p.reason]]);
    return li;
  }
  function check() {
    var code = digits("code");
    if (code.length !== 6) { showMsg("请输入短信里的 6 位验证码。"); return; }
    busy("check", true);
    post("/api/selfquery/payments", { ticket: ticket, code: code }).then(function (answer) {
      busy("check", false);
      ticket = null;
      $("who").textContent = (answer.name_masked ? answer.name_masked + "，" : "") + "您的补贴发放记录（最新的在前）：";
      var list = $("payments");
      while (list.firstChild) list.removeChild(list.firstChild);
      (answer.payments || []).forEach(function (p) { list.appendChild(row(p)); });
      $("none").hidden = (answer.payments || []).length > 0;
      show("s-list");
    }, function (err) {
      busy("check", false);
      $("code").value = "";
      showMsg(words(err));
    });
  }
  $("check").addEventListener("click", check);
  $("code").addEventListener("keydown", function (e) { if (e.key === "Enter") check(); });
  $("again").addEventListener("click", function () { ticket = null; show("s-ask"); });
  $("done").addEventListener("click", function () {
    var list = $("payments");
    while (list.firstChild) list.removeChild(list.firstChild);
    $("id-number").value = ""; $("card-tail").value = ""; $("code").value = "";
    show("s-ask");
  });
})();
