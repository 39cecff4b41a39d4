export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * shipslog.apply_event() (sql/audit/50_verify.sql) in JavaScript: replays one event's partial
 * states onto a deployment's audited state. A created event (no previous state) starts the
 * state, a removed event (no new state) ends it; where both sides hold an object the walk goes
 * deeper, a key the new side holds is set, a key only the old side holds was removed.
 * Mutates and returns `state`; the parts are freshly parsed per event, so sharing them is safe.
 */
export function applyEvent(state: Json, previousPart: Json, newPart: Json): Json {
  if (previousPart === null) return newPart;
  if (newPart === null) return null;
  if (!isObject(previousPart) || !isObject(newPart)) return newPart;
  const target: { [key: string]: Json } = isObject(state) ? state : {};
  // Every key of either side once: the new side's, then those only the old side holds (removed).
  for (const key in newPart) {
    const before = previousPart[key];
    const after = newPart[key] as Json;
    if (isObject(before) && isObject(after)) {
      const inner = target[key];
      target[key] = applyEvent(isObject(inner) ? inner : {}, before, after);
    } else {
      target[key] = after;
    }
  }
  for (const key in previousPart) if (!Object.hasOwn(newPart, key)) delete target[key];
  return target;
}
