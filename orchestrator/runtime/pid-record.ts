/**
 * The local runtime's record of a process it spawned (pids/<name>.json): pid and
 * the kernel's start time of the process, so that a recycled pid is never
 * signalled. Reading a record never throws: an empty, truncated or foreign file
 * is a problem to report (`status`) and to work around (`down` finds the process
 * by its run id), not a reason to stop everything else.
 */
import { z } from 'zod'
import { parseRecord, readRecord, type RecordRead } from '../run/record.ts'

export const PidRecord = z.object({ name: z.string(), pid: z.number().int().positive(), startTicks: z.string().regex(/^\d+$/) })
export type PidRecord = z.infer<typeof PidRecord>

/** A pid file larger than this is not a record (a record is well under 100 bytes). */
export const PID_RECORD_BYTES_MAX = 4096

export type PidRecordRead = { ok: true, record: PidRecord } | { ok: false, problem: string }

/** What the text of pids/<name>.json says: the record, or what is wrong with it. */
export function parsePidRecord (name: string, text: string): PidRecordRead {
  return checkName(name, parseRecord(text, PidRecord, 'a pid record', PID_RECORD_BYTES_MAX))
}

/** pids/<name>.json: null when there is none, else the record or what is wrong with it (unreadable included). */
export async function readPidRecord (name: string, path: string): Promise<PidRecordRead | null> {
  const read = await readRecord(path, PidRecord, 'a pid record', PID_RECORD_BYTES_MAX)
  return read === null ? null : checkName(name, read)
}

function checkName (name: string, read: RecordRead<PidRecord>): PidRecordRead {
  if (!read.ok) return read
  if (read.value.name !== name) return { ok: false, problem: `names ${JSON.stringify(read.value.name)}, not ${JSON.stringify(name)}` }
  return { ok: true, record: read.value }
}
