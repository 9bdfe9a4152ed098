// The plant overview (/overview): the asset tree with each asset's mode,
// rollups on the assets that have children, and a sparkline of the last hour
// of each asset's key signal (the first number signal of its type), updated
// live from the modeChanged subscription and refreshed every 30 s. With
// ?asset=ID it shows one asset: state, signals, 24 h charts (zoom by
// dragging; the history interval follows the zoom) and its events.
import React, { useCallback, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { query, queryAll, live } from './gql.js';
import { clock, dateTime, duration, units, pct, value, eventText, EVENT_FIELDS, param } from './format.js';
import { Mode, Nav, Problem, useCoalesced } from './ui.jsx';
import './pages.css';

const ASSETS = `query Overview($after: String) {
  assets(first: 100, after: $after) {
    edges { node { id name type parents { id } signals { name unit kind }
      state { mode modeSince faultCodes }
      rollup { oee unitsToday byMode { mode count } } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const MODE_CHANGES = `subscription Modes($after: String) {
  modeChanged(after: $after) { cursor assetId toMode ts }
}`;

// keySignal is an asset's key signal: the first number signal of its type.
function keySignal(a) {
  return a.signals.find((s) => s.kind === 'number');
}

// historyBatch asks for many series in one document (aliases h0, h1, ...).
async function historyBatch(items, from, to, interval) {
  const out = {};
  for (let i = 0; i < items.length; i += 50) {
    const part = items.slice(i, i + 50);
    const doc = `query History($from: Time!, $to: Time!, $interval: Duration) {\n${part
      .map((it, j) => `h${j}: asset(id: ${JSON.stringify(it.id)}) { history(metric: ${JSON.stringify(it.metric)}, from: $from, to: $to, interval: $interval) { timestamps values } }`)
      .join('\n')}\n}`;
    const d = await query(doc, { from, to, interval });
    part.forEach((it, j) => (out[`${it.id}\u0000${it.metric}`] = d[`h${j}`]?.history));
  }
  return out;
}

// toColumns turns a Series into uPlot's columns (seconds, values).
function toColumns(series) {
  if (!series) return [[], []];
  return [series.timestamps.map((t) => Date.parse(t) / 1000), series.values];
}

// Spark is a small uPlot line without axes.
function Spark({ data, range, id }) {
  const el = useRef(null);
  const plot = useRef(null);
  const xRange = useRef(range);
  xRange.current = range;
  useEffect(() => {
    plot.current = new uPlot(
      {
        width: 140,
        height: 28,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: true, range: () => xRange.current } },
        series: [{}, { stroke: '#2563eb', width: 1.5, spanGaps: true }],
      },
      data,
      el.current,
    );
    return () => plot.current.destroy();
  }, []);
  useEffect(() => plot.current?.setData(data), [data]);
  return <span className="spark" ref={el} data-asset={id} data-points={data[0].length} />;
}

function Rollup({ r }) {
  if (!r) return null;
  const by = r.byMode.filter((m) => m.count > 0);
  return (
    <span className="rollup">
      {r.oee != null && <span className="oee">OEE {pct(r.oee)}</span>}
      {r.unitsToday != null && <span className="units">{units(r.unitsToday)} units today</span>}
      {by.map((m) => (
        <span key={m.mode} className={`count mode-${m.mode}`} data-mode={m.mode} title={`${m.count} ${m.mode}`}>
          {m.count}
        </span>
      ))}
    </span>
  );
}

function Overview() {
  const [assets, setAssets] = useState(null);
  const [sparks, setSparks] = useState({});
  const [status, setStatus] = useState('connecting');
  const [error, setError] = useState(null);

  const load = useCallback(async () => {
    try {
      const list = await queryAll(ASSETS, {}, (d) => d.assets);
      setAssets(list);
      const to = new Date();
      const from = new Date(to.getTime() - 3600e3);
      const items = list.filter(keySignal).map((a) => ({ id: a.id, metric: keySignal(a).name }));
      const h = await historyBatch(items, from.toISOString(), to.toISOString(), '1m');
      const range = [from.getTime() / 1000, to.getTime() / 1000];
      setSparks(Object.fromEntries(items.map((it) => [it.id, { data: toColumns(h[`${it.id}\u0000${it.metric}`]), range }])));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);

  // Reloads are coalesced: a burst of changes costs one.
  const reloadSoon = useCoalesced(load, 300);

  useEffect(() => {
    load();
    const iv = setInterval(load, 30000);
    // Mode changes show at once; rollups follow with the next load.
    const stop = live({
      document: MODE_CHANGES,
      cursorOf: (d) => d.modeChanged.cursor,
      onStatus: setStatus,
      onError: setError,
      onData: ({ modeChanged: c }) => {
        setAssets((list) =>
          list?.map((a) => (a.id === c.assetId ? { ...a, state: { ...(a.state ?? { faultCodes: [] }), mode: c.toMode, modeSince: c.ts } } : a)),
        );
        reloadSoon();
      },
    });
    return () => (clearInterval(iv), stop());
  }, [load, reloadSoon]);

  if (!assets) return <><Nav status={status} /><Problem error={error} /><p className="loading">Loading…</p></>;
  const children = new Map();
  for (const a of assets) for (const p of a.parents) (children.get(p.id) ?? children.set(p.id, []).get(p.id)).push(a);
  const roots = assets.filter((a) => a.parents.length === 0);
  // Names narrow with depth so that badges and sparklines line up.
  const node = (a, path, depth = 0) => (
    <li key={path} data-asset={a.id}>
      <div className="row">
        <a href={`overview?asset=${encodeURIComponent(a.id)}`} className="name" style={{ width: 260 - depth * 18 }}>
          {a.name}
        </a>
        <span className="badge">{a.signals.length > 0 && <Mode mode={a.state?.mode} />}</span>
        {sparks[a.id] && (
          <span className="sig">
            <Spark data={sparks[a.id].data} range={sparks[a.id].range} id={a.id} />
            <span className="signame">{keySignal(a).name}</span>
          </span>
        )}
        {children.has(a.id) && <Rollup r={a.rollup} />}
      </div>
      {children.has(a.id) && <ul>{children.get(a.id).map((c) => node(c, `${path}>${c.id}`, depth + 1))}</ul>}
    </li>
  );
  return (
    <>
      <Nav status={status} />
      <header className="head">
        <h1>Plant overview</h1>
        <p className="sub">Modes live; rollups and last-hour sparklines refresh every 30 s.</p>
      </header>
      <Problem error={error} />
      <ul className="tree" id="tree">
        {roots.map((r) => node(r, r.id))}
      </ul>
    </>
  );
}

// --- One asset -----------------------------------------------------------

const ASSET = `query Asset($id: ID!) {
  asset(id: $id) {
    id name type attributes
    ancestors { id name }
    children { id name state { mode } }
    descendants { id name }
    signals { name unit kind description }
    state { mode modeSince updatedAt faultCodes product batch uptimeSecondsToday speed oee
      metrics { name value unit ts } }
    rollup { oee unitsToday byMode { mode count } }
    events(last: 50, includeDescendants: true) { edges { node { ${EVENT_FIELDS} } } }
  }
}`;

const STATE = `subscription State($id: ID!) {
  assetState(id: $id, minInterval: "1s") { mode modeSince updatedAt faultCodes product batch uptimeSecondsToday speed oee
    metrics { name value unit ts } }
}`;

const EVENTS = `subscription Events($under: ID, $after: String) {
  twinEvents(under: $under, after: $after) { ${EVENT_FIELDS} }
}`;

// INTERVALS are the history intervals a chart picks from: the finest that
// keeps the visible range under about 400 points.
const INTERVALS = [
  ['10s', 10],
  ['1m', 60],
  ['5m', 300],
  ['15m', 900],
  ['1h', 3600],
];
function pickInterval(rangeSec) {
  for (const [name, sec] of INTERVALS) if (rangeSec / sec <= 400) return name;
  return '1d';
}

// Chart is a 24 h chart of one signal. Dragging selects a range; the chart
// then asks history for just that range at a finer interval. "24 h" returns.
function Chart({ id, signal, tz }) {
  const el = useRef(null);
  const plot = useRef(null);
  const [range, setRange] = useState(() => {
    const to = Date.now();
    return { from: to - 24 * 3600e3, to };
  });
  const [interval, setIntervalName] = useState(null);
  const xRange = useRef(range);
  xRange.current = range;
  useEffect(() => {
    plot.current = new uPlot(
      {
        width: Math.min(720, el.current.clientWidth || 720),
        height: 180,
        scales: { x: { time: true, range: () => [xRange.current.from / 1000, xRange.current.to / 1000] } },
        series: [{}, { label: `${signal.name}${signal.unit ? ` (${signal.unit})` : ''}`, stroke: '#2563eb', width: 1.5, spanGaps: true }],
        axes: [{}, { size: 64 }],
        ...(tz && { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), tz) }),
        cursor: { drag: { x: true, y: false, setScale: false } },
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width < 5) return;
              const from = u.posToVal(u.select.left, 'x') * 1000;
              const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
              u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
              setRange({ from, to });
            },
          ],
        },
      },
      [[], []],
      el.current,
    );
    setRange((r) => ({ ...r })); // (re)load the data into the new plot
    return () => plot.current.destroy();
  }, [signal.name, signal.unit, tz]);
  useEffect(() => {
    const iv = pickInterval((range.to - range.from) / 1000);
    setIntervalName(iv);
    query(
      `query H($id: ID!, $m: String!, $from: Time!, $to: Time!, $iv: Duration) { asset(id: $id) { history(metric: $m, from: $from, to: $to, interval: $iv) { timestamps values } } }`,
      { id, m: signal.name, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), iv },
    ).then(
      (d) => plot.current?.setData(toColumns(d.asset?.history)),
      () => plot.current?.setData([[], []]),
    );
  }, [id, signal.name, range]);
  const reset = () => {
    const to = Date.now();
    setRange({ from: to - 24 * 3600e3, to });
  };
  return (
    <figure className="chart" data-signal={signal.name} data-interval={interval}>
      <figcaption>
        {signal.name} <span className="iv">every {interval}</span>{' '}
        <button type="button" className="no-print" onClick={reset}>
          24 h
        </button>
      </figcaption>
      <div ref={el} />
    </figure>
  );
}

function AssetPage({ id }) {
  const [a, setA] = useState(null);
  const [state, setState] = useState(null);
  const [events, setEvents] = useState(() => new Map());
  const [status, setStatus] = useState('connecting');
  const [error, setError] = useState(null);
  // Times read in the site's zone when a shift calendar names it, else the browser's.
  const [tz, setTz] = useState(undefined);
  useEffect(() => {
    query(`query Tz($id: ID!) { shift(under: $id) { timezone } }`, { id }).then((d) => setTz(d.shift.timezone), () => {});
  }, [id]);
  useEffect(() => {
    let stops = [];
    query(ASSET, { id }).then((d) => {
      if (!d.asset) {
        setError(new Error(`no asset ${id}`));
        return;
      }
      setA(d.asset);
      setState(d.asset.state);
      const edges = d.asset.events.edges;
      setEvents(new Map(edges.map((e) => [e.node.cursor, e.node])));
      stops.push(
        live({ document: STATE, variables: { id }, onStatus: setStatus, onError: setError, onData: (s) => setState(s.assetState) }),
        live({
          document: EVENTS,
          variables: { under: id, after: edges.length ? edges[edges.length - 1].node.cursor : null },
          cursorOf: (x) => x.twinEvents.cursor,
          onStatus: setStatus,
          onError: setError,
          onData: (x) => setEvents((m) => new Map(m).set(x.twinEvents.cursor, x.twinEvents)),
        }),
      );
    }, setError);
    return () => stops.forEach((s) => s());
  }, [id]);
  if (!a) return <><Nav status={status} /><Problem error={error} /><p className="loading">Loading…</p></>;
  const metrics = new Map((state?.metrics ?? []).map((m) => [m.name, m]));
  const names = new Map((a.descendants ?? []).map((d) => [d.id, d.name]));
  const list = [...events.values()].sort((x, y) => Date.parse(y.ts) - Date.parse(x.ts));
  return (
    <>
      <Nav status={status} />
      <header className="head">
        <p className="crumbs">
          <a href="overview">Overview</a>
          {[...a.ancestors].reverse().map((p) => (
            <span key={p.id}>
              {' / '}
              <a href={`overview?asset=${encodeURIComponent(p.id)}`}>{p.name}</a>
            </span>
          ))}
        </p>
        <h1>
          {a.name} <Mode mode={state?.mode} /> <span className="sub">{a.type}</span>
        </h1>
        <p className="actions no-print">
          <a href={`handover?under=${encodeURIComponent(a.id)}`}>Shift handover for this asset</a>
        </p>
      </header>
      <Problem error={error} />
      <main className="asset" data-asset={a.id}>
        <section className="state" id="state">
          <h2>State</h2>
          {state ? (
            <dl className="kv">
              <dt>Mode</dt>
              <dd className="mode-cell">
                <Mode mode={state.mode} /> since {dateTime(state.modeSince, tz)} ({duration((Date.now() - Date.parse(state.modeSince)) / 1000)})
              </dd>
              <dt>Faults</dt>
              <dd className="faults">{state.faultCodes.length ? state.faultCodes.join(', ') : 'none'}</dd>
              {state.product != null && (<><dt>Product</dt><dd>{state.product}</dd></>)}
              {state.batch != null && (<><dt>Batch</dt><dd>{state.batch}</dd></>)}
              {state.speed != null && (<><dt>Speed</dt><dd className="speed">{value(state.speed)}</dd></>)}
              {state.oee != null && (<><dt>OEE</dt><dd>{pct(state.oee)}</dd></>)}
              <dt>Running today</dt>
              <dd>{duration(state.uptimeSecondsToday)}</dd>
              <dt>Updated</dt>
              <dd>{dateTime(state.updatedAt, tz)}</dd>
            </dl>
          ) : (
            <p>No data yet.</p>
          )}
          {a.rollup && a.children.length > 0 && (
            <p>
              Below: <Rollup r={a.rollup} />
            </p>
          )}
        </section>
        <section className="signals">
          <h2>Signals</h2>
          <table id="signals">
            <thead>
              <tr>
                <th>Signal</th>
                <th>Value</th>
                <th>At</th>
                <th>About</th>
              </tr>
            </thead>
            <tbody>
              {a.signals.map((s) => {
                const m = metrics.get(s.name);
                return (
                  <tr key={s.name} data-signal={s.name}>
                    <td>{s.name}</td>
                    <td className="value">{value(m?.value, s.unit)}</td>
                    <td>{m ? clock(m.ts, tz, true) : '—'}</td>
                    <td>{s.description ?? ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
        <section className="charts">
          <h2>Last 24 h {tz && <span className="sub">({tz})</span>}</h2>
          <p className="hint no-print">Drag across a chart to zoom in; the interval follows the zoom.</p>
          {a.signals
            .filter((s) => s.kind === 'number')
            .map((s) => (
              <Chart key={s.name} id={a.id} signal={s} tz={tz} />
            ))}
        </section>
        <section className="timeline">
          <h2>Events</h2>
          <ol id="events">
            {list.map((e) => (
              <li key={e.cursor} data-kind={e.kind} data-asset={e.assetId}>
                <time dateTime={e.ts}>{dateTime(e.ts, tz)}</time> <span className="who">{e.assetId === a.id ? '' : names.get(e.assetId) ?? e.assetId}</span>{' '}
                <span className="what">{eventText(e)}</span>
              </li>
            ))}
            {list.length === 0 && <li className="empty">No events.</li>}
          </ol>
        </section>
        {a.children.length > 0 && (
          <section>
            <h2>Below</h2>
            <ul className="children">
              {a.children.map((c) => (
                <li key={c.id}>
                  <a href={`overview?asset=${encodeURIComponent(c.id)}`}>{c.name}</a> <Mode mode={c.state?.mode} />
                </li>
              ))}
            </ul>
          </section>
        )}
      </main>
    </>
  );
}

const id = param('asset');
createRoot(document.getElementById('root')).render(id ? <AssetPage id={id} /> : <Overview />);
