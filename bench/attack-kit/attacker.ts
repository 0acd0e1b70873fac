/**
 * One attack of bench/attack-kit/attacks.ts in a process of its own, so that the
 * bench can give it a scheduling priority (`--attacker-nice`): on one machine the
 * attacker, the probe and the target share the cores, and an attacker that
 * out-competes its target for CPU measures the host, not the target's defences.
 * Runs until SIGTERM (or SIGINT), then prints its counts as one JSON line.
 *
 * Usage: node bench/attack-kit/attacker.ts '<json: { id: number, target: AttackTarget }>'
 */
import { ATTACKS, type AttackTarget } from './attacks.ts'

const args = JSON.parse(process.argv[2] ?? '') as { id: number, target: AttackTarget }
const attack = ATTACKS.find(a => a.id === args.id)
if (attack === undefined) {
  process.stderr.write(`attacker: no attack ${args.id}\n`)
  process.exit(2)
}
const abort = new AbortController()
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => { abort.abort() })
process.stdout.write('ready\n')
// Until told to stop: an attack whose sockets are all closed at one moment, its replacements on
// unref'd timers (attack 4 when every socket is refused), must not let the process end by itself.
const keepAlive = setInterval(() => {}, 60_000)
const counts = await attack.run(args.target, abort.signal)
clearInterval(keepAlive)
process.stdout.write(JSON.stringify(counts) + '\n')
// Sockets an attack left behind (silent ones, by design) must not keep the process.
process.exit(0)
