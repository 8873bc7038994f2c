/** A Dockerfile read as its instructions, by stage, enough to check what it says. */
import { readFileSync } from "node:fs";

export interface Instruction {
  keyword: string;
  /** The rest of the line, continuation lines joined. */
  args: string;
}

export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export function readDockerfile(file: string): Stage[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const joined: string[] = [];
  let current = "";
  for (const line of lines) {
    if (/^\s*#/.test(line) && current === "") continue;
    if (/^\s*#/.test(line)) continue;
    current += line.replace(/\\$/, " ");
    if (!line.endsWith("\\")) {
      if (current.trim()) joined.push(current.trim());
      current = "";
    }
  }
  const stages: Stage[] = [];
  const globalArgs: Instruction[] = [];
  for (const text of joined) {
    const m = /^(\w+)\s+(.*)$/s.exec(text);
    if (!m) throw new Error(`cannot read Dockerfile line: ${text}`);
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, " ").trim();
    if (keyword === "FROM") {
      const [from, as, name] = args.split(" ");
      stages.push({ from: from!, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push({ keyword, args });
    } else {
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  // FROM ${ARG}: the ARG's default, as docker resolves it without --build-arg.
  for (const stage of stages) {
    stage.from = stage.from.replace(/^\$\{(\w+)\}$/, (_, name: string) => {
      const arg = globalArgs.find((a) => a.keyword === "ARG" && a.args.startsWith(`${name}=`));
      return arg ? arg.args.slice(name.length + 1) : `\${${name}}`;
    });
  }
  return stages;
}

/** The JSON array of an exec-form instruction (CMD, ENTRYPOINT, HEALTHCHECK ... CMD). */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf("["));
  return JSON.parse(json) as string[];
}

export function only(stage: Stage, keyword: string): Instruction {
  const found = stage.instructions.filter((i) => i.keyword === keyword);
  if (found.length !== 1) throw new Error(`expected one ${keyword}, found ${found.length}`);
  return found[0]!;
}
