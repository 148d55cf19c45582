// The demo page in headless Chromium against the real vendor binary (local
// mode, demo upstream), through the token-vendor-client module it imports
// (clients/js): an allowed origin gets tokens through cross-origin fetches
// (one with a preflight); two tabs meet in one room; a refused origin is
// blocked by the browser, surfaces as a TokenVendorError with status 0, and
// the vendor logs a 403; a token near expiry is refreshed, not before.
//
//   cargo build && (cd tests/browser && npm ci && npm test)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { freePort, launchChromium, root, startVendor } from "./support.mjs";

// Serves the repository's examples/web and clients/js on 127.0.0.1:port, as
// `python3 -m http.server` from the root does: each port is its own origin.
const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };
async function servePage(port) {
  const server = createServer(async (req, res) => {
    let file = new URL(req.url, "http://x").pathname;
    if (file.endsWith("/")) file += "index.html";
    const allowed = file.startsWith("/examples/web/") || file.startsWith("/clients/js/");
    try {
      if (!allowed || file.includes("..")) throw new Error("not served");
      const body = await readFile(path.join(root, file));
      res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

let vendor, vendorUrl, allowedPage, refusedPage, allowedOrigin, refusedOrigin, browser;

before(async () => {
  const [vendorPort, allowedPort, refusedPort] = [await freePort(), await freePort(), await freePort()];
  allowedOrigin = `http://127.0.0.1:${allowedPort}`;
  refusedOrigin = `http://127.0.0.1:${refusedPort}`;
  vendor = await startVendor(vendorPort, { ALLOWED_ORIGINS: allowedOrigin });
  vendorUrl = vendor.url;
  allowedPage = await servePage(allowedPort);
  refusedPage = await servePage(refusedPort);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  vendor?.stop();
  allowedPage?.close();
  refusedPage?.close();
});

async function clickAndWait(page, button) {
  await page.click(button);
  await page.waitForFunction(() => !["idle", "loading"].includes(document.getElementById("status").textContent));
  return {
    status: await page.textContent("#status"),
    token: await page.textContent("#token"),
    expires: await page.textContent("#expires"),
    error: await page.textContent("#error"),
  };
}

test("a page from an allowed origin gets a token through a cross-origin fetch", async () => {
  const page = await browser.newPage();
  await page.goto(`${allowedOrigin}/examples/web/?vendor=${vendorUrl}`);

  const result = await clickAndWait(page, "#get-token");

  assert.equal(result.status, "ok", result.error);
  assert.equal(result.token.split(".").length, 3, `not a JWT: ${result.token}`);
  assert.ok(!Number.isNaN(Date.parse(result.expires)), `expiry: ${result.expires}`);
  await page.close();
});

test("a fetch that needs a preflight (Authorization header) also gets a token", async () => {
  const page = await browser.newPage();
  await page.goto(`${allowedOrigin}/examples/web/?vendor=${vendorUrl}`);
  const grantedPreflights = () =>
    vendor.log().split("\n").filter((l) => l.includes("method=OPTIONS") && l.includes("status=204")).length;
  const preflightsBefore = grantedPreflights();

  const result = await clickAndWait(page, "#get-token-auth");

  assert.equal(result.status, "ok", result.error);
  assert.equal(result.token.split(".").length, 3);
  // The vendor itself saw and granted the preflight.
  assert.equal(grantedPreflights(), preflightsBefore + 1, vendor.log());
  await page.close();
});

test("a page from a refused origin is blocked by the browser and the vendor logs a 403", async () => {
  const page = await browser.newPage();
  await page.goto(`${refusedOrigin}/examples/web/?vendor=${vendorUrl}`);

  const result = await clickAndWait(page, "#get-token");

  assert.equal(result.status, "error");
  // The client's error: status 0, as the browser hides the 403 from the page.
  assert.match(result.error, /^TokenVendorError 0 network_error: /);
  assert.equal(result.token, "–");
  const refused = vendor.log()
    .split("\n")
    .filter((l) => l.includes(`origin="${refusedOrigin}"`) && l.includes("status=403"));
  assert.ok(refused.length > 0, `no 403 for ${refusedOrigin} in:\n${vendor.log()}`);
  await page.close();
});

test("two tabs meet in one room: create in one, join in the other, same token", async () => {
  const first = await browser.newPage();
  await first.goto(`${allowedOrigin}/examples/web/?vendor=${vendorUrl}`);
  await first.click("#create-room");
  await first.waitForFunction(() => !["idle", "loading"].includes(document.getElementById("room-status").textContent));
  const created = {
    status: await first.textContent("#room-status"),
    room: await first.inputValue("#room"),
    token: await first.textContent("#room-token"),
  };

  const second = await browser.newPage();
  await second.goto(`${allowedOrigin}/examples/web/?vendor=${vendorUrl}&room=${encodeURIComponent(created.room)}`);
  await second.click("#join-room");
  await second.waitForFunction(() => !["idle", "loading"].includes(document.getElementById("room-status").textContent));

  assert.equal(created.status, "created", await first.textContent("#room-error"));
  assert.equal(created.room.length, 22);
  assert.equal(await second.textContent("#room-status"), "joined", await second.textContent("#room-error"));
  assert.equal(await second.textContent("#room-token"), created.token);
  assert.ok(!vendor.log().includes(created.room), "the room name is never logged");
  await first.close();
  await second.close();
});

test("a token is served from the cache until shortly before it expires, then refreshed", async () => {
  // The demo's tokens live 3600 s; a margin of 3597 s makes "shortly before
  // expiry" come 3 s after the token was made.
  const page = await browser.newPage();
  await page.goto(`${allowedOrigin}/examples/web/?vendor=${vendorUrl}&margin=3597`);
  const tokenRequests = () =>
    vendor.log().split("\n").filter((l) => l.includes("method=GET") && l.includes("path=/token") && l.includes("status=200")).length;
  const before = tokenRequests();

  const first = await clickAndWait(page, "#get-token");
  await page.evaluate(() => { document.getElementById("status").textContent = "idle"; });
  const cached = await clickAndWait(page, "#get-token");
  const afterCached = tokenRequests();
  await new Promise((r) => setTimeout(r, 3500));
  await page.evaluate(() => { document.getElementById("status").textContent = "idle"; });
  const refreshed = await clickAndWait(page, "#get-token");

  assert.equal(first.status, "ok", first.error);
  assert.equal(cached.token, first.token, "the second click is answered from the cache");
  assert.equal(afterCached, before + 1, `one request for two clicks:\n${vendor.log()}`);
  assert.equal(refreshed.status, "ok", refreshed.error);
  assert.notEqual(refreshed.token, first.token, "a new token near expiry");
  assert.equal(tokenRequests(), before + 2, vendor.log());
  await page.close();
});

test("a long token wraps inside its box instead of running off the page", async () => {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 480, height: 800 });
  await page.goto(`${allowedOrigin}/examples/web/?vendor=${vendorUrl}`);
  const result = await clickAndWait(page, "#get-token");
  const overflow = await page.evaluate(() => {
    const box = document.getElementById("token");
    return { scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
             boxRight: box.getBoundingClientRect().right };
  });

  assert.equal(result.status, "ok", result.error);
  assert.ok(overflow.scroll <= overflow.client, `the page scrolls sideways: ${JSON.stringify(overflow)}`);
  assert.ok(overflow.boxRight <= overflow.client, JSON.stringify(overflow));
  await page.close();
});
