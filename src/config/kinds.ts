// The kinds of environment variable the bridge reads. Each builder returns the TypeBox schema
// of the parsed value, annotated with the variable's name, default and README meaning, which
// the loader, the README table and the help text read back (src/config/variables.ts).
import { Type, type TProperties, type TSchema } from 'typebox'

export type Kind = 'text' | 'tokens' | 'integer' | 'fraction' | 'switch' | 'choice' | 'choices' | 'redis-url' | 'redis-nodes' | 'pem-file' | 'http-url' | 'origins' | 'proxies'

export interface DefaultContext {
  production: boolean
  openDevelopment: boolean
}

export type Computed<T> = (context: DefaultContext) => T

/** What a variable's schema carries next to its TypeBox keywords. */
export type Annotations = {
  env: string
  kind: Kind
  description?: string
  default?: unknown
  computedDefault?: Computed<unknown>
  defaultText?: string
  /** Listed in the README row of that variable rather than a row of its own. */
  row?: string
  secret?: boolean
  requiredInProduction?: string
  rule?: string
  echo?: boolean
  /** An empty value is a value (an empty prefix), and spaces are not trimmed. */
  allowEmpty?: boolean
  example?: string
  /** What a list of choices may hold. */
  values?: string[]
}

export type VariableSchema = TSchema & Annotations & {
  minimum?: number
  maximum?: number
  pattern?: string
  enum?: string[]
}

type Shown = ({ meaning: string, row?: undefined } | { row: string, meaning?: undefined }) & { defaultText?: string }

function annotate (env: string, kind: Kind, options: Shown & { default?: unknown }, extra: Partial<Annotations> = {}): Annotations {
  const { meaning, row, defaultText, default: fallback } = options
  const annotations: Annotations = {
    env,
    kind,
    description: meaning,
    row,
    defaultText,
    ...(typeof fallback === 'function' ? { computedDefault: fallback as Computed<unknown> } : { default: fallback }),
    ...extra
  }
  return Object.fromEntries(Object.entries(annotations).filter(([, value]) => value !== undefined)) as Annotations
}

function declared<T extends TSchema> (schema: T): T & Annotations {
  return schema as T & Annotations
}

export function integer (env: string, options: Shown & { minimum: number, maximum: number, default: number | Computed<number> }) {
  return declared(Type.Integer({ ...annotate(env, 'integer', options), minimum: options.minimum, maximum: options.maximum }))
}

export function fraction (env: string, options: Shown & { default: number }) {
  return declared(Type.Number({ ...annotate(env, 'fraction', options), minimum: 0, maximum: 1 }))
}

export function onOff (env: string, options: Shown & { default: boolean }) {
  return declared(Type.Boolean(annotate(env, 'switch', options)))
}

export function choice<const Values extends string[]> (env: string, values: readonly [...Values], options: Shown & { default: Values[number] }) {
  return declared(Type.Enum(values, annotate(env, 'choice', options)))
}

/** A comma-separated subset of `values`. */
export function choices<const Values extends string[]> (env: string, values: readonly [...Values], options: Shown & { default: Array<Values[number]> }) {
  return declared(Type.Array(Type.Enum(values), annotate(env, 'choices', options, { values: [...values] })))
}

export function text (env: string, options: Shown & { default?: string | Computed<string>, pattern?: string, rule?: string, echo?: boolean, allowEmpty?: boolean }) {
  const { pattern, rule, echo, allowEmpty } = options
  return declared(Type.String({ ...annotate(env, 'text', options, { rule, echo, allowEmpty }), ...(pattern === undefined ? {} : { pattern }) }))
}

export function secret (env: string, options: Shown & { requiredInProduction?: string }) {
  return declared(Type.String(annotate(env, 'text', options, { secret: true, requiredInProduction: options.requiredInProduction })))
}

export function tokens (env: string, options: Shown & { requiredInProduction?: string }) {
  return declared(Type.Array(Type.String(), annotate(env, 'tokens', { ...options, default: [] }, { secret: true, requiredInProduction: options.requiredInProduction })))
}

/** redis:// or rediss://; the URL may hold a password, so errors never repeat it. */
export function redisUrl (env: string, options: Shown) {
  return declared(Type.String(annotate(env, 'redis-url', options)))
}

/** Comma-separated `host:port` entries: Redis servers (seed nodes of a Redis Cluster, sentinels). */
export function redisNodes (env: string, options: Shown) {
  return declared(Type.Array(Type.Object({ host: Type.String(), port: Type.Integer({ minimum: 1, maximum: 65535 }) }), annotate(env, 'redis-nodes', options)))
}

/** A PEM file of CA certificates: the value is the certificates, read and checked at start. */
export function pemFile (env: string, options: Shown) {
  return declared(Type.String(annotate(env, 'pem-file', options)))
}

export function httpUrl (env: string, options: Shown & { example: string }) {
  return declared(Type.String(annotate(env, 'http-url', options, { example: options.example })))
}

export function origins (env: string, options: Shown & { default: Computed<string[] | true> }) {
  return declared(Type.Union([Type.Array(Type.String()), Type.Literal(true)], annotate(env, 'origins', options)))
}

export function proxies (env: string, options: Shown) {
  return declared(Type.Array(Type.String(), annotate(env, 'proxies', { ...options, default: [] })))
}

/** Variables that only work together: all of them set, or none (then the field is absent). */
export function together<Properties extends TProperties> (reason: string, properties: Properties) {
  return Type.Optional(Type.Object(properties, { together: reason }))
}
