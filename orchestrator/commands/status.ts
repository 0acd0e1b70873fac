/** `patchday status`: the network's state, folded from the event logs and checked against the runtime. */
import type { Command } from 'commander'
import { resolveRun, type RunDir } from '../run/dir.ts'
import { openRunRuntimes } from '../runtime/index.ts'
import type { ProcessStatus } from '../runtime/runtime.ts'
import { Watcher } from '../network/start.ts'
import { peersNow } from '../network/plan.ts'
import type { NetworkSummary } from '../analysis/state.ts'
import { defineCommand } from './command.ts'
import { runsDir } from './options.ts'

export interface StatusResult extends NetworkSummary {
  runId: string
  running: number
  supernodeList: Array<{ peer: string, clients: number }>
  /** Processes whose runtime record is unusable (an empty or garbage pid file), with what is wrong; `down` stops them all the same. */
  problems: Array<{ name: string, problem: string, running: boolean }>
  /** Records of the run that cannot be used (run.json, docker.json), one line each; status then counts the peers its logs name. */
  records: string[]
}

export async function status (run: RunDir): Promise<StatusResult> {
  const meta = await run.readMetaRecord()
  const { runtimes, unknown } = await openRunRuntimes(run)
  const records = unknown === null ? [] : [`${unknown.problem}: listing ${unknown.lookingFor} ('patchday down --run ${run.runId}' stops them all the same)`]
  const processes: ProcessStatus[] = []
  for (const runtime of runtimes) {
    await runtime.syncLogs()
    processes.push(...await runtime.list())
    const problem = unknown === null ? await runtime.recordProblem?.() : null
    if (problem !== undefined && problem !== null) records.push(problem)
  }
  const alive = new Set(processes.filter(p => p.running).map(p => p.name))
  const problems = processes.flatMap(p => p.problem === undefined ? [] : [{ name: p.name, problem: p.problem, running: p.running }])
  const watcher = new Watcher(run)
  await watcher.poll()
  watcher.state.markDead(alive)
  // Without run.json, the peers are those the logs name; with it, those not joining later and the late ones that have joined (the logs name them).
  const summary = watcher.state.summary(meta.ok ? peersNow(meta.value.peers, name => watcher.state.peers.has(name)) : 0)
  const supernodeList = [...watcher.state.peers.values()]
    .filter(s => s.role === 'supernode' && s.phase !== 'offline')
    .map(s => ({ peer: s.peer, clients: s.clients }))
    .sort((a, b) => a.peer.localeCompare(b.peer))
  return { runId: run.runId, running: alive.size, ...summary, loginServer: summary.loginServer && alive.has('login'), supernodeList, problems, records }
}

export function formatStatus (s: StatusResult): string {
  const lines = [
    `run ${s.runId}: ${s.running} processes running`,
    `peers       ${s.peers}`,
    `online      ${s.online}`,
    `attaching   ${s.attaching}`,
    `booting     ${s.booting}`,
    `offline     ${s.offline}`,
    `supernodes  ${s.supernodes} (clients per supernode: median ${s.clientsPerSupernode.median}, max ${s.clientsPerSupernode.max})`,
    `login       ${s.loginServer ? 'up' : 'down'}`
  ]
  if (s.records.length > 0) lines.push('', ...s.records.map(r => `record unusable: ${r}`))
  if (s.problems.length > 0) {
    lines.push('', `${s.problems.length} process record(s) unusable ('patchday down' stops these processes all the same, found by run id):`)
    for (const p of s.problems) lines.push(`  ${p.name.padEnd(10)} ${p.problem} (${p.running ? 'running, found by run id' : 'not running'})`)
  }
  if (s.supernodeList.length > 0) lines.push('', 'supernode  clients', ...s.supernodeList.map(x => `${x.peer.padEnd(10)} ${x.clients}`))
  return lines.join('\n')
}

interface StatusOptions { run?: string, json: boolean }

export const statusCommand = defineCommand({
  name: 'status',
  description: 'online / attaching / offline peers, supernodes and clients per supernode, read from the event logs; process records it cannot use',
  options: cmd => cmd
    .option('--run <id>', 'run id (default: the current run)')
    .option('--json', 'print JSON (fields: peers, online, attaching, booting, offline, supernodes, ...)', false),
  action: async (o: StatusOptions, cmd: Command) => {
    const s = await status(await resolveRun(runsDir(cmd), o.run))
    process.stdout.write(o.json ? JSON.stringify(s) + '\n' : formatStatus(s) + '\n')
  }
})
