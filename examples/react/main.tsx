// The lipsync server's URL: ?server=... or http://localhost:8080 (start it with
// `bash scripts/demo.sh`, which allows pages from any origin, such as Vite's dev server).
import { createRoot } from "react-dom/client";
import { Avatar } from "./Avatar.js";

const server = new URLSearchParams(location.search).get("server") ?? "http://localhost:8080";
createRoot(document.getElementById("root")!).render(<Avatar server={server} />);
