// Test support for test/*.test.mjs, kept outside test/ so that `node --test`
// does not run it as a test file: a real HTTP server on 127.0.0.1 that plays
// a script of answers, one per request, and records what it was sent.
import http from "node:http";
import { after } from "node:test";

/**
 * `answers` is a list of `{status, body, headers, gate}`: `body` is an object
 * (sent as JSON) or a string (sent as is); `gate` is a promise awaited before
 * answering. A request beyond the script gets a 599 so the test notices.
 */
export async function serve(answers) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", async () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: raw });
      const answer = answers[requests.length - 1] ?? { status: 599, body: "unscripted request" };
      await answer.gate;
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status, {
        "Content-Type": typeof answer.body === "string" ? "text/html" : "application/json",
        ...answer.headers,
      });
      res.end(text);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => new Promise((resolve) => server.close(resolve)));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, url: `${base}/token`, requests };
}

/** A URL on which nothing listens (a port that was just free). */
export async function closedUrl() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/token`;
}

/** A sleep that records the waits it was asked for and returns at once. */
export function recordingSleep() {
  const waits = [];
  const sleep = async (ms) => {
    waits.push(ms);
  };
  return { waits, sleep };
}

/** The global fetch, wrapped to record each call's `init`. */
export function recordingFetch() {
  const calls = [];
  const fetch = (url, init) => {
    calls.push({ url, init });
    return globalThis.fetch(url, init);
  };
  return { calls, fetch };
}

/** A promise with its resolve function, to hold an answer back. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

export const ISO = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");
