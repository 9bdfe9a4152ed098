// The example tabs GraphiQL opens with on a first visit (later visits restore
// the user's own tabs from local storage). They use the demo plant's ids so a
// newcomer running `twingraph dev` sees live data with one click.

export const line3State = `# The live state of packaging line 3 in the demo plant.
# Run it with Ctrl+Enter (Cmd+Enter on macOS).
query Line3State {
  asset(id: "plant/jkt1/packaging/line3") {
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
      press: metric(name: "press1_bar") { value unit ts }
      speed: metric(name: "speed_units_per_min") { value unit ts }
    }
  }
}
`;

export const plantTree = `# Every asset below the roots, with its parents: an asset
# under two parents shows both (the hierarchy is a DAG).
query PlantTree {
  roots {
    id
    type
    descendants {
      id
      type
      parents { id }
    }
  }
}
`;

export const line3Machines = `# The machines of line 3 and their modes.
query Line3Machines {
  asset(id: "plant/jkt1/packaging/line3") {
    children {
      id
      type
      state { mode updatedAt }
    }
  }
}
`;

export const defaultTabs = [
  { query: line3State },
  { query: plantTree },
  { query: line3Machines },
];
