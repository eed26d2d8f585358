// How deeply nested a JSON value is, without recursion (a hostile value cannot blow the stack):
// the one depth rule for every free-form JSON the bridge accepts (docs/security.md#limits-and-timeouts).

export const MAX_JSON_DEPTH = 32

/** Where `value` first nests past `maxDepth` (`{}` is one level, `{ a: [] }` two), as the keys leading there. */
export function tooDeepAt (value: unknown, maxDepth: number): string[] | undefined {
  const stack: Array<{ value: unknown, path: string[] }> = [{ value, path: [] }]
  while (stack.length > 0) {
    const { value: current, path } = stack.pop() as { value: unknown, path: string[] }
    if (typeof current !== 'object' || current === null) continue
    if (path.length + 1 > maxDepth) return path
    for (const [key, child] of Object.entries(current)) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, path: [...path, key] })
    }
  }
  return undefined
}

export function deeperThan (value: unknown, maxDepth: number): boolean {
  return tooDeepAt(value, maxDepth) !== undefined
}

/** The schema keyword that carries the rule (shown as is in the OpenAPI document). */
export const MAX_DEPTH_KEYWORD = 'x-max-depth'

interface KeywordValidator {
  (limit: number, data: unknown): boolean
  errors?: Array<{ keyword: string, message: string, params: Record<string, unknown> }>
}

/** An Ajv plugin: `x-max-depth` is checked, with an error naming the field, not only documented. */
export function maxDepthKeyword<A extends { addKeyword: (definition: never) => unknown }> (ajv: A): A {
  const validate: KeywordValidator = (limit, data) => {
    if (!deeperThan(data, limit)) return true
    validate.errors = [{ keyword: MAX_DEPTH_KEYWORD, message: `nests deeper than ${limit} levels`, params: { limit } }]
    return false
  }
  ajv.addKeyword({ keyword: MAX_DEPTH_KEYWORD, schemaType: 'number', errors: true, validate } as never)
  return ajv
}
