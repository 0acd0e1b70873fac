/**
 * One request for a container's log (`GET /containers/{id}/logs`, with
 * timestamps) and the reading of its response into messages, through the
 * frame demuxer (or the line splitter of a TTY container) of demux.ts.
 */
import type Dockerode from 'dockerode'
import type { IncomingMessage } from 'node:http'
import {
  FRAME_STDERR, FRAME_STDOUT, FRAME_SYSTEMERR, FrameDemuxer, RawLineSplitter, isMultiplexed, parseMessage,
  type Frame, type LogMessage, type StreamName
} from './demux.ts'

export type LogResponse = IncomingMessage

/** 'ended': the response was read to its end; 'uncovered': the reader stopped early (a tail window too short). */
export type Outcome = 'ended' | 'uncovered'

export interface LogQuery { follow: boolean, tail?: number, since?: number }

export async function openLogs (docker: Dockerode, id: string, q: LogQuery, signal?: AbortSignal): Promise<LogResponse> {
  const options: Record<string, unknown> = { follow: q.follow, stdout: true, stderr: true, timestamps: true }
  if (q.tail !== undefined) options.tail = q.tail
  if (q.since !== undefined) options.since = q.since
  return await new Promise((resolve, reject) => {
    docker.modem.dial({
      path: `/containers/${id}/logs?`,
      method: 'GET',
      isStream: true, // a stream even without follow: dockerode would buffer the whole log
      statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
      options,
      ...(signal !== undefined ? { abortSignal: signal } : {})
    }, (err, res) => { if (err !== null) reject(err); else resolve(res as IncomingMessage) })
  })
}

export interface ReadOptions {
  /** The container's log file name, for warnings. */
  name: string
  lineBytesMax: number
  warn: (message: string) => void
  /** Pauses the response while the writer holds too much, until it has flushed. */
  backpressure?: { readonly overfull: boolean, flush: () => Promise<void> }
}

/**
 * Feeds a response's messages to `each` in order; resolves once the response
 * has ended, rejects if it was cut (abort, broken connection): a cut response
 * is never taken for a whole one. `each` returning false stops early (a tail
 * window that does not reach back far enough): 'uncovered'. Data events, not
 * `for await`: this runs for every line of every container, and the async
 * iterator costs about half as much again per chunk.
 */
export async function readMessages (res: LogResponse, o: ReadOptions, each: (s: StreamName, m: LogMessage) => boolean | void): Promise<Outcome> {
  let demux: { push: (chunk: Buffer) => Frame[] } | undefined
  return await new Promise<Outcome>((resolve, reject) => {
    let settled = false
    const settle = (outcome: Outcome | undefined, err?: unknown): void => {
      if (settled) return
      settled = true
      res.destroy()
      if (outcome !== undefined) resolve(outcome)
      else reject(err ?? new Error('the log stream closed before its end'))
    }
    const onData = (chunk: Buffer): void => {
      if (settled || chunk.length === 0) return
      try {
        if (demux === undefined) {
          if (isMultiplexed(chunk[0] as number)) demux = new FrameDemuxer()
          else {
            o.warn(`docker logs: ${o.name}: a TTY container; lines over 16 KiB cannot be joined`)
            demux = new RawLineSplitter(o.lineBytesMax)
          }
        }
        for (const f of demux.push(chunk)) {
          if (f.type !== FRAME_STDOUT && f.type !== FRAME_STDERR) {
            if (f.type === FRAME_SYSTEMERR) o.warn(`docker logs: ${o.name}: engine: ${f.payload.toString('utf8', 0, 500).trim()}`)
            continue
          }
          const m = parseMessage(f.payload)
          if (m === undefined) { o.warn(`docker logs: ${o.name}: engine: ${f.payload.toString('utf8', 0, 500).trim()}`); continue }
          if (each(f.type === FRAME_STDOUT ? 'out' : 'err', m) === false) { settle('uncovered'); return }
        }
        const bp = o.backpressure
        if (bp !== undefined && bp.overfull) {
          res.pause()
          bp.flush().then(() => { res.resume() }, (err: unknown) => { settle(undefined, err) })
        }
      } catch (err) {
        settle(undefined, err)
      }
    }
    res.on('data', onData)
    res.once('end', () => { settle(res.complete === false ? undefined : 'ended') })
    res.once('error', (err: Error) => { settle(undefined, err) })
    res.once('close', () => { settle(undefined) })
  })
}
