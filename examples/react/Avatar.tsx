// React 18 or 19 with TypeScript. `npm i @lipsync/web-component`; the typings import below
// teaches JSX the element's attributes.
import { useEffect, useRef, useState } from "react";
import "@lipsync/web-component";
import type {} from "@lipsync/web-component/react";
import type { LipSyncPlayer } from "@lipsync/web-component";

export function Avatar({ server, avatar = "demo" }: { server: string; avatar?: string }) {
  const ref = useRef<LipSyncPlayer>(null);
  const [speaking, setSpeaking] = useState(false);

  useEffect(() => {
    // Events through addEventListener work on React 18 and 19 alike.
    const el = ref.current!;
    const start = () => setSpeaking(true);
    const end = () => setSpeaking(false);
    el.addEventListener("speechstart", start);
    el.addEventListener("speechend", end);
    return () => {
      el.removeEventListener("speechstart", start);
      el.removeEventListener("speechend", end);
    };
  }, []);

  // A TTS stream instead: ref.current.pushAudio(chunk, 24000) per chunk, then ref.current.end().
  return (
    <div>
      <lip-sync-player ref={ref} server={server} avatar={avatar} stats />
      <p>
        <button id="speak" onClick={() => ref.current?.speak(`${server}/hello.wav`)}>Speak a sample</button>
        <input type="file" accept="audio/*" onChange={(e) => e.target.files?.[0] && ref.current?.speak(e.target.files[0])} />
        <button onClick={() => ref.current?.clear()}>Stop</button>
        {speaking ? " speaking" : ""}
      </p>
    </div>
  );
}
