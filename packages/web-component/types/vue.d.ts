/**
 * Template typings of <lip-sync-player> for Vue 3 (vue-tsc, Volar):
 *
 *   import "@lipsync/web-component";
 *   import type {} from "@lipsync/web-component/vue";
 *
 * Vue must also be told the tag is a custom element, at compile time:
 *   vue({ template: { compilerOptions: { isCustomElement: (tag) => tag === "lip-sync-player" } } })
 */
import type { DefineComponent } from "vue";
import type { LipSyncPlayer } from "@lipsync/web-component";

declare module "vue" {
  interface GlobalComponents {
    "lip-sync-player": DefineComponent<{ server?: string; avatar?: string; token?: string; stats?: boolean }, {}, {}, {}, Pick<LipSyncPlayer, "speak" | "pushAudio" | "end" | "clear" | "startMicrophone" | "stopMicrophone">>;
  }
}

export {};
