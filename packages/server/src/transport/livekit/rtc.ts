/**
 * @livekit/rtc-node, loaded on the first room session only: the server starts (and serves every
 * other transport) without loading LiveKit's native library, and a platform without its prebuilt
 * binary refuses room sessions with a clear status instead of failing at start.
 */
import { LipSyncError } from "../../errors.js";

export type Rtc = typeof import("@livekit/rtc-node");

let loading: Promise<Rtc> | undefined;

export function loadRtc(): Promise<Rtc> {
  loading ??= (async () => {
    // rtc-node logs at debug level to stdout unless NODE_ENV is "production", read once when it
    // loads; the server's own log says what happens in a room session.
    const env = process.env.NODE_ENV;
    process.env.NODE_ENV = "production";
    try {
      return await import("@livekit/rtc-node");
    } catch (err) {
      loading = undefined;
      throw new LipSyncError("failed_precondition", `LiveKit rooms need @livekit/rtc-node, which does not load on ${process.platform}-${process.arch}`, { cause: err });
    } finally {
      if (env === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = env;
    }
  })();
  return loading;
}
