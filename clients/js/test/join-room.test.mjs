import { test } from "node:test";
import assert from "node:assert/strict";
import { joinRoom, TokenVendorError } from "../index.js";
import { serve, recordingSleep, recordingFetch } from "../support/server.mjs";

test("without a room, joinRoom POSTs /rooms and reports created", async () => {
  const srv = await serve([
    {
      status: 201,
      body: { room: "brave-otter-42", token: "t1", expiresAt: "2027-01-15T08:00:00Z" },
      headers: { Location: "/rooms/brave-otter-42" },
    },
  ]);
  const { calls, fetch } = recordingFetch();
  const result = await joinRoom({ baseUrl: srv.base, fetch });
  assert.deepEqual(result, {
    room: "brave-otter-42",
    token: "t1",
    expiresAt: new Date("2027-01-15T08:00:00Z"),
    created: true,
  });
  assert.equal(srv.requests.length, 1);
  assert.equal(srv.requests[0].method, "POST");
  assert.equal(srv.requests[0].url, "/rooms");
  assert.equal(srv.requests[0].body, "");
  assert.equal(srv.requests[0].headers.accept, "application/json");
  assert.equal(calls[0].init.credentials, "omit");
});

test("with a room, joinRoom PUTs /rooms/{encoded name}; 201 is created, 200 is joined", async () => {
  const srv = await serve([
    { status: 201, body: { room: "Movie night/#1?", token: "t1", expiresAt: "2027-01-15T08:00:00Z" } },
    { status: 200, body: { room: "Movie night/#1?", token: "t1" } },
  ]);
  const first = await joinRoom({ baseUrl: srv.base, room: "Movie night/#1?" });
  const second = await joinRoom({ baseUrl: srv.base, room: "Movie night/#1?" });
  assert.equal(first.created, true);
  assert.equal(second.created, false);
  assert.equal(second.room, "Movie night/#1?");
  assert.equal(second.expiresAt, null);
  assert.deepEqual(srv.requests.map((r) => `${r.method} ${r.url}`), [
    "PUT /rooms/Movie%20night%2F%231%3F",
    "PUT /rooms/Movie%20night%2F%231%3F",
  ]);
});

test("baseUrl with or without a trailing slash, and with a path, gives no double slash", async () => {
  const srv = await serve(Array(4).fill({ status: 200, body: { room: "r", token: "t" } }));
  await joinRoom({ baseUrl: `${srv.base}/`, room: "r" });
  await joinRoom({ baseUrl: srv.base, room: "r" });
  await joinRoom({ baseUrl: `${srv.base}/prod/`, room: "r" });
  await joinRoom({ baseUrl: new URL(`${srv.base}/prod`) });
  assert.deepEqual(srv.requests.map((r) => `${r.method} ${r.url}`), [
    "PUT /rooms/r",
    "PUT /rooms/r",
    "PUT /prod/rooms/r",
    "POST /prod/rooms",
  ]);
});

test("joinRoom retries like getToken and evaluates headers per attempt", async () => {
  const srv = await serve([
    { status: 503, body: { error: { code: "upstream_unavailable", message: "busy" } }, headers: { "Retry-After": "4" } },
    { status: 201, body: { room: "r", token: "t" } },
  ]);
  const { waits, sleep } = recordingSleep();
  let n = 0;
  const result = await joinRoom({ baseUrl: srv.base, room: "r", headers: () => ({ Authorization: `Bearer ${++n}` }), sleep });
  assert.equal(result.created, true);
  assert.deepEqual(waits, [4000]);
  assert.deepEqual(srv.requests.map((r) => r.headers.authorization), ["Bearer 1", "Bearer 2"]);
});

test("joinRoom errors carry the vendor's fields and are final", async () => {
  const srv = await serve([
    { status: 404, body: { error: { code: "room_not_found", message: "No such room.", requestId: "req-7" } } },
    { status: 201, body: { room: "r", token: "t" } },
  ]);
  const error = await joinRoom({ baseUrl: srv.base, room: "gone" }).catch((e) => e);
  assert.ok(error instanceof TokenVendorError);
  assert.equal(error.status, 404);
  assert.equal(error.code, "room_not_found");
  assert.equal(error.message, "No such room.");
  assert.equal(error.requestId, "req-7");
  assert.equal(error.retryAfter, null);
  assert.equal(srv.requests.length, 1);
});

test("joinRoom rejects a 2xx without a room name or token as bad_response", async () => {
  const srv = await serve([
    { status: 201, body: { token: "t" } },
    { status: 200, body: { room: "r" } },
  ]);
  for (const expectedStatus of [201, 200]) {
    const error = await joinRoom({ baseUrl: srv.base, room: "r" }).catch((e) => e);
    assert.ok(error instanceof TokenVendorError);
    assert.equal(error.code, "bad_response");
    assert.equal(error.status, expectedStatus);
  }
  assert.equal(srv.requests.length, 2);
});

test("joinRoom rejects a missing baseUrl or an empty room name with a TypeError", async () => {
  await assert.rejects(joinRoom({ room: "r" }), TypeError);
  await assert.rejects(joinRoom({ baseUrl: "http://127.0.0.1:9", room: "" }), TypeError);
});

test("creating a room (POST) is never retried: each try would make a new room", async () => {
  const srv = await serve([
    { status: 503, body: { error: { code: "upstream_unavailable", message: "busy" } }, headers: { "Retry-After": "1" } },
    { status: 201, body: { room: "r", token: "t" } },
  ]);
  const { waits, sleep } = recordingSleep();
  const error = await joinRoom({ baseUrl: srv.base, sleep }).catch((e) => e);
  assert.ok(error instanceof TokenVendorError);
  assert.equal(error.status, 503);
  assert.equal(srv.requests.length, 1);
  assert.deepEqual(waits, []);
  // Nor after a network error, which cannot tell whether the POST arrived.
  const refused = await joinRoom({ baseUrl: "http://127.0.0.1:9", sleep }).catch((e) => e);
  assert.equal(refused.code, "network_error");
  assert.deepEqual(waits, []);
});
