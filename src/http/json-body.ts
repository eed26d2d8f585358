// The bridge's one reader of JSON request bodies (/api, the Pusher HTTP API, and the signed
// variants of both): every refusal is a 400 that says what is wrong, never a 500.
import createError from '@fastify/error'
import { deeperThan, MAX_JSON_DEPTH, tooDeepAt } from '../schemas/json-depth.ts'

const InvalidJsonBody = createError('FST_ERR_CTP_INVALID_JSON_BODY', 'body is not valid JSON', 400)
const EmptyJsonBody = createError('FST_ERR_CTP_EMPTY_JSON_BODY', 'body cannot be empty when Content-Type is application/json', 400)
export const InvalidPayload = createError('INVALID_PAYLOAD', '%s', 400)

/** Levels above a free-form field in the deepest envelope (a batch item): the schemas check each field exactly. */
const ENVELOPE_DEPTH = 3

function fieldOf (path: readonly string[]): string {
  const end = path.findIndex((key) => key !== 'events' && key !== 'batch' && !/^\d+$/.test(key))
  return ['body', ...path.slice(0, end === -1 ? path.length : end + 1)].join('/')
}

function poisonedKeyAt (value: unknown): string[] | undefined {
  const stack: Array<{ value: unknown, path: string[] }> = [{ value, path: [] }]
  while (stack.length > 0) {
    const { value: current, path } = stack.pop() as { value: unknown, path: string[] }
    if (typeof current !== 'object' || current === null) continue
    for (const key of Object.keys(current)) {
      const child = (current as Record<string, unknown>)[key]
      if (key === '__proto__') return [...path, key]
      if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) return [...path, key]
      if (typeof child === 'object' && child !== null) stack.push({ value: child, path: [...path, key] })
    }
  }
  return undefined
}

/** Where JSON `text` holds a `__proto__` key (or a `constructor` with a `prototype`); only text that could spell one is walked. */
export function poisonedKeyIn (text: string, value: unknown): string[] | undefined {
  if (!text.includes('__proto__') && !text.includes('constructor') && !text.includes('\\u')) return undefined
  return poisonedKeyAt(value)
}

export function poisonedKeyMessage (path: readonly string[]): string {
  return `${path.join('/')} is not allowed: a "${path.at(-1) ?? ''}" key could alter every object's prototype`
}

/** 400 when the body is empty, not JSON, holds a poisoning key, or nests deeper than any route accepts. */
export function parseJsonBody (text: string): unknown {
  if (text.trim() === '') throw new EmptyJsonBody()
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidJsonBody()
  }
  if (deeperThan(value, MAX_JSON_DEPTH + ENVELOPE_DEPTH)) {
    const path = tooDeepAt(value, MAX_JSON_DEPTH + ENVELOPE_DEPTH) ?? []
    throw new InvalidPayload(`${fieldOf(path)} nests deeper than ${MAX_JSON_DEPTH} levels`)
  }
  const path = poisonedKeyIn(text, value)
  if (path !== undefined) throw new InvalidPayload(poisonedKeyMessage(['body', ...path]))
  return value
}
