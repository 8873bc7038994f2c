/**
 * JSX typings of <lip-sync-player> for React 18 and 19 (TypeScript):
 *
 *   import "@lipsync/web-component";            // defines the element
 *   import type {} from "@lipsync/web-component/react";
 *
 *   <lip-sync-player ref={ref} server="http://localhost:8080" avatar="demo" stats />
 *
 * React 19 passes properties and `on<event>` listeners to custom elements; React 18 passes
 * attributes only (listen with ref.current.addEventListener).
 */
import type { DetailedHTMLProps, HTMLAttributes } from "react";
import type { FrameEventDetail, LipSyncPlayer } from "@lipsync/web-component";

export interface LipSyncPlayerProps extends DetailedHTMLProps<HTMLAttributes<LipSyncPlayer>, LipSyncPlayer> {
  /** Base URL of the lipsync server; defaults to the page's origin. */
  server?: string;
  /** Avatar name. */
  avatar?: string;
  /** Bearer token, for a server started with --auth-token or --jwt-public-key. */
  token?: string;
  /** Show the performance overlay. */
  stats?: boolean;
  onready?: (e: CustomEvent<{ avatar: string; frames: number }>) => void;
  onframe?: (e: CustomEvent<FrameEventDetail>) => void;
  onspeechstart?: (e: CustomEvent<{ pts: number; at: number }>) => void;
  onspeechend?: (e: CustomEvent<{ interrupted: boolean; at: number }>) => void;
}

declare module "react" {
  namespace JSX {
    interface IntrinsicElements {
      "lip-sync-player": LipSyncPlayerProps;
    }
  }
}

declare global {
  namespace JSX {
    interface IntrinsicElements {
      "lip-sync-player": LipSyncPlayerProps;
    }
  }
}
