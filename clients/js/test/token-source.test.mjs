import { test } from "node:test";
import assert from "node:assert/strict";
import { createTokenSource, TokenVendorError } from "../index.js";
import { serve, closedUrl, recordingSleep, recordingFetch, deferred, ISO } from "../support/server.mjs";

const T0 = Date.parse("2027-01-15T07:00:00Z");
const HOUR = 3600_000;

test("getToken GETs the url with Accept: application/json and returns a Date expiresAt", async () => {
  const srv = await serve([{ status: 200, body: { token: "t1", expiresAt: "2027-01-15T08:00:00Z" } }]);
  const result = await createTokenSource({ url: srv.url }).getToken();
  assert.equal(result.token, "t1");
  assert.ok(result.expiresAt instanceof Date);
  assert.equal(result.expiresAt.toISOString(), "2027-01-15T08:00:00.000Z");
  assert.equal(srv.requests.length, 1);
  assert.equal(srv.requests[0].method, "GET");
  assert.equal(srv.requests[0].url, "/token");
  assert.equal(srv.requests[0].headers.accept, "application/json");
  assert.equal(srv.requests[0].headers.cookie, undefined);
});

test("caches until expiresAt minus the margin, then refreshes", async () => {
  const srv = await serve([
    { status: 200, body: { token: "t1", expiresAt: ISO(T0 + HOUR) } },
    { status: 200, body: { token: "t2", expiresAt: ISO(T0 + 2 * HOUR) } },
  ]);
  let now = T0;
  const source = createTokenSource({ url: srv.url, now: () => now });

  assert.equal((await source.getToken()).token, "t1");
  now = T0 + HOUR - 60_000 - 1; // one millisecond inside the default 60 s margin
  const cached = await source.getToken();
  assert.equal(cached.token, "t1");
  assert.equal(cached.expiresAt.getTime(), T0 + HOUR);
  assert.equal(srv.requests.length, 1);

  now = T0 + HOUR - 60_000; // the margin starts: refresh
  assert.equal((await source.getToken()).token, "t2");
  assert.equal(srv.requests.length, 2);
  assert.equal((await source.getToken()).token, "t2");
  assert.equal(srv.requests.length, 2);
});

test("refreshMarginSeconds sets the margin", async () => {
  const srv = await serve([
    { status: 200, body: { token: "t1", expiresAt: ISO(T0 + HOUR) } },
    { status: 200, body: { token: "t2", expiresAt: ISO(T0 + 2 * HOUR) } },
  ]);
  let now = T0;
  const source = createTokenSource({ url: srv.url, refreshMarginSeconds: 600, now: () => now });
  await source.getToken();
  now = T0 + HOUR - 600_001;
  assert.equal((await source.getToken()).token, "t1");
  now = T0 + HOUR - 600_000;
  assert.equal((await source.getToken()).token, "t2");
  assert.equal(srv.requests.length, 2);
});

test("a token without expiresAt (or with an unreadable one) is never cached", async () => {
  const srv = await serve([
    { status: 200, body: { token: "t1" } },
    { status: 200, body: { token: "t2", expiresAt: "not a date" } },
    { status: 200, body: { token: "t3" } },
  ]);
  const source = createTokenSource({ url: srv.url, now: () => T0 });
  const first = await source.getToken();
  assert.deepEqual(first, { token: "t1", expiresAt: null });
  assert.deepEqual(await source.getToken(), { token: "t2", expiresAt: null });
  assert.equal((await source.getToken()).token, "t3");
  assert.equal(srv.requests.length, 3);
});

test("concurrent getToken calls share one request", async () => {
  const gate = deferred();
  const srv = await serve([
    { status: 200, body: { token: "shared" }, gate: gate.promise },
    { status: 200, body: { token: "next" } },
  ]);
  const source = createTokenSource({ url: srv.url });
  const calls = [source.getToken(), source.getToken(), source.getToken()];
  await new Promise((resolve) => setTimeout(resolve, 50)); // let a duplicate request reach the server
  gate.resolve();
  const results = await Promise.all(calls);
  assert.deepEqual(results.map((r) => r.token), ["shared", "shared", "shared"]);
  assert.equal(srv.requests.length, 1);
  // Once settled, the shared request is gone: an uncached token is asked for again.
  assert.equal((await source.getToken()).token, "next");
  assert.equal(srv.requests.length, 2);
});

