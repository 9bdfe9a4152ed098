// The example tabs GraphiQL opens with on a first visit (later visits restore
// the user's own tabs from local storage). They use the demo plant's ids so a
// newcomer running `twingraph dev` sees live data with one click.

const line3 = 'plant/jkt1/packaging/line3';

export const line3State = `# The live state of packaging line 3 in the demo plant.
# Run it with Ctrl+Enter (Cmd+Enter on macOS).
query Line3State {
  asset(id: "${line3}") {
    id
    name
    type
    state {
      mode
      modeSince
      updatedAt
      faultCodes
      product
      batch
      uptimeSecondsToday
      speed
      oee
      press: metric(name: "press1_bar") {
        value
        unit
        ts
      }
    }
  }
}
`;

const line3History = `# One signal over time, downsampled. from and to are in the
# Variables pane (the last hour when this tab was first opened).
query Line3History($from: Time!, $to: Time!) {
  asset(id: "${line3}") {
    history(metric: "press1_bar", from: $from, to: $to,
            interval: "1m", agg: AVG) {
      metric
      unit
      interval
      points { ts value }
    }
  }
}
`;

const line3Events = `# Business events of line 3, a page at a time: pass
# pageInfo.endCursor as after to get the next page.
query Line3Events {
  asset(id: "${line3}") {
    events(first: 10) {
      edges {
        node {
          kind
          ts
          fromMode
          toMode
          durationSeconds
          code
          batch
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
`;

const plantTree = `# Every asset below the roots, with its parents: an asset
# under two parents shows both (the hierarchy is a DAG).
query PlantTree {
  roots {
    id
    type
    descendants {
      id
      type
      parents { id }
      state { mode }
    }
  }
}
`;

const modeChanges = `# Mode changes anywhere in the Jakarta plant, live
# over WebSocket. To resume after a disconnect, pass
# the last cursor you received as after.
subscription ModeChanges {
  modeChanged(under: "plant/jkt1") {
    cursor
    asset
    fromMode
    toMode
    ts
    durationSeconds
  }
}
`;

// lastHour returns history variables for the hour before the page was opened.
function lastHour() {
  const to = new Date();
  const from = new Date(to.getTime() - 3600 * 1000);
  return JSON.stringify({ from: from.toISOString(), to: to.toISOString() }, null, 2);
}

export const defaultTabs = [
  { query: line3State },
  { query: line3History, variables: lastHour() },
  { query: line3Events },
  { query: plantTree },
  { query: modeChanges },
];
