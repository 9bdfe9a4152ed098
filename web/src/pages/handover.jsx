// The shift-handover page: for a subtree (?under=, default the first site)
// and a shift (?shift=previous, or ?from=&to=, default the shift in force by
// the site's calendar), each line's current mode, its time by mode, OEE,
// units and faults in the shift, and a live event timeline. It uses only the
// public GraphQL API: shift, shiftReport, assets, events and the twinEvents
// subscription, which resumes from its last cursor after a dropped
// connection.
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { query, queryAll, live, GraphQLError } from './gql.js';
import { clock, dateTime, duration, units, pct, eventText, EVENT_FIELDS, param } from './format.js';
import { Mode, ModeBar, ModeLegend, Nav, Problem, useCoalesced } from './ui.jsx';
import './pages.css';

const SHIFT = `query Shift($under: ID!) {
  shift(under: $under) { name from to timezone previous { name from to } }
}`;

const ASSETS = `query Assets($under: ID!, $after: String) {
  assets(under: $under, first: 100, after: $after) {
    edges { node { id name type ancestors { id }
      state { mode modeSince faultCodes product batch } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const REPORT = `query Report($under: ID!, $from: Time!, $to: Time!) {
  shiftReport(under: $under, from: $from, to: $to) {
    assets { assetId secondsByMode { mode seconds } oee unitsProduced faults { code count seconds } }
  }
  events(under: $under, from: $from, to: $to, last: 100) { edges { node { ${EVENT_FIELDS} } } }
  newest: events(under: $under, last: 1) { pageInfo { endCursor } }
}`;

const EVENTS = `subscription Events($under: ID, $after: String) {
  twinEvents(under: $under, after: $after) { ${EVENT_FIELDS} }
}`;

// window resolves the page's shift window from its URL and the calendar.
async function shiftWindow(under) {
  const from = param('from');
  const to = param('to');
  if (from && to) return { name: 'custom window', from, to, timezone: null };
  try {
    const { shift } = await query(SHIFT, { under });
    const w = param('shift') === 'previous' ? { ...shift.previous, timezone: shift.timezone } : shift;
    return { ...w, current: param('shift') !== 'previous' };
  } catch (err) {
    if (!(err instanceof GraphQLError) || err.code !== 'NOT_FOUND') throw err;
    // No calendar above the asset: the last eight hours.
    const now = Date.now();
    return { name: 'last 8 h', from: new Date(now - 8 * 3600e3).toISOString(), to: new Date(now).toISOString(), timezone: null, current: true };
  }
}

// MAX_EVENTS bounds the timeline a long-open page keeps.
const MAX_EVENTS = 1000;

// keepNewest drops the oldest events of a cursor-keyed map beyond MAX_EVENTS.
function keepNewest(m) {
  if (m.size <= MAX_EVENTS) return m;
  const newest = [...m.values()].sort((a, b) => Date.parse(b.ts) - Date.parse(a.ts)).slice(0, MAX_EVENTS);
  return new Map(newest.map((e) => [e.cursor, e]));
}

// topModal returns the highest assets of the subtree that have a mode (its
// lines, or the asset itself): those none of whose ancestors has one.
function topModal(assets, modal) {
  return assets.filter((a) => modal.has(a.id) && !a.ancestors.some((p) => modal.has(p.id)));
}

function Handover() {
  const [under, setUnder] = useState(param('under'));
  const [win, setWin] = useState(null);
  const [report, setReport] = useState(null);
  const [events, setEvents] = useState(() => new Map());
  const [status, setStatus] = useState('connecting');
  const [error, setError] = useState(null);
  const [copied, setCopied] = useState(false);
  const [, tick] = useState(0);
  const cursor = useRef(null);

  // The subtree: ?under= or the first root.
  useEffect(() => {
    if (under) return;
    query('{ roots { id } }').then((d) => setUnder(d.roots[0]?.id), setError);
  }, [under]);

  useEffect(() => {
    if (under) shiftWindow(under).then(setWin, setError);
  }, [under]);

  const load = useCallback(async () => {
    if (!under || !win) return;
    try {
      const [assets, r] = await Promise.all([
        queryAll(ASSETS, { under }, (d) => d.assets),
        query(REPORT, { under, from: win.from, to: win.to }),
      ]);
      const modal = new Map(r.shiftReport.assets.map((a) => [a.assetId, a]));
      const byId = new Map(assets.map((a) => [a.id, a]));
      // The report counts the part of the window still to come as UNKNOWN;
      // the page draws it as the rest of the shift.
      const rest = Math.max(0, (Date.parse(win.to) - Date.now()) / 1000);
      // Machines below a line that are in FAULT or STOP now, or carry faults.
      const below = (id) => assets.filter((a) => a.ancestors.some((p) => p.id === id) && a.state &&
        (a.state.faultCodes.length > 0 || a.state.mode === 'FAULT' || a.state.mode === 'STOP'));
      setReport({ lines: topModal(assets, modal).map((a) => ({ ...a, shift: modal.get(a.id), rest, below: below(a.id) })), byId });
      setEvents((prev) => {
        const next = new Map(prev);
        for (const { node } of r.events.edges) next.set(node.cursor, node);
        return keepNewest(next);
      });
      // The live timeline starts after the newest event under the subtree
      // (not the window's: for a past shift that would replay everything since).
      cursor.current ??= r.newest.pageInfo.endCursor ?? '';
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [under, win]);

  // Reloads are coalesced: a burst of events costs one report.
  const reloadSoon = useCoalesced(load, 250);

  // First load, then the live timeline from the cursor the load ended at.
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    if (!under || !win) return;
    load().then(() => setLoaded(true));
  }, [under, win, load]);
  useEffect(() => {
    if (!loaded) return;
    return live({
      document: EVENTS,
      variables: { under, after: cursor.current || null },
      cursorOf: (d) => d.twinEvents.cursor,
      onStatus: setStatus,
      onError: setError,
      onData: (d) => {
        const e = d.twinEvents;
        setEvents((prev) => keepNewest(new Map(prev).set(e.cursor, e)));
        reloadSoon();
      },
    });
  }, [loaded]); // the subscription outlives reloads: it is started once

  // The bars grow with the shift; durations count up. When the current
  // shift ends the page moves on to the next one.
  useEffect(() => {
    const a = setInterval(() => tick((n) => n + 1), 5000);
    const b = setInterval(() => {
      if (win?.current && !param('from') && Date.now() >= Date.parse(win.to)) {
        shiftWindow(under).then(setWin, setError);
      } else {
        load();
      }
    }, 30000);
    return () => (clearInterval(a), clearInterval(b));
  }, [load, win, under]);

  const tz = win?.timezone;
  const timeline = useMemo(() => {
    if (!win) return [];
    const from = Date.parse(win.from);
    const to = Date.parse(win.to);
    return [...events.values()]
      .filter((e) => Date.parse(e.ts) >= from && (!win.current ? Date.parse(e.ts) < to : true))
      .sort((a, b) => Date.parse(b.ts) - Date.parse(a.ts) || (b.cursor > a.cursor ? 1 : -1));
  }, [events, win]);

  const nameOf = (id) => report?.byId.get(id)?.name ?? id;

  const text = () => handoverText({ win, tz, lines: report?.lines ?? [], timeline, nameOf, root: nameOf(under) });
  const copy = async () => {
    const t = text();
    try {
      await navigator.clipboard.writeText(t);
    } catch {
      const ta = document.createElement('textarea');
      ta.value = t;
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };

  return (
    <>
      <Nav status={status} />
      <header className="head">
        <h1>
          Shift handover <span className="sub">{report ? nameOf(under) : under}</span>
        </h1>
        {win && (
          <p className="window" id="shift-window" data-from={win.from} data-to={win.to}>
            Shift <b id="shift-name">{win.name}</b> · {dateTime(win.from, tz)} – {clock(win.to, tz)}
            {tz && <span className="tz"> ({tz})</span>}
          </p>
        )}
        <div className="actions no-print">
          <a href={`handover?under=${encodeURIComponent(under ?? '')}`}>Current shift</a>
          <a href={`handover?under=${encodeURIComponent(under ?? '')}&shift=previous`}>Previous shift</a>
          <button type="button" id="copy-text" onClick={copy} disabled={!report}>
            {copied ? 'Copied' : 'Copy as text'}
          </button>
          <button type="button" onClick={() => window.print()}>
            Print
          </button>
        </div>
      </header>
      <Problem error={error} />
      {report && (
        <main>
          <section className="lines" id="lines">
            {report.lines.map((l) => (
              <Line key={l.id} line={l} tz={tz} winCurrent={win.current} />
            ))}
          </section>
          <section className="timeline">
            <h2>Events in the shift</h2>
            <ol id="timeline">
              {timeline.map((e) => (
                <li key={e.cursor} data-cursor={e.cursor} data-kind={e.kind} data-asset={e.assetId} data-to-mode={e.toMode ?? ''}>
                  <time dateTime={e.ts}>{clock(e.ts, tz, true)}</time> <span className="who">{nameOf(e.assetId)}</span>{' '}
                  <span className="what">{eventText(e)}</span>
                </li>
              ))}
              {timeline.length === 0 && <li className="empty">No events yet.</li>}
            </ol>
          </section>
        </main>
      )}
    </>
  );
}

function Line({ line, tz, winCurrent }) {
  const s = line.state;
  const sh = line.shift;
  const active = new Set(s?.faultCodes ?? []);
  return (
    <article className="line" data-asset={line.id}>
      <h2>
        <a href={`overview?asset=${encodeURIComponent(line.id)}`}>{line.name}</a> <Mode mode={s?.mode} />
      </h2>
      <p className="since">
        {s?.modeSince ? (
          <>
            since <time dateTime={s.modeSince}>{clock(s.modeSince, tz)}</time> ({duration((Date.now() - Date.parse(s.modeSince)) / 1000)})
          </>
        ) : (
          'no data yet'
        )}
        {s?.product && <> · {s.product}</>}
        {s?.batch && <> · batch {s.batch}</>}
      </p>
      <ModeBar secondsByMode={sh.secondsByMode} rest={line.rest} />
      <ModeLegend secondsByMode={sh.secondsByMode} rest={line.rest} />
      <dl className="kpis">
        <div>
          <dt>OEE</dt>
          <dd className="oee">{pct(sh.oee)}</dd>
        </div>
        <div>
          <dt>Units</dt>
          <dd className="units">{units(sh.unitsProduced)}</dd>
        </div>
      </dl>
      <table className="faults">
        <thead>
          <tr>
            <th>Fault</th>
            <th>Raised</th>
            <th>In shift</th>
            <th>Now</th>
          </tr>
        </thead>
        <tbody>
          {sh.faults.map((f) => (
            <tr key={f.code} data-code={f.code} data-active={active.has(f.code) ? 'true' : 'false'}>
              <td className="code">{f.code}</td>
              <td className="count">{f.count}</td>
              <td className="seconds">{duration(f.seconds)}</td>
              <td>{active.has(f.code) ? <b className="active">active</b> : 'cleared'}</td>
            </tr>
          ))}
          {sh.faults.length === 0 && (
            <tr>
              <td colSpan={4} className="empty">
                No faults{winCurrent ? ' so far' : ''}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {line.below.length > 0 && (
        <ul className="below">
          {line.below.map((m) => (
            <li key={m.id} data-asset={m.id}>
              <Mode mode={m.state.mode} /> {m.name}
              {m.state.faultCodes.length > 0 && <> · {m.state.faultCodes.join(', ')}</>} · for{' '}
              {duration((Date.now() - Date.parse(m.state.modeSince)) / 1000)}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

// handoverText is the handover log as plain text, for a message or a logbook.
function handoverText({ win, tz, lines, timeline, nameOf, root }) {
  const out = [];
  out.push(`Shift handover: ${root}`);
  out.push(`Shift ${win.name}: ${dateTime(win.from, tz)} – ${dateTime(win.to, tz)}${tz ? ` (${tz})` : ''}`);
  out.push('');
  for (const l of lines) {
    const s = l.state;
    const sh = l.shift;
    const modes = sh.secondsByMode
      .map((m) => (m.mode === 'UNKNOWN' ? { mode: 'no data', seconds: m.seconds - Math.min(l.rest, m.seconds) } : m))
      .filter((m) => m.seconds > 0)
      .map((m) => `${m.mode} ${duration(m.seconds)}`);
    out.push(`${l.name}: ${s?.mode ?? 'UNKNOWN'}${s?.modeSince ? ` since ${clock(s.modeSince, tz)}` : ''}; OEE ${pct(sh.oee)}; units ${units(sh.unitsProduced)}`);
    out.push(`  time by mode: ${modes.join(', ')}`);
    const active = new Set(s?.faultCodes ?? []);
    for (const f of sh.faults) {
      out.push(`  fault ${f.code}: raised ${f.count}×, ${duration(f.seconds)} in shift${active.has(f.code) ? ', ACTIVE' : ''}`);
    }
    for (const m of l.below) {
      const codes = m.state.faultCodes.length ? ` (${m.state.faultCodes.join(', ')})` : '';
      out.push(`  ${m.name}: ${m.state.mode}${codes} since ${clock(m.state.modeSince, tz)}`);
    }
  }
  out.push('');
  out.push('Events (newest first):');
  for (const e of timeline) out.push(`  ${clock(e.ts, tz, true)} ${nameOf(e.assetId)}: ${eventText(e)}`);
  return out.join('\n') + '\n';
}

createRoot(document.getElementById('root')).render(<Handover />);
