/** `patchday inject supernodes`: dedicated high-capacity supernodes added to the running network (2010's mega-supernodes). */
import type { Command } from 'commander'
import { resolveRun } from '../run/dir.ts'
import { openRuntime } from '../runtime/index.ts'
import { openJournal } from '../run/journal.ts'
import { injectSupernodes } from '../network/inject.ts'
import { UsageError } from '../errors.ts'
import { parseCount } from '../units.ts'
import { defineCommand } from './command.ts'
import { runsDir } from './options.ts'

interface InjectOptions { count: string, slots: string, run?: string }

export const injectCommand = defineCommand({
  name: 'inject',
  description: 'add dedicated high-capacity supernodes to the running network (2010\'s mega-supernodes)',
  options: cmd => cmd
    .argument('<what>', 'what to inject: supernodes')
    .requiredOption('--count <n>', 'how many')
    .option('--slots <m>', 'client slots each', '200')
    .option('--run <id>', 'run id (default: the current run)'),
  action: async (what: string, o: InjectOptions, cmd: Command) => {
    if (what !== 'supernodes') throw new UsageError(`inject: only 'supernodes' can be injected, not ${JSON.stringify(what)}`)
    const run = await resolveRun(runsDir(cmd), o.run)
    const names = await injectSupernodes(run, await openRuntime(run), openJournal(run.logFile('orchestrator'), run.runId), parseCount(o.count, '--count', 1, 64), parseCount(o.slots, '--slots', 1, 100_000))
    process.stdout.write(names.join('\n') + '\n')
  }
})
