/**
 * The local runtime's record of a process it spawned (pids/<name>.json): pid and
 * the kernel's start time of the process, so that a recycled pid is never
 * signalled. Reading a record never throws: an empty, truncated or foreign file
 * is a problem to report (`status`) and to work around (`down` finds the process
 * by its run id), not a reason to stop everything else.
 */
import { z } from 'zod'

export const PidRecord = z.object({ name: z.string(), pid: z.number().int().positive(), startTicks: z.string().regex(/^\d+$/) })
export type PidRecord = z.infer<typeof PidRecord>

/** A pid file larger than this is not a record (a record is well under 100 bytes). */
export const PID_RECORD_BYTES_MAX = 4096

export type PidRecordRead = { ok: true, record: PidRecord } | { ok: false, problem: string }

/** What the text of pids/<name>.json says: the record, or what is wrong with it. */
export function parsePidRecord (name: string, text: string): PidRecordRead {
  if (text.trim() === '') return { ok: false, problem: 'empty' }
  if (text.length > PID_RECORD_BYTES_MAX) return { ok: false, problem: `${text.length} bytes, more than a record holds (${PID_RECORD_BYTES_MAX})` }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, problem: `not JSON (${JSON.stringify(text.slice(0, 24))}${text.length > 24 ? '...' : ''})` }
  }
  const parsed = PidRecord.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, problem: `not a pid record (${issue === undefined ? 'wrong shape' : `${issue.path.join('.') || 'value'}: ${issue.message}`})` }
  }
  if (parsed.data.name !== name) return { ok: false, problem: `names ${JSON.stringify(parsed.data.name)}, not ${JSON.stringify(name)}` }
  return { ok: true, record: parsed.data }
}
