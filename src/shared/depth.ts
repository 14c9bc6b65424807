/**
 * Whether a JSON value nests objects and arrays more than `max` levels (the value itself is level 1).
 * It walks with its own stack, not recursion: the values it guards against are the ones deep enough to
 * overflow the call stack of JSON.stringify, structuredClone or a recursive check.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}
