/**
 * What a peer process prints when it really crashes (an uncaught exception or
 * rejection, not bad input): one stack trace mapped to the source files, on
 * stderr, then exit 1. Node's own report would print the line of the bundle
 * where the error was thrown: the minified bundle is a few lines of hundreds of
 * kilobytes each, and a process that crashes at every boot filled its .err
 * file with them.
 */
import { readFileSync, statSync, writeSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mapStack, type FindOrigin } from './stack-map.ts'

/** A source map larger than this is not read at a crash (the peer's is about 3.5 MB). */
export const SOURCE_MAP_BYTES_MAX = 64 * 1024 * 1024

/** The bundle's source map (`<bundle>.map`), read now; null when there is none (running from source) or it is unusable. */
function loadFinder (bundleUrl: string): FindOrigin | null {
  if (!bundleUrl.startsWith('file:')) return null
  const mapFile = `${fileURLToPath(bundleUrl)}.map`
  try {
    if (statSync(mapFile).size > SOURCE_MAP_BYTES_MAX) return null
    const map = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')))
    return (line, column) => {
      const o = map.findOrigin(line, column)
      if (!('fileName' in o)) return null
      return { file: resolve(dirname(mapFile), o.fileName), line: o.lineNumber, column: o.columnNumber }
    }
  } catch (err) {
    // The crash is what matters: report it unmapped, and say why.
    writeSync(2, `patchday peer: stack not mapped to sources (${mapFile}: ${(err as Error).message})\n`)
    return null
  }
}

/** The report of a crash (exported for tests). */
export function crashReport (err: unknown, bundleUrl: string, find: FindOrigin | null): string {
  const stack = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : `thrown: ${String(err)}`
  return `patchday peer: crashed: ${mapStack(stack, bundleUrl, find)}\n`
}

/** Report an uncaught error with its stack mapped to the sources and exit 1. */
export function crash (err: unknown, bundleUrl: string): never {
  writeSync(2, crashReport(err, bundleUrl, loadFinder(bundleUrl)))
  process.exit(1)
}

/** Every uncaught exception and unhandled rejection ends the process through `crash`. */
export function installCrashHandler (bundleUrl: string): void {
  process.on('uncaughtException', (err) => { crash(err, bundleUrl) })
}
