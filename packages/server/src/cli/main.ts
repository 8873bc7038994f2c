/**
 * lipsync's command dispatcher: `lipsync COMMAND [options]`, where a command is one or two words
 * ("serve", "avatar import"). Every command describes its own options (cli/options.ts), so
 * `--help` on any of them lists all it takes.
 */
import { createRequire } from "node:module";
import { LipSyncError } from "../errors.js";
import { avatarImport } from "./avatar-import.js";
import { bench } from "./bench.js";
import { doctor } from "./doctor.js";
import { gpuInstall } from "./gpu.js";
import { commandHelp, parseCommandArgs, UsageError, type Command } from "./options.js";
import { render } from "./render.js";
import { serve } from "./serve.js";

/** Every command, in the order `lipsync --help` lists them. */
export const COMMANDS: Command[] = [serve, render, bench, avatarImport, doctor, gpuInstall];

/** The package's version: package.json sits one folder up from dist/, two from src/cli/. */
function version(): string {
  const require = createRequire(import.meta.url);
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === "@lipsync/server" && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return "unknown";
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "lipsync - real-time audio-driven lip sync",
    "",
    "usage: lipsync COMMAND [options]        lipsync COMMAND --help for its options",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "  -h, --help     show this help        --version   print the version",
    "",
  ].join("\n");
}

/** The command named by the first one or two words of argv, and the rest of argv. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(" ");
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === "-h" || first === "--help") {
    process.stdout.write(usage());
    return 0;
  }
  if (first === "--version" || first === "-v" || first === "version") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (first === "help") {
    const found = findCommand(argv.slice(1));
    process.stdout.write(found ? commandHelp(found.command) : usage());
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
    const hint = group.length ? `"${first}" needs one of: ${group.map((c) => c.name.split(" ")[1]).join(", ")}` : `unknown command "${argv.join(" ")}"`;
    process.stderr.write(`lipsync: ${hint}\n\n${usage()}`);
    return 2;
  }
  const { command, rest } = found;
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    await command.run(values, positionals);
    return 0;
  } catch (err) {
    const message = err instanceof LipSyncError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`lipsync ${command.name}: ${message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
