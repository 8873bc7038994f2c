/** lipsync serve: the one-port server over the avatar roots. */
import { spawn } from "node:child_process";
import { LipSyncApp } from "../app.js";
import { DEFAULTS, resolveConfig } from "../config.js";
import { silentLogger } from "../logger.js";
import { startServer } from "../server.js";
import { defaultStaticMounts } from "../static-mounts.js";
import { intOption, listOption, stringOption, type Command } from "./options.js";
import { AVATAR_OPTIONS, serverOptions } from "./server-options.js";

async function allAvatarNames(roots: string[]): Promise<string[]> {
  const app = new LipSyncApp(resolveConfig({ avatarRoots: roots }), silentLogger());
  return (await app.listAvatars()).map((a) => a.name);
}

/** Best effort: a desktop's browser, where there is one (headless machines just print the URL). */
function openBrowser(url: string): void {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const p = spawn(cmd, [url], { stdio: "ignore", detached: true });
  p.on("error", () => undefined);
  p.unref();
}

export const serve: Command = {
  name: "serve",
  summary: "serve avatars over gRPC, gRPC-Web, Connect and WebSocket on one port",
  options: [
    { name: "port", short: "p", value: "PORT", default: `${DEFAULTS.port} ($PORT)`, description: "TCP port; 0 picks a free one" },
    { name: "host", value: "ADDR", default: DEFAULTS.host, description: "address to listen on" },
    { name: "preload", value: "NAME", multiple: true, default: "every avatar in the roots", description: "avatars to load at start (others load on first use)" },
    ...AVATAR_OPTIONS,
    { name: "tls-cert", value: "FILE", description: "PEM certificate: serve HTTPS and gRPC over TLS on the same port" },
    { name: "tls-key", value: "FILE", description: "PEM private key of --tls-cert" },
    { name: "capacity", value: "N", default: "measured at load", description: "real-time sessions per avatar to admit; past it new sessions are refused (RESOURCE_EXHAUSTED, WebSocket 4429) and /readyz says 503" },
    { name: "max-latency-ms", value: "MS", default: String(DEFAULTS.maxFrameLatencyMs), description: "a live session's speech frame later than this is dropped (frames_dropped event) so the session catches up" },
    { name: "max-sessions", value: "N", default: String(DEFAULTS.maxSessions), description: "hard cap on concurrent sessions, whatever the capacity" },
    { name: "open", description: "open the demo page in the desktop's browser" },
  ],
  async run(values) {
    const options = serverOptions(values);
    const port = intOption(values, "port", 0, 65535) ?? (process.env.PORT ? Number(process.env.PORT) : undefined);
    const host = stringOption(values, "host");
    const given = listOption(values, "preload");
    const preload = given.length ? given : await allAvatarNames(options.avatarRoots!);
    const server = await startServer({
      ...options, port, host, preloadAvatars: preload, staticMounts: defaultStaticMounts(),
      sessionCapacity: intOption(values, "capacity", 1, 100_000),
      maxFrameLatencyMs: intOption(values, "max-latency-ms", 40, 60_000),
      maxSessions: intOption(values, "max-sessions", 1, 100_000),
    });
    console.log(`lipsync serving ${server.app.registry.loadedAvatars().map((a) => a.name).join(", ") || "(no avatars)"}`);
    console.log(`open ${server.url}/ in a browser (gRPC, gRPC-Web, Connect and WebSocket /ws on this port)`);
    if (values.open) openBrowser(`${server.url}/`);
    let stopping = false;
    const stop = () => {
      if (stopping) process.exit(1);
      stopping = true;
      server.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  },
};
