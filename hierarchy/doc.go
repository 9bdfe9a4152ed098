// Package hierarchy loads, validates and traverses twingraph's asset model: the
// DAG of assets (site → area → line → machine → sub-assembly), their types
// (curated signals and mode rules) and the signal map from raw device tags to
// curated signals. It also converts DTDL interfaces into model YAML.
//
// The model is owned by a versioned file. A loaded Model never changes; a
// running process serves a Live, into which a Watcher swaps a changed file's
// model whole (or refuses it, keeping the old). This package must not reach
// for Kafka, stores or the network. Everything that can be checked is checked
// at load: a bad model fails `twingraph model check` with FILE:LINE messages
// instead of misbehaving in the sync worker.
//
// # Model file
//
// A model is one YAML document with the top-level keys below; any other key,
// at any level, is an error (typos must not silently drop data):
//
//	version: 2026-12.1           # optional: names the model (no spaces, at most 64
//	                             #   characters); with the file's content hash it is
//	                             #   the stamp "2026-12.1@3f9a0c1e22b4" (Stamp)
//	types:                       # type name → type; order is kept
//	  packaging_line:
//	    signals:                 # curated signals, in order
//	      - name: press1_bar     # required; an identifier usable in rules (not in, not, matches ...),
//	                             #   or component.identifier (thermostat1.temperature, from DTDL
//	                             #   Components; rules read it as a member of thermostat1)
//	        aliases: [press_bar] # earlier names (a rename): telemetry and history under
//	                             #   them answer under name; rules use the current name
//	        kind: number         # number (default) | bool | string | list
//	        unit: bar            # optional engineering unit
//	        min: 0               # optional valid range, numbers only;
//	        max: 10              #   min must not exceed max
//	        description: ...     # optional
//	        maxLength: 256       # string and list signals: most characters of a value
//	                             #   (of each list item); default 256, at most 65536
//	        maxItems: 64         # list signals: most items; default 64, at most 65536
//	                             #   (a longer value goes to the dead-letter topic as too_large)
//	        allowed: [RUN, STOP] # string signals: the only values it takes (a DTDL Enum)
//	    modeRules:               # first match wins; none means no mode
//	      - when: "power_on == false"   # expr-lang expression, must be bool
//	        mode: STOP                  # RUNNING | IDLE | FAULT | STOP | UNKNOWN
//	    modeRulesFrom: 2026-12-01T00:00:00Z  # optional: the sample time modeRules took
//	                             #   effect (RFC 3339); always when absent
//	    earlierModeRules:        # the rule sets in force before, oldest first (needs
//	      - from: 2026-06-01T00:00:00Z   #   modeRulesFrom); only the first may leave
//	        rules:                       #   out from (then: always before the next)
//	          - {when: "speed_units_per_min > 0", mode: RUNNING}
//	    debounce: 0s             # Go duration; minimum dwell of a new mode
//	    faultSignal: fault_codes # a list signal: active fault codes
//	    productSignal: product   # a string signal
//	    batchSignal: batch       # a string signal
//	    oee:                     # inputs of the OEE estimate
//	      ratedSpeedAttribute: rated_speed_units_per_min  # asset attribute, units/min
//	      speedSignal: speed_units_per_min                # number signals
//	      goodSignal: good_units
//	      totalSignal: total_units
//	    maintenance:             # inputs of the maintenance feed; every key optional
//	      cyclesSignal: cycles_total          # number signal: a cycle counter (never reset)
//	      vibrationSignal: vibration_mms_rms  # number signal
//	      vibrationAlarm: 7.1                 # positive; needs vibrationSignal
//	      lastServiceAttribute: last_service  # asset attribute: a date ("2026-11-20")
//	      serviceIntervalAttribute: service_interval_h      # attribute: run hours (positive)
//	      serviceIntervalDaysAttribute: service_interval_d  # attribute: days (positive)
//	    rollups:                 # rolled-up signals: history computed from descendants
//	      - name: units          # required; not a signal name of the type
//	        from: units_count    # required; a number or bool signal of some member type
//	        agg: sum             # sum (default) | avg | min | max: combines the members
//	        over: [filler]       # member types (each must exist); any type with from if left out
//	        unit: units          # optional; defaults to from's unit
//	        description: ...     # optional
//	        decimals: 0          # optional, as for signals
//	  site: {}                   # a type may have no signals at all
//
//	assets:                      # in order; ids are paths and must be unique
//	  - id: plant/jkt1           # required; no empty segments or spaces
//	    aliases: [plant/jakarta] # earlier ids (a rename); each names one asset only and
//	                             #   no current id; parents and the signal map may use them
//	    name: Jakarta Plant 1    # defaults to the last path segment
//	    type: site               # required; must name a type
//	    timezone: Asia/Jakarta   # IANA name; inherited by everything below
//	    shifts:                  # the shift calendar; inherited by everything below
//	      - {name: A, start: "06:00"}   # start: HH:MM, 24-hour, in the asset's timezone
//	      - {name: B, start: "14:00"}   # a shift lasts until the next one starts
//	      - {name: C, start: "22:00"}   #   (the last runs past midnight into the first)
//	  - id: plant/jkt1/packaging/palletizer1
//	    type: palletizer
//	    parents: [plant/jkt1/packaging/line2, plant/jkt1/packaging/line3]
//	    # or `parent: one/id`; no parent makes a root
//	    attributes: {vendor: FANUC, rated_speed_units_per_min: 240}
//	    retired: true            # out of service: no new telemetry (dead letter
//	                             #   "retired"), left out of Roots, Children,
//	                             #   Descendants and Assets; Asset and All still have it
//	    retiredAt: 2026-12-01T06:00:00Z  # retired, and when: samples dated before
//	                             #   it are still accepted
//
//	signalMap:                   # raw device tags → curated signals
//	  - device: plc-17           # required
//	    tag: "1024"              # required; 1024 and "1024" are the same tag
//	    asset: plant/jkt1/packaging/line3   # required; must exist
//	    signal: press1_bar       # required; a signal of the asset's type
//	    scale: 0.01              # curated = raw × scale + offset; scale
//	    offset: 0                #   defaults to 1 and must not be 0; numbers only
//
// YAML anchors, aliases and merge keys work, so types can share rule lists.
//
// Validation reports, each with file and line: YAML syntax errors, unknown keys,
// missing required fields, duplicate asset ids, types, signals or device/tag
// pairs, unknown types, parents, assets and signals (in rules, the signal map,
// faultSignal, productSignal, batchSignal, oee and maintenance; the types of
// a rollup's over, a from no member type has), service attributes that are not
// a date or a positive number, wrong signal kinds for
// those fields, parent cycles (naming the ids around the cycle), bad mode
// names, timezones, signal kinds, debounce durations and ranges (min > max),
// rule expressions that do not compile or are not boolean, an asset that
// would inherit two different timezones (or shift calendars) from two parents,
// and shift calendars that are empty, lack a name or start, repeat a name or
// a start, or give a start that is not HH:MM; an alias that is
// another asset's id or alias (or a signal's name or alias in its type), a
// parent named twice by its id and an alias, a retired that is not a bool, a
// time that is not RFC 3339, earlierModeRules without modeRulesFrom, rule sets
// out of order, and a version with spaces.
//
// # Living model
//
// A rename keeps the old id as an alias: Asset, IsUnder and the other lookups
// answer an earlier id with the renamed asset (Canonical gives its current
// id), and package alias reads what the stores hold under earlier ids. Rules
// apply by sample time (twin.AssetType.RulesAt), so a replay gives the events
// the live run gave. Diff lists what changes for users between two models.
//
// # Timezones
//
// An asset's Timezone is its own, else the one inherited from the nearest
// ancestors that set one, else "UTC". When parents lead to different zones the
// model is rejected: "today" (uptime, OEE) would be ambiguous.
//
// # Shifts
//
// An asset's Shifts are its own calendar, else the one inherited from the
// nearest ancestors that declare one (usually the site), else none. Starts are
// wall-clock times in the asset's timezone; twin.ShiftAt turns a calendar and
// an instant into the shift window in force, so every consumer (GraphQL's
// Query.shift, the handover page) agrees on a shift's boundaries.
//
// # Mode rules
//
// Each rule is compiled once at load against an environment typed from the
// type's signals (number → float64, bool → bool, string → string, list →
// []string), so an unknown name or a type error is a load error. At run time
// ModeRule.Match takes the asset's current values as map[string]any with the
// same Go types (twin.Value.Any gives them). A rule that names a signal
// without a current value (missing or nil in the map) does not match and is not
// evaluated: `power_on == false` must not put a fresh asset into STOP before
// power_on was ever reported. A rule that names no signal, such as "true", always
// runs. A run-time error is returned and counts as no match.
//
// # Traversal
//
// All traversals are precomputed at load; lookups cost O(1) or O(size of the
// result) and return shared slices that callers must not modify. Descendants
// lists each asset once, breadth first, at its shortest depth, even where the
// DAG reaches it along several paths.
//
// # DTDL
//
// ImportDTDLSet (and ImportDTDLFiles, over files and directories) converts a
// DTDL v2/v3/v4 model set into model types, and the twins and relationships
// of an Azure Digital Twins Explorer export or import-job NDJSON file into
// assets with parents from containment relationships. The set is checked
// against the language rules first, every problem reported as
// FILE:LINE: dtmi…: what is wrong; see ImportDTDL for what maps to what.
package hierarchy
