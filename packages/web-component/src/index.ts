/**
 * @lipsync/web-component: `<lip-sync-player>`. Importing this module defines the element.
 */
import { LipSyncPlayer } from "./lip-sync-player.js";

export { LipSyncPlayer, type FrameEventDetail } from "./lip-sync-player.js";
export { JitterBuffer, JitterEstimator } from "./jitter-buffer.js";
export { PlaybackClock, idleIndex } from "./clock.js";
export type { PerfSnapshot } from "./perf.js";

if (!customElements.get("lip-sync-player")) customElements.define("lip-sync-player", LipSyncPlayer);
