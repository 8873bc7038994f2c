/** Code blocks of the READMEs, marked `<!-- snippet: NAME -->` on the line before, for tests. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The code of snippet `name` in a README (the repository's by default). */
export function snippet(name: string, readme = path.join(REPO, "README.md")): string {
  const text = readFileSync(readme, "utf8");
  const m = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(text);
  if (!m) throw new Error(`no snippet "${name}" in ${readme}`);
  return m[1]!;
}
