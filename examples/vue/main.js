// The lipsync server's URL: ?server=... or http://localhost:8080 (start it with
// `bash scripts/demo.sh`, which allows pages from any origin, such as Vite's dev server).
import { createApp } from "vue";
import Avatar from "./Avatar.vue";

const server = new URLSearchParams(location.search).get("server") ?? "http://localhost:8080";
createApp(Avatar, { server }).mount("#app");
