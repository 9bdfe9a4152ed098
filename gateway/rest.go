package gateway

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	twin "github.com/twingraph/twingraph"
	"github.com/twingraph/twingraph/auth"
)

// The REST routes, as metric labels.
const (
	routeTwin    = "/twin/{id}"
	routeHistory = "/twin/{id}/history"
	routeEvents  = "/twin/{id}/events"
)

// twin serves everything under /twin/.
func (g *gateway) twin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "method %s not allowed; the REST endpoints are read-only", r.Method), http.StatusMethodNotAllowed)
		return
	}
	a, sub, err := g.resolve(r)
	if err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	if !auth.FromContext(r.Context()).CanSee(g.cfg.Model, a.ID) {
		err := notFound(a.ID) // exactly what an unknown id gets: no existence oracle
		if g.cfg.RevealOutOfScope {
			err = twin.Errorf(twin.EFORBIDDEN, "asset %q is outside the caller's scope", a.ID)
		}
		g.writeError(w, r, err, 0)
		return
	}
	switch sub {
	case "":
		setRoute(r.Context(), routeTwin)
		g.getTwin(w, r, a)
	case "/history":
		setRoute(r.Context(), routeHistory)
		g.getHistory(w, r, a)
	case "/events":
		setRoute(r.Context(), routeEvents)
		g.getEvents(w, r, a)
	}
}

// resolve finds the asset a /twin/ path names and what follows it ("",
// "/history" or "/events"). The id may be one escaped segment
// (plant%2Fjkt1%2Fline3), the raw path tail (plant/jkt1/line3) or a mix. Only
// a real "/" separates the id from "history" or "events", and the longest
// known asset wins, so an asset whose id itself ends in "/history" is still
// reachable.
func (g *gateway) resolve(r *http.Request) (*twin.Asset, string, error) {
	tail, ok := strings.CutPrefix(r.URL.EscapedPath(), "/twin/")
	if !ok {
		return nil, "", twin.Errorf(twin.ENOTFOUND, "no such route %q", r.URL.Path)
	}
	segs := strings.Split(tail, "/")
	// A trailing slash is a common client slip; it never belongs to an id.
	if n := len(segs); n > 1 && segs[n-1] == "" {
		segs = segs[:n-1]
	}
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, "", twin.Errorf(twin.EBADINPUT, "id: bad escape in %q", s)
		}
		segs[i] = u
	}
	id := strings.Join(segs, "/")
	if id == "" {
		return nil, "", twin.Errorf(twin.EBADINPUT, "id: missing asset id in /twin/{id}")
	}
	if a := g.cfg.Model.Asset(id); a != nil {
		return a, "", nil
	}
	if n := len(segs); n > 1 && (segs[n-1] == "history" || segs[n-1] == "events") {
		id = strings.Join(segs[:n-1], "/")
		if a := g.cfg.Model.Asset(id); a != nil {
			return a, "/" + segs[n-1], nil
		}
	}
	return nil, "", notFound(id)
}

func notFound(id string) error { return twin.Errorf(twin.ENOTFOUND, "asset %q not found", id) }

// twinBody is GET /twin/{id}: the seed's shape, plus updated_at. Every time
// is UTC RFC 3339, as in GraphQL.
type twinBody struct {
	ID        string                `json:"id"`
	Type      string                `json:"type"`
	State     stateBody             `json:"state"`
	Metrics   map[string]twin.Value `json:"metrics"`
	UpdatedAt *time.Time            `json:"updated_at"`
}

// stateBody is the business state of the seed's shape; null where unknown.
// The seed's keys stay; mode_since, product, batch, fault_codes and oee carry
// the same values under GraphQL's names (snake_case), so both APIs speak
// one vocabulary.
type stateBody struct {
	Mode               twin.Mode  `json:"mode"`
	ModeSince          *time.Time `json:"mode_since"`
	SpeedUnitsPerMin   *float64   `json:"speed_units_per_min"`
	CurrentProduct     *string    `json:"current_product"`
	Product            *string    `json:"product"`
	CurrentBatch       *string    `json:"current_batch"`
	Batch              *string    `json:"batch"`
	UptimeSecondsToday *float64   `json:"uptime_seconds_today"`
	FaultCodesActive   []string   `json:"fault_codes_active"`
	FaultCodes         []string   `json:"fault_codes"`
	OEEEstimate        *float64   `json:"oee_estimate"`
	OEE                *float64   `json:"oee"`
}

