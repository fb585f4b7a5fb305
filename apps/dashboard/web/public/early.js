/*
 * Starts the first requests of the page the address names while the application bundle is still loading:
 * the key's session and, on a sweep's page, the sweep, its trials and its epochs. api.ts takes each answer
 * once (see early() there). Sent as api.ts sends them: the key from sessionStorage, as a bearer header only.
 * Plain script, not bundled (index.html loads it before the bundle).
 */
(function () {
  var key = sessionStorage.getItem("hypersweep.apiKey");
  if (!key || typeof fetch !== "function") return;
  var paths = ["/v1/me"];
  var sweep = /^#\/sweeps\/([\w-]+)$/.exec(location.hash);
  if (sweep) paths.push("/v1/sweeps/" + sweep[1] + "/epochs", "/v1/sweeps/" + sweep[1], "/v1/sweeps/" + sweep[1] + "/trials");
  var started = {};
  paths.forEach(function (path) {
    var response = fetch(path, { headers: { authorization: "Bearer " + key } });
    response.catch(function () {}); // whoever takes it sees the failure
    started[path] = { key: key, response: response };
  });
  window.hypersweepEarly = started;
})();