test("concurrent callers share a failure too", async () => {
  const srv = await serve([{ status: 403, body: { error: { code: "origin_not_allowed", message: "no" } } }]);
  const source = createTokenSource({ url: srv.url });
  const outcomes = await Promise.allSettled([source.getToken(), source.getToken()]);
  assert.deepEqual(outcomes.map((o) => [o.status, o.reason?.code]), [
    ["rejected", "origin_not_allowed"],
    ["rejected", "origin_not_allowed"],
  ]);
  assert.equal(srv.requests.length, 1);
});

test("invalidate() makes the next getToken ask again", async () => {
  const srv = await serve([
    { status: 200, body: { token: "t1", expiresAt: ISO(T0 + HOUR) } },
    { status: 200, body: { token: "t2", expiresAt: ISO(T0 + HOUR) } },
  ]);
  const source = createTokenSource({ url: srv.url, now: () => T0 });
  assert.equal((await source.getToken()).token, "t1");
  assert.equal((await source.getToken()).token, "t1");
  source.invalidate();
  assert.equal((await source.getToken()).token, "t2");
  assert.equal(srv.requests.length, 2);
});

test("invalidate() during a request: the next call asks again and the stale answer is not cached", async () => {
  const gate = deferred();
  const srv = await serve([
    { status: 200, body: { token: "stale", expiresAt: ISO(T0 + HOUR) }, gate: gate.promise },
    { status: 200, body: { token: "fresh", expiresAt: ISO(T0 + HOUR) } },
  ]);
  const source = createTokenSource({ url: srv.url, now: () => T0 });
  const first = source.getToken();
  source.invalidate();
  const second = source.getToken();
  assert.equal((await second).token, "fresh");
  gate.resolve();
  assert.equal((await first).token, "stale");
  assert.equal((await source.getToken()).token, "fresh");
  assert.equal(srv.requests.length, 2);
});

test("a caller mutating its result does not alter the cache", async () => {
  const srv = await serve([{ status: 200, body: { token: "t1", expiresAt: ISO(T0 + HOUR) } }]);
  const source = createTokenSource({ url: srv.url, now: () => T0 });
  for (let i = 0; i < 2; i++) {
    const result = await source.getToken(); // from the request, then from the cache
    result.expiresAt.setTime(0);
    result.token = "changed";
  }
  assert.deepEqual(await source.getToken(), { token: "t1", expiresAt: new Date(T0 + HOUR) });
  assert.equal(srv.requests.length, 1);
});

test("429, 503 and 504 are retried, waiting Retry-After seconds", async () => {
  const srv = await serve([
    { status: 429, body: { message: "Too Many Requests" }, headers: { "Retry-After": "2" } },
    { status: 503, body: { error: { code: "upstream_unavailable", message: "busy" } }, headers: { "Retry-After": "1" } },
    { status: 200, body: { token: "ok" } },
  ]);
  const { waits, sleep } = recordingSleep();
  const result = await createTokenSource({ url: srv.url, sleep }).getToken();
  assert.equal(result.token, "ok");
  assert.equal(srv.requests.length, 3);
  assert.deepEqual(waits, [2000, 1000]);
});

test("504 is retried, and Retry-After is capped at 30 s", async () => {
  const srv = await serve([
    { status: 504, body: { error: { code: "upstream_timeout", message: "late" } }, headers: { "Retry-After": "120" } },
    { status: 200, body: { token: "ok" } },
  ]);
  const { waits, sleep } = recordingSleep();
  assert.equal((await createTokenSource({ url: srv.url, sleep }).getToken()).token, "ok");
  assert.equal(srv.requests.length, 2);
  assert.deepEqual(waits, [30_000]);
});

