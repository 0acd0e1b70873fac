/** The CLI's command list and how errors become exit codes (without spawning the CLI). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildCli, COMMANDS, failure, main } from '../../orchestrator/cli.ts'
import { InterruptedError, PatchdayError, RunNotFoundError, UsageError } from '../../orchestrator/errors.ts'
import { ConfigError } from '../../node/contract/errors.ts'
import { ScenarioError } from '../../orchestrator/scenario/errors.ts'
import { StormSpecError, TargetSpecError } from '../../orchestrator/storm/errors.ts'

const EXPECTED = ['up', 'attach', 'status', 'ps', 'logs', 'run', 'check', 'sweep', 'ablate', 'storm', 'inject', 'report', 'down']

/** main's result and what it wrote to stderr (commander's messages included). */
async function runMain (argv: string[]): Promise<{ code: number, stderr: string }> {
  let stderr = ''
  const write = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((chunk: string | Uint8Array): boolean => { stderr += String(chunk); return true }) as typeof process.stderr.write
  try {
    return { code: await main(argv), stderr }
  } finally {
    process.stderr.write = write
  }
}

test('every command is registered exactly once, with its module\'s description', () => {
  const program = buildCli()
  const names = program.commands.map(c => c.name())
  assert.deepEqual(names, EXPECTED)
  assert.equal(new Set(names).size, names.length)
  assert.deepEqual(COMMANDS.map(c => c.name), EXPECTED)
  for (const c of program.commands) {
    const declared = COMMANDS.find(m => m.name === c.name())
    assert.ok(c.description().length > 0, `${c.name()} has no description`)
    assert.equal(c.description(), declared?.description)
  }
})

test('errors carry their exit code: bad input 2, interrupt 130, anything else 1', () => {
  const interrupt = new InterruptedError()
  // node:timers/promises rejects an aborted wait with an AbortError whose cause is the signal's reason.
  const aborted = new Error('The operation was aborted', { cause: interrupt })
  aborted.name = 'AbortError'
  const cases: Array<[unknown, number, string]> = [
    [new UsageError('--peers: bad'), 2, 'patchday: --peers: bad'],
    [new ConfigError('PATCHDAY_SLOTS_MAX', 'x', 'expected 1..100000'), 2, 'patchday: PATCHDAY_SLOTS_MAX="x": expected 1..100000'],
    [new ScenarioError([{ path: ['peers'], message: 'required' }]), 2, 'patchday: invalid scenario:\n  peers: required'],
    [new StormSpecError('shape', 'bad'), 2, 'patchday: shape: bad'],
    [new TargetSpecError('x', 'bad'), 2, 'patchday: target spec "x": bad'],
    [interrupt, 130, 'patchday: interrupted'],
    [aborted, 130, 'patchday: interrupted'],
    [new Error('boom'), 1, 'patchday: boom'],
    [new TypeError('not a function'), 1, 'patchday: TypeError: not a function'],
    [new RunNotFoundError('no run'), 1, 'patchday: RunNotFoundError: no run'],
    [new PatchdayError('failed'), 1, 'patchday: PatchdayError: failed'],
    ['a string', 1, 'patchday: a string']
  ]
  for (const [err, exitCode, message] of cases) assert.deepEqual(failure(err), { exitCode, message }, String(err))
})

test('main returns 2 for a UsageError and for commander\'s usage errors, 1 for a plain Error', async () => {
  const usage = await runMain(['inject', 'bogus', '--count', '1'])
  assert.equal(usage.code, 2)
  assert.match(usage.stderr, /^patchday: inject: only 'supernodes'/)
  assert.equal((await runMain(['frobnicate'])).code, 2)
  assert.equal((await runMain(['up'])).code, 2)
  const dir = mkdtempSync(join(tmpdir(), 'patchday-cli-commands-'))
  try {
    // A folder without run.json: readFile's ENOENT, a plain Error.
    const plain = await runMain(['report', dir])
    assert.equal(plain.code, 1)
    assert.match(plain.stderr, /^patchday: ENOENT/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
