/** File helpers of the Docker log collector: whole appends, and reads that take a missing file for an empty one. */
import { writevSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'

/** Appends every byte of `chunks` (writev writes at most IOV_MAX buffers, and may write part of them). */
export function writeAllSync (fd: number, chunks: Buffer[]): void {
  let bufs = chunks
  while (bufs.length > 0) {
    let left = writevSync(fd, bufs.slice(0, 1024)) // IOV_MAX
    const rest: Buffer[] = []
    for (const b of bufs) {
      if (left >= b.length) { left -= b.length; continue }
      rest.push(left > 0 ? b.subarray(left) : b)
      left = 0
    }
    bufs = rest
  }
}

export async function readIfExists (path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export async function fileSize (path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw err
  }
}
