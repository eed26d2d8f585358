// A time limit for waiting on Redis: a command already sent has none of its own, and a Redis
// that accepts connections but does not answer must not hold a publish forever.
export class DeadlineError extends Error {
  override name = 'DeadlineError'
}

/** Settles like `promise`, or rejects with a DeadlineError once `ms` have passed. */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what}: no answer from Redis within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}
