/**
 * Stack traces of the bundled peer, mapped back to the source files (pure).
 * The peer runs without --enable-source-maps (measured: 24 MB more per process,
 * for hundreds of processes), so the map is read only when the process crashes
 * (node/crash.ts) and the frames are rewritten here.
 */

/** Where a position in the bundle came from: a source file and a 1-based line and column. */
export interface Origin { file: string, line: number, column: number }

/** Looks up a 1-based line and column of the bundle; null when the map has nothing there. */
export type FindOrigin = (line: number, column: number) => Origin | null

/** Frames longer than this are not frames (a minified source line is); they are cut. */
export const STACK_LINE_CHARS_MAX = 500
/** Frames kept (V8 records 10 by default; a longer stack is cut). */
export const STACK_LINES_MAX = 50

/**
 * `stack` with every `<bundleUrl>:<line>:<col>` replaced by its origin
 * (`/path/node/start.ts:96:11`), lines cut to a sane length and number: a
 * crash report must never carry the minified source.
 */
export function mapStack (stack: string, bundleUrl: string, find: FindOrigin | null): string {
  const escaped = bundleUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const position = new RegExp(`${escaped}:(\\d+):(\\d+)`, 'g')
  const lines = stack.split('\n').slice(0, STACK_LINES_MAX + 1)
  return lines.map((line) => {
    const mapped = find === null
      ? line
      : line.replace(position, (whole, l: string, c: string) => {
        const o = find(Number(l), Number(c))
        return o === null ? whole : `${o.file}:${o.line}:${o.column}`
      })
    return mapped.length > STACK_LINE_CHARS_MAX ? `${mapped.slice(0, STACK_LINE_CHARS_MAX)}... (cut)` : mapped
  }).join('\n')
}
