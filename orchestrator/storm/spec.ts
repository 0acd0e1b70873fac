/**
 * A storm as a user writes it (CLI flags or a scenario's `storms[i]`), validated
 * with zod and turned into a StormSpec. Fields, all durations as text:
 *
 *   id:         name in the journal (default: `storm` from the CLI, `storm-<i+1>` in a scenario)
 *   targets:    a target spec (targets.ts), e.g. fraction:0.6 or supernodes,fraction:0.5
 *   shape:      all-at-once | uniform | waves
 *   window:     uniform only: stops spread uniformly over this span
 *   waves:      waves only: how many groups (1..48)
 *   waveWindow: waves only: the span of each wave (default 0s: a wave stops at once)
 *   gap:        waves only: pause between the end of one wave and the next
 *   shutdown:   graceful (SIGTERM, default) | power-cut (SIGKILL)
 *   grace:      graceful only: SIGKILL after this long (default 5s; real time, not scaled)
 *   bootDelay:  how long each target stays down (boot-delay.ts grammar)
 */
import { z } from 'zod'
import { durationField, targetsField, bootDelayField, fieldIssues, formatPath } from './fields.ts'
import { SHAPES, SHUTDOWNS, WAVES_MAX, type StormSpec, type StormShape } from './plan.ts'
import { StormSpecError } from './errors.ts'

export const DEFAULT_GRACE_MS = 5000
const ID = /^[A-Za-z0-9._-]{1,32}$/

export const stormFields = {
  id: z.string().regex(ID, 'expected 1-32 letters, digits, dots, dashes or underscores').optional(),
  targets: targetsField,
  shape: z.enum(SHAPES),
  window: durationField.optional(),
  waves: z.number().int().min(1).max(WAVES_MAX).optional(),
  waveWindow: durationField.optional(),
  gap: durationField.optional(),
  shutdown: z.enum(SHUTDOWNS).default('graceful'),
  grace: durationField.optional(),
  bootDelay: bootDelayField
}

type StormInputOut = z.output<z.ZodObject<typeof stormFields>>

/** Cross-field rules: each shape takes its own fields and refuses the others'. */
export function checkStormFields (s: StormInputOut, ctx: z.RefinementCtx): void {
  const refuse = (field: keyof StormInputOut, why: string): void => { ctx.addIssue({ code: 'custom', path: [field], message: why }) }
  const need = (field: keyof StormInputOut): void => { if (s[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required for shape ${s.shape}` }) }
  const only = (field: keyof StormInputOut, shape: string): void => { if (s[field] !== undefined && s.shape !== shape) refuse(field, `only for shape ${shape}`) }
  only('window', 'uniform')
  only('waves', 'waves')
  only('waveWindow', 'waves')
  only('gap', 'waves')
  if (s.shape === 'uniform') need('window')
  if (s.shape === 'waves') { need('waves'); need('gap') }
  if (s.grace !== undefined && s.shutdown === 'power-cut') refuse('grace', 'only for shutdown graceful (a power cut has no grace)')
}

function shapeOf (s: StormInputOut): StormShape {
  switch (s.shape) {
    case 'all-at-once': return { kind: 'all-at-once' }
    case 'uniform': return { kind: 'uniform', windowMs: s.window ?? 0 }
    case 'waves': return { kind: 'waves', waves: s.waves ?? 1, waveWindowMs: s.waveWindow ?? 0, gapMs: s.gap ?? 0 }
  }
}

/** After checkStormFields has passed. */
export function toStormSpec (s: StormInputOut, defaultId: string): StormSpec {
  return {
    id: s.id ?? defaultId,
    targets: s.targets,
    shape: shapeOf(s),
    shutdown: s.shutdown,
    graceMs: s.grace ?? DEFAULT_GRACE_MS,
    bootDelay: s.bootDelay
  }
}

export const StormInput = z.strictObject(stormFields).superRefine(checkStormFields)

/**
 * For the CLI: `{ targets: 'fraction:0.6', shape: 'uniform', window: '20s', bootDelay: '2s..8s' }`
 * -> StormSpec. Throws StormSpecError naming the first bad field (all of them in the message).
 */
export function parseStormInput (input: unknown, defaultId = 'storm'): StormSpec {
  const r = StormInput.safeParse(input, { reportInput: true })
  if (!r.success) {
    const issues = fieldIssues(r.error)
    const [first, ...rest] = issues
    if (first === undefined) throw r.error
    throw new StormSpecError(formatPath(first.path), [first.message, ...rest.map(i => `${formatPath(i.path)}: ${i.message}`)].join('; '))
  }
  return toStormSpec(r.data, defaultId)
}