func (g *gateway) getTwin(w http.ResponseWriter, r *http.Request, a *twin.Asset) {
	states, err := g.cfg.States.GetStates(r.Context(), []string{a.ID})
	if err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	var st *twin.State
	if len(states) == 1 {
		st = states[0]
	}
	writeJSON(w, http.StatusOK, g.twinBody(a, st))
}

func (g *gateway) twinBody(a *twin.Asset, st *twin.State) twinBody {
	body := twinBody{
		ID:      a.ID,
		Type:    a.Type,
		State:   stateBody{Mode: twin.ModeUnknown, FaultCodesActive: []string{}, FaultCodes: []string{}},
		Metrics: map[string]twin.Value{},
	}
	if st == nil {
		return body
	}
	typ := g.cfg.Model.Type(a.Type)
	now := g.cfg.Now()
	s := &body.State
	var debounce time.Duration
	if typ != nil {
		debounce = typ.Debounce
	}
	if mode, since := st.ModeAt(now, debounce); mode.Valid() {
		s.Mode = mode
		if !since.IsZero() {
			since = since.UTC()
			s.ModeSince = &since
		}
	}
	if v, ok := twin.Throughput(typ, st); ok {
		s.SpeedUnitsPerMin = finite(v)
	} else if m, ok := st.Metrics["speed_units_per_min"]; ok && m.Value.Kind == twin.KindNumber {
		// Types without an OEE block still show their speed signal.
		s.SpeedUnitsPerMin = finite(m.Value.Num)
	}
	if st.Product != "" {
		s.CurrentProduct = &st.Product
	}
	if st.Batch != "" {
		s.CurrentBatch = &st.Batch
	}
	s.UptimeSecondsToday = finite(st.UptimeAtDebounced(now, a.Location(), debounce))
	if len(st.FaultCodes) > 0 {
		s.FaultCodesActive = st.FaultCodes
	}
	if v, ok := twin.OEEAt(a, typ, st, now); ok {
		s.OEEEstimate = finite(v)
	}
	s.Product, s.Batch, s.FaultCodes, s.OEE = s.CurrentProduct, s.CurrentBatch, s.FaultCodesActive, s.OEEEstimate
	for name, m := range st.Metrics {
		if m.Value.Kind == twin.KindNumber && (math.IsNaN(m.Value.Num) || math.IsInf(m.Value.Num, 0)) {
			continue // JSON has no encoding for it; the worker never stores one anyway
		}
		body.Metrics[name] = m.Value
	}
	if !st.UpdatedAt.IsZero() {
		t := st.UpdatedAt.UTC()
		body.UpdatedAt = &t
	}
	return body
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// historyBody is GET /twin/{id}/history. It echoes the window it answers,
// defaults filled in, so a client never has to guess it.
type historyBody struct {
	ID       string      `json:"id"`
	Metric   string      `json:"metric"`
	Unit     string      `json:"unit"`
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Interval *string     `json:"interval"`
	Agg      twin.Agg    `json:"agg"`
	Points   []pointBody `json:"points"`
}

// pointBody is one bucket, its ts in UTC like every time of the API (a day
// bucket starts at the site's local midnight, e.g. 17:00Z for Jakarta).
type pointBody struct {
	TS    time.Time `json:"ts"`
	Value *float64  `json:"value"`
}

// DefaultHistoryRange is the window of a history request without from: the
// hour before to (which defaults to now). The response echoes both.
const DefaultHistoryRange = time.Hour

func (g *gateway) getHistory(w http.ResponseWriter, r *http.Request, a *twin.Asset) {
	if g.cfg.History == nil {
		g.writeError(w, r, errors.New("history store not configured"), http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	metric := q.Get("metric")
	if metric == "" {
		g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "metric: required (a signal of type %q)", a.Type), 0)
		return
	}
	// A rolled-up signal, or an earlier name of a renamed one, answers too.
	sig := g.cfg.Model.Type(a.Type).HistorySignal(metric)
	if sig == nil {
		g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "metric: %q is not a signal of type %q", metric, a.Type), 0)
		return
	}
	loc := a.Location()
	hq := twin.HistoryQuery{Asset: a.ID, Metric: sig.Name, Agg: twin.AggAvg, Location: loc}
	var err error
	if hq.To, err = parseTime(q, "to", g.cfg.Now()); err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	if hq.From, err = parseTime(q, "from", hq.To.Add(-DefaultHistoryRange)); err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	if !hq.From.Before(hq.To) {
		g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "from: must be before to"), 0)
		return
	}
	var interval *string
	if s := q.Get("interval"); s != "" {
		d, err := twin.ParseDuration(s)
		if err != nil || d <= 0 {
			g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "interval: %q is not a positive duration such as 1m, 5m, 1h or 1d", s), 0)
			return
		}
		hq.Interval = d
		f := twin.FormatDuration(d)
		interval = &f
	}
	if s := q.Get("agg"); s != "" {
		hq.Agg = twin.Agg(strings.ToUpper(s))
		if hq.Agg == "" || !twin.ValidAgg(hq.Agg) {
			g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "agg: %q is not one of AVG, MIN, MAX, SUM, COUNT, FIRST, LAST", s), 0)
			return
		}
	}
	switch s := strings.ToUpper(q.Get("fill")); s {
	case "", "NONE":
	case string(twin.FillNull), string(twin.FillPrevious):
		hq.Fill = twin.Fill(s)
	default:
		g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "fill: %q is not one of NONE, NULL, PREVIOUS", q.Get("fill")), 0)
		return
	}
	if err := twin.CheckHistoryQuery(hq); err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	series, err := g.cfg.History.QueryHistory(r.Context(), []twin.HistoryQuery{hq})
	if err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	body := historyBody{
		ID: a.ID, Metric: metric, Unit: sig.Unit, From: hq.From.UTC(), To: hq.To.UTC(),
		Interval: interval, Agg: hq.Agg, Points: []pointBody{},
	}
	if len(series) == 1 {
		for _, p := range series[0].Points {
			body.Points = append(body.Points, pointBody{TS: p.TS.UTC(), Value: p.Value})
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// parseTime reads an RFC 3339 time or epoch milliseconds from parameter
// name, or returns def when it is absent.
func parseTime(q url.Values, name string, def time.Time) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	return time.Time{}, twin.Errorf(twin.EBADINPUT, "%s: %q is neither an RFC 3339 time nor epoch milliseconds", name, s)
}

// eventsBody is GET /twin/{id}/events: a page in store order.
type eventsBody struct {
	Events   []eventBody `json:"events"`
	PageInfo pageInfo    `json:"page_info"`
}

type pageInfo struct {
	HasNextPage bool    `json:"has_next_page"`
	EndCursor   *string `json:"end_cursor"`
}

// eventBody is one business event; fields that do not apply to its kind are left out.
type eventBody struct {
	Cursor          string         `json:"cursor"`
	ID              string         `json:"id"`
	Kind            twin.EventKind `json:"kind"`
	TS              time.Time      `json:"ts"`
	Asset           string         `json:"asset"`
	FromMode        twin.Mode      `json:"from_mode,omitempty"`
	ToMode          twin.Mode      `json:"to_mode,omitempty"`
	DurationSeconds *float64       `json:"duration_seconds,omitempty"`
	Code            string         `json:"code,omitempty"`
	Batch           string         `json:"batch,omitempty"`
	Product         string         `json:"product,omitempty"`
}

func (g *gateway) getEvents(w http.ResponseWriter, r *http.Request, a *twin.Asset) {
	if g.cfg.Events == nil {
		g.writeError(w, r, errors.New("event store not configured"), http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	eq := twin.EventQuery{Assets: []string{a.ID}, First: DefaultPageSize}
	var err error
	if eq.From, err = parseTime(q, "from", time.Time{}); err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	if eq.To, err = parseTime(q, "to", time.Time{}); err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	if !eq.From.IsZero() && !eq.To.IsZero() && !eq.From.Before(eq.To) {
		g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "from: must be before to"), 0)
		return
	}
	// kinds=A,B and kinds=A&kinds=B both work.
	for _, v := range q["kinds"] {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k == "" {
				continue
			}
			kind := twin.EventKind(strings.ToUpper(k))
			if !validKind(kind) {
				g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "kinds: %q is not an event kind", k), 0)
				return
			}
			eq.Kinds = append(eq.Kinds, kind)
		}
	}
	if s := q.Get("first"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil || n < 1:
			g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "first: %q is not a positive integer", s), 0)
			return
		case n > g.cfg.MaxPageSize:
			g.writeError(w, r, twin.Errorf(twin.ELIMIT, "first: %d exceeds the maximum page size %d", n, g.cfg.MaxPageSize), 0)
			return
		}
		eq.First = n
	}
	eq.First = min(eq.First, g.cfg.MaxPageSize)
	if s := q.Get("after"); s != "" {
		seq, err := twin.ParseEventCursor(s)
		if err != nil {
			g.writeError(w, r, twin.Errorf(twin.EBADINPUT, "after: %q is not an event cursor of this API", s), 0)
			return
		}
		eq.AfterSeq = seq
	}
	page, err := g.cfg.Events.ListEvents(r.Context(), eq)
	if err != nil {
		g.writeError(w, r, err, 0)
		return
	}
	body := eventsBody{Events: make([]eventBody, 0, len(page.Events)), PageInfo: pageInfo{HasNextPage: page.HasNext}}
	for _, e := range page.Events {
		body.Events = append(body.Events, eventBody{
			Cursor: twin.EventCursor(e.Seq), ID: e.ID, Kind: e.Kind, TS: e.TS.UTC(), Asset: e.Asset,
			FromMode: e.FromMode, ToMode: e.ToMode, DurationSeconds: e.DurationSeconds,
			Code: e.Code, Batch: e.Batch, Product: e.Product,
		})
	}
	if n := len(body.Events); n > 0 {
		c := body.Events[n-1].Cursor
		body.PageInfo.EndCursor = &c
	} else if eq.AfterSeq > 0 {
		// An empty page keeps the client's place, so polling with
		// end_cursor never restarts from the beginning.
		c := twin.EventCursor(eq.AfterSeq)
		body.PageInfo.EndCursor = &c
	}
	writeJSON(w, http.StatusOK, body)
}

