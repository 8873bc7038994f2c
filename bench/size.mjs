// The <lip-sync-player> bundle's size: minified, and minified + gzip (what a page downloads).
//   pnpm bench:size   (after pnpm build)
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const file = new URL("../packages/web-component/dist/lip-sync-player.bundle.js", import.meta.url);
const bytes = readFileSync(file);
const gz = gzipSync(bytes, { level: 9 });
console.log(JSON.stringify({ bench: "size", what: "lip-sync-player.bundle.js (lit, client SDK, protobuf runtime included)", min_bytes: bytes.length, min_gzip_bytes: gz.length, min_kib: +(bytes.length / 1024).toFixed(1), min_gzip_kib: +(gz.length / 1024).toFixed(1) }));
