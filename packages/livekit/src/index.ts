/** @lipsync/livekit: a self-hosted lipsync avatar for LiveKit Agents (Node). See docs/livekit.md. */
export { AvatarSession, LipSyncAvatarError, type AvatarSessionOptions, type StartOptions } from "./avatar.js";
