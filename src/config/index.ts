// The configuration module: what the rest of the bridge imports.
export { ConfigError } from './config-error.ts'
export { configHelp } from './help.ts'
export { loadConfig, readDotenv, type Env } from './load-config.ts'
export type { Config, LogLevel, PusherApp } from './schema.ts'
