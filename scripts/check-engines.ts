// Whether the Node running this script satisfies `engines.node` of the bridge and of every
// package in package-lock.json that npm would install here, so that `npm ci` on it prints no
// engine warning (npm checks with semver, prereleases included). .ci/run runs it on each
// supported Node line: `node --import tsx scripts/check-engines.ts`.
import { readFile } from 'node:fs/promises'
import semver from 'semver'

interface LockedPackage {
  version?: string
  engines?: { node?: string } | string[]
  optional?: boolean
  os?: string[]
  cpu?: string[]
}

/** Whether a package's `os` or `cpu` list excludes this machine (npm skips such optional packages). */
function otherPlatform (pkg: LockedPackage): boolean {
  const excludes = (list: string[] | undefined, value: string) => list !== undefined &&
    (list.includes(`!${value}`) || (list.some((entry) => !entry.startsWith('!')) && !list.includes(value)))
  return excludes(pkg.os, process.platform) || excludes(pkg.cpu, process.arch)
}

/** `name@version needs <range>` for each package whose engines exclude `nodeVersion`. */
function engineProblems (lock: { packages: Record<string, LockedPackage> }, nodeVersion: string): string[] {
  const problems: string[] = []
  for (const [path, pkg] of Object.entries(lock.packages)) {
    const range = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node
    if (range === undefined || (pkg.optional === true && otherPlatform(pkg))) continue
    if (!semver.satisfies(nodeVersion, range, { includePrerelease: true })) {
      const name = path === '' ? 'laravel-realtime-bridge' : path.replace(/^.*node_modules\//, '')
      problems.push(`${name}@${pkg.version ?? '?'} needs Node ${range}`)
    }
  }
  return problems
}

const lock = JSON.parse(await readFile(new URL('../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, LockedPackage> }
const problems = engineProblems(lock, process.version)
for (const problem of problems) process.stderr.write(`engines: ${problem}, not ${process.version}\n`)
process.stdout.write(problems.length === 0
  ? `engines: Node ${process.version} satisfies engines.node of the bridge and of every package in package-lock.json\n`
  : `engines: Node ${process.version} is refused by ${problems.length} package(s)\n`)
process.exitCode = problems.length === 0 ? 0 : 1
