// Formatting shared by the pages: times in the site's zone, durations,
// numbers, and the words for events.

export const MODES = ['RUNNING', 'IDLE', 'FAULT', 'STOP', 'UNKNOWN'];

const fmtCache = new Map();
function dtf(tz, opts) {
  const key = tz + JSON.stringify(opts);
  if (!fmtCache.has(key)) {
    fmtCache.set(key, new Intl.DateTimeFormat('en-GB', { timeZone: tz || undefined, hourCycle: 'h23', ...opts }));
  }
  return fmtCache.get(key);
}

// clock formats a time as HH:MM (with seconds when asked) in zone tz.
export function clock(ts, tz, seconds = false) {
  if (!ts) return '—';
  const o = { hour: '2-digit', minute: '2-digit' };
  if (seconds) o.second = '2-digit';
  return dtf(tz, o).format(new Date(ts));
}

// dateTime formats a time as YYYY-MM-DD HH:MM in zone tz.
export function dateTime(ts, tz) {
  if (!ts) return '—';
  const parts = Object.fromEntries(
    dtf(tz, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
      .formatToParts(new Date(ts))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

// duration formats seconds as 2h 05m, 15m 00s or 42s.
export function duration(sec) {
  if (sec == null || !Number.isFinite(sec)) return '—';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(r)}s`;
  return `${r}s`;
}

// units formats a count with thousands separators.
export function units(n) {
  return n == null ? '—' : Math.round(n).toLocaleString('en-US');
}

// pct formats a 0..1 ratio as a percentage with one decimal.
export function pct(x) {
  return x == null ? '—' : `${(x * 100).toFixed(1)}%`;
}

// number formats a signal value for a table cell.
export function value(v, unit) {
  if (v == null) return '—';
  if (Array.isArray(v)) return v.length ? v.join(', ') : 'none';
  if (typeof v === 'number') return `${Number.isInteger(v) ? v : v.toFixed(2)}${unit ? ' ' + unit : ''}`;
  return String(v);
}

// eventText says what an event (TwinEvent) means, in a few words.
export function eventText(e) {
  switch (e.kind) {
    case 'MODE_CHANGED':
      return `${e.fromMode} → ${e.toMode}` + (e.durationSeconds != null ? ` (after ${duration(e.durationSeconds)} ${e.fromMode})` : '');
    case 'FAULT_RAISED':
      return `fault ${e.code} raised`;
    case 'FAULT_CLEARED':
      return `fault ${e.code} cleared` + (e.durationSeconds != null ? ` after ${duration(e.durationSeconds)}` : '');
    case 'BATCH_STARTED':
      return `batch ${e.batch} started` + (e.product ? ` (${e.product})` : '');
    case 'BATCH_ENDED':
      return `batch ${e.batch} ended` + (e.durationSeconds != null ? ` after ${duration(e.durationSeconds)}` : '');
    case 'PRODUCT_CHANGED':
      return `product ${e.product ?? 'none'}`;
    default:
      return e.kind;
  }
}

// The fields of a TwinEvent the pages show.
export const EVENT_FIELDS = 'cursor id kind ts assetId fromMode toMode durationSeconds code batch product';

// param reads a query parameter of the page's URL.
export function param(name) {
  return new URLSearchParams(location.search).get(name);
}
