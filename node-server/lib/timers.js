// Timers for any number of milliseconds (setTimeout stops at 2^31-1 ms, about 24.8 days; the
// idle timeout takes up to 2^64-1), and a promise that resolves after a delay.

const MAX_DELAY = 0x7fffffff;

/**
 * Calls `fn` after `ms` milliseconds, however many. Returns a function that cancels it.
 */
export function after(ms, fn) {
  let timer = null;
  let left = ms;
  const arm = () => {
    const step = Math.min(left, MAX_DELAY);
    left -= step;
    timer = setTimeout(() => {
      if (left > 0) arm();
      else fn();
    }, step);
  };
  arm();
  return () => clearTimeout(timer);
}

/** Resolves after `ms` milliseconds (at most MAX_DELAY). */
export function sleep(ms) {
  return new Promise((resolve) => {
    setTimeout(resolve, Math.min(Math.max(ms, 0), MAX_DELAY));
  });
}
