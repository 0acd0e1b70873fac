/**
 * Progress on long work, on stderr (stdout stays for results and --json): one
 * line rewritten in place on a terminal, a line every few seconds otherwise.
 */
export class Progress {
  private readonly tty: boolean
  private lastPrinted = 0
  private pending = ''
  private readonly everyMs: number
  private readonly quiet: boolean

  constructor (opts: { quiet?: boolean, everyMs?: number } = {}) {
    this.tty = process.stderr.isTTY
    this.quiet = opts.quiet ?? false
    this.everyMs = opts.everyMs ?? 5000
  }

  update (text: string): void {
    if (this.quiet) return
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${text}`)
      this.pending = text
      return
    }
    const now = Date.now()
    if (now - this.lastPrinted >= this.everyMs) {
      process.stderr.write(text + '\n')
      this.lastPrinted = now
    }
  }

  /** A line that stays. */
  line (text: string): void {
    if (this.quiet) return
    if (this.tty && this.pending !== '') process.stderr.write('\r\x1b[2K')
    this.pending = ''
    process.stderr.write(text + '\n')
  }

  done (): void {
    if (this.tty && this.pending !== '') process.stderr.write('\n')
    this.pending = ''
  }
}
