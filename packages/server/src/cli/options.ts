/**
 * Command-line options as data: each command declares its options once (name, value, default,
 * description), and the same table drives parsing and `--help`. Flags and environment variables
 * are read only under cli/; everything below receives typed config.
 */
import { parseArgs } from "node:util";

export interface OptionSpec {
  name: string;
  short?: string;
  /** Placeholder of the value in help ("N", "DIR"); absent for a boolean flag. */
  value?: string;
  multiple?: boolean;
  /** Default as shown in help (the real default lives in DEFAULTS or the command). */
  default?: string;
  description: string;
}

export type Values = Record<string, string | string[] | boolean | undefined>;

export interface Command {
  /** One or two words: "serve", "avatar import". */
  name: string;
  summary: string;
  /** Positional arguments as shown in usage, e.g. "DIR". */
  args?: string;
  options: OptionSpec[];
  /** Extra text after the option list. */
  notes?: string;
  run(values: Values, positionals: string[]): Promise<void>;
}

export class UsageError extends Error {}

const HELP: OptionSpec = { name: "help", short: "h", description: "show this help and exit" };
const VERSION: OptionSpec = { name: "version", description: "print the version and exit" };

export function parseCommandArgs(command: Command, argv: string[]): { values: Values; positionals: string[] } {
  const spec: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {};
  for (const o of [...command.options, HELP, VERSION]) {
    spec[o.name] = { type: o.value ? "string" : "boolean", ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify.*$/s, "")}\n(lipsync ${command.name} --help lists its options)`);
  }
}

export function commandHelp(command: Command): string {
  const lines = [`lipsync ${command.name} - ${command.summary}`, "", `usage: lipsync ${command.name}${command.args ? ` ${command.args}` : ""} [options]`, "", "options:"];
  const rows = [...command.options, HELP, VERSION].map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.value ? ` ${o.value}` : ""}`;
    const extra = [o.multiple ? "repeatable" : "", o.default !== undefined ? `default: ${o.default}` : ""].filter(Boolean).join("; ");
    return [flag, `${o.description}${extra ? ` (${extra})` : ""}`] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  for (const [flag, text] of rows) lines.push(`  ${flag.padEnd(width)}${flag.length >= width ? `\n  ${" ".repeat(width)}` : ""}${text}`);
  if (command.notes) lines.push("", command.notes.trim());
  return lines.join("\n") + "\n";
}

/** Integer option, or undefined when absent; a clear error for anything else. */
export function intOption(values: Values, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !/^-?\d+$/.test(v.trim()) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${min > Number.MIN_SAFE_INTEGER ? `${min}..${max < Number.MAX_SAFE_INTEGER ? max : ""}` : ""}, got "${String(v)}"`.replace(/ ,/, ","));
  }
  return n;
}

export function stringOption(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

export function listOption(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

export function choiceOption<T extends string>(values: Values, name: string, choices: readonly T[]): T | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${v}"`);
  return v as T;
}
