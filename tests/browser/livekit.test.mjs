// LiveKit's own client in headless Chromium against the real vendor binary
// (local mode, LiveKit on): a page from an allowed origin imports
// livekit-client's browser bundle and asks `TokenSource.endpoint(url)` for a
// token, exactly as a LiveKit app does; the cross-origin POST goes through
// the vendor's preflight, and the page decodes the grant it got.
//
//   cargo build && (cd tests/browser && npm ci && npm test)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { freePort, launchChromium, root, startVendor } from "./support.mjs";

const bundle = path.join(root, "tests/browser/node_modules/livekit-client/dist/livekit-client.esm.mjs");
const KEY = "APIbrowserkey21";
const SECRET = "browser-livekit-secret-7c1d0e5b9a3f2e4d6c8b";

// The page: livekit-client's bundle, and a module that fetches one token
// and decodes its claims (as an app would before connecting).
const page = (vendorUrl) => `<!doctype html>
<meta charset="utf-8">
<script type="module">
  import { TokenSource } from "/livekit-client.esm.mjs";
  try {
    const source = TokenSource.endpoint("${vendorUrl}/livekit/token");
    const { serverUrl, participantToken } = await source.fetch({ roomName: "lobby", participantName: "Dana" });
    const payload = participantToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    window.result = { serverUrl, claims: JSON.parse(atob(payload)) };
  } catch (error) {
    window.result = { error: String(error) };
  }
</script>`;

let vendor, vendorUrl, pageServer, pageOrigin, browser;

before(async () => {
  const [vendorPort, pagePort] = [await freePort(), await freePort()];
  pageOrigin = `http://127.0.0.1:${pagePort}`;
  vendor = await startVendor(vendorPort, {
    ALLOWED_ORIGINS: pageOrigin,
    LIVEKIT_URL: "ws://127.0.0.1:7880",
    LIVEKIT_ROOMS: "lobby",
    LIVEKIT_API_KEY: KEY,
    LIVEKIT_API_SECRET: SECRET,
  });
  vendorUrl = vendor.url;
  pageServer = createServer(async (req, res) => {
    if (req.url === "/livekit-client.esm.mjs") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
      res.end(await readFile(bundle));
    } else if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(page(vendorUrl));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => pageServer.listen(pagePort, "127.0.0.1", resolve));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  vendor?.stop();
  pageServer?.close();
});

test("livekit-client's TokenSource.endpoint gets a token from the vendor in Chromium", async () => {
  const tab = await browser.newPage();
  await tab.goto(`${pageOrigin}/`);

  await tab.waitForFunction(() => window.result !== undefined, null, { timeout: 20000 });
  const result = await tab.evaluate(() => window.result);

  assert.equal(result.error, undefined, `${result.error}\n${vendor.log()}`);
  assert.equal(result.serverUrl, "ws://127.0.0.1:7880");
  const { claims } = result;
  assert.equal(claims.iss, KEY);
  assert.equal(claims.name, "Dana");
  assert.deepEqual(claims.video, {
    room: "lobby", roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true,
  });
  assert.ok(claims.sub.startsWith("guest-"), claims.sub);
  assert.equal(claims.exp - claims.nbf, 600);
  // The JSON POST was cross-origin: the vendor granted its preflight first.
  assert.match(vendor.log(), /method=OPTIONS path=\/livekit\/token .*status=204/);
  assert.match(vendor.log(), /method=POST path=\/livekit\/token .*status=201/);
  await tab.close();
});
