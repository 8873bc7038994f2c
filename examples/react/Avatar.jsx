// React (18 or 19): the element is a custom element, so React passes attributes through.
// `npm i @lipsync/web-component`, then render <Avatar server="http://localhost:8080" />.
import { useEffect, useRef } from "react";
import "@lipsync/web-component";

export function Avatar({ server, avatar = "demo", onSpeechEnd }) {
  const ref = useRef(null);

  useEffect(() => {
    const el = ref.current;
    const handler = (e) => onSpeechEnd?.(e.detail);
    el.addEventListener("speechend", handler);
    return () => el.removeEventListener("speechend", handler);
  }, [onSpeechEnd]);

  // A TTS stream: call ref.current.pushAudio(chunk, 24000) per chunk, then ref.current.end().
  const speak = (file) => ref.current.speak(file);

  return (
    <div>
      <lip-sync-player ref={ref} server={server} avatar={avatar} stats />
      <input type="file" accept="audio/*" onChange={(e) => e.target.files[0] && speak(e.target.files[0])} />
      <button onClick={() => ref.current.clear()}>Stop</button>
    </div>
  );
}
