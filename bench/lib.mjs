// Helpers the benches share (bench/runtimes.mjs, bench/attacks.mjs).
import { existsSync, readFileSync } from 'node:fs'

/** The pino lines of a log file, unparsable ones skipped; [] when it does not exist. */
export function events (file) {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter(l => l.startsWith('{')).flatMap(l => { try { return [JSON.parse(l)] } catch { return [] } })
}

/** As orchestrator/analysis/lag.ts computes it; null for no samples. */
export function quantile (sorted, q) {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}
