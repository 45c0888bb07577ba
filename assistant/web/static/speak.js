/* 政务助手 read-aloud, shared by the widget panel and the kiosk: the browser's own local Chinese voice
   when it has one (offline, no round trip), else audio from the server's offline engine (POST
   /v1/speech). Reports what happened through callbacks, so the page can tell the user when speech is
   unavailable instead of failing silently. Exposes window.ZwSpeak(base, headersFn). */
(function () {
  "use strict";

  // A voice is used only if it is Chinese and local: a remote voice would send the answer elsewhere.
  function localChineseVoice() {
    if (!("speechSynthesis" in window) || typeof SpeechSynthesisUtterance !== "function") return null;
    var voices = window.speechSynthesis.getVoices() || [];
    var zh = voices.filter(function (v) { return v.localService && /^(zh|cmn)\b/i.test(String(v.lang).replace("_", "-")); });
    var cn = zh.filter(function (v) { return /CN|Hans/i.test(v.lang); });
    return cn[0] || zh[0] || null;
  }

  // Chromium fills getVoices() asynchronously; wait briefly for the list before deciding.
  function voiceSoon() {
    return new Promise(function (resolve) {
      var v = localChineseVoice();
      if (v || !("speechSynthesis" in window) || window.speechSynthesis.getVoices().length) { resolve(v); return; }
      var done = false;
      function finish() { if (!done) { done = true; resolve(localChineseVoice()); } }
      window.speechSynthesis.addEventListener("voiceschanged", finish, { once: true });
      setTimeout(finish, 300);
    });
  }

  function clean(text) {
    return String(text || "").replace(/\[\d{1,2}\]/g, "").replace(/\*\*/g, "").replace(/\s+/g, " ").trim();
  }

  window.ZwSpeak = function (base, headersFn) {
    var audio = null, url = null, token = 0;

    function stop() {
      token++;
      if ("speechSynthesis" in window) window.speechSynthesis.cancel();
      if (audio) { audio.pause(); audio.removeAttribute("src"); audio = null; }
      if (url) { URL.revokeObjectURL(url); url = null; }
    }

    // cb: { start(how), end(), fail(message) }; how is "browser" or "server".
    async function speak(text, cb) {
      stop();
      var mine = token;
      text = clean(text).slice(0, 1200);
      var voice = await voiceSoon();
      if (mine !== token) return;
      if (voice) {
        var u = new SpeechSynthesisUtterance(text);
        u.voice = voice; u.lang = voice.lang; u.rate = 0.9;
        u.onend = function () { if (mine === token) cb.end(); };
        u.onerror = function (e) {
          if (mine !== token || (e && (e.error === "canceled" || e.error === "interrupted"))) return;
          cb.fail("朗读失败，请稍后再试。");
        };
        cb.start("browser");
        window.speechSynthesis.speak(u);
        return;
      }
      try {
        cb.start("server");
        var res = await fetch(base + "/v1/speech", { method: "POST", headers: headersFn(), body: JSON.stringify({ text: text }) });
        if (!res.ok) throw new Error(String(res.status));
        var blob = await res.blob();
        if (mine !== token) return;
        url = URL.createObjectURL(blob);
        audio = new Audio(url);
        audio.onended = function () { if (mine === token) { cb.end(); stop(); } };
        audio.onerror = function () { if (mine === token) { stop(); cb.fail("本设备无法播放语音，请阅读文字内容。"); } };
        await audio.play();
      } catch (e) {
        if (mine !== token) return;
        stop();
        cb.fail("语音朗读暂不可用，请阅读文字内容或拨打 12345 咨询。");
      }
    }

    return { speak: speak, stop: stop };
  };
})();
