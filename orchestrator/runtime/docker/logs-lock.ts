/**
 * The lock of a logs folder (`.docker-cursors.lock`, holding the collector's
 * pid): two collectors appending to the same files would write every line
 * twice. A lock whose holder is dead (a SIGKILLed orchestrator) is taken over.
 */
import { open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { readIfExists } from './logs-fs.ts'

export const LOCK_FILE = '.docker-cursors.lock'

export class DockerLogsLockedError extends Error {
  override name = 'DockerLogsLockedError'
}

export async function lockLogsDir (logsDir: string): Promise<void> {
  const path = join(logsDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx')
      await fh.writeFile(String(process.pid))
      await fh.close()
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = Number((await readIfExists(path) ?? '').trim())
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new DockerLogsLockedError(`${path}: collector pid ${holder} is running`)
    }
    await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
  }
  throw new DockerLogsLockedError(`${path}: another collector took it`)
}

export async function unlockLogsDir (logsDir: string): Promise<void> {
  await unlink(join(logsDir, LOCK_FILE)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
