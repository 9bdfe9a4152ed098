// Small pieces both pages use.
import React, { useCallback, useRef } from 'react';
import { MODES, duration } from './format.js';

// useCoalesced returns a function that calls fn once, ms after the first of
// a burst of calls: a burst of live changes costs one reload.
export function useCoalesced(fn, ms) {
  const timer = useRef(null);
  return useCallback(() => {
    timer.current ??= setTimeout(() => {
      timer.current = null;
      fn();
    }, ms);
  }, [fn, ms]);
}

// Mode is a mode badge.
export function Mode({ mode }) {
  const m = mode || 'UNKNOWN';
  return (
    <span className={`mode mode-${m}`} data-mode={m}>
      {m}
    </span>
  );
}

// Nav links the pages to each other and to GraphiQL (all on this gateway).
export function Nav({ status }) {
  return (
    <nav className="nav no-print">
      <a href="overview">Overview</a>
      <a href="handover">Shift handover</a>
      <a href="./">GraphiQL</a>
      <span className={`status status-${status}`} id="live-status" data-status={status}>
        {status === 'live' ? '● live' : status === 'reconnecting' ? '○ reconnecting…' : '○ connecting…'}
      </span>
    </nav>
  );
}

// ModeBar is a horizontal bar split by the seconds spent in each mode; rest
// is the part of the window still to come (the report counts it UNKNOWN),
// drawn empty at the end.
export function ModeBar({ secondsByMode, rest = 0 }) {
  const total = secondsByMode.reduce((s, m) => s + m.seconds, 0) || 1;
  const by = Object.fromEntries(secondsByMode.map((m) => [m.mode, m.seconds]));
  rest = Math.min(rest, by.UNKNOWN ?? 0);
  by.UNKNOWN = (by.UNKNOWN ?? 0) - rest;
  const seg = (key, cls, secs, title) => (
    <span key={key} className={`seg ${cls}`} data-mode={key} data-seconds={secs} style={{ width: `${(100 * secs) / total}%` }} title={title} />
  );
  return (
    <div className="modebar" role="img" aria-label="time by mode">
      {MODES.filter((m) => by[m] > 0).map((m) => seg(m, `mode-${m}`, by[m], `${m} ${duration(by[m])}`))}
      {rest > 0 && seg('REST', 'rest', rest, `rest of the window ${duration(rest)}`)}
    </div>
  );
}

// ModeLegend lists the seconds per mode in words.
export function ModeLegend({ secondsByMode, rest = 0 }) {
  return (
    <ul className="legend">
      {secondsByMode
        .map((m) => (m.mode === 'UNKNOWN' ? { ...m, seconds: m.seconds - Math.min(rest, m.seconds) } : m))
        .filter((m) => m.seconds > 0)
        .map((m) => (
          <li key={m.mode} data-mode={m.mode}>
            <i className={`dot mode-${m.mode}`} /> {m.mode === 'UNKNOWN' ? 'no data' : m.mode} {duration(m.seconds)}
          </li>
        ))}
    </ul>
  );
}

// Problem shows an error the page could not recover from by itself.
export function Problem({ error }) {
  if (!error) return null;
  return (
    <p className="problem" role="alert">
      {String(error.message || error)}
    </p>
  );
}
