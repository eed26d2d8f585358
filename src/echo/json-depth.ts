// How deeply nested a JSON value is, without recursion (a hostile value cannot blow the stack).

/**
 * Whether `value` nests objects or arrays more than `maxDepth` levels deep: `{}` and `[]` are
 * one level, `{ a: [] }` two. Stops at the first branch past the limit.
 */
export function deeperThan (value: unknown, maxDepth: number): boolean {
  const stack: Array<{ value: unknown, depth: number }> = [{ value, depth: 0 }]
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown, depth: number }
    if (typeof current !== 'object' || current === null) continue
    if (depth + 1 > maxDepth) return true
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1 })
    }
  }
  return false
}
