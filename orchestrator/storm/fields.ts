/**
 * zod fields shared by storm specs (CLI) and scenario files, and the one way
 * their validation issues are worded: `storms[0].shape: expected one of ...`.
 * Durations go through the one parser in ../units.ts.
 */
import { z } from 'zod'
import { parseDuration } from '../units.ts'
import { UsageError } from '../errors.ts'
import { parseTargetSpec, formatTargetSpec } from './targets.ts'
import { parseBootDelay, type BootDelay } from './boot-delay.ts'
import { StormSpecError, TargetSpecError } from './errors.ts'

const DURATION_HINT = 'expected a duration like 500ms, 20s, 2m or 1h'

/** A duration as text (`20s`); a bare 0 is accepted too (it needs no unit). Output: ms. */
export const durationField = z.preprocess(
  v => v === 0 ? '0ms' : v,
  z.string({ error: DURATION_HINT })
).transform((text, ctx): number => {
  try {
    return parseDuration(text, 'duration')
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    ctx.addIssue({ code: 'custom', message: `${DURATION_HINT}, got ${JSON.stringify(text)}`, input: text })
    return z.NEVER
  }
})

export const shareField = z.number().min(0).max(1)

/** A target spec; output: its canonical text. */
export const targetsField = z.string().transform((text, ctx): string => {
  try {
    return formatTargetSpec(parseTargetSpec(text))
  } catch (err) {
    if (!(err instanceof TargetSpecError)) throw err
    ctx.addIssue({ code: 'custom', message: err.message, input: text })
    return z.NEVER
  }
})

export const bootDelayField = z.string({ error: 'expected a boot delay like 5s, 2s..8s, exp(5s, 1s..30s) or normal(10s, 3s, 2s..20s)' })
  .transform((text, ctx): BootDelay => {
    try {
      return parseBootDelay(text)
    } catch (err) {
      if (!(err instanceof StormSpecError)) throw err
      ctx.addIssue({ code: 'custom', message: err.message, input: text })
      return z.NEVER
    }
  })

export type IssuePath = ReadonlyArray<PropertyKey>

/** `storms[0].shape` from ['storms', 0, 'shape']. */
export function formatPath (path: IssuePath): string {
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else out += out === '' ? String(p) : `.${String(p)}`
  }
  return out === '' ? '(top level)' : out
}

export interface FieldIssue {
  /** Where, as a path into the input (an unknown key's path ends with that key). */
  path: PropertyKey[]
  message: string
}

const PREFIX = /^Invalid (input|option): /

/**
 * zod issues in our words. An unknown key becomes one issue per key, with the
 * key in its path (so a YAML line can be found for it); a missing field says
 * "required".
 */
export function fieldIssues (error: z.ZodError): FieldIssue[] {
  const out: FieldIssue[] = []
  for (const issue of error.issues) {
    const path = [...issue.path]
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: 'unknown field' })
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      out.push({ path, message: `required (${issue.message.replace(PREFIX, '').replace(/, received undefined$/, '')})` })
    } else {
      out.push({ path, message: issue.message.replace(PREFIX, '') })
    }
  }
  return out
}