test("without Retry-After the wait is full-jitter backoff from 200 ms", async (t) => {
  // Math.random at its extremes pins the window: attempt k waits in [0, 200·2^k).
  for (const [random, expected] of [
    [0, [0, 0]],
    [0.5, [100, 200]],
    [0.999, [199.8, 399.6]],
  ]) {
    const srv = await serve([{ status: 503, body: "busy" }, { status: 504, body: "late" }, { status: 200, body: { token: "ok" } }]);
    const random_ = t.mock.method(Math, "random", () => random);
    const { waits, sleep } = recordingSleep();
    assert.equal((await createTokenSource({ url: srv.url, sleep }).getToken()).token, "ok");
    random_.mock.restore();
    assert.equal(waits.length, 2);
    waits.forEach((w, k) => assert.ok(Math.abs(w - expected[k]) < 1e-9, `wait ${k}: ${w} != ${expected[k]}`));
  }
  // With the real Math.random the waits stay within their windows.
  for (let run = 0; run < 20; run++) {
    const srv = await serve([{ status: 503, body: "x" }, { status: 503, body: "x" }, { status: 200, body: { token: "ok" } }]);
    const { waits, sleep } = recordingSleep();
    await createTokenSource({ url: srv.url, sleep }).getToken();
    assert.ok(waits[0] >= 0 && waits[0] < 200, `first wait ${waits[0]}`);
    assert.ok(waits[1] >= 0 && waits[1] < 400, `second wait ${waits[1]}`);
  }
});

test("the default sleep really waits (setTimeout)", async () => {
  const srv = await serve([{ status: 503, body: "busy", headers: { "Retry-After": "1" } }, { status: 200, body: { token: "ok" } }]);
  const started = Date.now();
  assert.equal((await createTokenSource({ url: srv.url }).getToken()).token, "ok");
  assert.ok(Date.now() - started >= 950, `waited only ${Date.now() - started} ms`);
});

test("network errors are retried, then reject with status 0 and code network_error", async () => {
  const url = await closedUrl();
  const { calls, fetch } = recordingFetch();
  const { waits, sleep } = recordingSleep();
  const error = await createTokenSource({ url, fetch, sleep }).getToken().catch((e) => e);
  assert.ok(error instanceof TokenVendorError);
  assert.equal(error.status, 0);
  assert.equal(error.code, "network_error");
  assert.equal(error.requestId, null);
  assert.equal(error.retryAfter, null);
  assert.match(error.message, /network error/);
  assert.ok(error.cause instanceof Error);
  assert.equal(calls.length, 3); // the first attempt and 2 retries
  assert.equal(waits.length, 2);
});

test("a network error followed by success resolves", async () => {
  const srv = await serve([{ status: 200, body: { token: "ok" } }]);
  let attempts = 0;
  const fetch = (url, init) => (++attempts === 1 ? Promise.reject(new TypeError("fetch failed")) : globalThis.fetch(url, init));
  const { waits, sleep } = recordingSleep();
  assert.equal((await createTokenSource({ url: srv.url, fetch, sleep }).getToken()).token, "ok");
  assert.equal(attempts, 2);
  assert.equal(waits.length, 1);
  assert.ok(waits[0] >= 0 && waits[0] < 200);
});

test("retries are bounded by `retries`", async () => {
  const busy = { status: 503, body: { error: { code: "upstream_unavailable", message: "busy" } } };
  for (const [retries, expectedRequests] of [[0, 1], [1, 2], [2, 3], [4, 5]]) {
    const srv = await serve(Array(6).fill(busy));
    const { sleep } = recordingSleep();
    const error = await createTokenSource({ url: srv.url, retries, sleep }).getToken().catch((e) => e);
    assert.equal(error.status, 503, `retries ${retries}`);
    assert.equal(srv.requests.length, expectedRequests, `retries ${retries}`);
  }
});

