// Package hierarchy loads, validates and traverses twingraph's asset model: the
// DAG of assets (site → area → line → machine → sub-assembly), their types
// (curated signals and mode rules) and the signal map from raw device tags to
// curated signals. It also converts DTDL interfaces into model YAML.
//
// The model is owned by a versioned file; nothing here changes at run time, and
// this package must not reach for Kafka, stores or the network. Everything that
// can be checked is checked at load: a bad model fails `twingraph model check`
// with FILE:LINE messages instead of misbehaving in the sync worker.
//
// # Model file
//
// A model is one YAML document with three top-level keys; any other key, at any
// level, is an error (typos must not silently drop data):
//
//	types:                       # type name → type; order is kept
//	  packaging_line:
//	    signals:                 # curated signals, in order
//	      - name: press1_bar     # required; an identifier usable in rules (not in, not, matches ...),
//	                             #   or component.identifier (thermostat1.temperature, from DTDL
//	                             #   Components; rules read it as a member of thermostat1)
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
//	    name: Jakarta Plant 1    # defaults to the last path segment
//	    type: site               # required; must name a type
//	    timezone: Asia/Jakarta   # IANA name; inherited by everything below
//	  - id: plant/jkt1/packaging/palletizer1
//	    type: palletizer
//	    parents: [plant/jkt1/packaging/line2, plant/jkt1/packaging/line3]
//	    # or `parent: one/id`; no parent makes a root
//	    attributes: {vendor: FANUC, rated_speed_units_per_min: 240}
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
// rule expressions that do not compile or are not boolean, and an asset that
// would inherit two different timezones from two parents.
//
// # Timezones
//
// An asset's Timezone is its own, else the one inherited from the nearest
// ancestors that set one, else "UTC". When parents lead to different zones the
// model is rejected: "today" (uptime, OEE) would be ambiguous.
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
