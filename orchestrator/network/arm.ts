/**
 * Arming a scenario's faults (node/contract/armed.ts): the orchestrator creates
 * the run's arm file once the network formed (or at the end of the warm-up, as
 * the scenario says) and journals `run.armed`; every peer polls for the file
 * and switches its fault settings on within a second, and a peer that boots
 * later starts armed.
 */
import { mkdir } from 'node:fs/promises'
import type { RunDir } from '../run/dir.ts'
import { writeJsonAtomic } from '../run/dir.ts'
import type { Journal } from '../run/journal.ts'
import type { CompiledScenario } from '../scenario/compile.ts'

export async function armFaults (run: RunDir, journal: Journal, c: Pick<CompiledScenario, 'armFaults' | 'armed'>): Promise<string | null> {
  if (c.armed === null) return null
  await mkdir(run.configDir, { recursive: true, mode: 0o755 })
  await writeJsonAtomic(run.armFile, { armedAt: new Date().toISOString(), when: c.armFaults, keys: c.armed.keys })
  journal.event('run.armed', { when: c.armFaults, keys: c.armed.keys, peers: c.armed.peers })
  return `faults armed (${c.armFaults}): ${c.armed.keys.join(', ')} on ${c.armed.peers} peers`
}
