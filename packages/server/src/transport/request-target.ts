/**
 * The URL of a request target, read so that no target can throw. `new URL(target, base)` takes
 * a target that starts with "//" for a host ("//%00/x" names host "%00") and throws when that
 * host is invalid: `GET ///%00 HTTP/1.1` used to crash the server. Here an origin-form target
 * ("/path?query") is appended to a fixed origin, so all of it stays path.
 */
const ORIGIN = "http://localhost";

/** The target's URL (pathname, searchParams), or undefined when it is not a URL at all ("*", junk). */
export function requestUrl(target: string | undefined): URL | undefined {
  const t = target ?? "/";
  try {
    // Origin form, as clients send; absolute form ("http://host/path") as proxies may.
    return new URL(t.startsWith("/") ? ORIGIN + t : t);
  } catch {
    return undefined;
  }
}
