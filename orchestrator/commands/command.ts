/**
 * A CLI command declared next to its code (npm's style): its name, description,
 * arguments and options, and action, in the command's own module. cli.ts only
 * registers the list.
 */
import type { Command } from 'commander'

/**
 * One command as its module writes it. `Args` are what commander passes the
 * action before the command itself: the positional arguments, then the parsed
 * options. commander types them as `any`, so each command declares an interface
 * for its options next to the `options` that define them.
 */
export interface CommandModule<Args extends unknown[]> {
  readonly name: string
  readonly description: string
  /** Declares the command's arguments and options, in help order. */
  readonly options: (cmd: Command) => Command
  readonly action: (...args: [...Args, Command]) => Promise<void>
}

/** A command as the program sees it: one type for every command, whatever its arguments. */
export interface CliCommand {
  readonly name: string
  readonly description: string
  /** Adds the command to `program`; returns the command. */
  register (program: Command): Command
}

export function defineCommand<Args extends unknown[]> (m: CommandModule<Args>): CliCommand {
  return {
    name: m.name,
    description: m.description,
    register: program => m.options(program.command(m.name).description(m.description)).action(m.action)
  }
}
