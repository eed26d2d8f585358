// Every plugin declares what it uses: each one starts on a bare Fastify with a config and its
// declared dependencies alone, and the dependencies form no cycle.
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import t from 'tap'
import { loadConfig } from '../../../src/config/index.ts'
import { testEnv } from '../../helpers/bridge.ts'

interface PluginModule {
  default: FastifyPluginAsync & { [key: symbol]: { name?: string, dependencies?: string[] } | undefined }
  autoConfig?: (fastify: FastifyInstance) => object
}

const pluginsDir = fileURLToPath(new URL('../../../plugins', import.meta.url))

function pluginFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return pluginFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

const byName = new Map<string, { file: string, module: PluginModule }>()
for (const file of pluginFiles(pluginsDir)) {
  const module = await import(file) as PluginModule
  const meta = module.default[Symbol.for('plugin-meta')]
  byName.set(meta?.name ?? relative(pluginsDir, file), { file: relative(pluginsDir, file), module })
}

function dependenciesOf (name: string): string[] {
  return byName.get(name)?.module.default[Symbol.for('plugin-meta')]?.dependencies ?? []
}

/** The plugin's dependencies, transitively, in an order they can be registered in; throws on a cycle. */
function registrationOrder (name: string, visiting: string[] = [], order: string[] = []): string[] {
  if (order.includes(name)) return order
  if (visiting.includes(name)) throw new Error(`dependency cycle: ${[...visiting, name].join(' -> ')}`)
  for (const dependency of dependenciesOf(name)) registrationOrder(dependency, [...visiting, name], order)
  order.push(name)
  return order
}

t.test('every declared dependency is a plugin of the bridge, and there is no cycle', async (t) => {
  for (const name of byName.keys()) {
    for (const dependency of dependenciesOf(name)) t.ok(byName.has(dependency), `${name} depends on ${dependency}, a plugin in plugins/`)
    t.doesNotThrow(() => registrationOrder(name), `${name} has no dependency cycle`)
  }
})

for (const [name, { file }] of byName) {
  t.test(`${file} starts with a config and its declared dependencies alone`, async (t) => {
    const fastify = Fastify()
    fastify.decorate('config', loadConfig(testEnv()))
    t.teardown(() => fastify.close())
    for (const plugin of registrationOrder(name)) {
      const { module } = byName.get(plugin) as { module: PluginModule }
      await fastify.register(module.default, module.autoConfig?.(fastify) ?? {})
    }
    await fastify.ready()
    t.ok(fastify.hasPlugin(name), `${name} is ready with its ${registrationOrder(name).length - 1} dependencies`)
  })
}
