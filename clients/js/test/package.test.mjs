import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as client from "../index.js";

const read = (name) => readFile(new URL(`../${name}`, import.meta.url), "utf8");

test("index.js exports exactly createTokenSource, joinRoom and TokenVendorError", () => {
  assert.deepEqual(Object.keys(client).sort(), ["TokenVendorError", "createTokenSource", "joinRoom"]);
  assert.equal(typeof client.createTokenSource, "function");
  assert.equal(typeof client.joinRoom, "function");
  const error = new client.TokenVendorError("m", { status: 418, code: "teapot" });
  assert.ok(error instanceof Error);
  assert.deepEqual([error.name, error.status, error.code, error.requestId, error.retryAfter], ["TokenVendorError", 418, "teapot", null, null]);
});

test("index.d.ts declares every export", async () => {
  const dts = await read("index.d.ts");
  for (const name of Object.keys(client)) {
    assert.match(dts, new RegExp(`^export (declare )?(function|class) ${name}\\b`, "m"), name);
  }
  for (const field of ["status", "code", "message", "requestId", "retryAfter", "created", "expiresAt", "invalidate", "getToken"]) {
    assert.match(dts, new RegExp(`\\b${field}\\b`), field);
  }
});

test("package.json is as specified", async () => {
  const pkg = JSON.parse(await read("package.json"));
  assert.equal(pkg.name, "token-vendor-client");
  assert.equal(pkg.version, "0.1.0");
  assert.equal(pkg.type, "module");
  assert.deepEqual(pkg.exports, { ".": { types: "./index.d.ts", default: "./index.js" } });
  assert.equal(pkg.types, "./index.d.ts");
  assert.equal(pkg.license, "MIT OR Apache-2.0");
  assert.deepEqual(pkg.scripts, { test: "node --test" });
  assert.deepEqual(pkg.engines, { node: ">=18" });
  assert.equal(pkg.dependencies, undefined);
  assert.equal(pkg.devDependencies, undefined);
});
