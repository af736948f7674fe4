// Keeps [data-live] parts of a page fresh: every data-every seconds, fetch data-live and
// replace the part's content. Forms with data-confirm ask first.
(function () {
  function refresh(el) {
    fetch(el.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (r.redirected && r.url.indexOf("/login") >= 0) { window.location = r.url; return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html !== null) { el.innerHTML = html; el.dataset.refreshed = Date.now(); } })
      .catch(function () { /* the hub may be restarting: try again next time */ });
  }
  document.querySelectorAll("[data-live]").forEach(function (el) {
    var every = parseFloat(el.dataset.every || "5") * 1000;
    setInterval(function () { if (!document.hidden) refresh(el); }, every);
  });
  document.addEventListener("submit", function (e) {
    var msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
})();
