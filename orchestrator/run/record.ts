/**
 * The orchestrator's own JSON records in a run folder (run.json, docker.json,
 * pids/<name>.json), read without ever throwing for what is in them: an empty,
 * truncated, oversized or foreign file is a one-line problem that the caller
 * reports and works around (`down` still stops the run), not an exception that
 * stops everything else.
 */
import { open } from 'node:fs/promises'
import type { z } from 'zod'

export type RecordRead<T> = { ok: true, value: T } | { ok: false, problem: string }

/** What the text of a record says (pure): the value, or what is wrong with it in a few words. */
export function parseRecord<T> (text: string, schema: z.ZodType<T>, what: string, bytesMax = Infinity): RecordRead<T> {
  if (text.trim() === '') return { ok: false, problem: 'empty' }
  if (text.length > bytesMax) return { ok: false, problem: `${text.length} bytes, more than a record holds (${bytesMax})` }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, problem: `not JSON (${JSON.stringify(text.slice(0, 24))}${text.length > 24 ? '...' : ''})` }
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, problem: `not ${what} (${issue === undefined ? 'wrong shape' : `${issue.path.join('.') || 'value'}: ${issue.message}`})` }
  }
  return { ok: true, value: parsed.data }
}

/** At most `bytes` of a file (a huge file where a record should be is garbage, not worth reading whole). */
export async function readHead (path: string, bytes: number): Promise<string> {
  const fh = await open(path, 'r')
  try {
    const buf = Buffer.alloc(bytes)
    const { bytesRead } = await fh.read(buf, 0, bytes, 0)
    return buf.subarray(0, bytesRead).toString('utf8')
  } finally {
    await fh.close()
  }
}

/** A record file: null when it does not exist, else its value or what is wrong with it (unreadable included). */
export async function readRecord<T> (path: string, schema: z.ZodType<T>, what: string, bytesMax: number): Promise<RecordRead<T> | null> {
  let text: string
  try {
    text = await readHead(path, bytesMax + 1)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return null
    return { ok: false, problem: `unreadable (${code ?? (err as Error).message})` }
  }
  return parseRecord(text, schema, what, bytesMax)
}
