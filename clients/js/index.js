// token-vendor-client: fetch, cache and refresh streaming-session tokens from a
// token-vendor deployment. An ES module with no runtime dependencies; it needs
// only `fetch`, so it runs in browsers and in Node 18+.

/** Default seconds before `expiresAt` at which a cached token is refreshed. */
const DEFAULT_REFRESH_MARGIN_SECONDS = 60;
/** Default number of extra attempts after a retryable failure. */
const DEFAULT_RETRIES = 2;
/** First backoff window; attempt k waits a random time in [0, BASE · 2^k). */
const BACKOFF_BASE_MS = 200;
/** Ceiling on a server's Retry-After, so a bad header cannot stall a caller. */
const MAX_RETRY_AFTER_SECONDS = 30;
/** A throttle 429 without Retry-After waits at least this long: API Gateway
 * throttles a whole route, so quick retries from every client storm it. */
const THROTTLE_FLOOR_MS = 1000;
/** Statuses that mean "try again later"; every other status is final. */
const RETRYABLE_STATUSES = new Set([429, 503, 504]);

/**
 * Every failure of this library. `status` is the HTTP status (0 when no
 * answer arrived), `code` a stable machine-readable code: the vendor's
 * `error.code`, or `network_error`, `http_error` (an error answer that is not
 * the vendor's JSON) or `bad_response` (a 2xx answer without a usable token).
 */
