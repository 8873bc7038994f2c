// custom-elements.json is written by hand: this keeps it equal to the element's real surface.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, "..", "src");
const source = readFileSync(path.join(src, "lip-sync-player.ts"), "utf8");
const manifest = JSON.parse(readFileSync(path.join(here, "..", "custom-elements.json"), "utf8"));
const react = readFileSync(path.join(here, "..", "types", "react.d.ts"), "utf8");
const element = manifest.modules[0].declarations[0];

const sorted = (xs: string[]) => [...new Set(xs)].sort();

describe("custom-elements.json", () => {
  it("names the tag the module defines", () => {
    const index = readFileSync(path.join(src, "index.ts"), "utf8");
    expect(index).toContain(`customElements.define("${element.tagName}", ${element.name})`);
  });

  it("lists exactly the element's public attributes, methods and events", () => {
    const props = /static override properties = \{([\s\S]*?)\n  \};/.exec(source)![1]!;
    const attributes = [...props.matchAll(/^\s+(\w+): \{ type: \w+/gm)].map((m) => m[1]!);
    expect(sorted(element.attributes.map((a: { name: string }) => a.name))).toEqual(sorted(attributes));
    const methods = [...source.matchAll(/^  (?:async )?(\w+)\(.*\): (?:Promise<void>|void) \{$/gm)].map((m) => m[1]!);
    expect(sorted(element.members.filter((m: { kind: string }) => m.kind === "method").map((m: { name: string }) => m.name))).toEqual(sorted(methods));
    const events = [...source.matchAll(/this\.dispatch\("(\w+)"/g)].map((m) => m[1]!);
    expect(sorted(element.events.map((e: { name: string }) => e.name))).toEqual(sorted(events));
    const parts = [...source.matchAll(/part="(\w+)"/g)].map((m) => m[1]!);
    expect(sorted(element.cssParts.map((p: { name: string }) => p.name))).toEqual(sorted(parts));
  });

  it("matches the React typings' attributes", () => {
    for (const a of element.attributes) expect(react).toMatch(new RegExp(`^  ${a.name}\\?: ${a.type.text};`, "m"));
  });
});
