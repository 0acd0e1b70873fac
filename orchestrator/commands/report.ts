/** `patchday report [run-dir]`: a run's logs analysed into report.json and report.html, and a summary on stdout. */
import type { Command } from 'commander'
import { resolveRun } from '../run/dir.ts'
import { openRuntime } from '../runtime/index.ts'
import { writeReport, formatSummary } from '../analysis/report.ts'
import { defineCommand } from './command.ts'
import { runsDir } from './options.ts'

interface ReportOptions { json: boolean }

export const reportCommand = defineCommand({
  name: 'report',
  description: 'analyse a run\'s logs into report.json and report.html (and a summary here)',
  options: cmd => cmd
    .argument('[run-dir]', 'the run folder (default: the current run)')
    .option('--json', 'print report.json instead of the summary', false),
  action: async (dir: string | undefined, o: ReportOptions, cmd: Command) => {
    let root = dir
    if (root === undefined) {
      const run = await resolveRun(runsDir(cmd))
      // A run whose processes print to a container runtime: bring its log files up to date first.
      await (await openRuntime(run)).syncLogs()
      root = run.root
    }
    const report = await writeReport(root)
    process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatSummary(report) + `\nreport: ${root}/report.html\n`)
  }
})