test("400, 403, 404, 500, 501 and 502 are final (no retry)", async () => {
  for (const status of [400, 403, 404, 500, 501, 502]) {
    const srv = await serve([
      { status, body: { error: { code: `code_${status}`, message: "no" } }, headers: { "Retry-After": "1" } },
      { status: 200, body: { token: "should not be asked for" } },
    ]);
    const { waits, sleep } = recordingSleep();
    const error = await createTokenSource({ url: srv.url, sleep }).getToken().catch((e) => e);
    assert.equal(error.status, status);
    assert.equal(error.code, `code_${status}`);
    assert.equal(srv.requests.length, 1, `status ${status}`);
    assert.deepEqual(waits, []);
  }
});

test("a JSON error answer fills every error field", async () => {
  const srv = await serve([
    {
      status: 429,
      body: { error: { code: "quota_exceeded", message: "This caller has been given its quota.", requestId: "req-42" } },
      headers: { "Retry-After": "7" },
    },
  ]);
  const error = await createTokenSource({ url: srv.url, retries: 0 }).getToken().catch((e) => e);
  assert.ok(error instanceof TokenVendorError);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "TokenVendorError");
  assert.equal(error.status, 429);
  assert.equal(error.code, "quota_exceeded");
  assert.equal(error.message, "This caller has been given its quota.");
  assert.equal(error.requestId, "req-42");
  assert.equal(error.retryAfter, 7);
});

test("a non-JSON error answer gets code http_error", async () => {
  const srv = await serve([{ status: 502, body: "<html><body>Bad Gateway</body></html>" }]);
  const error = await createTokenSource({ url: srv.url }).getToken().catch((e) => e);
  assert.ok(error instanceof TokenVendorError);
  assert.equal(error.status, 502);
  assert.equal(error.code, "http_error");
  assert.match(error.message, /^HTTP 502/);
  assert.equal(error.requestId, null);
  assert.equal(error.retryAfter, null);
});

test("a JSON error answer without error.code gets code http_error, and keeps Retry-After", async () => {
  const srv = await serve([{ status: 503, body: { message: "Service Unavailable" }, headers: { "Retry-After": "3" } }]);
  const error = await createTokenSource({ url: srv.url, retries: 0 }).getToken().catch((e) => e);
  assert.equal(error.status, 503);
  assert.equal(error.code, "http_error");
  assert.equal(error.retryAfter, 3);
  assert.equal(error.requestId, null);
});

test("a 2xx without a usable token rejects with bad_response and is not retried", async () => {
  for (const body of [{ expiresAt: "2027-01-15T08:00:00Z" }, { token: "" }, { token: 42 }, "not json", [1, 2]]) {
    const srv = await serve([{ status: 200, body }, { status: 200, body: { token: "second" } }]);
    const error = await createTokenSource({ url: srv.url }).getToken().catch((e) => e);
    assert.ok(error instanceof TokenVendorError, JSON.stringify(body));
    assert.equal(error.code, "bad_response");
    assert.equal(error.status, 200);
    assert.equal(srv.requests.length, 1);
  }
});

test("headers given as an object are sent", async () => {
  const srv = await serve([{ status: 200, body: { token: "ok" } }]);
  await createTokenSource({ url: srv.url, headers: { Authorization: "Bearer abc", "X-App": "demo" } }).getToken();
  assert.equal(srv.requests[0].headers.authorization, "Bearer abc");
  assert.equal(srv.requests[0].headers["x-app"], "demo");
  assert.equal(srv.requests[0].headers.accept, "application/json");
});

test("headers given as an async function are evaluated for every attempt", async () => {
  const srv = await serve([
    { status: 503, body: "busy" },
    { status: 200, body: { token: "t1" } },
    { status: 200, body: { token: "t2" } },
  ]);
  let calls = 0;
  const headers = async () => {
    calls += 1;
    await new Promise((resolve) => setTimeout(resolve, 1));
    return { Authorization: `Bearer id-${calls}` };
  };
  const { sleep } = recordingSleep();
  const source = createTokenSource({ url: srv.url, headers, sleep });
  await source.getToken();
  await source.getToken();
  assert.equal(calls, 3);
  assert.deepEqual(srv.requests.map((r) => r.headers.authorization), ["Bearer id-1", "Bearer id-2", "Bearer id-3"]);
});

