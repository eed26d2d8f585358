// The log calls plain code makes: the app's pino logger, or anything with these four levels.
import type { LogFn } from 'pino'

export interface Log {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
}
