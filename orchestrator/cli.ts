/**
 * The patchday CLI: the program, its global `--runs-dir`, and the commands, each
 * declared next to its code in commands/<name>.ts. Results go to stdout (`--json`
 * for machines), progress and errors to stderr. Exit codes: 0 ok, 1 failure,
 * 2 bad usage, 3 a verdict other than expected (run --check), 130 interrupted;
 * an error carries its own (`exitCode`), 1 when it has none.
 */
import { Command, CommanderError } from 'commander'
import { interruption } from './errors.ts'
import type { CliCommand } from './commands/command.ts'
import { upCommand } from './commands/up.ts'
import { attachCommand } from './commands/attach.ts'
import { statusCommand } from './commands/status.ts'
import { psCommand } from './commands/ps.ts'
import { logsCommand } from './commands/logs.ts'
import { runCommand } from './commands/run.ts'
import { sweepCommand } from './commands/sweep.ts'
import { stormCommand } from './commands/storm.ts'
import { injectCommand } from './commands/inject.ts'
import { reportCommand } from './commands/report.ts'
import { downCommand } from './commands/down.ts'
import { checkCommand } from './commands/check.ts'
import { ablateCommand } from './commands/ablate.ts'

/** Every command, in the order of `patchday --help`. */
export const COMMANDS: readonly CliCommand[] = [upCommand, attachCommand, statusCommand, psCommand, logsCommand, runCommand, checkCommand, sweepCommand, ablateCommand, stormCommand, injectCommand, reportCommand, downCommand]

export function buildCli (): Command {
  const program = new Command('patchday')
    .description('Reboot storms and login floods in a libp2p peer-to-peer overlay, with real processes.')
    .option('--runs-dir <dir>', 'where runs are kept (env PATCHDAY_RUNS_DIR)', undefined)
    .showHelpAfterError()
    .exitOverride()
  for (const c of COMMANDS) c.register(program)
  return program
}

/**
 * How an error (other than commander's own) ends the CLI: its exit code and the
 * line printed. The code is the error's `exitCode` when it has one (read
 * structurally: the peer's ConfigError carries one without extending
 * PatchdayError), else 1; an AbortError that an interrupt caused counts as the
 * interrupt. Bad input and interrupts speak for themselves; a failure is named,
 * unless it is a plain Error.
 */
export function failure (thrown: unknown): { exitCode: number, message: string } {
  const err = interruption(thrown) ?? thrown
  const code = typeof err === 'object' && err !== null && 'exitCode' in err ? err.exitCode : undefined
  const exitCode = typeof code === 'number' && Number.isInteger(code) && code > 0 && code < 256 ? code : 1
  const e = err instanceof Error ? err : new Error(String(err))
  const named = exitCode === 1 && e.name !== 'Error'
  return { exitCode, message: `patchday: ${named ? `${e.name}: ` : ''}${e.message}` }
}

export async function main (argv: string[]): Promise<number> {
  // `patchday logs | head`: a closed pipe ends the output, not with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
  const program = buildCli()
  try {
    await program.parseAsync(argv, { from: 'user' })
    // An action may have set a failure code (run --check: 3, storm with failed operations: 1).
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; help and version are not failures.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2
    }
    const f = failure(err)
    process.stderr.write(`${f.message}\n`)
    if (process.env.PATCHDAY_DEBUG !== undefined) process.stderr.write(`${(err as Error).stack ?? ''}\n`)
    return f.exitCode
  }
}
