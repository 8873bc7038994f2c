/**
 * Progress of a long command on stderr: a redrawn bar on a terminal, plain lines (one per stage
 * and per tenth of it) otherwise, so logs of CI or a pipe stay short and readable.
 */
export interface Progress {
  /** A new stage of `total` steps (0: no count). */
  stage(name: string, total?: number): void;
  /** Steps done in the current stage. */
  update(done: number, detail?: string): void;
  /** A line of its own (a warning, a result), above the bar. */
  note(line: string): void;
  /** The end: `ok` false (a failure) clears the bar without a "done" line. */
  done(ok?: boolean): void;
}

export const silentProgress: Progress = { stage() {}, update() {}, note() {}, done() {} };

export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = Boolean(stream.isTTY);
  let name = "";
  let total = 0;
  let lastTenth = -1;
  let started = Date.now();
  let drawn = false;
  const clear = () => {
    if (tty && drawn) stream.write("\r\x1b[K");
    drawn = false;
  };
  return {
    stage(n, t = 0) {
      clear();
      if (name) stream.write(`  ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      name = n;
      total = t;
      lastTenth = -1;
      started = Date.now();
      if (!tty) stream.write(`${n}...\n`);
    },
    update(done, detail = "") {
      if (total <= 0) return;
      const f = Math.min(1, done / total);
      if (tty) {
        const width = 28;
        const full = Math.round(f * width);
        const elapsed = (Date.now() - started) / 1000;
        const eta = f > 0.02 ? ` ${Math.round(elapsed / f - elapsed)} s left` : "";
        stream.write(`\r\x1b[K${name} [${"#".repeat(full)}${".".repeat(width - full)}] ${Math.round(f * 100)}%${eta} ${detail}`);
        drawn = true;
      } else {
        const tenth = Math.floor(f * 10);
        if (tenth > lastTenth) {
          lastTenth = tenth;
          stream.write(`  ${name} ${tenth * 10}%${detail ? ` ${detail}` : ""}\n`);
        }
      }
    },
    note(line) {
      clear();
      stream.write(`${line}\n`);
    },
    done(ok = true) {
      clear();
      if (name && ok) stream.write(`  ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      name = "";
    },
  };
}
