/**
 * `fn` made safe to call from any event (a notification, a poll, a file change): calls never
 * overlap, and one that arrives while a call runs makes exactly one more run after it, so the
 * last event is always followed by a call that saw it.
 */
export function oneAtATime(fn: () => Promise<unknown>, onError?: (err: unknown) => void): () => Promise<void> {
  let running = false
  let again = false
  const run = async (): Promise<void> => {
    if (running) {
      again = true
      return
    }
    running = true
    try {
      await fn()
    } catch (err) {
      onError?.(err)
    } finally {
      running = false
    }
    if (again) {
      again = false
      void run()
    }
  }
  return run
}
