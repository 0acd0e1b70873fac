/** `patchday ps`: every patchday network running on this machine, whichever runs folder started it. */
import type { Command } from 'commander'
import { basename, dirname } from 'node:path'
import { RunDir } from '../run/dir.ts'
import { runningNetworks, type RunningNetwork } from '../runtime/census.ts'
import { downCommandFor } from '../runtime/local-networks.ts'
import { defineCommand } from './command.ts'

export interface PsRow extends RunningNetwork {
  /** Peers of the run's plan (run.json); null when its folder is unknown or unreadable. */
  peersPlanned: number | null
  /** run.json's createdAt: when `up` started it; null when unknown. */
  startedAt: string | null
}

/** The rows of `ps`: each network with what its run.json adds (start time, planned peers). */
export async function ps (): Promise<{ rows: PsRow[], notes: string[] }> {
  const { networks, notes } = await runningNetworks()
  const rows = await Promise.all(networks.map(async (n): Promise<PsRow> => {
    if (n.runDir === null) return { ...n, peersPlanned: null, startedAt: null }
    const run = new RunDir(dirname(n.runDir), basename(n.runDir))
    const meta = await run.readMetaRecord()
    if (meta.ok) return { ...n, peersPlanned: meta.value.peers.length, startedAt: meta.value.createdAt }
    notes.push(`${n.runId}: ${run.metaFile} is ${meta.problem}; '${downCommandFor({ runId: n.runId, runDir: n.runDir })}' stops it all the same`)
    return { ...n, peersPlanned: null, startedAt: null }
  }))
  return { rows, notes }
}

export function formatPs (rows: readonly PsRow[]): string {
  if (rows.length === 0) return 'no patchday network is running on this machine'
  const table = [['RUN', 'RUNTIME', 'PEERS', 'LOGIN', 'STARTED', 'FOLDER'], ...rows.map(r => [
    r.runId,
    r.runtime,
    `${r.peers}${r.peersPlanned !== null ? `/${r.peersPlanned}` : ''}`,
    r.login ? 'up' : 'down',
    r.startedAt ?? '-',
    r.runDir ?? '-'
  ])]
  const widths = table[0]?.map((_, i) => Math.max(...table.map(row => (row[i] ?? '').length))) ?? []
  return table.map(row => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join('  ')).join('\n')
}

interface PsOptions { json: boolean }

export const psCommand = defineCommand({
  name: 'ps',
  description: 'list every patchday network running on this machine (any runs folder): run id, runtime, peers running, login server, start time, folder',
  options: cmd => cmd
    .option('--json', 'print JSON: one object per network (runId, runtime, runDir, processes, peers, peersPlanned, login, startedAt)', false),
  action: async (o: PsOptions, _cmd: Command) => {
    const { rows, notes } = await ps()
    for (const n of notes) process.stderr.write(`patchday: ${n}\n`)
    process.stdout.write(o.json ? JSON.stringify(rows) + '\n' : formatPs(rows) + '\n')
  }
})
