/** Running the real CLI (bin/patchday.mjs) as a user would, against a temporary runs folder. */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'patchday.mjs')

export interface CliResult { code: number, stdout: string, stderr: string }

export function tempRunsDir (label: string): string {
  return mkdtempSync(join(tmpdir(), `patchday-${label}-`))
}

export function cliSync (runsDir: string, args: string[], timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir }, encoding: 'utf8', timeout: timeoutMs })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

export async function cli (runsDir: string, args: string[], timeoutMs = 300_000): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, PATCHDAY_RUNS_DIR: runsDir } })
    let stdout = ''; let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`patchday ${args.join(' ')} timed out after ${timeoutMs} ms\n${stderr}`)) }, timeoutMs)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }) })
  })
}

/** Poll `fn` until it returns a value that is not undefined, or fail with `what` after `timeoutMs`. */
export async function eventually<T> (what: string, timeoutMs: number, fn: () => Promise<T | undefined>, everyMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`)
    await sleep(everyMs)
  }
}