func validKind(k twin.EventKind) bool {
	for _, x := range twin.EventKinds {
		if k == x {
			return true
		}
	}
	return false
}

// errorBody is every REST error: {"error":{"code","message"}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers err with its code's HTTP status (or status when not 0).
// Only INTERNAL errors are logged, with their cause; users see a generic message.
func (g *gateway) writeError(w http.ResponseWriter, r *http.Request, err error, status int) {
	code := twin.ErrorCode(err)
	if status == 0 {
		status = httpStatus(code)
	}
	if code == twin.EINTERNAL {
		g.log.Error("request failed", "method", r.Method, "path", r.URL.EscapedPath(), "err", err)
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = twin.ErrorMessage(err)
	if status == http.StatusServiceUnavailable && code == twin.EINTERNAL {
		body.Error.Message = err.Error() // a missing store is configuration, not a secret
	}
	writeJSON(w, status, body)
}

// httpStatus maps an error code to the REST status. LIMIT is a 400: a
// client asked for more than a bound allows and must change the request.
func httpStatus(code string) int {
	switch code {
	case twin.ENOTFOUND:
		return http.StatusNotFound
	case twin.EBADINPUT, twin.ELIMIT:
		return http.StatusBadRequest
	case twin.EFORBIDDEN:
		return http.StatusForbidden
	case twin.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"INTERNAL","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
