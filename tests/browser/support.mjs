// What the browser tests share: a free port, the vendor binary started in
// local mode (its output collected), and headless Chromium as this machine
// runs it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const vendorBin = process.env.VENDOR_BIN ?? path.join(root, "target/debug/token-vendor");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

// The vendor on 127.0.0.1:port with only PATH and `env` set; resolves once
// it listens. `log()` is everything it printed so far.
export async function startVendor(port, env) {
  let log = "";
  const child = spawn(vendorBin, [], {
    env: { PATH: process.env.PATH, LISTEN_ADDR: `127.0.0.1:${port}`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 20000;
  while (!log.includes("listening")) {
    assert.ok(Date.now() < deadline, `vendor did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, log: () => log, stop: () => child.kill() };
}

// Headless Chromium with the flags this closed network needs; playwright
// gives every launch a fresh, empty profile of its own.
export const launchChromium = () =>
  chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
