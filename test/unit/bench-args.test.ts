/** The bench scripts' options: --help prints the script's header and exits 0; a bad option exits 2 and says which. Nothing is measured. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..', '..')
const SCRIPTS: Array<{ file: string, bad: string[], says: RegExp }> = [
  { file: 'run.mjs', bad: ['--sizes', 'x'], says: /--sizes/ },
  { file: 'runtimes.mjs', bad: ['--runtimes', 'nowhere'], says: /--runtimes/ },
  { file: 'engine.mjs', bad: ['--starts', '0'], says: /--starts/ },
  { file: 'attacks.mjs', bad: ['--attacks', '99'], says: /no attack "99"/ },
  { file: 'login-cpu.mjs', bad: ['--logins', '-1'], says: /--logins/ }
]

const run = (file: string, args: string[]): { status: number | null, stdout: string, stderr: string } =>
  spawnSync(process.execPath, [join(root, 'bench', file), ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, PATCHDAY_RUNS_DIR: '/nonexistent/patchday-bench-args' } })

for (const { file, bad, says } of SCRIPTS) {
  test(`bench/${file}: --help prints its header, a bad option exits 2 naming it, an unknown one too`, () => {
    const help = run(file, ['--help'])
    assert.equal(help.status, 0, help.stderr)
    // The header's second comment line (the first is the usage line or the summary) is in the help.
    const header = readFileSync(join(root, 'bench', file), 'utf8').split('\n').slice(1).filter(l => l.startsWith('//')).map(l => l.replace(/^\/\/ ?/, ''))
    assert.ok(header.length >= 2)
    assert.ok(help.stdout.startsWith(header[0] ?? '-'), help.stdout.slice(0, 200))
    assert.equal(help.stderr, '')
    const wrong = run(file, bad)
    assert.equal(wrong.status, 2, wrong.stderr)
    assert.match(wrong.stderr, says)
    const unknown = run(file, ['--no-such-option', '1'])
    assert.equal(unknown.status, 2)
    assert.match(unknown.stderr, /unknown or incomplete option "--no-such-option"/)
  })
}