test("requests use credentials: omit and send no body; PUT is supported", async () => {
  const srv = await serve([{ status: 201, body: { room: "r", token: "ok" } }]);
  const { calls, fetch } = recordingFetch();
  await createTokenSource({ url: `${srv.base}/rooms/r`, method: "PUT", fetch }).getToken();
  assert.equal(calls.length, 1);
  assert.equal(calls[0].init.credentials, "omit");
  assert.equal(calls[0].init.method, "PUT");
  assert.equal(calls[0].init.body, undefined);
  assert.equal(srv.requests[0].method, "PUT");
  assert.equal(srv.requests[0].url, "/rooms/r");
  assert.equal(srv.requests[0].body, "");
});

test("invalid options throw a TypeError", () => {
  assert.throws(() => createTokenSource({}), TypeError);
  assert.throws(() => createTokenSource({ url: "http://x/token", retries: -1 }), TypeError);
  assert.throws(() => createTokenSource({ url: "http://x/token", refreshMarginSeconds: "60" }), TypeError);
});

test("a used-up quota (429 quota_exceeded) is final at once, with retryAfter", async () => {
  const srv = await serve([
    { status: 429, body: { error: { code: "quota_exceeded", message: "later" } }, headers: { "Retry-After": "5" } },
    { status: 200, body: { token: "ok" } },
  ]);
  const { waits, sleep } = recordingSleep();
  const error = await createTokenSource({ url: srv.url, sleep }).getToken().catch((e) => e);
  assert.ok(error instanceof TokenVendorError);
  assert.equal(error.code, "quota_exceeded");
  assert.equal(error.retryAfter, 5);
  assert.equal(srv.requests.length, 1);
  assert.deepEqual(waits, []);
});

test("a 429 whose Retry-After is beyond the 30 s cap is rejected at once, not waited for", async () => {
  const srv = await serve([
    { status: 429, body: { message: "Too Many Requests" }, headers: { "Retry-After": "2443" } },
    { status: 200, body: { token: "ok" } },
  ]);
  const { waits, sleep } = recordingSleep();
  const error = await createTokenSource({ url: srv.url, sleep }).getToken().catch((e) => e);
  assert.equal(error.status, 429);
  assert.equal(error.retryAfter, 2443);
  assert.equal(srv.requests.length, 1);
  assert.deepEqual(waits, []);
});

test("a throttle 429 without Retry-After backs off at least 1 s", async (t) => {
  // API Gateway's throttle: no Retry-After, not the vendor's JSON.
  for (const [random, expected] of [
    [0, [1000, 1000]],
    [0.999, [1999, 2998]],
  ]) {
    const srv = await serve([
      { status: 429, body: { message: "Too Many Requests" } },
      { status: 429, body: { message: "Too Many Requests" } },
      { status: 200, body: { token: "ok" } },
    ]);
    const random_ = t.mock.method(Math, "random", () => random);
    const { waits, sleep } = recordingSleep();
    assert.equal((await createTokenSource({ url: srv.url, sleep }).getToken()).token, "ok");
    random_.mock.restore();
    waits.forEach((w, k) => assert.ok(Math.abs(w - expected[k]) < 1e-9, `wait ${k}: ${w} != ${expected[k]}`));
  }
});

test("a token that lives less than the margin is reused for half its life", async () => {
  // 40 s CAS tokens with the default 60 s margin: refreshed at the midpoint.
  const srv = await serve([
    { status: 200, body: { token: "t1", expiresAt: ISO(T0 + 40_000) } },
    { status: 200, body: { token: "t2", expiresAt: ISO(T0 + 60_000) } },
  ]);
  let now = T0;
  const source = createTokenSource({ url: srv.url, now: () => now });
  assert.equal((await source.getToken()).token, "t1");
  for (let i = 0; i < 5; i++) assert.equal((await source.getToken()).token, "t1");
  now = T0 + 19_999;
  assert.equal((await source.getToken()).token, "t1");
  assert.equal(srv.requests.length, 1);
  now = T0 + 20_000;
  assert.equal((await source.getToken()).token, "t2");
  assert.equal(srv.requests.length, 2);
});
