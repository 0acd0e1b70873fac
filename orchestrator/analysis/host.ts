/**
 * The host monitor's checker: was the machine itself the bottleneck? A run whose
 * host CPU was pegged during the storm and observation says more about the
 * machine than about the network, so its report carries `hostSaturated`.
 * Judged on the orchestrator's raw `host.sample` lines, not on buckets, so the
 * share is a share of samples.
 */
import type { PeerEvent } from '../../node/contract/events.ts'
import { mean } from './series.ts'

/** A sample at or above this CPU busy share (0..1) counts as busy. */
export const HOST_BUSY_THRESHOLD_DEFAULT = 0.9
/** The host is saturated when at least this share of the samples in the window is busy. */
export const HOST_SATURATED_SHARE_DEFAULT = 0.2

export interface HostInit {
  busyThreshold?: number
  saturatedShare?: number
}

export interface HostSample { time: number, cpuBusy: number, load1: number, cores: number }

export interface HostReport {
  hostSaturated: boolean
  samples: number
  /** Share of samples with cpuBusy >= busyThreshold; null without samples. */
  busyShare: number | null
  cpuBusyMean: number | null
  cpuBusyMax: number | null
  load1Mean: number | null
  load1Max: number | null
  cores: number | null
  /** The window judged, in epoch ms ([fromMs, toMs)). */
  fromMs: number
  toMs: number
  busyThreshold: number
  saturatedShare: number
  /** One sentence for the report's header. */
  note: string
}

export function hostSamples (events: readonly PeerEvent[]): HostSample[] {
  const out: HostSample[] = []
  for (const e of events) {
    if (e.ev === 'host.sample') out.push({ time: e.time, cpuBusy: e.cpuBusy, load1: e.load1, cores: e.cores })
  }
  return out
}

const pct = (v: number): string => `${Math.round(v * 100)}%`

// Not Math.max(...values): a long run has more samples than a call's argument limit.
const maxOf = (values: readonly number[]): number | null => values.reduce<number | null>((m, v) => m === null || v > m ? v : m, null)

/** Judge the samples in [fromMs, toMs) (the storm plus observation; a calm run's post-warm-up). Pure. */
export function checkHost (samples: readonly HostSample[], fromMs: number, toMs: number, init: HostInit = {}): HostReport {
  const busyThreshold = init.busyThreshold ?? HOST_BUSY_THRESHOLD_DEFAULT
  const saturatedShare = init.saturatedShare ?? HOST_SATURATED_SHARE_DEFAULT
  const inWindow = samples.filter(s => s.time >= fromMs && s.time < toMs)
  const cpu = inWindow.map(s => s.cpuBusy)
  const load = inWindow.map(s => s.load1)
  const busy = cpu.filter(v => v >= busyThreshold).length
  const busyShare = inWindow.length === 0 ? null : busy / inWindow.length
  const hostSaturated = busyShare !== null && busyShare >= saturatedShare
  const cpuBusyMax = maxOf(cpu)
  const last = inWindow[inWindow.length - 1]
  let note: string
  if (busyShare === null) note = 'no host samples in the window: host saturation unknown'
  else if (hostSaturated) note = `host saturated: CPU ≥ ${pct(busyThreshold)} in ${pct(busyShare)} of ${inWindow.length} samples (limit ${pct(saturatedShare)}); timings say more about the machine than the network`
  else note = `host not saturated: CPU ≥ ${pct(busyThreshold)} in ${pct(busyShare)} of ${inWindow.length} samples (limit ${pct(saturatedShare)}), max ${pct(cpuBusyMax ?? 0)}`
  return {
    hostSaturated,
    samples: inWindow.length,
    busyShare,
    cpuBusyMean: mean(cpu),
    cpuBusyMax,
    load1Mean: mean(load),
    load1Max: maxOf(load),
    cores: last?.cores ?? null,
    fromMs,
    toMs,
    busyThreshold,
    saturatedShare,
    note
  }
}
