#!/usr/bin/env node
// The `laravel-realtime-bridge` command of the npm package: `--help` and `--version`, otherwise
// the bridge as `npm start` runs it (src/server.ts, which reads `.env` from the working directory).
import { parseArgs } from 'node:util'
import { configHelp } from './config/index.ts'
import { packageJson } from './ops/package-info.ts'

const usage = `Usage: ${packageJson.name} [--help | --version]

Starts the Laravel realtime bridge: its HTTP API and socket.io on one port (PORT, default 3000).
Without BRIDGE_API_TOKEN and BRIDGE_JWT_SECRET it runs in open development mode.
`

let flags: { help?: boolean, version?: boolean }
try {
  flags = parseArgs({ options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } } }).values
} catch (error) {
  process.stderr.write(`${packageJson.name}: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`)
  process.exit(2)
}

if (flags.help === true) {
  process.stdout.write(`${usage}\n${configHelp()}`)
} else if (flags.version === true) {
  process.stdout.write(`${packageJson.version}\n`)
} else {
  await import('./server.ts')
}
