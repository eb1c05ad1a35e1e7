/* The migrant worker's verification page (docs/verification-api.md, "The public API").
 * Plain script, no framework, no model: the phone only films and uploads; the registry decides.
 * State lives in memory only (the session key must not outlive the tab). */
(function () {
  "use strict";

  var ACTIONS = { hold_still: "保持不动", open_mouth: "张嘴", turn_left: "向左转头", turn_right: "向右转头", blink: "眨眼" };
  var ACTION_HELP = {
    hold_still: "请看着屏幕，保持不动",
    open_mouth: "请张开嘴，再合上",
    turn_left: "请把头慢慢向左转，再转回来",
    turn_right: "请把头慢慢向右转，再转回来",
    blink: "请眨一眨眼睛"
  };
  // Reason codes of the decision, said plainly (the registry's codes, "Reason codes" in the doc).
  var REASONS = {
    "match.too_low": "与登记照片不符",
    "match.no_reference": "没有找到您的登记照片，需要村干部人工核对",
    "liveness.no_face": "没有拍到人脸，请把脸放在框里",
    "liveness.many_faces": "画面里不止一个人，请只让本人出现在画面里",
    "liveness.face_lost": "中途脸离开了画面，请一直对着摄像头",
    "liveness.identity_changed": "中途换了人，请本人做完全部动作",
    "liveness.action_missed": "提示的动作没有做到，或者做得太慢",
    "liveness.too_dark": "光线太暗，请到亮一点的地方",
    "liveness.not_still": "「保持不动」时晃动太多",
    "liveness.presentation_attack": "请本人面对摄像头，不要使用照片或视频",
    "liveness.too_few_frames": "上传太慢，照片没有传完（手机网络信号不好）",
    "liveness.replayed": "请本人面对摄像头，不要使用照片或视频"
  };
  var FINAL = { "verify.token_unknown": 1, "verify.expired": 1, "verify.used_up": 1 };
  var OFFLINE = true; // marks a message that should offer the home visit / video path
  var DARK_LUMA = 45; // luminance (0-255, see luminance()) below which the face is too dark to check
  var BRIGHT_READS = 3; // consecutive bright readings before the attempt starts
  var REQUEST_TIMEOUT_MS = 20000;

  var $ = function (id) { return document.getElementById(id); };
  var token = new URLSearchParams(location.search).get("t") || "";
  var session = null, consentVersion = null, stream = null;
  var attempt = null; // {id, nonce, steps, frames, t0, seq, queue, capturing, uploading, failed, closed}
  var retryAction = null;

  // ---------- screens, prompts, messages ----------
  function show(id) {
    ["s-unlock", "s-consent", "s-offline", "s-camera", "s-result"].forEach(function (s) { $(s).hidden = s !== id; });
    hideMsg();
    window.scrollTo(0, 0);
  }
  function prompt(text, speak) {
    $("prompt").textContent = text || "";
    if (speak && text) say(text);
  }
  function say(text) {
    try {
      if (!window.speechSynthesis || !window.SpeechSynthesisUtterance) return;
      window.speechSynthesis.cancel();
      var u = new SpeechSynthesisUtterance(text);
      u.lang = "zh-CN"; u.rate = 0.9;
      window.speechSynthesis.speak(u);
    } catch (e) { /* speech is an extra; the text is on screen */ }
  }
  function showMsg(text, opts) {
    opts = opts || {};
    $("msg-text").textContent = text;
    $("msg-offline").hidden = !opts.offline;
    retryAction = opts.retry || null;
    $("retry").hidden = !retryAction;
    $("retry").textContent = opts.retryLabel || "重试";
    $("msg").hidden = false;
    if ($("msg").scrollIntoView) $("msg").scrollIntoView({ block: "nearest" });
  }
  function hideMsg() { $("msg").hidden = true; retryAction = null; }

  // ---------- the API ----------
  function ApiError(status, code, data, retryAfter) {
    this.status = status; this.code = code; this.data = data || {}; this.retryAfter = retryAfter;
  }
  function request(method, path, body, headers) {
    var ctl = window.AbortController ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, REQUEST_TIMEOUT_MS);
    var init = { method: method, headers: headers || {}, cache: "no-store", credentials: "omit",
                 signal: ctl ? ctl.signal : undefined };
    if (body instanceof Blob) { init.body = body; }
    else if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    return fetch(path, init).then(function (res) {
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
  function post(path, body) { return request("POST", path, body); }

  function waitText(seconds) {
    if (!(seconds > 0)) return "稍等一会儿";
    if (seconds < 60) return seconds + " 秒";
    return Math.ceil(seconds / 60) + " 分钟";
  }
  // The words for a refusal; returns [text, offline?] or null when the caller handles the code itself.
  function refusal(err) {
    switch (err.code) {
      case "network": return ["网络不好，没有连上。请检查网络后点「重试」，已填的内容不会丢失。", false];
      case "verify.token_unknown": return ["这个链接无效。请确认链接完整，或请村干部重新发送。", OFFLINE];
      case "verify.expired": return ["这个链接已经过期。请联系村干部重新发送链接。", OFFLINE];
      case "verify.used_up": return ["这个链接已经用完了（已经核验过，或次数已用完）。如有疑问请联系村干部。", OFFLINE];
      case "verify.id_mismatch":
        var left = err.data.tries_left;
        return ["身份证号最后 6 位不对，请核对后重新输入。" +
                (typeof left === "number" ? "还可以再试 " + left + " 次。" : ""), false];
      case "verify.rate_limited":
        return ["尝试次数太多，请等 " + waitText(err.retryAfter || err.data.retry_after) + "后再试。", false];
      case "verify.session_invalid": return ["页面停留时间太长，请重新输入身份证号最后 6 位。", false];
      case "verify.consent_required": return ["请先阅读说明并点「同意并继续」。", false];
      case "verify.attempt_closed": return ["这次核验已经结束了（时间到了）。", false];
      case "verify.nonce_mismatch":
      case "verify.upload_too_large":
      case "verify.too_many_frames": return ["照片上传出错，请重新开始核验。", false];
    }
    if (err.status >= 500) return ["服务器暂时出了问题，请稍后点「重试」。", false];
    return ["出了问题（" + err.code + "），请稍后再试，或联系村干部。", OFFLINE];
  }
  // One refusal handled in one place: a retry button only where retrying can help.
  function fail(err, again) {
    if (!(err instanceof ApiError)) { err = new ApiError(0, "page", {}); }
    var words = refusal(err);
    if (err.code === "verify.session_invalid") { resetToUnlock(); showMsg(words[0]); return; }
    if (err.code === "verify.consent_required") { show("s-consent"); showMsg(words[0]); return; }
    if (FINAL[err.code]) { stopCamera(); show(null); }  // this link cannot go on: no form to retry
    var canRetry = err.code === "network" || err.status >= 500;
    showMsg(words[0], { offline: words[1], retry: canRetry ? again : null });
  }

  // ---------- 1. unlock with the last 6 characters of the ID number ----------
  function tail() { return $("id-tail").value.toUpperCase().replace(/[^0-9X]/g, "").slice(0, 6); }
  $("id-tail").addEventListener("input", function () {
    var t = tail();
    if (this.value !== t) this.value = t;
  });
  $("add-x").addEventListener("click", function () {
    var input = $("id-tail");
    if (input.value.length < 6) input.value = tail() + "X";
    input.focus();
  });
  $("id-tail").addEventListener("keydown", function (e) { if (e.key === "Enter") unlock(); });
  $("unlock").addEventListener("click", unlock);

  function unlock() {
    var t = tail();
    if (t.length !== 6) { showMsg("请输入 6 位：身份证号码的最后 6 位（数字或 X）。"); return; }
    hideMsg();
    $("unlock").disabled = true;
    post("/api/verify/unlock", { token: token, id_tail: t }).then(function (ans) {
      $("unlock").disabled = false;
      session = ans.session;
      consentVersion = ans.consent && ans.consent.version;
      $("who").textContent = (ans.name_masked ? ans.name_masked + "，您好。" : "您好。") +
        (typeof ans.attempts_left === "number" ? "您最多可以核验 " + ans.attempts_left + " 次。" : "");
      var full = ans.consent && ans.consent.text;
      $("consent-text").textContent = full || "";
      $("consent-full").hidden = !full;
      show("s-consent");
    }, function (err) { $("unlock").disabled = false; fail(err, unlock); });
  }
  function resetToUnlock() {
    stopCamera(); session = null; attempt = null;
    $("who").textContent = "";  // the name goes with the session
    show("s-unlock");
    prompt("");
  }

  // ---------- 2. consent ----------
  $("agree").addEventListener("click", agree);
  function agree() {
    $("agree").disabled = true;
    post("/api/verify/consent", { session: session, version: consentVersion, agreed: true }).then(function () {
      $("agree").disabled = false;
      cameraScreen();
    }, function (err) { $("agree").disabled = false; fail(err, agree); });
  }
  $("disagree").addEventListener("click", function () { show("s-offline"); });
  $("back-consent").addEventListener("click", function () { show("s-consent"); });

  // ---------- 3. camera (only from the tap on 开始) ----------
  function cameraScreen() {
    show("s-camera");
    $("stage").hidden = !(stream && stream.active);
    $("start").hidden = false;
    $("camera-help").textContent = "请在光线好的地方，把手机拿稳，脸对着屏幕。点「开始」后按提示做动作。";
    $("camera-help").hidden = false;
  }
  $("start").addEventListener("click", start);
  function start() {
    hideMsg();
    var md = navigator.mediaDevices;
    if (!md || !md.getUserMedia) {
      showMsg("这个浏览器打不开摄像头（浏览器太旧，或链接不是安全连接）。请复制链接，用手机自带的浏览器打开再试。", { offline: OFFLINE });
      return;
    }
    $("start").disabled = true;
    var ready = stream && stream.active ? Promise.resolve(stream) : md.getUserMedia({
      audio: false,
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } }
    });
    ready.then(function (s) {
      stream = s;
      var video = $("video");
      if (video.srcObject !== s) video.srcObject = s;
      return video.play ? video.play().catch(function () {}) : null;
    }).then(function () {
      $("start").disabled = false;
      $("start").hidden = true;
      $("camera-help").hidden = true;
      $("stage").hidden = false;
      checkLight();
    }, function (e) {
      $("start").disabled = false;
      var name = e && e.name;
      if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
        showMsg("摄像头没有打开：您没有允许使用摄像头。请在浏览器设置里允许使用摄像头，再点「开始」。", { offline: OFFLINE });
      } else if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
        showMsg("这部手机上没有找到可用的前置摄像头。", { offline: OFFLINE });
      } else {
        showMsg("摄像头打不开（可能被别的应用占用）。请关掉其他应用后再点「开始」。", { offline: OFFLINE });
      }
    });
  }
  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    $("video").srcObject = null;
  }

  var canvas = document.createElement("canvas");
  var small = document.createElement("canvas");
  small.width = 40; small.height = 30;

  // How lit the face is: the mean luminance of the brightest quarter of the frame's middle (where the
  // face should be), so a lit face against a dark dormitory wall passes and a dark room does not.
  function luminance() {
    var v = $("video");
    if (!v.videoWidth) return -1;
    var c = small.getContext("2d", { willReadFrequently: true });
    c.drawImage(v, 0, 0, small.width, small.height);
    var d = c.getImageData(8, 3, 24, 24).data, ys = [];
    for (var i = 0; i < d.length; i += 4) ys.push(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
    ys.sort(function (a, b) { return b - a; });
    var n = Math.max(1, ys.length >> 2), sum = 0;
    for (var j = 0; j < n; j++) sum += ys[j];
    return sum / n;
  }

  // ---------- 4. brightness, then the server's steps ----------
  function checkLight() {
    var bright = 0;
    prompt("请把脸放在框里", true);
    var timer = setInterval(function () {
      if (!stream) { clearInterval(timer); return; }
      var y = luminance();
      if (y < 0) return;
      if (y < DARK_LUMA) {
        bright = 0;
        if ($("prompt").textContent !== "光线太暗，请到亮一点的地方") prompt("光线太暗，请到亮一点的地方", true);
        return;
      }
      if (++bright >= BRIGHT_READS) { clearInterval(timer); newAttempt(); }
    }, 300);
  }

  function newAttempt() {
    prompt("准备开始…");
    post("/api/verify/attempts", { session: session }).then(function (ans) {
      var f = ans.frames || {};
      attempt = {
        id: ans.attempt, nonce: ans.nonce, steps: ans.steps || [],
        frames: { max_width: f.max_width || 320, max_bytes: f.max_bytes || 40000,
                  interval_ms: f.interval_ms || 250, max_count: f.max_count || 60,
                  max_attempt_bytes: f.max_attempt_bytes || 0 },
        t0: Date.now(), seq: 0, queue: [], capturing: true, uploading: false, failed: 0,
        closed: false, quality: 0.6, shownStep: -1, encoding: false, lastShot: 0, bytes: 0
      };
      attempt.gap = attempt.frames.interval_ms;
      attempt.end = Math.max.apply(null, attempt.steps.map(function (s) { return s.deadline_ms; }).concat([0]));
      run(attempt);
    }, function (err) { fail(err, newAttempt); });
  }

  function currentStep(a, elapsed) {
    for (var i = 0; i < a.steps.length; i++) if (elapsed < a.steps[i].deadline_ms) return i;
    return -1;
  }

  function run(a) {
    var timer = setInterval(function () {
      if (a !== attempt || !stream) { clearInterval(timer); return; }
      var elapsed = Date.now() - a.t0;
      var i = currentStep(a, elapsed);
      if (i < 0 || a.closed || a.seq >= a.frames.max_count) {
        clearInterval(timer);
        a.capturing = false;
        $("countdown").textContent = "";
        $("stage").hidden = true;
        $("camera-help").textContent = "请稍等，不要关闭这个页面。";
        $("camera-help").hidden = false;
        prompt("正在核验…", true);
        drain(a);
        return;
      }
      var step = a.steps[i];
      if (i !== a.shownStep) {
        a.shownStep = i;
        prompt(ACTIONS[step.action] || step.action, false);
        say(ACTION_HELP[step.action] || ACTIONS[step.action] || "");
      }
      var left = Math.max(0, Math.ceil((step.deadline_ms - elapsed) / 1000));
      $("countdown").textContent = "第 " + (i + 1) + "/" + a.steps.length + " 步，还剩 " + left + " 秒";
      if (!a.encoding && elapsed - a.lastShot >= a.gap) {
        a.lastShot = elapsed;
        shoot(a, i);
      }
    }, 100);
  }

  // One frame: the unmirrored video, downscaled to max_width, as a JPEG under max_bytes.
  function shoot(a, stepIndex) {
    var v = $("video");
    if (!v.videoWidth) return;
    var w = Math.min(a.frames.max_width, v.videoWidth);
    canvas.width = w; canvas.height = Math.round(v.videoHeight * w / v.videoWidth);
    canvas.getContext("2d").drawImage(v, 0, 0, canvas.width, canvas.height);
    a.encoding = true;
    var elapsed = Date.now() - a.t0;
    encode(a, target(a, elapsed), function (blob) {
      a.encoding = false;
      if (!blob) return;
      a.queue.push({ seq: a.seq++, step: stepIndex, blob: blob });
      a.bytes += blob.size;
      pace(a, elapsed, blob.size);
      pump(a);
    });
  }
  // The attempt's frames together stay within max_attempt_bytes: each frame aims at the bytes left shared
  // by the frames still to come (the quality goes down to 0.3 for that); when even that is too big, pace()
  // takes frames less often, so the last step still gets its frames.
  function target(a, elapsed) {
    if (!a.frames.max_attempt_bytes) return a.frames.max_bytes;
    var shotsLeft = Math.max(1, Math.floor((a.end - elapsed) / a.gap) + 1);
    return Math.min(a.frames.max_bytes, Math.floor((a.frames.max_attempt_bytes - a.bytes) / shotsLeft));
  }
  function pace(a, elapsed, size) {
    if (!a.frames.max_attempt_bytes) return;
    var left = a.frames.max_attempt_bytes - a.bytes;
    if (left < size) { a.gap = Infinity; return; } // nothing more fits: the steps run on without frames
    a.gap = Math.max(a.frames.interval_ms, (a.end - elapsed) / Math.max(1, Math.floor(left / size)));
  }
  function encode(a, goal, done) {
    canvas.toBlob(function (blob) {
      if (blob && blob.size > goal && a.quality > 0.3) {
        a.quality = Math.max(0.3, a.quality - 0.1);
        encode(a, goal, done);
      } else {
        var fits = blob && blob.size <= a.frames.max_bytes &&
          (!a.frames.max_attempt_bytes || a.bytes + blob.size <= a.frames.max_attempt_bytes);
        done(fits ? blob : null);
      }
    }, "image/jpeg", a.quality);
  }

  // Uploads go one at a time in order; a dropped connection is retried, then waits for the worker.
  function pump(a) {
    if (a.uploading || a.closed || !a.queue.length) return;
    var item = a.queue[0];
    a.uploading = true;
    request("PUT", "/api/verify/attempts/" + encodeURIComponent(a.id) + "/frames/" + item.seq + "?step=" + item.step,
            item.blob, { "X-Verify-Nonce": a.nonce, "Content-Type": "image/jpeg" }).then(function () {
      a.uploading = false; a.failed = 0;
      a.queue.shift();
      next(a);
    }, function (err) {
      a.uploading = false;
      if (err.code === "network" || err.status >= 500) {
        if (++a.failed <= 3) { setTimeout(function () { pump(a); }, 1000 * a.failed); return; }
        fail(new ApiError(0, "network", {}), function () { a.failed = 0; pump(a); });
        return;
      }
      if (err.code === "verify.too_many_frames") { a.queue = []; a.closed = true; next(a); return; }
      if (err.code === "verify.upload_too_large") { a.queue.shift(); next(a); return; }
      // the attempt is over on the server (closed, wrong nonce): ask for its decision
      a.queue = []; a.closed = true; next(a);
    });
  }
  function next(a) { if (a.queue.length) pump(a); else drain(a); }

  // After the last step: wait for the queue, then ask for the decision.
  function drain(a) {
    if (a.capturing || a.uploading || a.encoding || a.queue.length || a.finishing) return;
    a.finishing = true;
    finish(a);
  }
  function finish(a) {
    hideMsg();
    post("/api/verify/attempts/" + encodeURIComponent(a.id) + "/finish", { session: session }).then(function (ans) {
      result(ans);
    }, function (err) {
      if (err.code === "network" || err.status >= 500) { fail(err, function () { finish(a); }); return; }
      if (err.code === "verify.used_up" || err.code === "verify.expired") { stopCamera(); }
      fail(err);
    });
  }

  function result(ans) {
    attempt = null;
    prompt("");
    $("countdown").textContent = "";
    var left = ans.attempts_left;
    var list = $("result-reasons");
    list.textContent = "";
    (ans.reasons || []).forEach(function (code) {
      var li = document.createElement("li");
      li.textContent = REASONS[code] || "核验没有通过（" + code + "）";
      list.appendChild(li);
    });
    $("again").hidden = true;
    $("result-left").textContent = "";
    if (ans.result === "passed") {
      stopCamera();
      $("result-title").textContent = "核验通过";
      $("result-title").className = "ok";
      $("result-text").textContent = "结果已经发给您的村干部，您不需要再做别的事，可以关掉这个页面。社会保障卡和待遇资格认证会照常办理。";
      say("核验通过");
    } else if (ans.result === "retry" && left > 0) {
      $("result-title").textContent = "未通过";
      $("result-title").className = "bad";
      $("result-text").textContent = "这次没有通过，原因：";
      $("result-left").textContent = "您还可以再试 " + left + " 次。";
      $("again").hidden = false;
      say("未通过，您还可以再试 " + left + " 次");
    } else {
      stopCamera();
      $("result-title").textContent = "未通过";
      $("result-title").className = "bad";
      $("result-text").textContent = (ans.reasons && ans.reasons.length) ? "没有通过，原因：" : "没有通过。";
      $("result-left").textContent = "核验次数已经用完。您的村干部会联系您，安排上门核验或人工审核，您不需要再做别的事。";
      say("未通过，村干部会联系您");
    }
    show("s-result");
  }
  $("again").addEventListener("click", cameraScreen);

  $("retry").addEventListener("click", function () {
    var again = retryAction;
    hideMsg();
    if (again) again();
  });

  // ---------- start ----------
  if (!token) {
    $("s-unlock").hidden = true;
    showMsg("链接不完整。请打开村干部发给您的完整链接。", { offline: OFFLINE });
  }
})();