export class TokenVendorError extends Error {
  constructor(message, { status, code, requestId = null, retryAfter = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "TokenVendorError";
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

/**
 * A cached token source for one route that answers `{token, expiresAt?}`
 * (`GET /token`, `PUT /rooms/{name}`, ...).
 */
export function createTokenSource(options) {
  const { url, method = "GET", refreshMarginSeconds = DEFAULT_REFRESH_MARGIN_SECONDS } = options ?? {};
  if (typeof url !== "string" && !(url instanceof URL)) {
    throw new TypeError("createTokenSource: `url` is required");
  }
  if (typeof refreshMarginSeconds !== "number" || !(refreshMarginSeconds >= 0)) {
    throw new TypeError("createTokenSource: `refreshMarginSeconds` must be a number >= 0");
  }
  const client = makeClient(options);
  const now = options.now ?? Date.now;

  let cached = null; // { token, expiresAt: Date, refreshAt: ms } of the last token worth keeping
  let inFlight = null; // the shared promise of the current request, if any
  let generation = 0; // bumped by invalidate() so a stale request cannot refill the cache

  // Refreshed `refreshMarginSeconds` before `expiresAt`; a token that lives
  // no longer than the margin (as received) at the midpoint of its life
  // instead, so that it is reused for half its life rather than asked for on
  // every call.
  function refreshAt(received, expiresAt) {
    const expires = expiresAt.getTime();
    const margin = refreshMarginSeconds * 1000;
    return expires - received > margin ? expires - margin : received + (expires - received) / 2;
  }

  function fresh() {
    return cached !== null && now() < cached.refreshAt;
  }

  return {
    getToken() {
      if (fresh()) return Promise.resolve(copy(cached));
      if (inFlight === null) {
        const started = generation;
        const request = client
          .call(method.toUpperCase(), String(url))
          .then(({ status, body }) => {
            const result = parseToken(status, body);
            // A token without an expiry is never cached: it is asked for every time.
            if (started === generation && result.expiresAt !== null) {
              cached = { ...result, refreshAt: refreshAt(now(), result.expiresAt) };
            }
            return result;
          })
          .finally(() => {
            if (inFlight === request) inFlight = null;
          });
        inFlight = request;
      }
      return inFlight.then(copy);
    },

    invalidate() {
      cached = null;
      inFlight = null;
      generation += 1;
    },
  };
}

/**
 * Create a room (`POST {baseUrl}/rooms`) or join one by name
 * (`PUT {baseUrl}/rooms/{room}`). `created` is true when this call minted the
 * room's token (201), false when it joined an existing one (200).
 */
export async function joinRoom(options) {
  const { baseUrl, room } = options ?? {};
  if (typeof baseUrl !== "string" && !(baseUrl instanceof URL)) {
    throw new TypeError("joinRoom: `baseUrl` is required");
  }
  if (room != null && (typeof room !== "string" || room === "")) {
    throw new TypeError("joinRoom: `room` must be a non-empty string when given");
  }
  const rooms = `${String(baseUrl).replace(/\/+$/, "")}/rooms`;
  const client = makeClient(options);
  // POST makes a new room (and spends a quota unit) each time it reaches the
  // vendor, and a failed fetch cannot tell whether it did: never retried.
  // PUT is idempotent: retried like getToken.
  const { status, body } =
    room == null
      ? await client.call("POST", rooms, { retry: false })
      : await client.call("PUT", `${rooms}/${encodeURIComponent(room)}`);

  const { token, expiresAt } = parseToken(status, body);
  if (typeof body.room !== "string" || body.room === "") {
    throw badResponse(status, "the answer has no room name");
  }
  return { room: body.room, token, expiresAt, created: status === 201 };
}

// ---------------------------------------------------------------------------
// The HTTP part shared by both entry points: headers, retries, error mapping.

function makeClient(options) {
  const {
    headers,
    retries = DEFAULT_RETRIES,
    // Resolved at call time and called unbound, as browsers require.
    fetch: fetchFn = (...args) => globalThis.fetch(...args),
    // Undocumented test hooks; the defaults are the real clock and timer.
    sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  } = options;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new TypeError("`retries` must be an integer >= 0");
  }

  /** One HTTP exchange; resolves with `{status, body}` for a 2xx JSON answer. */
  async function attempt(method, url) {
    // Evaluated for every attempt, so a refreshed ID token is picked up.
    const extra = typeof headers === "function" ? await headers() : headers;
    const requestHeaders = new Headers({ Accept: "application/json" });
    new Headers(extra ?? {}).forEach((value, name) => requestHeaders.set(name, value));

    let response;
    try {
      // No body: POST and PUT need none. No cookies: the vendor uses none.
      response = await fetchFn(url, { method, headers: requestHeaders, credentials: "omit" });
    } catch (cause) {
      throw new TokenVendorError(`network error: ${cause?.message ?? cause}`, {
        status: 0,
        code: "network_error",
        cause,
      });
    }

    const { status } = response;
    let body = null;
    try {
      body = JSON.parse(await response.text());
    } catch {
      // Not JSON (a proxy's HTML page, an empty body): handled below.
    }
    if (status >= 200 && status < 300) {
      if (body === null || typeof body !== "object") throw badResponse(status, "the answer is not a JSON object");
      return { status, body };
    }

    const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
    const error = body?.error;
    if (error !== null && typeof error === "object" && typeof error.code === "string") {
      throw new TokenVendorError(typeof error.message === "string" ? error.message : `HTTP ${status}`, {
        status,
        code: error.code,
        requestId: typeof error.requestId === "string" ? error.requestId : null,
        retryAfter,
      });
    }
    const statusText = response.statusText ? ` ${response.statusText}` : "";
    throw new TokenVendorError(`HTTP ${status}${statusText}`, { status, code: "http_error", retryAfter });
  }

  return {
    /** `attempt`, retried (unless `retry` is false) as `retryWait` says. */
    async call(method, url, { retry = true } = {}) {
      for (let k = 0; ; k++) {
        try {
          return await attempt(method, url);
        } catch (error) {
          const wait = retry && k < retries ? retryWait(error, k) : null;
          if (wait === null) throw error;
          await sleep(wait);
        }
      }
    },
  };
}

/**
 * How long to wait before attempt `k + 1` after `error`, or null when it is
 * final: network errors, 429, 503 and 504 are worth another try, except a
 * used-up quota (`quota_exceeded`: it answers the same until its window ends)
 * and a 429 whose Retry-After is beyond the cap (rejected at once, with
 * `retryAfter` for the caller to act on). The wait is Retry-After when given
 * (503/504: capped), else full-jitter backoff, at least 1 s for a 429.
 */
function retryWait(error, k) {
  if (!(error instanceof TokenVendorError)) return null;
  if (error.status !== 0 && !RETRYABLE_STATUSES.has(error.status)) return null;
  if (error.code === "quota_exceeded") return null;
  if (error.retryAfter !== null) {
    if (error.status === 429 && error.retryAfter > MAX_RETRY_AFTER_SECONDS) return null;
    return Math.min(error.retryAfter, MAX_RETRY_AFTER_SECONDS) * 1000;
  }
  const jitter = Math.random() * BACKOFF_BASE_MS * 2 ** k; // full jitter
  return error.status === 429 ? THROTTLE_FLOOR_MS + jitter * (THROTTLE_FLOOR_MS / BACKOFF_BASE_MS) : jitter;
}

/** `{token, expiresAt: Date | null}` from a 2xx body, or a `bad_response` error. */
function parseToken(status, body) {
  if (typeof body.token !== "string" || body.token === "") {
    throw badResponse(status, "the answer has no token");
  }
  // An absent or unreadable expiry leaves the token usable but uncacheable.
  const expiresAt = typeof body.expiresAt === "string" ? new Date(body.expiresAt) : null;
  return { token: body.token, expiresAt: expiresAt !== null && !isNaN(expiresAt) ? expiresAt : null };
}

/** Retry-After in seconds (the vendor sends delta-seconds), or null. */
function parseRetryAfter(value) {
  if (value === null || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return null;
  return Number(value);
}

function badResponse(status, why) {
  return new TokenVendorError(`bad response from token-vendor: ${why}`, { status, code: "bad_response" });
}

/** A copy, so callers cannot alter the cached token or its Date. */
function copy({ token, expiresAt }) {
  return { token, expiresAt: expiresAt === null ? null : new Date(expiresAt.getTime()) };
}
