/** `patchday status`: the network's state, folded from the event logs and checked against the runtime. */
import type { RunDir } from '../run/dir.ts'
import { openRuntime } from '../runtime/index.ts'
import { runningNames } from '../runtime/runtime.ts'
import { Watcher } from '../network/start.ts'
import type { NetworkSummary } from '../analysis/state.ts'

export interface StatusResult extends NetworkSummary {
  runId: string
  running: number
  supernodeList: Array<{ peer: string, clients: number }>
}

export async function status (run: RunDir): Promise<StatusResult> {
  const meta = await run.readMeta()
  const runtime = await openRuntime(run)
  await runtime.syncLogs()
  const alive = await runningNames(runtime)
  const watcher = new Watcher(run)
  await watcher.poll()
  watcher.state.markDead(alive)
  const summary = watcher.state.summary(meta.peers.length)
  const supernodeList = [...watcher.state.peers.values()]
    .filter(s => s.role === 'supernode' && s.phase !== 'offline')
    .map(s => ({ peer: s.peer, clients: s.clients }))
    .sort((a, b) => a.peer.localeCompare(b.peer))
  return { runId: run.runId, running: alive.size, ...summary, loginServer: summary.loginServer && alive.has('login'), supernodeList }
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
  if (s.supernodeList.length > 0) lines.push('', 'supernode  clients', ...s.supernodeList.map(x => `${x.peer.padEnd(10)} ${x.clients}`))
  return lines.join('\n')
}
