/**
 * Every file of an avatar package is opened here, and only as a regular file inside the
 * package's boundary (its avatar root when it came from one). Whoever can put files in an
 * avatar root decides what the server reads, so a package's contents are checked, never
 * trusted:
 *
 * - Symlinks may point anywhere inside the boundary (a package folder that aliases another, a
 *   frame shared by two packages) but not out of it: the real path must lie inside the
 *   boundary's real path, or the file is refused (a frame linked to /etc/passwd would be served
 *   as an image otherwise). A package folder that is itself a link out of the root is refused
 *   the same way, as the static mounts refuse one.
 * - Only regular files: stat() first, so a FIFO or a device is never opened (opening a FIFO for
 *   reading blocks a libuv thread until a writer comes: four such calls stall every file read of
 *   the process). The open itself is O_NONBLOCK | O_NOFOLLOW, and fstat() must agree with the
 *   stat (the same inode, still a regular file), so a file swapped in between is refused too.
 * - Sizes before reading: fstat's size against the limit of the file's role, then exactly that
 *   many bytes are read (a file that grows meanwhile cannot make us read more).
 *
 * Messages name the package, the file's role and the limit, never a path: they reach clients.
 */
import { constants, type Stats } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { LipSyncError } from "../errors.js";

const MiB = 2 ** 20;

export type FileRole = "manifest" | "frame" | "audio track" | "features" | "model";

/** Largest file of each role, bytes, checked before anything is read. */
export const FILE_LIMITS: Readonly<Record<FileRole, number>> = {
  // 100,000 crop boxes (the frame_count limit) written one number a line take about 4 MiB.
  manifest: 8 * MiB,
  // A high-quality JPEG of the largest frame the manifest allows (8192 x 8192).
  frame: 32 * MiB,
  // A WAV of 45 minutes of 48 kHz stereo 16-bit; it is decoded to 16 kHz mono floats.
  "audio track": 512 * MiB,
  // Precomputed per-frame features (.npy), e.g. 100,000 frames of 2 x 1024 floats.
  features: 1024 * MiB,
  // ONNX Runtime loads one protobuf file, which cannot exceed 2 GiB.
  model: 2048 * MiB,
};

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function mb(bytes: number): string {
  return `${Math.ceil(bytes / MiB)} MB`;
}

function inside(real: string, boundary: string): boolean {
  return real === boundary || real.startsWith(boundary + path.sep);
}

/** What a regular file looked like when checked: its real path, size and identity. */
export interface CheckedFile {
  real: string;
  size: number;
  /** "mtime:size:inode": changes when the file is rewritten or replaced. */
  stamp: string;
}

function stampOf(st: Stats): string {
  return `${st.mtimeMs}:${st.size}:${st.ino}`;
}

/** An avatar package folder and the boundary its files must stay inside. */
export class PackageDir {
  private constructor(readonly name: string, readonly dir: string, private readonly boundary: string) {}

  /**
   * The package `name` in folder `dir`; its files must stay inside `root` (its avatar root), or
   * inside `dir` itself when no root is given (a package being imported or built). Throws
   * FAILED_PRECONDITION when the folder leads outside the root or is not a folder.
   */
  static async open(dir: string, name: string, root?: string): Promise<PackageDir> {
    let boundary: string;
    let real: string;
    try {
      boundary = await realpath(root ?? dir);
      real = await realpath(dir);
    } catch {
      throw new LipSyncError("failed_precondition", `avatar "${name}": its package folder is missing or unreadable`);
    }
    if (!inside(real, boundary)) {
      throw new LipSyncError("failed_precondition", `avatar "${name}": its package folder leads outside the avatar root (a symlink); refused`);
    }
    if (!(await stat(real)).isDirectory()) throw new LipSyncError("failed_precondition", `avatar "${name}": its package is not a folder`);
    return new PackageDir(name, real, boundary);
  }

  private fail(what: string, problem: string): never {
    throw new LipSyncError("failed_precondition", `avatar "${this.name}": ${what} ${problem}`);
  }

  /**
   * Checks the package file `rel` (a relative path the manifest validated) without opening
   * it: a regular file inside the boundary, at most the role's limit. `what` names it in
   * errors ('frame 3 (manifest field "frames")').
   */
  async check(rel: string, role: FileRole, what: string): Promise<CheckedFile> {
    let real: string;
    let st: Stats;
    try {
      real = await realpath(path.join(this.dir, rel));
      st = await stat(real);
    } catch {
      this.fail(what, "is missing or unreadable");
    }
    if (!inside(real, this.boundary)) this.fail(what, "leads outside the avatar root (a symlink); refused");
    if (!st.isFile()) this.fail(what, "is not a regular file (a folder, FIFO, socket or device); refused");
    if (st.size > FILE_LIMITS[role]) this.fail(what, `is ${mb(st.size)}, over the ${mb(FILE_LIMITS[role])} limit for a ${role} file`);
    return { real, size: st.size, stamp: stampOf(st) };
  }

  /** The bytes of package file `rel`, checked as check() says; never more than its size then. */
  async read(rel: string, role: FileRole, what: string): Promise<Buffer> {
    return this.readChecked(await this.check(rel, role, what), what);
  }

  /** The bytes of a file check() passed, if it is still that file. */
  async readChecked(checked: CheckedFile, what: string): Promise<Buffer> {
    let handle;
    try {
      handle = await open(checked.real, OPEN_FLAGS);
    } catch {
      this.fail(what, "is missing or unreadable");
    }
    try {
      const st = await handle.stat();
      // Replaced between the check and the open (by a FIFO, a link, a bigger file): refuse.
      if (!st.isFile() || stampOf(st) !== checked.stamp) this.fail(what, "changed while it was being read; try again");
      const out = Buffer.allocUnsafe(checked.size);
      let got = 0;
      while (got < out.length) {
        const { bytesRead } = await handle.read(out, got, out.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === out.length ? out : out.subarray(0, got);
    } catch (err) {
      if (err instanceof LipSyncError) throw err;
      this.fail(what, "is missing or unreadable");
    } finally {
      await handle.close();
    }
  }
}

/**
 * Runs `job(i)` for i in 0..count-1, at most `concurrency` at once: a package of many thousand
 * frames must not queue all its reads on libuv's four threads at once, ahead of everyone
 * else's file reads.
 */
export async function forEachLimited(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      try {
        await job(next++);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
