/**
 * File guards for the Node entry points (src/cli/, and src/study/renderRecord.ts): outputs resolved and
 * probed before any work, never one of the command's inputs or a committed file, written atomically; inputs
 * read through a byte-counting loop that stops at a limit whatever `stat` says, and only from regular files
 * (a FIFO or a device has no size and would grow memory, or block, without end).
 *
 * Node only (node:fs). Every refusal is a FileGuardError with one line naming the path; the CLIs print it
 * after their flag's name and exit 2.
 */
import {
  accessSync, closeSync, constants, fstatSync, mkdirSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync,
  writeFileSync, type Stats,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export class FileGuardError extends Error {
  override name = 'FileGuardError';
}

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0];

/** The absolute path with every symbolic link in its existing part resolved (so two spellings compare equal). */
export function canonicalPath(path: string): string {
  let head = resolve(path);
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const parent = dirname(head);
      if (parent === head) return resolve(path);
      tail.push(basename(head));
      head = parent;
    }
  }
}

/** Whether `path` is `container` or lies inside it (both canonical). */
export function isSameOrInside(path: string, container: string): boolean {
  const rel = relative(container, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return null;
    throw new FileGuardError(`cannot look at "${path}" (${codeOf(error)})`);
  }
}

/** Whether git tracks `path` (false outside a repository or without git). */
export function isCommittedFile(path: string): boolean {
  const result = spawnSync('git', ['ls-files', '--error-unmatch', '--', basename(path)], { cwd: dirname(path), stdio: 'ignore', timeout: 10_000 });
  return result.status === 0;
}

/** Creates and removes a file in `dir`: the one sure test that a write there will succeed. */
function probeWritableDir(dir: string, shown: string): void {
  const probe = join(dir, `.write-probe-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
    unlinkSync(probe);
  } catch (error) {
    throw new FileGuardError(`cannot write in "${shown}" (${codeOf(error)})`);
  }
}

export interface OutputFileOptions {
  /** Files the command reads: the output may not be one of them. */
  inputs?: string[];
}

/**
 * Checks, before any work, that `path` can be written as a file: not a directory, FIFO or device, not one of
 * the inputs, not a file git tracks, not read-only, in an existing folder this process can write to.
 * Returns the canonical path to write to.
 */
export function checkOutputFile(path: string, options: OutputFileOptions = {}): string {
  if (path.trim() === '') throw new FileGuardError('needs a file name, got an empty string');
  const target = canonicalPath(path);
  for (const input of options.inputs ?? []) {
    if (canonicalPath(input) === target) throw new FileGuardError(`"${path}" is also an input of this command ("${input}"); it would be overwritten`);
  }
  const stats = statOrNull(target);
  if (stats?.isDirectory()) throw new FileGuardError(`"${path}" is a directory; give a file name`);
  if (stats && !stats.isFile()) throw new FileGuardError(`"${path}" is not a regular file (a FIFO, socket or device); give a file name`);
  if (stats && isCommittedFile(target)) throw new FileGuardError(`"${path}" is a committed file; write somewhere else`);
  if (stats) {
    try {
      accessSync(target, constants.W_OK);
    } catch {
      throw new FileGuardError(`"${path}" is read-only`);
    }
  }
  const parent = dirname(target);
  const parentStats = statOrNull(parent);
  if (!parentStats || !parentStats.isDirectory()) throw new FileGuardError(`the directory "${dirname(path)}" does not exist`);
  probeWritableDir(parent, dirname(path));
  return target;
}

/** Creates `dir` (and its parents) if needed and checks that files can be written in it; returns it canonical. */
export function prepareOutputDir(dir: string): string {
  if (dir.trim() === '') throw new FileGuardError('needs a folder, got an empty string');
  const target = canonicalPath(dir);
  const stats = statOrNull(target);
  if (stats && !stats.isDirectory()) throw new FileGuardError(`"${dir}" exists and is not a directory`);
  try {
    mkdirSync(target, { recursive: true });
  } catch (error) {
    throw new FileGuardError(`cannot create "${dir}" (${codeOf(error)})`);
  }
  probeWritableDir(target, dir);
  return target;
}

/**
 * Writes `data` to `path` through a temporary file in the same folder renamed over it, so an interrupted or
 * failed write leaves the previous file (or none), never a truncated one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, data, { flag: 'w' });
    renameSync(temporary, path);
  } catch (error) {
    try { unlinkSync(temporary); } catch { /* not created */ }
    throw error;
  }
}

/**
 * The bytes of `path`, read from a regular file only and at most `limit` of them: the count is of bytes
 * actually read, so a file that grows while it is read, or lies about its size, is still refused at the limit.
 * Opened non-blocking, so a FIFO with no writer is refused instead of waited on.
 */
export function readFileBounded(path: string, limit: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new FileGuardError(`cannot read "${path}" (${codeOf(error)})`);
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw new FileGuardError(`"${path}" is a directory, not a file`);
    if (!stats.isFile()) throw new FileGuardError(`"${path}" is not a regular file (a FIFO, socket or device); give a file`);
    if (stats.size > limit) throw new FileGuardError(`"${path}" has ${stats.size} bytes; at most ${limit} are accepted`);
    // Sized by `stat` (one byte over, to see growth), grown only for a file that grows while it is read.
    let buffer = new Uint8Array(Math.min(stats.size, limit) + 1);
    let total = 0;
    for (;;) {
      if (total === buffer.length) {
        const grown = new Uint8Array(Math.min(limit + 1, buffer.length * 2));
        grown.set(buffer);
        buffer = grown;
      }
      let n: number;
      try {
        n = readSync(fd, buffer, total, buffer.length - total, null);
      } catch (error) {
        throw new FileGuardError(`cannot read "${path}" (${codeOf(error)})`);
      }
      if (n === 0) break;
      total += n;
      if (total > limit) throw new FileGuardError(`"${path}" has more than ${limit} bytes; at most ${limit} are accepted`);
    }
    return buffer.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}
